"""Event stores: the contract (``base``), the in-memory reference and the SQL backends.

``open_store(url)`` is the one way the hub gets a store: ``memory://``, ``sqlite:///path/to/hall.db`` or
``postgresql://user@host/db``; a SQL database is first migrated to the current schema.
"""

from __future__ import annotations

from pathlib import Path

from hub.store import migrate, sql
from hub.store.base import EventStore
from hub.store.memory import MemoryStore

__all__ = ["MEMORY_URL", "EventStore", "MemoryStore", "open_store"]

MEMORY_URL = "memory://"


def open_store(url: str) -> EventStore:
    """The store at ``url``; a SQLite file's folder is made when missing (``var/`` on a fresh checkout)."""
    if url == MEMORY_URL:
        return MemoryStore()
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sql.create_engine(url)
    try:
        migrate.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return sql.SqlStore(engine)

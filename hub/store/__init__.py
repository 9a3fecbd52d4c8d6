"""Event stores: the contract (``base``), the in-memory reference and the SQL backends.

``open_store(url)`` is the one way the hub gets a store: ``memory://``, ``sqlite:///path/to/hall.db`` or
``postgresql://user@host/db``; a SQL database is first migrated to the current schema.
"""

from __future__ import annotations

from hub.store import migrate, sql
from hub.store.base import EventStore
from hub.store.memory import MemoryStore

__all__ = ["MEMORY_URL", "EventStore", "MemoryStore", "open_store"]

MEMORY_URL = "memory://"


def open_store(url: str) -> EventStore:
    if url == MEMORY_URL:
        return MemoryStore()
    engine = sql.create_engine(url)
    try:
        migrate.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return sql.SqlStore(engine)

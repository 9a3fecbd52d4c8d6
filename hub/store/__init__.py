"""Event stores: the contract (``base``), the in-memory reference and the SQL backends.

``open_store(url)`` is the one way the hub gets a store: ``memory://``, ``sqlite:///path/to/hall.db`` or
``postgresql://user@host/db``; a SQL database is first migrated to the current schema.
"""

from __future__ import annotations

from hub.store.base import EventStore
from hub.store.memory import MemoryStore

MEMORY_URL = "memory://"


def open_store(url: str) -> EventStore:
    if url == MEMORY_URL:
        return MemoryStore()
    from hub.store import migrate, sql  # SQLAlchemy and Alembic load only for a SQL store

    engine = sql.create_engine(url)
    try:
        migrate.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return sql.SqlStore(engine)

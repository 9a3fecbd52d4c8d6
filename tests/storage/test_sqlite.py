"""SQLite settings the store's durability and concurrency rest on."""

from __future__ import annotations

from hub.store import sql


def test_every_connection_uses_wal_with_normal_sync_a_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    engine = sql.create_engine(sqlite_url)
    with engine.connect() as connection:
        settings = {
            pragma: connection.exec_driver_sql(f"PRAGMA {pragma}").scalar()
            for pragma in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
    engine.dispose()

    assert settings == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": sql.SQLITE_BUSY_TIMEOUT_MS,
        "foreign_keys": 1,
    }

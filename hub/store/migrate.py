"""Bring a database to the current schema with Alembic, from code: no alembic.ini, no command line.

The scripts live in the package (``migrations/``), so an installed hub upgrades the database it is given.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

SCRIPT_LOCATION = Path(__file__).with_name("migrations")

_PG_MIGRATION_LOCK = 0x5E4E1CE
"""Advisory lock key: hubs starting together against one PostgreSQL server migrate one after another."""


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that runs the package's scripts on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade to ``revision`` in one transaction (SQLite and PostgreSQL both have transactional DDL)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(connection), revision)

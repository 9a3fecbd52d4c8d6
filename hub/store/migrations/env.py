"""Alembic environment: runs on the connection that ``hub.store.migrate`` passes in, never on its own engine."""

from __future__ import annotations

from alembic import context

from hub.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through hub.store.migrate (it passes the connection in config.attributes)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()

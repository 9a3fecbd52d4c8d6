"""The SQL tables of the event store, defined once for the store's queries and checked against the migrations.

The migrations under ``migrations/versions`` are the schema's history and must end in exactly these tables (a test
compares them). ``payload`` holds an event's JSON (``engine.codec``); the columns beside it exist for queries
(per-site order, reports by type or time) without decoding it. ``at`` is stored in UTC.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a BIGINT identity.
_row_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", _row_id, sa.Identity(), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("command_id", sa.String(128), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.UniqueConstraint("site_id", "seq", name="uq_events_site_seq"),
)

commands = sa.Table(
    "commands",
    metadata,
    sa.Column("command_id", sa.String(128), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
    sa.Column("outcome", sa.LargeBinary(), nullable=False),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("state", sa.LargeBinary(), nullable=False),
)

district_config = sa.Table(
    "district_config",
    metadata,
    sa.Column("version", _row_id, sa.Identity(), primary_key=True),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
    sa.Column("document", sa.LargeBinary(), nullable=False),
)
"""Versions of the district configuration (the engine's ``District`` as JSON); the highest version is in force."""

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("device_id", sa.String(48), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("window_id", sa.String(64), nullable=True),
    sa.Column("broker_hash", sa.String(255), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)
"""Provisioned devices (``hub.devices``): only hashes of their passwords, the broker's and the hub's own."""

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
    sa.Index("ix_events_site_type_at", "site_id", "type", "at"),
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
    sa.Column("author", sa.String(64), nullable=True),
    sa.Column("reason", sa.String(500), nullable=True),
)
"""Versions of the district configuration (the engine's ``District`` as JSON); the highest version is in force. A
version saved from the web pages has its ``author`` (the account) and ``reason``; one loaded from the folder none."""

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

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("staff_id", sa.String(32), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("pin_hash", sa.String(255), nullable=False),
)
"""Counter staff (``hub.staff``): an argon2 hash of each PIN, never the PIN."""

appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("booking_id", sa.String(32), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("matter", sa.String(32), nullable=False),
    sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("slot_end", sa.DateTime(timezone=True), nullable=False),
    sa.Column("phone_masked", sa.String(16), nullable=False),
    sa.Column("phone_hash", sa.String(64), nullable=False),
    sa.Column("name_masked", sa.String(64), nullable=True),
    sa.Column("citizen_ref", sa.String(64), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("checkin_command_id", sa.String(160), nullable=True),
    sa.Column("checkin_priority", sa.String(16), nullable=True),
    sa.Column("ticket_id", sa.String(64), nullable=True),
    sa.UniqueConstraint("request_id", name="uq_appointments_request_id"),
    sa.UniqueConstraint("checkin_command_id", name="uq_appointments_checkin_command_id"),
    sa.Index("ix_appointments_site_slot", "site_id", "slot_start"),
    sa.Index("ix_appointments_phone_hash", "phone_hash"),
)
"""Booked appointments (``hub.appointments``). The phone is kept only masked (138****1234) and as a keyed hash (HMAC)
for the no-show rule; an ID number only as the keyed ``citizen_ref``; a name only masked."""

appointment_slots = sa.Table(
    "appointment_slots",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("matter", sa.String(32), primary_key=True),
    sa.Column("slot_start", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("booked", sa.Integer(), nullable=False),
)
"""Bookings held per slot: a conditional ``UPDATE ... SET booked = booked + 1 WHERE booked < capacity`` takes a place
atomically on both backends (a row lock on PostgreSQL, the write lock on SQLite)."""

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("username", sa.String(32), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("site_id", sa.String(64), nullable=True),
    sa.Column("window_id", sa.String(64), nullable=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""Accounts of the web pages (``hub.accounts``): administrator, manager of a site, staff of a window; an argon2 hash
of each password, never the password."""

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", _row_id, sa.Identity(), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(64), nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("result", sa.String(32), nullable=False),
    sa.Column("site_id", sa.String(64), nullable=True),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Column("subject", sa.String(128), nullable=True),
    sa.Column("before", sa.JSON(), nullable=True),
    sa.Column("after", sa.JSON(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Index("ix_audit_site_id", "site_id", "id"),
)
"""The web side's audit trail (``hub.audit``): sign-ins and sign-outs, later configuration changes with their
before and after; only ever added to."""

wall_screens = sa.Table(
    "wall_screens",
    metadata,
    sa.Column("screen_id", sa.String(32), primary_key=True),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("site_id", sa.String(64), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("token_hash", name="uq_wall_screens_token_hash"),
)
"""Wall screens (``hub.wall_screens``): a TV's read-only link to the district wall (no ``site_id``) or one site's
live hall; only the sha256 of its random token, who made it, when it was last seen and when revoked."""

site_locks = sa.Table(
    "site_locks",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("lock_key", sa.Integer(), nullable=False),
    sa.Column("epoch", sa.BigInteger(), nullable=False),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("lock_key", name="uq_site_locks_lock_key"),
)
"""Several hubs on one PostgreSQL (``hub.cluster``): each site's advisory lock key, the epoch its holder took it at
(every append checks it) and who holds it, for the pages and the next taker."""

cluster_hubs = sa.Table(
    "cluster_hubs",
    metadata,
    sa.Column("hub_id", sa.String(64), primary_key=True),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("prefer", sa.Text(), nullable=False),
    sa.Column("sharing", sa.Boolean(), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)
"""The hubs of a city as their heartbeats last said: web address, preferred sites, whether it takes a share of the
other sites yet (not in its first seconds), when seen."""

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


# --- the electronic archive of documents handed in at kiosks (hub/archive, issue 15) ---------------------------------

archive_cases = sa.Table(
    "archive_cases",
    metadata,
    sa.Column("case_id", sa.String(32), primary_key=True),
    sa.Column("case_number", sa.String(40), nullable=False),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("submission_id", sa.String(64), nullable=False),
    sa.Column("matter", sa.String(64), nullable=False),
    sa.Column("ticket_id", sa.String(64), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("materials", sa.Text(), nullable=False),
    sa.Column("citizen_ref", sa.String(64), nullable=True),
    sa.Column("commitment_text", sa.String(64), nullable=True),
    sa.Column("commitment_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decided_by", sa.String(64), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.UniqueConstraint("case_number", name="uq_archive_cases_case_number"),
    sa.UniqueConstraint("site_id", "submission_id", name="uq_archive_cases_submission"),
    sa.UniqueConstraint("site_id", "day", "seq", name="uq_archive_cases_day_seq"),
    sa.UniqueConstraint("token_hash", name="uq_archive_cases_token_hash"),
)
sa.Index("ix_archive_cases_site_created", archive_cases.c.site_id, archive_cases.c.created_at)
sa.Index("ix_archive_cases_created", archive_cases.c.created_at)
sa.Index("ix_archive_cases_ticket", archive_cases.c.site_id, archive_cases.c.ticket_id)
"""Cases (``hub.archive``): number (per site and day), the kiosk's submission id (a retry is the same case), matter,
ticket, state, the materials (JSON), the citizen's keyed ``citizen_ref`` only (never the ID number), the commitment
signed, the sha256 of the status link's token, when submitted and decided, by whom and why."""

archive_pages = sa.Table(
    "archive_pages",
    metadata,
    sa.Column("case_id", sa.String(32), primary_key=True),
    sa.Column("material", sa.Integer(), primary_key=True),
    sa.Column("page", sa.Integer(), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("shape", sa.String(16), nullable=False),
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
)
"""A case's pages as the kiosk announced them; ``stored_at`` is set once the file (content-addressed by its sha256)
is in the page store."""

archive_denied = sa.Table(
    "archive_denied",
    metadata,
    sa.Column("citizen_ref", sa.String(64), primary_key=True),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)
"""The district's list of broken commitments (失信名单), by keyed ID hash only: who may not sign a commitment."""


# --- ratings follow-up (好差评 整改) and appeals (hub/follow_ups, issue 14) ----------------------------------------

follow_ups = sa.Table(
    "follow_ups",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("ticket_id", sa.String(64), nullable=False),
    sa.Column("window_id", sa.String(64), nullable=True),
    sa.Column("staff_id", sa.String(64), nullable=True),
    sa.Column("matter", sa.String(64), nullable=False),
    sa.Column("level", sa.SmallInteger(), nullable=True),
    sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done", sa.SmallInteger(), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("due_verified", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_contacted", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_put_right", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_reported", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="rating"),
    sa.Index("ix_follow_ups_site_rated", "site_id", "rated_at"),
    sa.Index("ix_follow_ups_open_due", "closed_at", "due_at"),
)
"""A follow-up item: of a bad rating (``kind`` rating), keyed by the ``ServiceRated`` event's site and number, or of
an officer's findings (``kind`` finding, migration 0018), keyed by the visit's ``TicketIssued`` (``issued_seq``): no
window nor level, ``rated_at`` when the findings were first written. How many of its four steps are answered
(``done``), each step's deadline and the next one's (``due_at``), when and how it closed."""

follow_up_steps = sa.Table(
    "follow_up_steps",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("step", sa.String(16), primary_key=True),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("answered_by", sa.String(64), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
)
"""The manager's answer of one step of an item, with its note."""

follow_up_appeals = sa.Table(
    "follow_up_appeals",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("appealed_by", sa.String(64), nullable=False),
    sa.Column("appealed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decision", sa.String(16), nullable=True),
    sa.Column("decided_by", sa.String(64), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decision_note", sa.Text(), nullable=True),
)
"""Staff's appeal of a rating (one per item) and the district administrator's decision (upheld, rejected)."""

follow_up_checkpoints = sa.Table(
    "follow_up_checkpoints",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
)
"""The last rating event of each site that follow-ups were opened from."""


# --- service experience officers (体验官): enrolment, visits, findings (hub/officers, issue 14) -----------------------

officers = sa.Table(
    "officers",
    metadata,
    sa.Column("officer_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("phone_masked", sa.String(16), nullable=False),
    sa.Column("phone_hash", sa.String(64), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("enrolled_by", sa.String(64), nullable=False),
    sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("code_hash", name="uq_officers_code_hash"),
)
"""The district's service experience officers (``hub.officers``): name, kind, the phone only masked and as a keyed
hash (HMAC), the sha256 of their random code (shown once), who enrolled them and when, when revoked."""

officer_visits = sa.Table(
    "officer_visits",
    metadata,
    sa.Column("ticket_id", sa.String(64), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("issued_seq", sa.BigInteger(), nullable=False),
    sa.Column("officer_id", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("findings", sa.Text(), nullable=True),
    sa.Column("findings_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_officer_visits_day", "day"),
)
"""A ticket taken with an officer's code: hub-side only, never in an event, never published. ``issued_seq``: its
``TicketIssued``'s, where its journey starts in the site's log; the officer's written findings."""

officer_bookings = sa.Table(
    "officer_bookings",
    metadata,
    sa.Column("booking_id", sa.String(64), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("officer_id", sa.String(32), nullable=False),
    sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
)
"""A booking made with an officer's code: it becomes a visit when it is checked in."""


# --- reports' read models: projections of the event log (hub/reports/projection.py, issue 14) ----------------------

report_tickets = sa.Table(
    "report_tickets",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("ticket_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("matter", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("issue_hour", sa.Integer(), nullable=False),
    sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("wait_seconds", sa.Integer(), nullable=True),
    sa.Column("window_id", sa.String(64), nullable=True),
    sa.Column("staff_id", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("transfers", sa.Integer(), nullable=False),
    sa.Column("parks", sa.Integer(), nullable=False),
    sa.Column("serving_since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("serving_window", sa.String(64), nullable=True),
    sa.Index("ix_report_tickets_day", "day", "site_id"),
)
"""One row per ticket: its first matter, when it was issued (and the local hour), its first call (wait in whole
seconds; window and clerk of that call), its outcome (waiting, called, serving, served, missed, parked, cancelled),
transfers and parks. ``serving_*``: the service under way, until its ``ServiceFinished`` makes a service row."""

report_services = sa.Table(
    "report_services",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("ticket_id", sa.String(64), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("window_id", sa.String(64), nullable=False),
    sa.Column("staff_id", sa.String(64), nullable=True),
    sa.Column("matter", sa.String(32), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seconds", sa.Integer(), nullable=False),
    sa.Index("ix_report_services_day", "day", "site_id"),
)
"""One row per service finished (``seq``: its ``ServiceFinished``'s), in whole seconds."""

report_ratings = sa.Table(
    "report_ratings",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("ticket_id", sa.String(64), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("window_id", sa.String(64), nullable=False),
    sa.Column("staff_id", sa.String(64), nullable=True),
    sa.Column("matter", sa.String(32), nullable=False),
    sa.Column("level", sa.Integer(), nullable=False),
    sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("efficiency", sa.SmallInteger(), nullable=True),
    sa.Column("service_level", sa.SmallInteger(), nullable=True),
    sa.Column("attitude", sa.SmallInteger(), nullable=True),
    sa.Column("reasons", sa.String(160), nullable=False, server_default=""),
    sa.Column("source", sa.String(16), nullable=False, server_default="evaluator"),
    sa.Index("ix_report_ratings_day", "day", "site_id"),
)
"""One row per ``ServiceRated`` (level 1 非常不满意 .. 5 非常满意), with its sub-indicators (None when not given), its
reasons (comma-separated ``RatingReason`` values, "" for none) and where it was given (``RatingSource``; migration
0016)."""

rating_comments = sa.Table(
    "rating_comments",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("comment", sa.Text(), nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
)
"""A citizen's free words with a rating from the ticket page or a kiosk, keyed by the ``ServiceRated`` event: for the
site's manager only (hub/ratings.py), never in an event, on a device or in a log."""

report_windows = sa.Table(
    "report_windows",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("window_id", sa.String(64), primary_key=True),
    sa.Column("staff_id", sa.String(64), nullable=True),
)
"""Who is signed in at each window, as far as the projection has read (a call's or service's clerk)."""

report_checkpoints = sa.Table(
    "report_checkpoints",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
)
"""The last event of each site's log (per-site ``seq``, gap-free) that the read models include."""

report_days = sa.Table(
    "report_days",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("matter", sa.String(32), primary_key=True),
    sa.Column("window_id", sa.String(64), primary_key=True),
    sa.Column("staff_id", sa.String(64), primary_key=True),
    sa.Column("issued", sa.Integer(), nullable=False),
    sa.Column("served", sa.Integer(), nullable=False),
    sa.Column("no_shows", sa.Integer(), nullable=False),
    sa.Column("transfers", sa.Integer(), nullable=False),
    sa.Column("parked", sa.Integer(), nullable=False),
    sa.Column("cancelled", sa.Integer(), nullable=False),
    sa.Column("within", sa.Integer(), nullable=False),
    sa.Column("level1", sa.Integer(), nullable=False),
    sa.Column("level2", sa.Integer(), nullable=False),
    sa.Column("level3", sa.Integer(), nullable=False),
    sa.Column("level4", sa.Integer(), nullable=False),
    sa.Column("level5", sa.Integer(), nullable=False),
    sa.Column("waits", sa.LargeBinary(), nullable=False),
    sa.Column("services", sa.LargeBinary(), nullable=False),
    sa.Index("ix_report_days_day", "day", "site_id"),
)
"""The tickets, services and ratings of a site's day summed per matter, window and clerk ("" for none), each by its
own (a ticket by its first call's): counts, ratings per level, and the wait and service histograms
(hub/reports/sums.py: int64 triples bucket, count, seconds; hub/reports/days.py keeps them)."""

report_hours = sa.Table(
    "report_hours",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("hour", sa.Integer(), primary_key=True),
    sa.Column("arrivals", sa.Integer(), nullable=False),
    sa.Column("waited", sa.BigInteger(), nullable=False),
    sa.Column("called", sa.Integer(), nullable=False),
    sa.Index("ix_report_hours_day", "day", "site_id"),
)
"""Per site, day and local hour of issue: tickets issued, and the sum and count of their waits to a first call."""

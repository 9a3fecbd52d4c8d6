"""The durable event store on SQL: SQLite for a hall's own hub, PostgreSQL when several sites share a server.

SQLAlchemy Core only. Statements are built once per store, so SQLAlchemy's compiled cache and the drivers'
statement caches (sqlite3's, psycopg's automatic prepare) serve the hot path: per command one outcome look-up and
one transaction of executemany inserts plus a check that the site's log continues without a gap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from engine.codec import decode_event, encode_event
from engine.events import Event
from hub.store.base import DistrictVersion, DuplicateCommand, Entry, SequenceConflict, StoreError, as_utc
from hub.store.schema import commands, district_config, events, snapshots

READ_BATCH = 2000
"""Events fetched per round trip while streaming a log (a server-side cursor on PostgreSQL)."""

SQLITE_BUSY_TIMEOUT_MS = 5000

BACKENDS = ("sqlite", "postgresql")
_UNIQUE_VIOLATIONS = frozenset({"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def create_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://...`` (psycopg 3), configured for the event store."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() not in BACKENDS:
        raise ValueError(f"unsupported database for the event store: {parsed.drivername}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(parsed)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _configure_sqlite)
        sa.event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: a commit survives a killed process (not a power cut) without an fsync each.

    sqlite3's own transaction handling is switched off (it would not BEGIN before SELECT or DDL, so migrations would
    not be atomic); ``_begin_sqlite`` opens every transaction instead.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _is_unique_violation(error: IntegrityError) -> bool:
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None)
    return code in _UNIQUE_VIOLATIONS


def _driver_insert(table: sa.Table, columns: Sequence[str], dialect: sa.Dialect) -> str:
    """The INSERT of the hot path in the driver's own SQL: the log's appends skip SQLAlchemy's compiling and type
    processing (the rows come ready, see ``_event_row``), a third of what an append cost in Python."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _insert(connection: Connection, statement: str, rows: list[tuple[Any, ...]], error: type[StoreError]) -> None:
    """Insert rows; a unique violation becomes the store's ``error`` (the caller's transaction then rolls back)."""
    try:
        connection.exec_driver_sql(statement, rows)
    except IntegrityError as exc:
        if _is_unique_violation(exc):
            raise error(str(exc.orig)) from exc
        raise


_EVENT_COLUMNS = ("site_id", "seq", "type", "at", "command_id", "payload")
_COMMAND_COLUMNS = ("command_id", "site_id", "outcome")


def _first_seqs(entries: Sequence[Entry]) -> dict[str, int]:
    """The first sequence number of each site in a batch, whose events must follow one another without a gap."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for event in (event for entry in entries for event in entry.events):
        expected = last.get(event.site_id, event.seq - 1) + 1
        if event.seq != expected:
            raise SequenceConflict(f"{event.site_id}#{event.seq} follows #{expected - 1} in one batch")
        first.setdefault(event.site_id, event.seq)
        last[event.site_id] = event.seq
    return first


def _snapshot_upsert(dialect: str) -> sa.Executable:
    """INSERT ... ON CONFLICT (site_id) DO UPDATE, which both backends spell the same way."""
    insert = postgresql.insert(snapshots) if dialect == "postgresql" else sqlite.insert(snapshots)
    return insert.on_conflict_do_update(
        index_elements=[snapshots.c.site_id], set_={"seq": insert.excluded.seq, "state": insert.excluded.state}
    )


Fence = Callable[[Connection, Sequence[str]], None]
"""A check inside every append's transaction that the sites are still the writer's (``hub.cluster.Fence``); it
raises ``NotOwner`` to refuse the batch."""


class SqlStore:
    """The ``EventStore`` contract on a SQLAlchemy engine whose database is migrated to the current schema."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fence: Fence | None = None
        """Set when several hubs share the database (PostgreSQL)."""
        # A one-statement read needs no transaction; on PostgreSQL leaving out BEGIN and ROLLBACK saves two round
        # trips per look-up. (The log stream keeps its transaction: a server-side cursor lives in one.)
        self._reads = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
        )
        self._insert_commands = _driver_insert(commands, _COMMAND_COLUMNS, engine.dialect)
        self._at: Callable[[datetime], Any] = events.c.at.type.bind_processor(engine.dialect) or (lambda at: at)
        """A time as the driver takes it (SQLite: the text SQLAlchemy reads back)."""
        self._appended: dict[str, int] = {}
        """The last event number each site got from this store's own appends."""
        self._insert_events = _driver_insert(events, _EVENT_COLUMNS, engine.dialect)
        self._select_outcome = sa.select(commands.c.outcome).where(commands.c.command_id == sa.bindparam("command_id"))
        self._select_outcomes = sa.select(commands.c.command_id, commands.c.outcome).where(
            commands.c.command_id.in_(sa.bindparam("command_ids", expanding=True))
        )
        self._select_events = (
            sa.select(events.c.payload)
            .where(events.c.site_id == sa.bindparam("site_id"), events.c.seq > sa.bindparam("after_seq"))
            .order_by(events.c.seq)
        )
        self._select_of_type = (
            sa.select(events.c.payload)
            .where(
                events.c.site_id == sa.bindparam("site_id"),
                events.c.type == sa.bindparam("kind"),
                sa.text("events.at >= :start AND events.at < :end"),  # untyped: the bounds as the inserts store times
            )
            .order_by(events.c.seq)
        )
        self._select_seq = sa.select(events.c.seq).where(
            events.c.site_id == sa.bindparam("site_id"), events.c.seq == sa.bindparam("seq")
        )
        self._select_last_seq = sa.select(sa.func.coalesce(sa.func.max(events.c.seq), 0)).where(
            events.c.site_id == sa.bindparam("site_id")
        )
        self._upsert_snapshot = _snapshot_upsert(engine.dialect.name)
        self._select_snapshot = sa.select(snapshots.c.seq, snapshots.c.state).where(
            snapshots.c.site_id == sa.bindparam("site_id")
        )

    def append(self, entries: Sequence[Entry]) -> None:
        """Store the entries in one transaction, or nothing: a stored command id is a ``DuplicateCommand``, an
        event number taken or out of turn a ``SequenceConflict``."""
        if not entries:
            return
        command_rows = [(entry.command_id, entry.site_id, entry.outcome) for entry in entries]
        event_rows = [self._event_row(entry.command_id, event) for entry in entries for event in entry.events]
        first_seqs = _first_seqs(entries)
        with self.engine.begin() as connection:
            if self.fence is not None:
                self.fence(connection, sorted({entry.site_id for entry in entries}))
            _insert(connection, self._insert_commands, command_rows, DuplicateCommand)
            if event_rows:
                _insert(connection, self._insert_events, event_rows, SequenceConflict)
                self._check_continues(connection, first_seqs)
        for event in (event for entry in entries for event in entry.events):
            self._appended[event.site_id] = event.seq

    def _event_row(self, command_id: str, event: Event) -> tuple[Any, ...]:
        at = self._at(event.at.astimezone(UTC))
        return (event.site_id, event.seq, type(event).__name__, at, command_id, encode_event(event).decode())

    def _check_continues(self, connection: Connection, first_seqs: dict[str, int]) -> None:
        """Each site's new events must follow its stored log without a gap (UNIQUE refuses a taken number).

        Checked after the inserts, so that on SQLite the transaction already holds the write lock when it reads.
        """
        for site_id, seq in first_seqs.items():
            if self._appended.get(site_id) == seq - 1:
                continue  # follows this store's own last append: UNIQUE refuses it if another writer came between
            if seq > 1 and connection.execute(self._select_seq, {"site_id": site_id, "seq": seq - 1}).first() is None:
                raise SequenceConflict(f"{site_id}#{seq} would leave a gap in the log")

    def outcome(self, command_id: str) -> bytes | None:
        with self._reads.connect() as connection:
            stored: bytes | None = connection.execute(self._select_outcome, {"command_id": command_id}).scalar()
        return stored

    def outcomes(self, command_ids: Sequence[str]) -> dict[str, bytes]:
        if not command_ids:
            return {}
        with self._reads.connect() as connection:
            rows = connection.execute(self._select_outcomes, {"command_ids": list(command_ids)})
            return {row.command_id: bytes(row.outcome) for row in rows}

    def events(self, site_id: str, after_seq: int = 0) -> Iterator[Event]:
        with self.engine.connect() as connection:
            rows = connection.execution_options(yield_per=READ_BATCH).execute(
                self._select_events, {"site_id": site_id, "after_seq": after_seq}
            )
            for payload in rows.scalars():
                yield decode_event(payload)

    def events_of_type(self, site_id: str, kind: str, start: datetime, end: datetime) -> list[Event]:
        bounds = {"start": self._stored_at(start), "end": self._stored_at(end)}
        values = {"site_id": site_id, "kind": kind, **bounds}
        with self._reads.connect() as connection:
            return [decode_event(payload) for payload in connection.execute(self._select_of_type, values).scalars()]

    def _stored_at(self, at: datetime) -> Any:
        """A time as the ``at`` column holds it, to compare with: on SQLite the text sqlite3 makes of the inserts'
        datetimes (``2026-11-25 02:09:00+00:00``), which SQLAlchemy's own datetime text would not sort with."""
        utc = self._at(at.astimezone(UTC))
        return utc.isoformat(" ") if self.engine.dialect.name == "sqlite" and isinstance(utc, datetime) else utc

    def last_seq(self, site_id: str) -> int:
        with self._reads.connect() as connection:
            return int(connection.execute(self._select_last_seq, {"site_id": site_id}).scalar_one())

    def save_snapshot(self, site_id: str, seq: int, state: bytes) -> None:
        with self.engine.begin() as connection:
            connection.execute(self._upsert_snapshot, {"site_id": site_id, "seq": seq, "state": state})

    def snapshot(self, site_id: str) -> tuple[int, bytes] | None:
        with self._reads.connect() as connection:
            row = connection.execute(self._select_snapshot, {"site_id": site_id}).one_or_none()
        return None if row is None else (int(row.seq), bytes(row.state))

    def save_district(self, document: bytes, *, author: str | None = None, reason: str | None = None) -> int:
        values = {"document": document, "author": author, "reason": reason, "saved_at": datetime.now(UTC)}
        with self.engine.begin() as connection:
            inserted = connection.execute(district_config.insert().values(values).returning(district_config.c.version))
            return int(inserted.scalar_one())

    def district_versions(self, limit: int = 50) -> list[DistrictVersion]:
        table = district_config.c
        newest = sa.select(table.version, table.saved_at, table.author, table.reason)
        with self._reads.connect() as connection:
            rows = connection.execute(newest.order_by(table.version.desc()).limit(limit)).all()
        return [
            DistrictVersion(
                version=int(row.version), saved_at=as_utc(row.saved_at), author=row.author, reason=row.reason
            )
            for row in rows
        ]

    def district(self) -> bytes | None:
        newest = sa.select(district_config.c.document).order_by(district_config.c.version.desc()).limit(1)
        with self._reads.connect() as connection:
            document = connection.execute(newest).scalar()
        return None if document is None else bytes(document)

    def close(self) -> None:
        self.engine.dispose()

"""Where bookings are kept: the ``appointments`` and ``appointment_slots`` tables of the hub's database.

SQLAlchemy Core on the hub store's engine (SQLite or PostgreSQL, migrated by ``hub.store.migrate``). A hub on the
memory store gets a private in-memory SQLite database with the same tables. Every write that decides something is
one conditional statement (``... WHERE booked < :capacity``, ``... WHERE status = 'booked'``), so two hubs or two
threads can never both take the last place or both check in one booking.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from hub.store.base import as_utc
from hub.store.schema import appointment_slots, appointments, metadata


class Status(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    """Claimed by a check-in command; ``ticket_id`` is set once the hub issued the ticket."""
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


@dataclass(frozen=True, slots=True)
class Row:
    """One stored booking, as the desk reads it (times in UTC)."""

    booking_id: str
    site_id: str
    matter: str
    slot_start: datetime
    slot_end: datetime
    phone_masked: str
    phone_hash: str
    name_masked: str | None
    citizen_ref: str | None
    request_id: str | None
    status: Status
    created_at: datetime
    cancelled_at: datetime | None = None
    checked_in_at: datetime | None = None
    checkin_command_id: str | None = None
    checkin_priority: str | None = None
    ticket_id: str | None = None


def _maybe_utc(at: datetime | None) -> datetime | None:
    return None if at is None else as_utc(at)


def _row(row: Any) -> Row:
    return Row(
        booking_id=row.booking_id,
        site_id=row.site_id,
        matter=row.matter,
        slot_start=as_utc(row.slot_start),
        slot_end=as_utc(row.slot_end),
        phone_masked=row.phone_masked,
        phone_hash=row.phone_hash,
        name_masked=row.name_masked,
        citizen_ref=row.citizen_ref,
        request_id=row.request_id,
        status=Status(row.status),
        created_at=as_utc(row.created_at),
        cancelled_at=_maybe_utc(row.cancelled_at),
        checked_in_at=_maybe_utc(row.checked_in_at),
        checkin_command_id=row.checkin_command_id,
        checkin_priority=row.checkin_priority,
        ticket_id=row.ticket_id,
    )


def memory_engine() -> Engine:
    """A private in-memory SQLite database with the appointment tables (for a hub on the memory store)."""
    engine = sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    metadata.create_all(engine, tables=[appointments, appointment_slots])
    return engine


class AppointmentStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._ensure_slot = insert(appointment_slots).on_conflict_do_nothing()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def hold_phone(self, connection: Connection, phone_hash: str) -> None:
        """Serialise the bookings of one phone until the transaction ends, across hub processes: on PostgreSQL a
        transaction advisory lock (two bookings for different slots lock different slot rows, so nothing else would
        stop both from passing the one-a-day check); SQLite's write lock, taken by the first write, already does."""
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(phone_hash, 0))))

    # --- places per slot ---------------------------------------------------------------------------------------

    def take_place(
        self, connection: Connection, site_id: str, matter: str, start: datetime, end: datetime, *, capacity: int
    ) -> bool:
        """Take one place of the slot [start, end) if fewer than ``capacity`` are taken, counting the places booked in
        slots of another length that start within it (booked before the site's slot length changed). The first
        statement writes, so on SQLite the transaction holds the write lock before it reads anything."""
        key = {"site_id": site_id, "matter": matter, "slot_start": start.astimezone(UTC)}
        connection.execute(self._ensure_slot, {**key, "booked": 0})
        within = connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(appointment_slots.c.booked), 0)).where(
                appointment_slots.c.site_id == site_id,
                appointment_slots.c.matter == matter,
                appointment_slots.c.slot_start > key["slot_start"],
                appointment_slots.c.slot_start < end.astimezone(UTC),
            )
        ).scalar_one()
        capacity -= int(within)
        taken = connection.execute(
            appointment_slots.update()
            .where(
                appointment_slots.c.site_id == site_id,
                appointment_slots.c.matter == matter,
                appointment_slots.c.slot_start == key["slot_start"],
                appointment_slots.c.booked < capacity,
            )
            .values(booked=appointment_slots.c.booked + 1)
        )
        return taken.rowcount == 1

    def give_back_place(self, connection: Connection, site_id: str, matter: str, start: datetime) -> None:
        connection.execute(
            appointment_slots.update()
            .where(
                appointment_slots.c.site_id == site_id,
                appointment_slots.c.matter == matter,
                appointment_slots.c.slot_start == start.astimezone(UTC),
                appointment_slots.c.booked > 0,
            )
            .values(booked=appointment_slots.c.booked - 1)
        )

    def places_taken(self, site_id: str, matter: str, since: datetime, until: datetime) -> dict[datetime, int]:
        query = sa.select(appointment_slots.c.slot_start, appointment_slots.c.booked).where(
            appointment_slots.c.site_id == site_id,
            appointment_slots.c.matter == matter,
            appointment_slots.c.slot_start >= since.astimezone(UTC),
            appointment_slots.c.slot_start < until.astimezone(UTC),
        )
        with self.engine.connect() as connection:
            return {as_utc(start): int(booked) for start, booked in connection.execute(query)}

    # --- bookings ----------------------------------------------------------------------------------------------

    def insert(self, connection: Connection, row: Row) -> None:
        values = {name: getattr(row, name) for name in Row.__slots__}
        values["status"] = row.status.value
        connection.execute(appointments.insert(), values)

    def get(self, booking_id: str, connection: Connection | None = None) -> Row | None:
        query = sa.select(appointments).where(appointments.c.booking_id == booking_id)
        return self._one(query, connection)

    def by_request(self, request_id: str) -> Row | None:
        return self._one(sa.select(appointments).where(appointments.c.request_id == request_id))

    def by_command(self, command_id: str) -> Row | None:
        return self._one(sa.select(appointments).where(appointments.c.checkin_command_id == command_id))

    def _one(self, query: sa.Select[Any], connection: Connection | None = None) -> Row | None:
        if connection is not None:
            found = connection.execute(query).one_or_none()
        else:
            with self.engine.connect() as own:
                found = own.execute(query).one_or_none()
        return None if found is None else _row(found)

    def active_for_phone(
        self, connection: Connection, phone_hash: str, *, site_id: str, matter: str, since: datetime, until: datetime
    ) -> list[Row]:
        """The phone's booked or checked-in bookings of a matter at a site with slots in [since, until)."""
        query = sa.select(appointments).where(
            appointments.c.phone_hash == phone_hash,
            appointments.c.site_id == site_id,
            appointments.c.matter == matter,
            appointments.c.status.in_([Status.BOOKED.value, Status.CHECKED_IN.value]),
            appointments.c.slot_start >= since.astimezone(UTC),
            appointments.c.slot_start < until.astimezone(UTC),
        )
        return [_row(found) for found in connection.execute(query)]

    def missed_since(self, phone_hash: str, since: datetime) -> list[datetime]:
        """Slot starts of the phone's no-shows since ``since`` (any site)."""
        query = sa.select(appointments.c.slot_start).where(
            appointments.c.phone_hash == phone_hash,
            appointments.c.status == Status.NO_SHOW.value,
            appointments.c.slot_start >= since.astimezone(UTC),
        )
        with self.engine.connect() as connection:
            return [as_utc(start) for start in connection.execute(query).scalars()]

    def for_site(self, site_id: str, since: datetime, until: datetime) -> list[Row]:
        query = (
            sa.select(appointments)
            .where(
                appointments.c.site_id == site_id,
                appointments.c.slot_start >= since.astimezone(UTC),
                appointments.c.slot_start < until.astimezone(UTC),
            )
            .order_by(appointments.c.slot_start, appointments.c.matter, appointments.c.created_at)
        )
        with self.engine.connect() as connection:
            return [_row(found) for found in connection.execute(query)]

    def booked_ending_before(self, at: datetime) -> list[Row]:
        query = sa.select(appointments).where(
            appointments.c.status == Status.BOOKED.value, appointments.c.slot_end <= at.astimezone(UTC)
        )
        with self.engine.connect() as connection:
            return [_row(found) for found in connection.execute(query)]

    # --- status changes: each one conditional on the status it leaves ------------------------------------------

    def cancel(self, connection: Connection, booking_id: str, at: datetime) -> bool:
        changed = connection.execute(
            appointments.update()
            .where(appointments.c.booking_id == booking_id, appointments.c.status == Status.BOOKED.value)
            .values(status=Status.CANCELLED.value, cancelled_at=at.astimezone(UTC))
        )
        return changed.rowcount == 1

    def claim(
        self, booking_id: str, command_id: str, priority: str, at: datetime, stale_command: str | None = None
    ) -> bool:
        """Check a booking in for a command: from ``booked``, or from a stale claim of ``stale_command``."""
        if stale_command is None:
            condition = appointments.c.status == Status.BOOKED.value
        else:
            condition = sa.and_(
                appointments.c.status == Status.CHECKED_IN.value,
                appointments.c.checkin_command_id == stale_command,
                appointments.c.ticket_id.is_(None),
            )
        with self.engine.begin() as connection:
            changed = connection.execute(
                appointments.update()
                .where(appointments.c.booking_id == booking_id, condition)
                .values(
                    status=Status.CHECKED_IN.value,
                    checked_in_at=at.astimezone(UTC),
                    checkin_command_id=command_id,
                    checkin_priority=priority,
                )
            )
        return changed.rowcount == 1

    def set_ticket(self, booking_id: str, command_id: str, ticket_id: str) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(
                appointments.update()
                .where(
                    appointments.c.booking_id == booking_id,
                    appointments.c.checkin_command_id == command_id,
                    sa.or_(appointments.c.ticket_id.is_(None), appointments.c.ticket_id == ticket_id),
                )
                .values(ticket_id=ticket_id)
            )
        return changed.rowcount == 1

    def unclaim(self, booking_id: str, command_id: str) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(
                appointments.update()
                .where(
                    appointments.c.booking_id == booking_id,
                    appointments.c.checkin_command_id == command_id,
                    appointments.c.ticket_id.is_(None),
                )
                .values(status=Status.BOOKED.value, checked_in_at=None, checkin_command_id=None, checkin_priority=None)
            )
        return changed.rowcount == 1

    def mark_missed(self, booking_ids: Sequence[str]) -> int:
        if not booking_ids:
            return 0
        with self.engine.begin() as connection:
            changed = connection.execute(
                appointments.update()
                .where(appointments.c.booking_id.in_(booking_ids), appointments.c.status == Status.BOOKED.value)
                .values(status=Status.NO_SHOW.value)
            )
        return int(changed.rowcount)

"""Counter staff: who may sign in at a window. A clerk signs in with a staff id and a PIN (the caller's
``open-window`` request); the hub keeps only an argon2 hash of the PIN.

A PIN is short, so guessing is slowed by the hash and stopped by a lock-out: ``MAX_FAILURES`` wrong PINs in a row
lock the staff id for ``LOCKOUT`` (in memory; a hub restart clears it). Neither PIN nor hash is ever logged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import argon2
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from engine.district import District
from hub.store import EventStore
from hub.store.schema import staff as staff_table
from hub.store.sql import SqlStore

STAFF_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
PIN = re.compile(r"[0-9]{4,12}")
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)

_hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class StaffError(ValueError):
    """A staff change the directory refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class StaffMember:
    staff_id: str
    site_id: str
    name: str
    pin_hash: str = field(repr=False)


class SignInRefused(Exception):
    """Wrong staff id or PIN, another site's staff, or a locked staff id: ``reason`` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StaffRows(Protocol):
    def put(self, member: StaffMember) -> None:
        """Add a member or replace the one with the same id."""
        ...

    def remove(self, staff_id: str) -> bool: ...

    def get(self, staff_id: str) -> StaffMember | None: ...

    def all(self) -> list[StaffMember]: ...


class MemoryStaffRows:
    def __init__(self) -> None:
        self._rows: dict[str, StaffMember] = {}

    def put(self, member: StaffMember) -> None:
        self._rows[member.staff_id] = member

    def remove(self, staff_id: str) -> bool:
        return self._rows.pop(staff_id, None) is not None

    def get(self, staff_id: str) -> StaffMember | None:
        return self._rows.get(staff_id)

    def all(self) -> list[StaffMember]:
        return [self._rows[key] for key in sorted(self._rows)]


class SqlStaffRows:
    """The ``staff`` table of the hub's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, member: StaffMember) -> None:
        row = {"site_id": member.site_id, "name": member.name, "pin_hash": member.pin_hash}
        with self.engine.begin() as connection:
            try:
                with connection.begin_nested():
                    connection.execute(staff_table.insert(), {"staff_id": member.staff_id, **row})
            except IntegrityError:
                connection.execute(staff_table.update().where(staff_table.c.staff_id == member.staff_id), row)

    def remove(self, staff_id: str) -> bool:
        with self.engine.begin() as connection:
            return connection.execute(staff_table.delete().where(staff_table.c.staff_id == staff_id)).rowcount > 0

    def get(self, staff_id: str) -> StaffMember | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(staff_table).where(staff_table.c.staff_id == staff_id)).one_or_none()
        return None if row is None else StaffMember(row.staff_id, row.site_id, row.name, row.pin_hash)

    def all(self) -> list[StaffMember]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(staff_table).order_by(staff_table.c.staff_id)).all()
        return [StaffMember(row.staff_id, row.site_id, row.name, row.pin_hash) for row in rows]


def _now() -> datetime:
    return datetime.now(UTC)


class StaffDirectory:
    """Add, remove and check the staff of a district."""

    def __init__(self, district: District, rows: StaffRows, clock: Callable[[], datetime] = _now) -> None:
        self.district = district
        self.rows = rows
        self.clock = clock
        self._failures: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def add(self, site_id: str, staff_id: str, name: str, pin: str) -> StaffMember:
        """Add a member, or change the name and PIN of one that exists."""
        if self.district.site(site_id) is None:
            raise StaffError(f"no site {site_id!r} in district {self.district.id}")
        if not STAFF_ID.fullmatch(staff_id):
            raise StaffError(f"staff id {staff_id!r} must be 1-32 of A-Z, a-z, 0-9, _ and -")
        if not PIN.fullmatch(pin):
            raise StaffError("a PIN is 4-12 digits")
        if not name.strip():
            raise StaffError("give the member's name")
        member = StaffMember(staff_id, site_id, name.strip(), _hasher.hash(pin))
        self.rows.put(member)
        with self._lock:
            self._failures.pop(staff_id, None)  # a new PIN: a clerk locked out by wrong ones may sign in at once
        return member

    def remove(self, staff_id: str) -> None:
        if not self.rows.remove(staff_id):
            raise StaffError(f"no staff {staff_id!r}")

    def all(self) -> list[StaffMember]:
        return self.rows.all()

    def sign_in(self, site_id: str, staff_id: str, pin: str) -> StaffMember:
        """The member whose PIN this is, at their own site; raise ``SignInRefused`` otherwise."""
        now = self.clock()
        with self._lock:
            failures, since = self._failures.get(staff_id, (0, now))
            if failures >= MAX_FAILURES and now - since < LOCKOUT:
                raise SignInRefused("staff_locked")
        member = self.rows.get(staff_id)
        if member is None or not _verifies(member.pin_hash, pin):
            with self._lock:
                failures, _ = self._failures.get(staff_id, (0, now))
                self._failures[staff_id] = (failures + 1, now)
            raise SignInRefused("bad_credentials")
        with self._lock:
            self._failures.pop(staff_id, None)
        if member.site_id != site_id:
            raise SignInRefused("wrong_site_staff")
        return member


def _verifies(pin_hash: str, pin: str) -> bool:
    try:
        return _hasher.verify(pin_hash, pin)
    except argon2.exceptions.VerificationError:
        return False


def staff_for(store: EventStore, district: District) -> StaffDirectory:
    """The directory kept beside a store: in its SQL database, or in memory for a memory store."""
    rows: StaffRows = SqlStaffRows(store.engine) if isinstance(store, SqlStore) else MemoryStaffRows()
    return StaffDirectory(district, rows)

"""The storage contract every backend keeps: an append-only event log, command outcomes and snapshots.

One ``append`` call is one transaction: the events of every entry and each entry's outcome are stored together or
not at all. The outcome is stored under the command's client-generated id, so a retried command gets the first
answer back instead of being decided twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Protocol

import msgspec
from sqlalchemy.exc import OperationalError

from engine.events import Event


class Entry(msgspec.Struct, frozen=True):
    """One decided command: its id, the events it caused (possibly none) and the encoded answer it got."""

    site_id: str
    command_id: str
    events: Sequence[Event]
    outcome: bytes


def as_utc(at: datetime) -> datetime:
    """In UTC: SQLite gives back naive datetimes, which were stored in UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class DistrictVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One stored version of the district configuration, without its document."""

    version: int
    saved_at: datetime
    author: str | None = None
    reason: str | None = None


class StoreError(Exception):
    """A write was refused; nothing of the batch was stored."""


class DuplicateCommand(StoreError):
    """A command id that is already stored (a retry that raced its first attempt)."""


class SequenceConflict(StoreError):
    """An event's (site, seq) is taken: another writer appended to the site first."""


class NotOwner(StoreError):
    """A site of the batch is no longer this hub's to decide (``hub.cluster``): another hub holds it now."""


def expected_failure(error: BaseException) -> bool:
    """A database that does not answer, or a site another hub holds now: what a hub lives through (logged in one
    line, answered ``unavailable``), not a defect worth a traceback."""
    return isinstance(error, NotOwner | OperationalError)


class EventStore(Protocol):
    def append(self, entries: Sequence[Entry]) -> None: ...

    def outcome(self, command_id: str) -> bytes | None: ...

    def outcomes(self, command_ids: Sequence[str]) -> dict[str, bytes]:
        """The stored outcomes of those of ``command_ids`` that are stored, in one look-up."""
        ...

    def events(self, site_id: str, after_seq: int = 0) -> Iterator[Event]: ...

    def events_of_type(self, site_id: str, kind: str, start: datetime, end: datetime) -> list[Event]:
        """A site's events of one type (``ServiceRated``) with ``start <= at < end``, in sequence order: for reports."""
        ...

    def last_seq(self, site_id: str) -> int: ...

    def save_snapshot(self, site_id: str, seq: int, state: bytes) -> None: ...

    def snapshot(self, site_id: str) -> tuple[int, bytes] | None: ...

    def save_district(self, document: bytes, *, author: str | None = None, reason: str | None = None) -> int:
        """Store a new version of the district configuration (who saved it and why, when known); return its
        version number."""
        ...

    def district_versions(self, limit: int = 50) -> list[DistrictVersion]:
        """The newest versions first."""
        ...

    def district(self) -> bytes | None:
        """The newest district configuration, or None in a fresh store."""
        ...

    def close(self) -> None: ...

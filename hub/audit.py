"""The audit trail of the hub's web side: who did what, when, from which address, with what result.

One table for every kind of entry: sign-ins (ok or refused, and why), sign-outs and expired sessions now; changes of
the configuration later, with what they changed (``subject``), the ``before`` and ``after`` JSON and the ``reason``
given. Entries are only ever added. A password, typed or hashed, never enters it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hub.store import EventStore
from hub.store.base import as_utc
from hub.store.schema import audit as audit_table
from hub.store.sql import SqlStore

LIST_LIMIT = 200


class Action(enum.StrEnum):
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    SESSION_EXPIRED = "session_expired"
    CONFIG_CHANGED = "config_changed"
    """A new version of the district configuration (subject: what part of it; before/after: that part)."""
    DEVICE_PROVISIONED = "device_provisioned"
    DEVICE_REVOKED = "device_revoked"
    DEVICE_ROTATED = "device_rotated"
    STAFF_ADDED = "staff_added"
    STAFF_PIN_RESET = "staff_pin_reset"
    STAFF_REMOVED = "staff_removed"
    ACCOUNT_ADDED = "account_added"
    ACCOUNT_PASSWORD_SET = "account_password_set"
    ACCOUNT_REMOVED = "account_removed"
    WALL_SCREEN_CREATED = "wall_screen_created"
    """A wall screen's link made (``hub.wall_screens``; subject ``wall:<id>``, never the token)."""
    WALL_SCREEN_REVOKED = "wall_screen_revoked"
    """A wall screen's link revoked (its open streams ended at once)."""
    ARCHIVE_CASE_VIEWED = "archive_case_viewed"
    """A case of the archive opened (``hub.archive``; subject ``case:<number>``; no personal data)."""
    ARCHIVE_PAGE_VIEWED = "archive_page_viewed"
    """A page image of a case downloaded (subject ``case:<number>/<material>/<page>``)."""
    ARCHIVE_CASE_ACCEPTED = "archive_case_accepted"
    ARCHIVE_CASE_RETURNED = "archive_case_returned"
    """A case returned for correction (reason: what the citizen is told)."""
    FOLLOW_UP_STEP = "follow_up_step"
    """A step of a bad rating's follow-up answered (``hub.follow_ups``; subject ``follow_up:<site>/<seq>``; never
    the note)."""
    FOLLOW_UP_APPEALED = "follow_up_appealed"
    """A rating appealed by its window's staff or their manager."""
    FOLLOW_UP_DECIDED = "follow_up_decided"
    """A district administrator's decision of an appeal (upheld or rejected)."""
    OFFICER_ENROLLED = "officer_enrolled"
    """A service experience officer enrolled (``hub.officers``; subject ``officer:<id>``; the name masked, never the
    phone or the code)."""
    OFFICER_REVOKED = "officer_revoked"
    """An officer's code revoked: it is as unknown as one never made."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    action: str
    result: str
    """"ok", or a stable code of why not (bad_credentials, throttled, idle, absolute, ...)."""
    actor: str | None = None
    """The username (for a refused sign-in, the name typed when it is a well-formed username)."""
    site_id: str | None = None
    """The site the entry concerns: a manager sees their own site's entries; None is the district's."""
    address: str | None = None
    subject: str | None = None
    """What changed (e.g. ``site:centre/windows``), for configuration changes."""
    before: Any = None
    after: Any = None
    reason: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "action": self.action,
            "result": self.result,
            "actor": self.actor,
            "site_id": self.site_id,
            "address": self.address,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None: ...

    def entries(self, site_id: str | None = None, limit: int = LIST_LIMIT) -> list[AuditEntry]:
        """The newest entries first; with ``site_id``, only that site's."""
        ...


class MemoryAuditLog:
    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []

    def record(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

    def entries(self, site_id: str | None = None, limit: int = LIST_LIMIT) -> list[AuditEntry]:
        found = [entry for entry in reversed(self._entries) if site_id is None or entry.site_id == site_id]
        return found[:limit]


class SqlAuditLog:
    """The ``audit`` table of the hub's database; ``before`` and ``after`` are kept as JSON."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, entry: AuditEntry) -> None:
        row = {
            "at": entry.at.astimezone(UTC),  # SQLite keeps no offset: every time in the table is UTC
            "action": entry.action,
            "result": entry.result,
            "actor": entry.actor,
            "site_id": entry.site_id,
            "address": entry.address,
            "subject": entry.subject,
            "before": entry.before,
            "after": entry.after,
            "reason": entry.reason,
        }
        with self.engine.begin() as connection:
            connection.execute(audit_table.insert(), row)

    def entries(self, site_id: str | None = None, limit: int = LIST_LIMIT) -> list[AuditEntry]:
        query = sa.select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        if site_id is not None:
            query = query.where(audit_table.c.site_id == site_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            AuditEntry(
                action=row.action,
                result=row.result,
                actor=row.actor,
                site_id=row.site_id,
                address=row.address,
                subject=row.subject,
                before=row.before,
                after=row.after,
                reason=row.reason,
                at=as_utc(row.at),
            )
            for row in rows
        ]


def audit_for(store: EventStore) -> AuditLog:
    """The audit trail kept beside a store: in its SQL database, or in memory for a memory store."""
    return SqlAuditLog(store.engine) if isinstance(store, SqlStore) else MemoryAuditLog()

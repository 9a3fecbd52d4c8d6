"""Service experience officers (政务服务体验官): people the district enrols to go through a matter as an ordinary
citizen and report what they found (issue 14).

An officer has a name, a kind (人大代表, 政协委员, 媒体记者, 企业代表, 市民) and a phone, kept only masked
(138****1234) and as a keyed hash, as bookings keep theirs. Each gets a code (``TY-`` and 16 random characters, 80
bits: nothing to guess), shown once at enrolment as text and QR; only its sha256 is kept, and revoking the officer
makes it as unknown as a code never made.

A **visit** is a ticket taken with an officer's code, at the kiosk (``IssueRequest.officer_code``) or by a booking
(``BookingBody.officer_code``, the visit recorded at check-in). It is kept here, hub-side only: the ticket's events
carry nothing of it, so nothing published (boards, callers, snapshots, the pages of staff and managers) can show
it. A code the hub does not know is ignored, and nobody is told. The officer's **journey** (waits, calls,
transfers, service times, ratings) is read back from the site's event log, from the visit's ``TicketIssued`` on;
the officer's **findings** are written on the ticket's own page after they enter their code again, and each visit's
findings are followed up as a bad rating is (``hub.follow_ups``, which reads them from ``officer_visits``).
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import secrets
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from contract import mask_name
from engine import events as ev
from hub.appointments.privacy import keyed_hash, mask_phone, normalise_phone
from hub.store import EventStore
from hub.store.base import as_utc
from hub.store.schema import metadata, officer_bookings, officer_visits, officers
from hub.store.sql import SqlStore

log = logging.getLogger(__name__)

NAME_LIMIT = 32
FINDINGS_LIMIT = 4000
"""The longest findings an officer may write on one visit."""
CODE_PREFIX = "TY"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32: no I, L, O or U to misread."""
_CODE = re.compile(rf"{CODE_PREFIX}[{_ALPHABET}]{{16}}")
TABLES = [officers, officer_visits, officer_bookings]


class OfficerKind(enum.StrEnum):
    DEPUTY = "deputy"  # 人大代表
    MEMBER = "member"  # 政协委员
    JOURNALIST = "journalist"  # 媒体记者
    BUSINESS = "business"  # 企业代表
    CITIZEN = "citizen"  # 市民


class Channel(enum.StrEnum):
    """How the visit's ticket was taken."""

    KIOSK = "kiosk"
    BOOKING = "booking"


class OfficerError(ValueError):
    """An officer the district cannot enrol, or findings not kept; ``code`` says which field (``name``, ``kind``,
    ``phone``, ``findings``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Officer:
    officer_id: str
    name: str
    kind: OfficerKind
    phone_masked: str
    enrolled_by: str
    enrolled_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def name_masked(self) -> str:
        return mask_name(self.name)


@dataclass(frozen=True, slots=True)
class Visit:
    ticket_id: str
    site_id: str
    day: date
    issued_seq: int
    officer_id: str
    channel: Channel
    recorded_at: datetime
    findings: str | None = None
    findings_at: datetime | None = None


# --- codes ----------------------------------------------------------------------------------------------------------


def new_code() -> str:
    """``TY`` and 16 random characters of Crockford's base32 (80 bits)."""
    return CODE_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def shown(code: str) -> str:
    """A code as the officer reads it: ``TY-ABCD-EFGH-JKMN-PQRS``."""
    body = code.removeprefix(CODE_PREFIX)
    return "-".join([CODE_PREFIX, *(body[i : i + 4] for i in range(0, len(body), 4))])


def normalise_code(text: str) -> str | None:
    """A code as typed or scanned (any case, dashes and spaces), or None when it cannot be one."""
    code = re.sub(r"[\s\-]", "", text).upper()
    return code if _CODE.fullmatch(code) else None


def code_hash(code: str) -> str:
    """The code is random: a plain hash hides it."""
    return hashlib.sha256(code.encode()).hexdigest()


def check(name: str, kind: str, phone: str) -> tuple[str, OfficerKind, str]:
    """The fields of an enrolment, cleaned; a wrong one raises ``OfficerError``."""
    name = name.strip()
    if not name or len(name) > NAME_LIMIT or not name.isprintable():
        raise OfficerError("name", f"a name of one line, at most {NAME_LIMIT} characters")
    if kind not in set(OfficerKind):
        raise OfficerError("kind", "an officer's kind is one of " + ", ".join(OfficerKind))
    number = normalise_phone(phone)
    if number is None:
        raise OfficerError("phone", "a mainland mobile number, 11 digits")
    return name, OfficerKind(kind), number


# --- the journey ----------------------------------------------------------------------------------------------------


@dataclass
class Journey:
    """What happened to a visit's ticket, from the site's log. Seconds are whole; ``waits`` are from the ticket's
    issue (or its return to the queue: a transfer, the next matter, a park, a reactivation) to its next first call;
    ``services`` from that call (or the service's start) to the finish, transfer or park at each window."""

    ticket_id: str
    number: str = ""
    matters: tuple[str, ...] = ()
    issued_at: datetime | None = None
    calls: int = 0
    recalls: int = 0
    transfers: int = 0
    parked: int = 0
    missed: int = 0
    waits: list[int] = field(default_factory=list)
    services: list[int] = field(default_factory=list)
    windows: list[str] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)
    outcome: str = "open"
    """``open`` (still in the hall), ``served``, ``missed`` or ``cancelled``."""

    @property
    def total_wait(self) -> int:
        return sum(self.waits)

    @property
    def total_service(self) -> int:
        return sum(self.services)

    def as_json(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id, "number": self.number, "matters": list(self.matters),
            "issued_at": None if self.issued_at is None else self.issued_at.isoformat(),
            "calls": self.calls, "recalls": self.recalls, "transfers": self.transfers, "parked": self.parked,
            "missed": self.missed, "waits": self.waits, "services": self.services, "windows": self.windows,
            "ratings": self.ratings, "outcome": self.outcome, "total_wait": self.total_wait,
            "total_service": self.total_service,
        }  # fmt: skip


def _seconds(later: datetime, earlier: datetime) -> int:
    return max(0, round((later - earlier).total_seconds()))


class _Walk:
    """Follows one ticket through its site's events, into a ``Journey``."""

    def __init__(self, ticket_id: str) -> None:
        self.found = Journey(ticket_id)
        self.queued: datetime | None = None
        """Since when the ticket waits for its next first call (None: it does not wait)."""
        self.begun: datetime | None = None
        """When the service at the current window began (its call, or its start)."""

    def issued(self, event: ev.TicketIssued) -> None:
        found = self.found
        found.number, found.matters, found.issued_at, self.queued = event.number, event.matters, event.at, event.at

    def called(self, event: ev.TicketCalled) -> None:
        self.found.calls += 1
        if event.call_count > 1 or event.kind == ev.CallKind.RECALL:
            self.found.recalls += 1
        if self.queued is not None:
            self.found.waits.append(_seconds(event.at, self.queued))
            self.found.windows.append(event.window_id)
            self.begun = event.at
        elif self.begun is None:
            self.begun = event.at
        self.queued = None

    def started(self, event: ev.ServiceStarted) -> None:
        self.begun = event.at

    def _served(self, at: datetime) -> None:
        """The service at the current window ends (finished, transferred or parked): its time counts."""
        if self.begun is not None:
            self.found.services.append(_seconds(at, self.begun))
        self.begun = None

    def finished(self, event: ev.ServiceFinished) -> None:
        self._served(event.at)
        if event.next_matter is not None:
            self.queued = event.at
        else:
            self.found.outcome = "served"

    def transferred(self, event: ev.TicketTransferred) -> None:
        self.found.transfers += 1
        self._served(event.at)
        self.queued = event.at

    def parked(self, event: ev.TicketParked) -> None:
        self.found.parked += 1
        self._served(event.at)
        self.queued = event.at

    def missed(self, _event: ev.TicketMissed) -> None:
        self.found.missed += 1
        self.found.outcome, self.queued, self.begun = "missed", None, None

    def reactivated(self, event: ev.TicketReactivated) -> None:
        self.found.outcome, self.queued = "open", event.at

    def cancelled(self, _event: ev.TicketCancelled) -> None:
        self.found.outcome, self.queued, self.begun = "cancelled", None, None

    def rated(self, event: ev.ServiceRated) -> None:
        self.found.ratings.append(event.level)


_STEPS: dict[type[ev.Event], Any] = {
    ev.TicketIssued: _Walk.issued, ev.TicketCalled: _Walk.called, ev.ServiceStarted: _Walk.started,
    ev.ServiceFinished: _Walk.finished, ev.TicketTransferred: _Walk.transferred, ev.TicketParked: _Walk.parked,
    ev.TicketMissed: _Walk.missed, ev.TicketReactivated: _Walk.reactivated, ev.TicketCancelled: _Walk.cancelled,
    ev.ServiceRated: _Walk.rated,
}  # fmt: skip


def journey(ticket_id: str, events: Iterable[ev.Event]) -> Journey:
    """The ticket's journey from the site's events (those of other tickets are skipped; the day's close, once the
    ticket was issued, ends it)."""
    walk = _Walk(ticket_id)
    for event in events:
        if isinstance(event, ev.DayClosed) and walk.found.issued_at is not None:
            break
        step = _STEPS.get(type(event))
        if step is not None and getattr(event, "ticket_id", None) == ticket_id:
            step(walk, event)
    return walk.found


# --- the store ------------------------------------------------------------------------------------------------------


def _officer(row: sa.Row[Any]) -> Officer:
    m = row._mapping
    return Officer(
        officer_id=m["officer_id"], name=m["name"], kind=OfficerKind(m["kind"]), phone_masked=m["phone_masked"],
        enrolled_by=m["enrolled_by"], enrolled_at=as_utc(m["enrolled_at"]),
        revoked_at=None if m["revoked_at"] is None else as_utc(m["revoked_at"]),
    )  # fmt: skip


def _visit(row: sa.Row[Any]) -> Visit:
    m = row._mapping
    return Visit(
        ticket_id=m["ticket_id"], site_id=m["site_id"], day=m["day"], issued_seq=int(m["issued_seq"]),
        officer_id=m["officer_id"], channel=Channel(m["channel"]), recorded_at=as_utc(m["recorded_at"]),
        findings=m["findings"], findings_at=None if m["findings_at"] is None else as_utc(m["findings_at"]),
    )  # fmt: skip


class Officers:
    """The officers, their visits and findings in the hub's database (SQLite or PostgreSQL; times in UTC)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # officers

    def enrol(
        self, name: str, kind: str, phone: str, enrolled_by: str, at: datetime, *, pepper: bytes
    ) -> tuple[Officer, str]:
        """A new officer and their code (to show once: only its hash is kept)."""
        name, officer_kind, number = check(name, kind, phone)
        officer = Officer(
            officer_id=f"officer-{secrets.token_hex(6)}", name=name, kind=officer_kind,
            phone_masked=mask_phone(number), enrolled_by=enrolled_by, enrolled_at=at,
        )  # fmt: skip
        code = new_code()
        row = {
            "officer_id": officer.officer_id, "name": name, "kind": officer_kind.value,
            "phone_masked": officer.phone_masked, "phone_hash": keyed_hash(pepper, "officer-phone", number),
            "code_hash": code_hash(code), "enrolled_by": enrolled_by, "enrolled_at": as_utc(at),
        }  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(officers.insert(), row)
        return officer, code

    def all(self) -> list[Officer]:
        """Every officer, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(officers).order_by(officers.c.enrolled_at, officers.c.officer_id))
            return [_officer(row) for row in rows]

    def get(self, officer_id: str) -> Officer | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(officers).where(officers.c.officer_id == officer_id)).one_or_none()
        return None if row is None else _officer(row)

    def revoke(self, officer_id: str, at: datetime) -> Officer | None:
        """The officer revoked (revoked already: as they were); None when there is no such officer."""
        where = (officers.c.officer_id == officer_id) & officers.c.revoked_at.is_(None)
        with self.engine.begin() as connection:
            connection.execute(officers.update().where(where).values(revoked_at=as_utc(at)))
        return self.get(officer_id)

    def verify(self, code: str | None) -> Officer | None:
        """The officer whose code this is; None for no code, a malformed, unknown or revoked one alike."""
        normal = normalise_code(code) if code else None
        if normal is None:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(officers).where(officers.c.code_hash == code_hash(normal))).one_or_none()
        officer = None if row is None else _officer(row)
        return None if officer is None or officer.revoked else officer

    # visits

    def record_visit(self, issued: ev.TicketIssued, officer_id: str, channel: Channel, at: datetime) -> bool:
        """The ticket is an officer's visit (a retry of the same issue records nothing more); False if it was
        already."""
        row = {
            "ticket_id": issued.ticket_id, "site_id": issued.site_id, "day": issued.day, "issued_seq": issued.seq,
            "officer_id": officer_id, "channel": channel.value, "recorded_at": as_utc(at),
        }  # fmt: skip
        with self.engine.begin() as connection:
            known = connection.execute(
                sa.select(officer_visits.c.ticket_id).where(officer_visits.c.ticket_id == issued.ticket_id)
            ).first()
            if known is not None:
                return False
            connection.execute(officer_visits.insert(), row)
        return True

    def visit(self, ticket_id: str) -> Visit | None:
        with self.engine.connect() as connection:
            where = officer_visits.c.ticket_id == ticket_id
            row = connection.execute(sa.select(officer_visits).where(where)).one_or_none()
        return None if row is None else _visit(row)

    def visits(self, start: date, end: date) -> list[Visit]:
        """The visits of the days ``start`` to ``end`` (both included), by day and ticket."""
        where = (officer_visits.c.day >= start) & (officer_visits.c.day <= end)
        order = (officer_visits.c.day, officer_visits.c.site_id, officer_visits.c.issued_seq)
        with self.engine.connect() as connection:
            return [_visit(row) for row in connection.execute(sa.select(officer_visits).where(where).order_by(*order))]

    def visit_of(self, ticket_id: str, code: str) -> tuple[Officer, Visit] | None:
        """The ticket's visit, if it is the visit of the officer whose code this is; None otherwise (no visit, a
        wrong code, another officer's visit alike)."""
        officer = self.verify(code)
        visit = self.visit(ticket_id) if officer is not None else None
        if officer is None or visit is None or visit.officer_id != officer.officer_id:
            return None
        return officer, visit

    def write_findings(self, ticket_id: str, officer_id: str, findings: str, at: datetime) -> Visit | None:
        """Keep the officer's findings on their visit (written again: replaced, and the follow-up shows it amended);
        None when it is not theirs. Blank findings are refused (``OfficerError``): once written, they are followed
        up, and cannot be taken back to nothing."""
        text = findings.strip()[:FINDINGS_LIMIT]
        if not text:
            raise OfficerError("findings", "write what you found")
        where = (officer_visits.c.ticket_id == ticket_id) & (officer_visits.c.officer_id == officer_id)
        with self.engine.begin() as connection:
            done = connection.execute(
                officer_visits.update().where(where).values(findings=text, findings_at=as_utc(at))
            ).rowcount
        return self.visit(ticket_id) if done else None

    # bookings

    def booked(self, booking_id: str, site_id: str, officer_id: str, at: datetime) -> None:
        """A booking made with an officer's code: its check-in makes the visit (``checked_in``)."""
        row = {"booking_id": booking_id, "site_id": site_id, "officer_id": officer_id, "booked_at": as_utc(at)}
        with self.engine.begin() as connection:
            where = officer_bookings.c.booking_id == booking_id
            if connection.execute(sa.select(officer_bookings.c.booking_id).where(where)).first() is None:
                connection.execute(officer_bookings.insert(), row)

    def booking_officer(self, booking_id: str) -> str | None:
        with self.engine.connect() as connection:
            where = officer_bookings.c.booking_id == booking_id
            found = connection.execute(sa.select(officer_bookings.c.officer_id).where(where)).scalar_one_or_none()
        return None if found is None else str(found)

    def checked_in(self, booking_id: str, issued: ev.TicketIssued, at: datetime) -> bool:
        """The booking's ticket is issued: if it was booked with an officer's code, it is their visit."""
        officer_id = self.booking_officer(booking_id)
        return officer_id is not None and self.record_visit(issued, officer_id, Channel.BOOKING, at)


# --- the report -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VisitReport:
    visit: Visit
    officer: Officer | None
    journey: Journey


def _from_issue(store: EventStore, visit: Visit) -> Iterator[ev.Event]:
    return iter(store.events(visit.site_id, after_seq=visit.issued_seq - 1))


def report(officers_: Officers, store: EventStore, start: date, end: date) -> list[VisitReport]:
    """The visits of the days ``start`` to ``end`` with each officer and journey (read from the site's log)."""
    known = {officer.officer_id: officer for officer in officers_.all()}
    found = []
    for visit in officers_.visits(start, end):
        found.append(
            VisitReport(visit, known.get(visit.officer_id), journey(visit.ticket_id, _from_issue(store, visit)))
        )
    return found


# --- where they are kept --------------------------------------------------------------------------------------------


def memory_engine() -> Engine:
    """A private in-memory SQLite database with the officers' tables (a hub on the memory store)."""
    engine = sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    metadata.create_all(engine, tables=TABLES)
    return engine


_beside: weakref.WeakKeyDictionary[Any, Officers] = weakref.WeakKeyDictionary()
"""The officers of each memory store (the gateway and the pages must share them) and of each appointment desk."""


def officers_for(store: EventStore) -> Officers:
    """The officers kept beside a store: in its SQL database, or in memory (the same for everyone asking) for a
    memory store."""
    if isinstance(store, SqlStore):
        return Officers(store.engine)
    kept = _beside.get(store)
    if kept is None:
        kept = _beside[store] = Officers(memory_engine())
    return kept


def bind_desk(desk: object, kept: Officers) -> None:
    """The booking API (which has only the appointment desk) finds the officers the gateway records visits in."""
    _beside[desk] = kept


def officers_of_desk(desk: object) -> Officers | None:
    return _beside.get(desk)

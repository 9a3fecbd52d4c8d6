"""Follow-up of bad ratings (好差评 整改) and appeals (docs/ratings.md).

Every ``ServiceRated`` of level 2 (不满意) or 1 (非常不满意) opens one follow-up item, keyed by the rating event's site
and number: ``sync`` reads the ratings after each site's checkpoint and inserts the items "on conflict do nothing",
so it may run on several hubs at once, and as often as wanted. An item walks four steps in order, each answered by
the site's manager with a note: 已核实 verified, 已联系 contacted, 已整改 put right, 已反馈 reported back. Each step
has a deadline (``FollowUpRules``: hours, or working days of the district's calendar); the first three count from
the opening, the report back from the answer that put it right. Time is always the caller's (``now``: the hub's
clock).

Staff (or their manager for them) may appeal a rating they believe false, once, with a reason; a district
administrator decides: upheld, the rating leaves the figures and the item is closed; rejected, the follow-up goes
on. The rater stays unknown: an item holds the ticket's id (for managers) and nothing of the citizen.

A service experience officer's findings (``hub.officers``) open an item of kind ``finding`` the same way: ``sync``
inserts one for every visit with findings and no item yet, keyed by the visit's ``TicketIssued`` (its site and
number: never a rating's), "on conflict do nothing" again. It walks the same steps with the same deadlines, counted
from when the findings were written; it has no window and no level, and no appeal: findings are the district's
own supervision, not a citizen's rating, and a site that finds one unfounded says so in its verified step, which the
district reads. The item holds nothing of the officer but the visit it reads the findings from.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from engine.calendar import day_bounds, local_day
from engine.codec import decode_event
from engine.district import District, HolidayCalendar, Site
from engine.events import Event, ServiceRated, TicketIssued
from hub.officers import officers_for
from hub.reports.model import FollowUpFigures
from hub.store import EventStore
from hub.store.base import as_utc
from hub.store.schema import events as events_table
from hub.store.schema import (
    follow_up_appeals,
    follow_up_checkpoints,
    follow_up_steps,
    follow_ups,
    metadata,
    officer_visits,
)
from hub.store.sql import SqlStore

BAD_LEVEL = 2
"""A rating of this level or worse (不满意, 非常不满意) is followed up."""
STEPS = ("verified", "contacted", "put_right", "reported")
STEP_NAMES = {
    "verified": ("已核实", "Verified"),
    "contacted": ("已联系", "Contacted"),
    "put_right": ("已整改", "Put right"),
    "reported": ("已反馈", "Reported back"),
}
NOTE_LIMIT = 2000
DONE, UPHELD = "done", "appeal_upheld"
"""How an item closes: every step answered, or the rating's appeal upheld."""
UPHOLD, REJECT = "upheld", "rejected"
RATING, FINDING = "rating", "finding"
"""An item's kind: a bad rating's (差评) or an officer's findings' (体验官意见)."""


class FollowUpRules(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The ``[follow_ups]`` section of the hub's configuration: each step's deadline, in hours or (when above 0)
    working days of the district's calendar. A working-day deadline ends at the local midnight after the n-th working
    day following the day it counts from."""

    verified_hours: int = 24
    verified_working_days: int = 0
    contacted_hours: int = 24
    contacted_working_days: int = 0
    put_right_hours: int = 0
    put_right_working_days: int = 15
    reported_hours: int = 0
    reported_working_days: int = 5
    """Counted from the answer that put it right (the first three count from the item's opening)."""

    def __post_init__(self) -> None:
        for step in STEPS:
            hours, days = getattr(self, f"{step}_hours"), getattr(self, f"{step}_working_days")
            if hours < 0 or days < 0 or (hours == 0 and days == 0):
                raise ValueError(f"follow_ups: {step} needs a deadline of hours or working days above 0")


class FollowUpError(ValueError):
    """A change the item refuses; ``code`` says which rule (``closed``, ``step``, ``appealed``, ``no_appeal``,
    ``finding``: a finding is not appealed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def working_day(calendar: HolidayCalendar, day: date) -> bool:
    """Monday to Friday, unless a public holiday; a make-up weekend day (调休) is one."""
    if day in calendar.holidays:
        return False
    return day in calendar.makeup_workdays or day.isoweekday() <= 5


def add_working_days(site: Site, calendar: HolidayCalendar, start: datetime, days: int) -> datetime:
    """The local midnight ending the ``days``-th working day after ``start``'s local day."""
    day = local_day(site, start)
    left = days
    while left > 0:
        day += timedelta(days=1)
        if working_day(calendar, day):
            left -= 1
    return day_bounds(site, day)[1]


def deadline(rules: FollowUpRules, step: str, site: Site, calendar: HolidayCalendar, start: datetime) -> datetime:
    days = getattr(rules, f"{step}_working_days")
    if days > 0:
        return as_utc(add_working_days(site, calendar, start, days))
    return as_utc(start) + timedelta(hours=getattr(rules, f"{step}_hours"))


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    due_at: datetime | None
    """None: not known yet (the report back's, before it is put right)."""
    answered_at: datetime | None = None
    answered_by: str | None = None
    note: str | None = None

    @property
    def on_time(self) -> bool | None:
        if self.answered_at is None or self.due_at is None:
            return None
        return self.answered_at <= self.due_at


@dataclass(frozen=True, slots=True)
class Appeal:
    reason: str
    appealed_by: str
    appealed_at: datetime
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """An officer's findings as their visit holds them now (written again: the newer text)."""

    text: str | None
    written_at: datetime | None
    officer_id: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    site_id: str
    seq: int
    ticket_id: str
    window_id: str | None
    """None for a finding (the visit may have been at several windows)."""
    staff_id: str | None
    matter: str
    level: int | None
    """The rating's level; None for a finding."""
    rated_at: datetime
    """When the rating was made, or the findings first written."""
    opened_at: datetime
    steps: tuple[Step, ...]
    closed_at: datetime | None = None
    outcome: str | None = None
    appeal: Appeal | None = None
    kind: str = RATING
    finding: Finding | None = None
    """A finding's text and officer (kind ``finding`` only)."""

    @property
    def key(self) -> str:
        return f"{self.site_id}/{self.seq}"

    @property
    def number(self) -> str:
        """The ticket's number of the day (for managers and administrators only)."""
        return self.ticket_id.rsplit("-", 1)[-1]

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def current(self) -> Step | None:
        """The step to answer next; None once closed."""
        if self.closed:
            return None
        return next((step for step in self.steps if step.answered_at is None), None)

    def overdue(self, now: datetime) -> bool:
        step = self.current
        return step is not None and step.due_at is not None and step.due_at < now

    @property
    def late(self) -> bool:
        """A step answered after its deadline."""
        return any(step.on_time is False for step in self.steps)


def _insert(connection: Connection, table: sa.Table) -> Any:
    """An INSERT that skips a row whose key is there already (SQLite and PostgreSQL)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _rated(store: EventStore, engine: Engine, site_id: str, after: int) -> Iterator[ServiceRated]:
    if isinstance(store, SqlStore):
        query = (
            sa.select(events_table.c.payload)
            .where(events_table.c.site_id == site_id, events_table.c.type == "ServiceRated")
            .where(events_table.c.seq > after)
            .order_by(events_table.c.seq)
        )
        with engine.connect() as connection:
            payloads = list(connection.execute(query).scalars())
        for payload in payloads:
            event = decode_event(payload)
            if isinstance(event, ServiceRated):
                yield event
        return
    for event in store.events(site_id, after):
        if isinstance(event, ServiceRated):
            yield event


class FollowUps:
    """The follow-up items on the store's database (a private in-memory SQLite for a memory store)."""

    def __init__(self, store: EventStore, rules: FollowUpRules | None = None) -> None:
        self.store = store
        self.rules = rules or FollowUpRules()
        if isinstance(store, SqlStore):
            self.engine = store.engine
        else:
            # beside the officers' visits of the same memory store, which the findings' items read
            self.engine = officers_for(store).engine
            tables = [follow_ups, follow_up_steps, follow_up_appeals, follow_up_checkpoints]
            metadata.create_all(self.engine, tables=tables)

    # -- opening from the log ---------------------------------------------------------------------------------

    def sync(self, district: District, now: datetime) -> int:
        """Open an item for every bad rating after each site's checkpoint and for every officer's findings without
        one; the number opened by this call."""
        opened = 0
        for site in district.sites:
            opened += self._sync_site(district, site, now)
        return opened + self._sync_findings(district)

    def _sync_findings(self, district: District) -> int:
        visits = officer_visits
        has_item = sa.exists().where(follow_ups.c.site_id == visits.c.site_id, follow_ups.c.seq == visits.c.issued_seq)
        query = sa.select(visits.c.site_id, visits.c.issued_seq, visits.c.ticket_id, visits.c.findings_at).where(
            visits.c.findings.is_not(None), visits.c.site_id.in_([site.id for site in district.sites]), ~has_item
        )
        with self.engine.connect() as connection:
            found = connection.execute(query).all()
        opened = 0
        for visit in found:
            site = district.site(visit.site_id)
            issued = self._issued(visit.site_id, visit.issued_seq)
            if site is None or issued is None:
                continue
            written = as_utc(visit.findings_at)  # deadlines run from the writing, however late a hub reads it
            dues = {f"due_{step}": deadline(self.rules, step, site, district.calendar, written) for step in STEPS[:3]}
            row = {
                "site_id": site.id, "seq": visit.issued_seq, "ticket_id": visit.ticket_id, "kind": FINDING,
                "window_id": None, "staff_id": None, "matter": issued.matters[0], "level": None, "rated_at": written,
                "opened_at": written, "done": 0, "due_at": dues["due_verified"], **dues, "due_reported": None,
            }  # fmt: skip
            with self.engine.begin() as connection:
                insert = _insert(connection, follow_ups).values(**row).on_conflict_do_nothing()
                opened += len(connection.execute(insert.returning(follow_ups.c.seq)).all())
        return opened

    def _issued(self, site_id: str, seq: int) -> TicketIssued | None:
        """The visit's ``TicketIssued`` (its matter), the site's event ``seq``."""
        event = self._event(site_id, seq)
        return event if isinstance(event, TicketIssued) else None

    def rating(self, item: FollowUp) -> ServiceRated | None:
        """The rating a rating's item follows up (its sub-indicators, reasons and channel); None for a finding."""
        event = self._event(item.site_id, item.seq) if item.kind == RATING else None
        return event if isinstance(event, ServiceRated) else None

    def _event(self, site_id: str, seq: int) -> Event | None:
        """The site's event ``seq``."""
        if isinstance(self.store, SqlStore):
            found = sa.and_(events_table.c.site_id == site_id, events_table.c.seq == seq)
            query = sa.select(events_table.c.payload).where(found)
            with self.engine.connect() as connection:
                payload = connection.execute(query).scalar_one_or_none()
            event = None if payload is None else decode_event(payload)
        else:
            event = next(iter(self.store.events(site_id, after_seq=seq - 1)), None)  # a memory store's list
        return event if event is not None and event.seq == seq else None

    def _sync_site(self, district: District, site: Site, now: datetime) -> int:
        with self.engine.connect() as connection:
            after = connection.execute(
                sa.select(follow_up_checkpoints.c.seq).where(follow_up_checkpoints.c.site_id == site.id)
            ).scalar_one_or_none()
        ratings = list(_rated(self.store, self.engine, site.id, after or 0))
        if not ratings:
            return 0
        opened = 0
        with self.engine.begin() as connection:
            for rating in ratings:
                if rating.level > BAD_LEVEL:
                    continue
                row = self._row(district, site, rating, now)
                insert = _insert(connection, follow_ups).values(**row).on_conflict_do_nothing()
                opened += len(connection.execute(insert.returning(follow_ups.c.seq)).all())
            last = ratings[-1].seq
            upsert = _insert(connection, follow_up_checkpoints).values(site_id=site.id, seq=last)
            upsert = upsert.on_conflict_do_update(
                index_elements=["site_id"], set_={"seq": last}, where=follow_up_checkpoints.c.seq < last
            )
            connection.execute(upsert)
        return opened

    def _row(self, district: District, site: Site, rating: ServiceRated, now: datetime) -> dict[str, Any]:
        opened = as_utc(rating.at)  # deadlines run from the rating itself, however late a hub reads it
        dues = {f"due_{step}": deadline(self.rules, step, site, district.calendar, opened) for step in STEPS[:3]}
        return {
            "site_id": site.id, "seq": rating.seq, "ticket_id": rating.ticket_id, "kind": RATING,
            "window_id": rating.window_id,
            "staff_id": rating.staff_id or None, "matter": rating.matter, "level": rating.level,
            "rated_at": as_utc(rating.at), "opened_at": opened, "done": 0, "due_at": dues["due_verified"],
            **dues, "due_reported": None,
        }  # fmt: skip

    # -- reading ----------------------------------------------------------------------------------------------

    def get(self, site_id: str, seq: int) -> FollowUp | None:
        found = self._load(follow_ups.c.site_id == site_id, follow_ups.c.seq == seq)
        return found[0] if found else None

    def find(
        self,
        site_ids: Iterable[str] | None = None,
        *,
        window_id: str | None = None,
        kind: str | None = None,
        state: str = "open",
        now: datetime | None = None,
        limit: int | None = None,
    ) -> list[FollowUp]:
        """Items of the sites (None: all), newest first (at most ``limit``); of one window (ratings only, then) and
        one kind, or any; ``state`` open, overdue (open and past a deadline at ``now``), closed or all."""
        where: list[sa.ColumnElement[bool]] = []
        if site_ids is not None:
            where.append(follow_ups.c.site_id.in_(list(site_ids)))
        if window_id is not None:
            where.append(follow_ups.c.window_id == window_id)
        if kind is not None:
            where.append(follow_ups.c.kind == kind)
        if state in ("open", "overdue"):
            where.append(follow_ups.c.closed_at.is_(None))
        if state == "overdue" and now is not None:
            where.append(follow_ups.c.due_at < as_utc(now))
        if state == "closed":
            where.append(follow_ups.c.closed_at.is_not(None))
        return self._load(*where, limit=limit)

    def of_visits(self, ticket_ids: Iterable[str]) -> dict[str, FollowUp]:
        """The findings' items of these visits, by ticket."""
        wanted = list(ticket_ids)
        found = self._load(follow_ups.c.kind == FINDING, follow_ups.c.ticket_id.in_(wanted)) if wanted else []
        return {item.ticket_id: item for item in found}

    def overdue_count(
        self, site_ids: Iterable[str] | None, now: datetime, *, window_id: str | None = None, kind: str | None = None
    ) -> int:
        """Open items past a deadline at ``now``, of the sites (None: all), of one window and kind or of any."""
        query = sa.select(sa.func.count()).where(follow_ups.c.closed_at.is_(None), follow_ups.c.due_at < as_utc(now))
        if site_ids is not None:
            query = query.where(follow_ups.c.site_id.in_(list(site_ids)))
        if window_id is not None:
            query = query.where(follow_ups.c.window_id == window_id)
        if kind is not None:
            query = query.where(follow_ups.c.kind == kind)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def _load(self, *where: sa.ColumnElement[bool], limit: int | None = None) -> list[FollowUp]:
        key = (follow_ups.c.site_id, follow_ups.c.seq)
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(follow_ups).where(*where).order_by(follow_ups.c.rated_at.desc(), *key).limit(limit)
            ).all()
            keys = [(row.site_id, row.seq) for row in rows]
            sites = sorted({site for site, _seq in keys})
            seqs = sorted({seq for _site, seq in keys})
            answers: dict[tuple[str, int], dict[str, Any]] = {}
            appeals: dict[tuple[str, int], Appeal] = {}
            if sites:
                for answer in connection.execute(
                    sa.select(follow_up_steps).where(
                        follow_up_steps.c.site_id.in_(sites), follow_up_steps.c.seq.in_(seqs)
                    )
                ):
                    answers.setdefault((answer.site_id, answer.seq), {})[answer.step] = answer
                for appeal in connection.execute(
                    sa.select(follow_up_appeals).where(
                        follow_up_appeals.c.site_id.in_(sites), follow_up_appeals.c.seq.in_(seqs)
                    )
                ):
                    appeals[(appeal.site_id, appeal.seq)] = Appeal(
                        reason=appeal.reason, appealed_by=appeal.appealed_by, appealed_at=as_utc(appeal.appealed_at),
                        decision=appeal.decision, decided_by=appeal.decided_by,
                        decided_at=None if appeal.decided_at is None else as_utc(appeal.decided_at),
                        decision_note=appeal.decision_note,
                    )  # fmt: skip
            findings = self._findings(connection, [row.ticket_id for row in rows if row.kind == FINDING])
        return [
            self._item(
                row,
                answers.get((row.site_id, row.seq), {}),
                appeals.get((row.site_id, row.seq)),
                findings.get(row.ticket_id) if row.kind == FINDING else None,
            )
            for row in rows
        ]

    @staticmethod
    def _findings(connection: Connection, ticket_ids: list[str]) -> dict[str, Finding]:
        if not ticket_ids:
            return {}
        visits = officer_visits
        query = sa.select(visits.c.ticket_id, visits.c.findings, visits.c.findings_at, visits.c.officer_id)
        return {
            visit.ticket_id: Finding(
                visit.findings, None if visit.findings_at is None else as_utc(visit.findings_at), visit.officer_id
            )
            for visit in connection.execute(query.where(visits.c.ticket_id.in_(ticket_ids)))
        }

    @staticmethod
    def _item(row: Any, answers: dict[str, Any], appeal: Appeal | None, finding: Finding | None) -> FollowUp:
        def utc(at: datetime | None) -> datetime | None:
            return None if at is None else as_utc(at)

        steps = []
        for name in STEPS:
            answer = answers.get(name)
            due = utc(getattr(row, f"due_{name}"))
            if answer is None:
                steps.append(Step(name, due))
            else:
                steps.append(Step(name, due, as_utc(answer.answered_at), answer.answered_by, answer.note))
        return FollowUp(
            site_id=row.site_id, seq=row.seq, ticket_id=row.ticket_id, window_id=row.window_id,
            staff_id=row.staff_id, matter=row.matter, level=row.level, rated_at=as_utc(row.rated_at),
            opened_at=as_utc(row.opened_at), steps=tuple(steps), closed_at=utc(row.closed_at), outcome=row.outcome,
            appeal=appeal, kind=row.kind, finding=finding,
        )  # fmt: skip

    # -- changes ----------------------------------------------------------------------------------------------

    def answer(
        self, district: District, site_id: str, seq: int, *, step: str, note: str, by: str, now: datetime
    ) -> FollowUp:
        """The manager's answer of the item's next step (steps go in order); the last closes the item."""
        now = as_utc(now)  # SQLite keeps no time zone: every time stored is in UTC
        item = self._open_item(site_id, seq)
        current = item.current
        if current is None or current.name != step:
            expected = current.name if current else None
            raise FollowUpError("step", f"the next step is {expected}, not {step}")
        if not note.strip():
            raise FollowUpError("note", "a step needs a note")
        index = STEPS.index(step)
        values: dict[str, Any] = {"done": index + 1}
        if step == "put_right":
            site = district.site(site_id)
            if site is None:
                raise FollowUpError("site", f"no site {site_id}")
            due = deadline(self.rules, "reported", site, district.calendar, now)
            values |= {"due_reported": due, "due_at": due}
        elif index + 1 < len(STEPS):
            values["due_at"] = item.steps[index + 1].due_at
        else:
            values |= {"closed_at": now, "outcome": DONE, "due_at": None}
        try:
            answer = {"site_id": site_id, "seq": seq, "step": step, "note": note.strip(), "answered_by": by,
                      "answered_at": now}  # fmt: skip
            self._write_answer(answer, index, values)
        except sa.exc.IntegrityError:  # answered meanwhile (another page, another hub)
            raise FollowUpError("step", f"{step} was answered already") from None
        return self._must(site_id, seq)

    def _write_answer(self, answer: dict[str, Any], index: int, values: dict[str, Any]) -> None:
        """The step's answer and the item's next state, only if no other answer of the step came first."""
        item = sa.and_(follow_ups.c.site_id == answer["site_id"], follow_ups.c.seq == answer["seq"])
        with self.engine.begin() as connection:
            connection.execute(follow_up_steps.insert().values(**answer))
            moved = connection.execute(follow_ups.update().where(item, follow_ups.c.done == index).values(**values))
            if moved.rowcount != 1:
                raise sa.exc.IntegrityError("follow_ups.done", None, ValueError("answered meanwhile"))

    def appeal(self, site_id: str, seq: int, *, reason: str, by: str, now: datetime) -> FollowUp:
        """Staff's (or their manager's) appeal of the rating, once per item, while it is open."""
        now = as_utc(now)
        if self._open_item(site_id, seq).kind == FINDING:
            raise FollowUpError("finding", "an officer's finding is not appealed: answer it in its verified step")
        if not reason.strip():
            raise FollowUpError("reason", "an appeal needs a reason")
        with self.engine.begin() as connection:
            insert = _insert(connection, follow_up_appeals).values(
                site_id=site_id, seq=seq, reason=reason.strip(), appealed_by=by, appealed_at=now
            )
            if not connection.execute(insert.on_conflict_do_nothing().returning(follow_up_appeals.c.seq)).all():
                raise FollowUpError("appealed", "this rating was appealed already")
        return self._must(site_id, seq)

    def decide(self, site_id: str, seq: int, *, decision: str, note: str, by: str, now: datetime) -> FollowUp:
        """The district administrator's decision of a pending appeal: upheld closes the item (its rating leaves the
        figures), rejected lets the follow-up go on."""
        now = as_utc(now)
        if decision not in (UPHOLD, REJECT):
            raise FollowUpError("decision", "the decision is upheld or rejected")
        item = self._must(site_id, seq)
        if item.appeal is None or item.appeal.decision is not None:
            raise FollowUpError("no_appeal", "there is no appeal waiting for a decision")
        with self.engine.begin() as connection:
            decided = connection.execute(
                follow_up_appeals.update()
                .where(
                    follow_up_appeals.c.site_id == site_id,
                    follow_up_appeals.c.seq == seq,
                    follow_up_appeals.c.decision.is_(None),
                )
                .values(decision=decision, decided_by=by, decided_at=now, decision_note=note.strip() or None)
            )
            if not decided.rowcount:
                raise FollowUpError("no_appeal", "the appeal was decided meanwhile")
            if decision == UPHOLD:
                connection.execute(
                    follow_ups.update()
                    .where(follow_ups.c.site_id == site_id, follow_ups.c.seq == seq, follow_ups.c.closed_at.is_(None))
                    .values(closed_at=now, outcome=UPHELD, due_at=None)
                )
        return self._must(site_id, seq)

    def _must(self, site_id: str, seq: int) -> FollowUp:
        item = self.get(site_id, seq)
        if item is None:
            raise FollowUpError("missing", f"no follow-up {site_id}/{seq}")
        return item

    def _open_item(self, site_id: str, seq: int) -> FollowUp:
        item = self._must(site_id, seq)
        if item.closed:
            raise FollowUpError("closed", "this follow-up is closed")
        return item


_kept: weakref.WeakKeyDictionary[Any, FollowUps] = weakref.WeakKeyDictionary()


def follow_ups_for(store: EventStore, rules: FollowUpRules | None = None) -> FollowUps:
    """The store's follow-ups, made at the first call (the hub's start passes its rules; the pages then get the same
    object)."""
    kept = _kept.get(store)
    if kept is None or (rules is not None and kept.rules != rules):
        kept = _kept[store] = FollowUps(store, rules)
    return kept


def excluded_ratings(engine: Engine, site_id: str) -> set[int]:
    """The event numbers of a site's ratings an upheld appeal took out of the figures."""
    query = sa.select(follow_ups.c.seq).where(follow_ups.c.site_id == site_id, follow_ups.c.outcome == UPHELD)
    with engine.connect() as connection:
        return set(connection.execute(query).scalars())


def follow_up_figures(
    engine: Engine, sites: Sequence[Site], start: date, end: date, *, now: datetime
) -> FollowUpFigures:
    """The items of ratings made, and of officers' findings first written, on the sites' local days ``start``..``end``
    (both included; both kinds together, as the follow-up list shows them), upheld appeals left out: how many opened,
    closed (every step answered), the share of the closed with every step on time, and how many open are past a
    deadline at ``now``."""
    opened = closed = on_time = overdue = 0
    with engine.connect() as connection:
        for site in sites:
            begin, finish = as_utc(day_bounds(site, start)[0]), as_utc(day_bounds(site, end)[1])
            rows = connection.execute(
                sa.select(follow_ups.c.seq, follow_ups.c.closed_at, follow_ups.c.outcome, follow_ups.c.due_at)
                .where(follow_ups.c.site_id == site.id, follow_ups.c.rated_at >= begin, follow_ups.c.rated_at < finish)
                .where(sa.or_(follow_ups.c.outcome.is_(None), follow_ups.c.outcome != UPHELD))
            ).all()
            late = set(
                connection.execute(
                    sa.select(follow_up_steps.c.seq)
                    .join(
                        follow_ups,
                        sa.and_(
                            follow_ups.c.site_id == follow_up_steps.c.site_id, follow_ups.c.seq == follow_up_steps.c.seq
                        ),
                    )
                    .where(follow_up_steps.c.site_id == site.id)
                    .where(follow_up_steps.c.answered_at > _due_of_step())
                ).scalars()
            )
            for row in rows:
                opened += 1
                if row.closed_at is not None:
                    closed += 1
                    on_time += row.seq not in late
                elif row.due_at is not None and as_utc(row.due_at) < now:
                    overdue += 1
    return FollowUpFigures(
        opened=opened, closed=closed, on_time=round(on_time / closed, 3) if closed else None, overdue=overdue
    )


def _due_of_step() -> sa.ColumnElement[Any]:
    """The deadline of the answered step, from the item's columns."""
    return sa.case(
        *((follow_up_steps.c.step == step, getattr(follow_ups.c, f"due_{step}")) for step in STEPS),
        else_=None,
    )

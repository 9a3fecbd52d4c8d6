"""The reports' read models, kept from the event log: a row per ticket, per service finished and per rating, and
the daily aggregates the figures read (``hub.reports.days``), all in the same transaction.

Each site's log is read after its checkpoint (the last projected per-site ``seq``, gap-free) in batches; one
transaction updates the rows a batch touches and moves the checkpoint, so projecting is idempotent and resumable,
and hubs sharing a database never project an event twice: the transaction first takes the site's checkpoint row
(``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock on SQLite) and reads the checkpoint only then.

``rebuild`` empties the tables and projects every log again from its start (``hall-hub reports rebuild``).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from engine import events as ev
from engine.calendar import local_day, local_time
from engine.codec import decode_event
from engine.district import District, Site
from hub.ratings import rating_columns
from hub.reports.days import DayTotals
from hub.store.base import EventStore, as_utc
from hub.store.schema import (
    events as events_table,
)
from hub.store.schema import (
    report_checkpoints,
    report_days,
    report_hours,
    report_ratings,
    report_services,
    report_tickets,
    report_windows,
)
from hub.store.sql import SqlStore

log = logging.getLogger(__name__)

BATCH = 5000
"""Events projected per transaction."""
_IN_CHUNK = 500
"""Keys per ``IN (...)`` list (well below SQLite's and PostgreSQL's parameter limits)."""

READ_MODELS = (
    report_tickets, report_services, report_ratings, report_windows, report_days, report_hours, report_checkpoints,
)  # fmt: skip

EventReader = Callable[[Connection, str, int, int], list[ev.Event]]
"""(connection, site, after seq, at most) -> the site's next events, in order."""


def read_events(connection: Connection, site_id: str, after: int, limit: int) -> list[ev.Event]:
    """The site's events after ``after`` from the store's own ``events`` table."""
    query = (
        sa.select(events_table.c.payload)
        .where(events_table.c.site_id == site_id, events_table.c.seq > after)
        .order_by(events_table.c.seq)
        .limit(limit)
    )
    return [decode_event(payload) for payload in connection.execute(query).scalars()]


@dataclass(slots=True)
class _Batch:
    """The rows one batch of a site's events touched, in memory until written."""

    site: Site
    tickets: dict[str, dict[str, Any]]
    windows: dict[str, str | None]
    touched: set[str] = field(default_factory=set)
    services: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    windows_changed: bool = False

    def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        row = self.tickets.get(ticket_id)
        if row is not None:
            self.touched.add(ticket_id)
        return row

    def apply(self, event: ev.Event) -> None:
        site = self.site
        if isinstance(event, ev.TicketIssued):
            self.tickets[event.ticket_id] = {
                "site_id": site.id, "ticket_id": event.ticket_id, "day": event.day,
                "matter": event.matters[0] if event.matters else "", "channel": str(event.channel),
                "priority": str(event.priority), "issued_at": as_utc(event.at),
                "issue_hour": local_time(site, event.at).hour, "called_at": None, "wait_seconds": None,
                "window_id": None, "staff_id": None, "outcome": "waiting", "transfers": 0, "parks": 0,
                "serving_since": None, "serving_window": None,
            }  # fmt: skip
            self.touched.add(event.ticket_id)
        elif isinstance(event, ev.WindowOpened):
            self.windows[event.window_id] = event.staff_id or None
            self.windows_changed = True
        elif isinstance(event, ev.WindowClosed):
            self.windows[event.window_id] = None
            self.windows_changed = True
        elif isinstance(event, ev.ServiceRated):
            rated = self.tickets.get(event.ticket_id)
            self.ratings.append(
                {
                    "site_id": site.id,
                    "seq": event.seq,
                    "ticket_id": event.ticket_id,
                    "day": rated["day"] if rated else local_day(site, event.at),
                    "window_id": event.window_id,
                    "staff_id": event.staff_id or None,
                    "matter": event.matter,
                    "level": event.level,
                    "rated_at": as_utc(event.at),
                    **rating_columns(event),
                }
            )
        elif (row := self.ticket(getattr(event, "ticket_id", ""))) is not None:
            self._apply_to_ticket(row, event)

    def _apply_to_ticket(self, row: dict[str, Any], event: ev.Event) -> None:
        at = as_utc(event.at)
        if isinstance(event, ev.TicketCalled):
            if row["called_at"] is None:
                row["called_at"] = at
                row["wait_seconds"] = max(0, round((at - row["issued_at"]).total_seconds()))
                row["window_id"] = event.window_id
                row["staff_id"] = self.windows.get(event.window_id)
            row["outcome"] = "called"
        elif isinstance(event, ev.ServiceStarted):
            row["serving_since"], row["serving_window"], row["outcome"] = at, event.window_id, "serving"
        elif isinstance(event, ev.ServiceFinished):
            started = row["serving_since"] or at
            self.services.append(
                {
                    "site_id": self.site.id,
                    "seq": event.seq,
                    "ticket_id": event.ticket_id,
                    "day": row["day"],
                    "window_id": event.window_id,
                    "staff_id": self.windows.get(event.window_id),
                    "matter": event.matter,
                    "started_at": started,
                    "ended_at": at,
                    "seconds": max(0, round((at - started).total_seconds())),
                }
            )
            row["serving_since"] = row["serving_window"] = None
            row["outcome"] = "served" if event.next_matter is None else "waiting"
        elif isinstance(event, ev.TicketMissed):
            row["outcome"] = "missed"
        elif isinstance(event, ev.TicketReactivated):
            row["outcome"] = "waiting"
        elif isinstance(event, ev.TicketParked):
            row["parks"] += 1
            row["serving_since"] = row["serving_window"] = None
            row["outcome"] = "parked"
        elif isinstance(event, ev.TicketTransferred):
            row["transfers"] += 1
            row["serving_since"] = row["serving_window"] = None
            row["outcome"] = "waiting"
        elif isinstance(event, ev.TicketCancelled):
            row["outcome"] = "cancelled"


def _insert(dialect: str, table: sa.Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def _chunks(items: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield list(items[start : start + _IN_CHUNK])


_TIMES = ("issued_at", "called_at", "serving_since")


class Projector:
    """Keeps the read models of a district's sites on ``engine`` from their logs."""

    def __init__(self, engine: Engine, reader: EventReader = read_events, batch: int = BATCH) -> None:
        self.engine = engine
        self.reader = reader
        self.batch = batch

    def project(self, district: District, limit: int | None = None) -> int:
        """Project every site's new events (``limit``: at most that many per site); how many were projected."""
        return sum(self.project_site(site, limit) for site in district.sites)

    def project_site(self, site: Site, limit: int | None = None) -> int:
        """Project the site's events after its checkpoint, in batches (``limit``: at most that many in all)."""
        done = 0
        while limit is None or done < limit:
            size = self.batch if limit is None else min(self.batch, limit - done)
            projected = self._project_batch(site, size)
            done += projected
            if projected < size:
                break
        return done

    def checkpoint(self, site_id: str) -> int:
        with self.engine.connect() as connection:
            query = sa.select(report_checkpoints.c.seq).where(report_checkpoints.c.site_id == site_id)
            return int(connection.execute(query).scalar_one_or_none() or 0)

    def _project_batch(self, site: Site, size: int) -> int:
        dialect = self.engine.dialect.name
        with self.engine.begin() as connection:
            # Take the checkpoint row first: a second projector of the site waits here, then reads the moved one.
            connection.execute(
                _insert(dialect, report_checkpoints).values(site_id=site.id, seq=0).on_conflict_do_nothing()
            )
            query = sa.select(report_checkpoints.c.seq).where(report_checkpoints.c.site_id == site.id)
            after = int(connection.execute(query.with_for_update()).scalar_one())
            batch_events = self.reader(connection, site.id, after, size)
            if not batch_events:
                return 0
            tickets = self._tickets(connection, site.id, batch_events)
            totals = DayTotals(site)
            totals.tickets(tickets.values(), -1)  # what these tickets counted for before the batch
            batch = _Batch(site, tickets, self._windows(connection, site.id))
            for event in batch_events:
                batch.apply(event)
            totals.tickets(batch.tickets.values(), 1)
            totals.services(batch.services)
            totals.ratings(batch.ratings)
            self._write(connection, batch)
            totals.write(connection)
            connection.execute(
                report_checkpoints.update()
                .where(report_checkpoints.c.site_id == site.id)
                .values(seq=batch_events[-1].seq)
            )
        return len(batch_events)

    def _tickets(self, connection: Connection, site_id: str, batch: list[ev.Event]) -> dict[str, dict[str, Any]]:
        wanted = sorted(
            {
                event.ticket_id
                for event in batch
                if hasattr(event, "ticket_id") and not isinstance(event, ev.TicketIssued)
            }
        )
        found: dict[str, dict[str, Any]] = {}
        table = report_tickets
        for chunk in _chunks(wanted):
            query = sa.select(table).where(table.c.site_id == site_id, table.c.ticket_id.in_(chunk))
            for row in connection.execute(query).mappings():
                values = dict(row)
                for name in _TIMES:
                    if values[name] is not None:
                        values[name] = as_utc(values[name])
                found[values["ticket_id"]] = values
        return found

    def _windows(self, connection: Connection, site_id: str) -> dict[str, str | None]:
        query = sa.select(report_windows.c.window_id, report_windows.c.staff_id).where(
            report_windows.c.site_id == site_id
        )
        return {row.window_id: row.staff_id for row in connection.execute(query)}

    def _write(self, connection: Connection, batch: _Batch) -> None:
        site_id = batch.site.id
        touched = sorted(batch.touched)
        for chunk in _chunks(touched):
            connection.execute(
                report_tickets.delete().where(
                    report_tickets.c.site_id == site_id, report_tickets.c.ticket_id.in_(chunk)
                )
            )
        if touched:
            connection.execute(report_tickets.insert(), [batch.tickets[ticket_id] for ticket_id in touched])
        if batch.services:
            connection.execute(report_services.insert(), batch.services)
        if batch.ratings:
            connection.execute(report_ratings.insert(), batch.ratings)
        if batch.windows_changed:
            connection.execute(report_windows.delete().where(report_windows.c.site_id == site_id))
            rows = [
                {"site_id": site_id, "window_id": window, "staff_id": staff} for window, staff in batch.windows.items()
            ]
            connection.execute(report_windows.insert(), rows)

    def clear(self, site_ids: Sequence[str] | None = None) -> None:
        """Empty the read models (of the sites, or all)."""
        with self.engine.begin() as connection:
            for table in READ_MODELS:
                delete = table.delete()
                if site_ids is not None:
                    delete = delete.where(table.c.site_id.in_(list(site_ids)))
                connection.execute(delete)

    def rebuild(self, district: District) -> int:
        """Empty the read models and project every site's log again from its start; the events projected."""
        self.clear()
        return self.project(district)


def store_reader(store: EventStore) -> EventReader:
    """A reader of any store's logs (a memory store's, say) for a projector on another database."""

    def read(_connection: Connection, site_id: str, after: int, limit: int) -> list[ev.Event]:
        found: list[ev.Event] = []
        for event in store.events(site_id, after):
            found.append(event)
            if len(found) >= limit:
                break
        return found

    return read


_kept: weakref.WeakKeyDictionary[SqlStore, Projector] = weakref.WeakKeyDictionary()


def projector_for(store: EventStore) -> Projector | None:
    """The projector of a SQL store's read models (one per store); None for a memory store."""
    if not isinstance(store, SqlStore):
        return None
    kept = _kept.get(store)
    if kept is None:
        kept = _kept[store] = Projector(store.engine)
    return kept


PER_TICK = 20 * BATCH
"""Events per site one tick of the hub projects at most: a hub catching up on a long log does so over several ticks
and its other periodic work goes on meanwhile."""


def project_now(store: EventStore, district: District) -> int:
    """The hub's periodic step (every second): the store's read models brought up to date, at most ``PER_TICK``
    events per site (nothing for a memory store)."""
    projector = projector_for(store)
    return 0 if projector is None else projector.project(district, PER_TICK)

"""A report's figures from the read models (``hub.reports.projection``) and the appointments, SQL Core on SQLite and
PostgreSQL.

Waits and service times are whole seconds, so each query groups by the value itself: a few thousand distinct values
however many tickets, from which the mean, the median and the 95th percentile come exactly (linear interpolation
between order statistics, as ``statistics.quantiles(method="inclusive")`` and numpy's default do). Grouped parts
merge without loss, so the total is the sum of the sites' parts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engine.calendar import day_bounds, local_day
from engine.district import District, Site
from hub.follow_ups import UPHELD, follow_up_figures
from hub.reports.model import (
    Breakdown,
    DayFigures,
    Durations,
    Figures,
    HourFigures,
    RatingFigures,
    Report,
    ReportQuery,
    Row,
    WaitBucket,
)
from hub.reports.sums import Group, Lines
from hub.store.base import as_utc
from hub.store.schema import appointments, follow_ups, report_days, report_hours, report_ratings, report_tickets, staff

SATISFIED_LEVEL = 4
"""满意 or better."""
WAIT_BUCKET_MINUTES = (0, 5, 10, 15, 20, 30, 45, 60)
"""The waiting-time distribution's buckets' lower bounds; the last is open."""
PEAK_HOURS = 3


def _at_rank(values: Sequence[tuple[int, float]], counts: dict[int, int], rank: int) -> float:
    seen = 0
    for bucket, mean in values:
        seen += counts[bucket]
        if rank < seen:
            return mean
    return values[-1][1]


def quantile(values: Sequence[tuple[float, int]], q: float) -> float | None:
    """The ``q`` quantile of values given as sorted (value, count) pairs, interpolated between order statistics."""
    counts = {index: count for index, (_, count) in enumerate(values)}
    return _quantile([(index, float(value)) for index, (value, _) in enumerate(values)], counts, q)


def _quantile(values: Sequence[tuple[int, float]], counts: dict[int, int], q: float) -> float | None:
    total = sum(counts.values())
    if total == 0:
        return None
    position = q * (total - 1)
    rank = int(position)
    low, high = _at_rank(values, counts, rank), _at_rank(values, counts, min(rank + 1, total - 1))
    return float(low + (high - low) * (position - rank))


def durations(counts: Counter[int], sums: Counter[int] | None = None) -> Durations:
    """Mean, median and 95th percentile from a histogram: how many in each bucket and (``sums``) their sum; each
    order statistic is taken as its bucket's mean, exact where a bucket holds one value (every time below two
    minutes, and small inputs), within the bucket's width otherwise. Without ``sums`` the buckets are the values."""
    total = sum(counts.values())
    if total == 0:
        return Durations(count=0)
    sums = sums if sums is not None else Counter({value: value * count for value, count in counts.items()})
    values = [(bucket, sums[bucket] / counts[bucket]) for bucket in sorted(counts) if counts[bucket]]
    mean = sum(sums.values()) / total
    return Durations(count=total, mean=mean, median=_quantile(values, counts, 0.5), p95=_quantile(values, counts, 0.95))


@dataclass(slots=True)
class Part:
    """The mergeable sums behind one line's figures."""

    issued: int = 0
    served: int = 0
    no_shows: int = 0
    transfers: int = 0
    parked: int = 0
    cancelled: int = 0
    booked: int = 0
    kept: int = 0
    missed: int = 0
    within: int = 0
    waits: Counter[int] = field(default_factory=Counter)
    """How many waits in each bucket (``_bucket``), and their sum."""
    wait_sums: Counter[int] = field(default_factory=Counter)
    services: Counter[int] = field(default_factory=Counter)
    service_sums: Counter[int] = field(default_factory=Counter)
    levels: Counter[int] = field(default_factory=Counter)

    def mean_wait(self) -> float | None:
        return durations(self.waits, self.wait_sums).mean

    def merge(self, other: Part) -> None:
        for name in ("issued", "served", "no_shows", "transfers", "parked", "cancelled", "booked", "kept", "missed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.within += other.within
        self.waits.update(other.waits)
        self.wait_sums.update(other.wait_sums)
        self.services.update(other.services)
        self.service_sums.update(other.service_sums)
        self.levels.update(other.levels)

    def ratings(self) -> RatingFigures:
        count = sum(self.levels.values())
        levels = {str(level): self.levels.get(level, 0) for level in range(1, 6)}
        if count == 0:
            return RatingFigures(count=0, levels=levels)
        average = sum(level * n for level, n in self.levels.items()) / count
        satisfied = sum(n for level, n in self.levels.items() if level >= SATISFIED_LEVEL) / count
        return RatingFigures(count=count, levels=levels, average=average, satisfied=satisfied)

    def figures(self) -> Figures:
        called = sum(self.waits.values())
        return Figures(
            issued=self.issued, served=self.served, no_shows=self.no_shows, transfers=self.transfers,
            parked=self.parked, cancelled=self.cancelled, appointments_booked=self.booked,
            appointments_kept=self.kept, appointments_missed=self.missed, wait=durations(self.waits, self.wait_sums),
            service=durations(self.services, self.service_sums), within_target=self.within / called if called else None,
            ratings=self.ratings(),
        )  # fmt: skip


COUNTS = ("issued", "served", "no_shows", "transfers", "parked", "cancelled", "within")
"""The counts of a ``Part`` that ``report_days`` keeps as columns."""
LEVELS = tuple(range(1, 6))
LEVEL_COLUMNS = tuple(f"level{level}" for level in LEVELS)
"""``report_days``' ratings of each level."""


def part_of_group(group: Group) -> Part:
    """A part from the lines summed (``sums.Lines.group``; the counts of ``COUNTS`` then ``LEVEL_COLUMNS``)."""
    counts = dict(zip(COUNTS, group.counts, strict=False))
    levels = Counter(dict(zip(LEVELS, group.counts[len(COUNTS) :], strict=True)))
    return Part(**counts, waits=group.waits, wait_sums=group.wait_sums, services=group.services,
                service_sums=group.service_sums, levels=+levels)  # fmt: skip


Key = tuple[Any, ...]
LineKey = tuple[str, date, str, str | None, str | None]
"""A daily aggregate's (site, day, matter, window, clerk)."""
_KEY_OF = {
    Breakdown.SITE: (0,),
    Breakdown.MATTER: (2,),
    Breakdown.WINDOW: (0, 3),
    Breakdown.STAFF: (4,),
    Breakdown.DAY: (1,),
}
"""Where each breakdown's key is in a ``LineKey``."""


def _within(table: sa.Table, sites: Sequence[str], start: date, end: date) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.site_id.in_(list(sites)), table.c.day >= start, table.c.day <= end)


def _counted(ratings: sa.Table) -> sa.ColumnElement[bool]:
    """A rating an upheld appeal took out of the figures (``hub.follow_ups``) is not counted."""
    upheld = sa.select(follow_ups.c.seq).where(
        follow_ups.c.site_id == ratings.c.site_id, follow_ups.c.seq == ratings.c.seq, follow_ups.c.outcome == UPHELD
    )
    return ~upheld.exists()


def _day(value: Any) -> date:
    """A ``day`` column as a date (SQLite may give the text back in grouped, untyped expressions)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class _Reader:
    def __init__(self, connection: Connection, district: District, query: ReportQuery, sites: Sequence[Site]) -> None:
        self.connection = connection
        self.district = district
        self.query = query
        self.sites = sites
        self.site_ids = [site.id for site in sites]
        self.targets = {site.id: site.rules.target_wait_minutes * 60 for site in sites}

    def lines(self) -> Lines:
        """The daily aggregates of the report's sites and days (``hub.reports.days``), with the ratings an upheld
        appeal took out taken away again."""
        keys: list[LineKey] = []
        counts: list[list[int]] = []
        waits: list[bytes] = []
        services: list[bytes] = []
        days = report_days
        columns = [days.c[name] for name in (*COUNTS, *LEVEL_COLUMNS)]
        day_of: dict[Any, date] = {}  # a day's value as the driver gives it → the date, converted once
        select = sa.select(
            days.c.site_id, sa.type_coerce(days.c.day, sa.String), days.c.matter, days.c.window_id, days.c.staff_id,
            days.c.waits, days.c.services, *columns,
        ).where(self._in_report(days))  # fmt: skip
        for site_id, day, matter, window_id, staff_id, waited, served, *values in self.connection.execute(select):
            when = day_of.get(day)
            if when is None:
                when = day_of[day] = _day(day)
            keys.append((site_id, when, matter, window_id or None, staff_id or None))
            counts.append(values)
            waits.append(waited)
            services.append(served)
        ratings = report_ratings
        upheld = (
            sa.select(
                ratings.c.site_id, ratings.c.day, ratings.c.matter, ratings.c.window_id, ratings.c.staff_id,
                ratings.c.level, sa.func.count(),
            )
            .where(self._in_report(ratings), ~_counted(ratings))
            .group_by(ratings.c.site_id, ratings.c.day, ratings.c.matter, ratings.c.window_id, ratings.c.staff_id,
                      ratings.c.level)
        )  # fmt: skip
        for site_id, day, matter, window_id, staff_id, level, count in self.connection.execute(upheld):
            keys.append((site_id, _day(day), matter, window_id, staff_id))
            counts.append([0] * len(COUNTS) + [-count if each == level else 0 for each in LEVELS])
            waits.append(b"")
            services.append(b"")
        return Lines(keys, counts, waits, services, width=len(COUNTS) + len(LEVELS))

    def parts(self, lines: Lines, by: Breakdown, appointments: bool = True) -> dict[Key, Part]:
        """The lines summed by the breakdown's key (with the appointments, unless not needed)."""
        index = _KEY_OF[by]
        parts: dict[Key, Part] = {key: part_of_group(group) for key, group in lines.group(index).items()}
        if appointments:
            for key, status in self._appointments(by):
                part = parts.setdefault(key, Part())
                if status == "cancelled":
                    continue
                part.booked += 1
                if status == "checked_in":
                    part.kept += 1
                elif status == "no_show":
                    part.missed += 1
        return parts

    def _in_report(self, table: sa.Table) -> sa.ColumnElement[bool]:
        return _within(table, self.site_ids, self.query.start, self.query.end)

    def _appointments(self, by: Breakdown) -> Iterable[tuple[Key, str]]:
        """(key, status) of the bookings whose slot falls on the report's days (window and clerk: of the ticket)."""
        bounds = []
        for site in self.sites:
            begin, finish = day_bounds(site, self.query.start)[0], day_bounds(site, self.query.end)[1]
            bounds.append(
                sa.and_(
                    appointments.c.site_id == site.id,
                    appointments.c.slot_start >= as_utc(begin),
                    appointments.c.slot_start < as_utc(finish),
                )
            )
        if not bounds:
            return
        joined = appointments.outerjoin(
            report_tickets,
            sa.and_(
                report_tickets.c.site_id == appointments.c.site_id,
                report_tickets.c.ticket_id == appointments.c.ticket_id,
            ),
        )
        select = sa.select(
            appointments.c.site_id, appointments.c.matter, appointments.c.slot_start, appointments.c.status,
            report_tickets.c.window_id, report_tickets.c.staff_id,
        ).select_from(joined).where(sa.or_(*bounds))  # fmt: skip
        by_id = {site.id: site for site in self.sites}
        for row in self.connection.execute(select):
            key: Key
            if by is Breakdown.SITE:
                key = (row.site_id,)
            elif by is Breakdown.MATTER:
                key = (row.matter,)
            elif by is Breakdown.WINDOW:
                key = (row.site_id, row.window_id)
            elif by is Breakdown.STAFF:
                key = (row.staff_id,)
            else:
                key = (local_day(by_id[row.site_id], as_utc(row.slot_start)),)
            yield key, str(row.status)

    def hours(self) -> tuple[HourFigures, ...]:
        hours_table = report_hours
        select = (
            sa.select(
                hours_table.c.hour,
                sa.func.sum(hours_table.c.arrivals).label("n"),
                sa.func.sum(hours_table.c.waited).label("waited"),
                sa.func.sum(hours_table.c.called).label("called"),
            )
            .where(self._in_report(hours_table))
            .group_by(hours_table.c.hour)
        )
        found = {int(row.hour): row for row in self.connection.execute(select)}
        if not found:
            return ()
        hours = []
        for hour in range(min(found), max(found) + 1):
            row = found.get(hour)
            if row is None:
                hours.append(HourFigures(hour=hour, arrivals=0))
                continue
            mean = float(row.waited) / int(row.called) if row.called else None
            hours.append(HourFigures(hour=hour, arrivals=int(row.n), mean_wait=mean))
        return tuple(hours)

    def staff_names(self, ids: Iterable[str]) -> dict[str, str]:
        wanted = [staff_id for staff_id in ids if staff_id]
        if not wanted:
            return {}
        select = sa.select(staff.c.staff_id, staff.c.name).where(staff.c.staff_id.in_(wanted))
        return {row.staff_id: row.name for row in self.connection.execute(select)}


NONE_LABELS = ("（无）", "(none)")


def _labels(district: District, by: Breakdown, key: Key, names: dict[str, str]) -> tuple[str, str, str]:
    """(key, Chinese label, English label) of a breakdown line."""
    if by is Breakdown.SITE:
        site = district.site(key[0])
        return key[0], site.name_zh if site else key[0], site.name_en if site else key[0]
    if by is Breakdown.MATTER:
        matter = district.matter(key[0])
        return key[0], matter.name_zh if matter else key[0], matter.name_en if matter else key[0]
    if by is Breakdown.WINDOW:
        site_id, window_id = key
        site = district.site(site_id)
        window = site.window(window_id) if site and window_id else None
        site_zh, site_en = (site.name_zh, site.name_en) if site else (site_id, site_id)
        if window is None:
            return f"{site_id}:", f"{site_zh} {NONE_LABELS[0]}", f"{site_en} {NONE_LABELS[1]}"
        return f"{site_id}:{window_id}", f"{site_zh} {window.name_zh}", f"{site_en} {window.name_en}"
    if by is Breakdown.STAFF:
        staff_id: str | None = key[0]
        if not staff_id:
            return "", *NONE_LABELS
        name = names.get(staff_id, staff_id)
        return staff_id, name, name
    day = key[0]
    return day.isoformat(), f"{day.month}月{day.day}日", day.isoformat()


def _sort_key(key: Key) -> tuple[Any, ...]:
    return tuple((value is None, "" if value is None else value) for value in key)


def _rows(district: District, by: Breakdown, parts: dict[Key, Part], names: dict[str, str]) -> tuple[Row, ...]:
    rows = []
    order = {site.id: index for index, site in enumerate(district.sites)}
    keys = sorted(parts, key=(lambda key: order.get(key[0], len(order))) if by is Breakdown.SITE else _sort_key)
    for key in keys:
        code, zh, en = _labels(district, by, key, names)
        rows.append(Row(key=code, label_zh=zh, label_en=en, figures=parts[key].figures()))
    return tuple(rows)


def _wait_buckets(waits: Counter[int]) -> tuple[WaitBucket, ...]:
    bounds = [minutes * 60 for minutes in WAIT_BUCKET_MINUTES]
    buckets = []
    for index, low in enumerate(bounds):
        high = bounds[index + 1] if index + 1 < len(bounds) else None
        count = sum(n for value, n in waits.items() if value >= low and (high is None or value < high))
        buckets.append(WaitBucket(low=low, high=high, count=count))
    return tuple(buckets)


def _days(query: ReportQuery, parts: dict[Key, Part]) -> tuple[DayFigures, ...]:
    days = []
    for ordinal in range(query.start.toordinal(), query.end.toordinal() + 1):
        day = date.fromordinal(ordinal)
        part = parts.get((day,), Part())
        ratings = part.ratings()
        days.append(
            DayFigures(
                day=day,
                issued=part.issued,
                served=part.served,
                mean_wait=part.mean_wait(),
                ratings=ratings.count,
                satisfied=ratings.satisfied,
            )
        )
    return tuple(days)


def _sites_of(by_window: dict[Key, Part]) -> dict[Key, Part]:
    """The sites' parts as the sums of their windows' (every window key starts with its site)."""
    sites: dict[Key, Part] = {}
    for (site_id, _window), part in by_window.items():
        sites.setdefault((site_id,), Part()).merge(part)
    return sites


def report_sites(district: District, query: ReportQuery) -> list[Site]:
    """The sites a query covers: those it names that exist, or every site."""
    if not query.sites:
        return list(district.sites)
    wanted = set(query.sites)
    return [site for site in district.sites if site.id in wanted]


def report(engine: Engine, district: District, query: ReportQuery, *, now: datetime) -> Report:
    """The report of the query's sites and days from the read models (projected as far as they are)."""
    sites = report_sites(district, query)
    with engine.connect() as connection:
        reader = _Reader(connection, district, query, sites)
        lines = reader.lines()
        by_query = reader.parts(lines, query.by)
        by_site = (
            by_query if query.by is Breakdown.SITE else _sites_of(by_query) if query.by is Breakdown.WINDOW else None
        )
        if by_site is None:
            by_site = reader.parts(lines, Breakdown.SITE)
        by_day = by_query if query.by is Breakdown.DAY else reader.parts(lines, Breakdown.DAY, appointments=False)
        hours = reader.hours()
        names = reader.staff_names(key[0] for key in by_query) if query.by is Breakdown.STAFF else {}
    total = Part()
    for part in by_site.values():
        total.merge(part)
    for site in sites:
        by_site.setdefault((site.id,), Part())
    busiest = sorted((hour for hour in hours if hour.arrivals), key=lambda hour: (-hour.arrivals, hour.hour))
    return Report(
        query=query,
        generated_at=now,
        total=msgspec.structs.replace(
            total.figures(), follow_ups=follow_up_figures(engine, sites, query.start, query.end, now=now)
        ),
        rows=_rows(district, query.by, by_query, names),
        sites=_rows(district, Breakdown.SITE, by_site, {}),
        hours=hours,
        peak_hours=tuple(hour.hour for hour in busiest[:PEAK_HOURS]),
        waits=_wait_buckets(total.waits),
        days=_days(query, by_day),
    )

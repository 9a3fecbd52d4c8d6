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
from hub.store.base import as_utc
from hub.store.schema import appointments, follow_ups, report_ratings, report_services, report_tickets, staff

SATISFIED_LEVEL = 4
"""满意 or better."""
WAIT_BUCKET_MINUTES = (0, 5, 10, 15, 20, 30, 45, 60)
"""The waiting-time distribution's buckets' lower bounds; the last is open."""
PEAK_HOURS = 3


def _bucket(seconds: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The histogram bucket of a time in whole seconds: the second itself below two minutes, then 5 s up to ten
    minutes, 10 s up to an hour, a minute beyond (the lower bound; every bound of ``WAIT_BUCKET_MINUTES`` is one)."""
    return sa.case(
        (seconds < 120, seconds),
        (seconds < 600, seconds // 5 * 5),
        (seconds < 3600, seconds // 10 * 10),
        else_=seconds // 60 * 60,
    )


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
    wait_sum: float = 0.0
    wait_count: int = 0
    """The waits' sum and count where the distribution was not read (``_Reader.day_lines``)."""

    def mean_wait(self) -> float | None:
        if self.waits:
            return durations(self.waits, self.wait_sums).mean
        return self.wait_sum / self.wait_count if self.wait_count else None

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


Key = tuple[Any, ...]


def _key_columns(table: sa.Table, by: Breakdown | None) -> list[sa.ColumnElement[Any]]:
    if by is None:
        return []
    names = {
        Breakdown.SITE: ["site_id"],
        Breakdown.MATTER: ["matter"],
        Breakdown.WINDOW: ["site_id", "window_id"],
        Breakdown.STAFF: ["staff_id"],
        Breakdown.DAY: ["day"],
    }[by]
    return [table.c[name] for name in names]


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


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

    def parts(self, by: Breakdown) -> dict[Key, Part]:
        parts: dict[Key, Part] = {}

        def part(key: Key) -> Part:
            found = parts.get(key)
            if found is None:
                found = parts[key] = Part()
            return found

        tickets = report_tickets
        keys = _key_columns(tickets, by)
        width = len(keys)
        where = _within(tickets, self.site_ids, self.query.start, self.query.end)
        target = sa.case(self.targets, value=tickets.c.site_id, else_=0)
        wait = _bucket(tickets.c.wait_seconds)
        select = sa.select(
            *keys, wait, sa.func.count(), sa.func.sum(tickets.c.wait_seconds), _count(tickets.c.outcome == "served"),
            _count(tickets.c.outcome == "missed"), _count(tickets.c.outcome == "cancelled"),
            _count(tickets.c.parks > 0), sa.func.sum(tickets.c.transfers), _count(tickets.c.wait_seconds <= target),
        ).where(where).group_by(*keys, wait)  # fmt: skip
        for row in self.connection.execute(select):
            line = part(self._key(by, row[:width]))
            bucket = row[width]
            issued, waited, served, missed, cancelled, parked, transfers, within = (
                int(value or 0) for value in row[width + 1 :]
            )
            line.issued += issued
            line.served += served
            line.no_shows += missed
            line.cancelled += cancelled
            line.parked += parked
            line.transfers += transfers
            line.within += within
            if bucket is not None:
                line.waits[int(bucket)] += issued
                line.wait_sums[int(bucket)] += waited
        services = report_services
        keys = _key_columns(services, by)
        seconds = _bucket(services.c.seconds)
        select = (
            sa.select(*keys, seconds, sa.func.count(), sa.func.sum(services.c.seconds))
            .where(_within(services, self.site_ids, self.query.start, self.query.end))
            .group_by(*keys, seconds)
        )
        for row in self.connection.execute(select):
            line = part(self._key(by, row[: len(keys)]))
            line.services[int(row[len(keys)])] += int(row[len(keys) + 1])
            line.service_sums[int(row[len(keys)])] += int(row[len(keys) + 2])
        ratings = report_ratings
        keys = _key_columns(ratings, by)
        select = (
            sa.select(*keys, ratings.c.level, sa.func.count())
            .where(_within(ratings, self.site_ids, self.query.start, self.query.end), _counted(ratings))
            .group_by(*keys, ratings.c.level)
        )
        for row in self.connection.execute(select):
            part(self._key(by, row[: len(keys)])).levels[int(row[len(keys)])] += int(row[len(keys) + 1])

        for key, status in self._appointments(by):
            line = part(key)
            if status == "cancelled":
                continue
            line.booked += 1
            if status == "checked_in":
                line.kept += 1
            elif status == "no_show":
                line.missed += 1
        return parts

    def day_lines(self) -> dict[Key, Part]:
        """Per day only what the day-by-day figures need (counts, mean wait, ratings), without distributions."""
        tickets, ratings = report_tickets, report_ratings
        lines: dict[Key, Part] = {}
        select = (
            sa.select(
                tickets.c.day,
                sa.func.count(),
                _count(tickets.c.outcome == "served"),
                sa.func.sum(tickets.c.wait_seconds),
                sa.func.count(tickets.c.wait_seconds),
            )
            .where(_within(tickets, self.site_ids, self.query.start, self.query.end))
            .group_by(tickets.c.day)
        )
        for day, issued, served, waited, called in self.connection.execute(select):
            line = lines.setdefault((_day(day),), Part())
            line.issued, line.served = int(issued), int(served or 0)
            line.wait_sum, line.wait_count = float(waited or 0), int(called)
        select = (
            sa.select(ratings.c.day, ratings.c.level, sa.func.count())
            .where(_within(ratings, self.site_ids, self.query.start, self.query.end), _counted(ratings))
            .group_by(ratings.c.day, ratings.c.level)
        )
        for day, level, count in self.connection.execute(select):
            lines.setdefault((_day(day),), Part()).levels[int(level)] += int(count)
        return lines

    def _key(self, by: Breakdown, values: Sequence[Any]) -> Key:
        if by is Breakdown.DAY:
            return (_day(values[0]),)
        return tuple(values)

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
        tickets = report_tickets
        select = (
            sa.select(
                tickets.c.issue_hour,
                sa.func.count().label("n"),
                sa.func.sum(tickets.c.wait_seconds).label("waited"),
                sa.func.count(tickets.c.wait_seconds).label("called"),
            )
            .where(_within(tickets, self.site_ids, self.query.start, self.query.end))
            .group_by(tickets.c.issue_hour)
        )
        found = {int(row.issue_hour): row for row in self.connection.execute(select)}
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
        by_query = reader.parts(query.by)
        by_site = (
            by_query if query.by is Breakdown.SITE else _sites_of(by_query) if query.by is Breakdown.WINDOW else None
        )
        if by_site is None:
            by_site = reader.parts(Breakdown.SITE)
        by_day = by_query if query.by is Breakdown.DAY else reader.day_lines()
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

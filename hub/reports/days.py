"""The reports' daily aggregates (``report_days``, ``report_hours``; migration 0017), kept by the projection in the
same transaction as the per-ticket rows, so that a report reads a few rows per site, day, matter, window and clerk
instead of every ticket.

A ticket row changes as its events come (its call, its outcome), so each batch takes the old rows' contributions
away and adds the new ones' (``DayTotals``), then rewrites the days it touched; a line left with nothing is deleted,
so the tables kept live equal the rebuilt ones. Times are kept as histograms in the buckets of ``sums.bucket`` with each
bucket's count and sum, from which the figures take exact means and near-exact quantiles (``figures.durations``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.district import Site
from hub.reports.figures import COUNTS, LEVEL_COLUMNS, LEVELS, Part
from hub.reports.sums import bucket, decode, encode
from hub.store.schema import report_days, report_hours

LineKey = tuple[str, date, str, str, str]
"""(site, day, matter, window or "", clerk or "")."""
HourKey = tuple[str, date, int]
"""(site, day, local hour)."""


def part_of(row: Any) -> Part:
    """A stored ``report_days`` row as a part."""
    part = Part(**{name: getattr(row, name) for name in COUNTS})
    decode(row.waits, part.waits, part.wait_sums)
    decode(row.services, part.services, part.service_sums)
    part.levels.update({level: getattr(row, column) for level, column in zip(LEVELS, LEVEL_COLUMNS, strict=True)})
    return part


def _is_empty(part: Part) -> bool:
    return not any(getattr(part, name) for name in COUNTS) and not (
        any(part.waits.values()) or any(part.services.values()) or any(part.levels.values())
    )


def _row(key: LineKey, part: Part) -> dict[str, Any]:
    site_id, day, matter, window_id, staff_id = key
    return {
        "site_id": site_id, "day": day, "matter": matter, "window_id": window_id, "staff_id": staff_id,
        **{name: getattr(part, name) for name in COUNTS},
        **{column: part.levels[level] for level, column in zip(LEVELS, LEVEL_COLUMNS, strict=True)},
        "waits": encode(part.waits, part.wait_sums), "services": encode(part.services, part.service_sums),
    }  # fmt: skip


class DayTotals:
    """What one batch of a site's events adds to (or, with ``sign`` -1, takes from) the daily aggregates."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.target = site.rules.target_wait_minutes * 60
        self.lines: dict[LineKey, Part] = {}
        self.hours: dict[HourKey, list[int]] = {}

    def _line(self, day: date, matter: str, window_id: str | None, staff_id: str | None) -> Part:
        key = (self.site.id, day, matter, window_id or "", staff_id or "")
        found = self.lines.get(key)
        if found is None:
            found = self.lines[key] = Part()
        return found

    def tickets(self, rows: Iterable[Mapping[str, Any]], sign: int) -> None:
        """Each ticket row counted by its first call's window and clerk (none before it) and its first matter."""
        for row in rows:
            line = self._line(row["day"], row["matter"], row["window_id"], row["staff_id"])
            outcome = row["outcome"]
            line.issued += sign
            line.served += sign * (outcome == "served")
            line.no_shows += sign * (outcome == "missed")
            line.cancelled += sign * (outcome == "cancelled")
            line.parked += sign * (row["parks"] > 0)
            line.transfers += sign * row["transfers"]
            hour = self.hours.setdefault((self.site.id, row["day"], row["issue_hour"]), [0, 0, 0])
            hour[0] += sign
            wait = row["wait_seconds"]
            if wait is not None:
                line.within += sign * (wait <= self.target)
                line.waits[bucket(wait)] += sign
                line.wait_sums[bucket(wait)] += sign * wait
                hour[1] += sign * wait
                hour[2] += sign

    def services(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            line = self._line(row["day"], row["matter"], row["window_id"], row["staff_id"])
            line.services[bucket(row["seconds"])] += 1
            line.service_sums[bucket(row["seconds"])] += row["seconds"]

    def ratings(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self._line(row["day"], row["matter"], row["window_id"], row["staff_id"]).levels[row["level"]] += 1

    def write(self, connection: Connection) -> None:
        """Add the totals to the stored days: every day touched is read, merged, deleted and written again."""
        days = sorted({key[1] for key in self.lines} | {key[1] for key in self.hours})
        if not days:
            return
        site_id = self.site.id
        lines: dict[LineKey, Part] = {}
        for row in connection.execute(sa.select(report_days).where(_days_of(report_days, site_id, days))):
            lines[(site_id, row.day, row.matter, row.window_id, row.staff_id)] = part_of(row)
        for key, part in self.lines.items():
            lines.setdefault(key, Part()).merge(part)
        hours: dict[HourKey, list[int]] = {}
        for row in connection.execute(sa.select(report_hours).where(_days_of(report_hours, site_id, days))):
            hours[(site_id, row.day, row.hour)] = [row.arrivals, row.waited, row.called]
        for hour_key, sums in self.hours.items():
            kept = hours.get(hour_key, [0, 0, 0])
            hours[hour_key] = [old + new for old, new in zip(kept, sums, strict=True)]
        connection.execute(report_days.delete().where(_days_of(report_days, site_id, days)))
        connection.execute(report_hours.delete().where(_days_of(report_hours, site_id, days)))
        day_rows = [_row(key, part) for key, part in lines.items() if not _is_empty(part)]
        if day_rows:
            connection.execute(report_days.insert(), day_rows)
        hour_rows = [
            {
                "site_id": key[0],
                "day": key[1],
                "hour": key[2],
                "arrivals": sums[0],
                "waited": sums[1],
                "called": sums[2],
            }
            for key, sums in hours.items()
            if any(sums)
        ]
        if hour_rows:
            connection.execute(report_hours.insert(), hour_rows)


def _days_of(table: sa.Table, site_id: str, days: list[date]) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.site_id == site_id, table.c.day.in_(days))

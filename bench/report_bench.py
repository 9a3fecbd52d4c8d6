"""The district report over 90 days of the sample district, from the read models, on SQLite and PostgreSQL.

python -m bench.report_bench [--days 90] [--runs 5] [--backends sqlite,postgresql]

1. **generate**: ``--days`` open days (weekdays by the sites' hours and the district's calendar) of every site of
   ``assets/districts/yanta``, decided by the real engine (``engine.handle``): about 125 tickets a day per window
   (the centre's twelve windows: ~1,500 a day), arrivals spread over the opening hours, each window calling the
   next ticket when free, 3 % no-shows, services of ~4 minutes (log-normal), 60 % rated;
2. **append** the log to each backend through ``SqlStore.append`` (the hub's own group commits);
3. **project** the read models (``hub.reports.projection``) from the whole log;
4. **report**: the district's report of all those days (by site, then by matter, window, clerk and day), timed
   ``--runs`` times; the median is the figure (target: under 1 s).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from engine import Rejection, SiteState, handle
from engine import commands as cmd
from engine.calendar import periods_on
from engine.district import District, Site
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.reports.figures import report
from hub.reports.model import Breakdown, ReportQuery
from hub.reports.projection import Projector
from hub.store import open_store
from hub.store.base import Entry
from hub.store.sql import SqlStore
from tests.support import postgres

FIRST_DAY = date(2026, 3, 2)
TICKETS_PER_WINDOW = 125
NO_SHOW = 0.03
RATED = 0.6
SERVICE_MINUTES = 4.0
APPEND_CHUNK = 2000
DAILY_LIMIT = 1000


def bench_district() -> District:
    """The sample district with its daily limits out of the way (the centre's add up to 1,280 tickets a day)."""
    district = load_district(SAMPLE_DISTRICT)
    sites = tuple(
        msgspec.structs.replace(site, matters=dict.fromkeys(site.matters, DAILY_LIMIT)) for site in district.sites
    )
    return msgspec.structs.replace(district, sites=sites)


def open_days(site: Site, district: District, count: int) -> list[date]:
    days: list[date] = []
    day = FIRST_DAY
    while len(days) < count:
        if periods_on(site, district.calendar, day):
            days.append(day)
        day += timedelta(days=1)
    return days


class SiteDay:
    """One open day of one site on a virtual clock; yields the accepted commands' entries."""

    def __init__(self, district: District, site: Site, state: SiteState, day: date, rng: random.Random) -> None:
        self.district, self.site, self.state, self.day, self.rng = district, site, state, day, rng
        self.ids = itertools.count(1)
        self.entries: list[Entry] = []
        periods = periods_on(site, district.calendar, day)
        tz = ZoneInfo(site.timezone)
        self.periods = [
            (datetime.combine(day, period.start, tz), datetime.combine(day, period.end, tz)) for period in periods
        ]
        self.opening = self.periods[0][0]

    def do(self, at: datetime, kind: type[cmd.Command], **fields: object) -> list[object]:
        command = kind(command_id=f"{self.site.id}-{self.day:%Y%m%d}-{next(self.ids)}", site_id=self.site.id,
                       at=at, **fields)  # fmt: skip
        result = handle(self.district, self.state, command)
        if isinstance(result, Rejection):
            return []
        self.entries.append(Entry(site_id=self.site.id, command_id=command.command_id, events=result, outcome=b"{}"))
        return list(result)

    def arrivals(self, count: int) -> list[datetime]:
        stop = timedelta(minutes=self.site.rules.stop_issuing_minutes + 1)
        spans = [(start, end - stop) for start, end in self.periods if end - stop > start]
        total = sum((end - start).total_seconds() for start, end in spans)
        times = []
        for _ in range(count):
            offset = self.rng.random() * total
            for start, end in spans:
                length = (end - start).total_seconds()
                if offset < length:
                    times.append(start + timedelta(seconds=offset))
                    break
                offset -= length
        return sorted(times)

    def run(self) -> list[Entry]:
        site, rng = self.site, self.rng
        self.do(self.opening - timedelta(minutes=5), cmd.OpenDay)
        served: set[str] = set()
        for number, window in enumerate(site.windows):
            self.do(self.opening, cmd.OpenWindow, window_id=window.id, staff_id=f"{site.id}-clerk-{number + 1}")
            served.update(window.weights)
        matters = sorted(served & set(site.matters))
        agenda: list[tuple[datetime, int, str, str]] = []
        order = itertools.count()
        for at in self.arrivals(TICKETS_PER_WINDOW * len(site.windows)):
            heapq.heappush(agenda, (at, next(order), "issue", rng.choice(matters)))
        for window in site.windows:
            heapq.heappush(agenda, (self.opening + timedelta(minutes=1), next(order), "free", window.id))
        closing = self.periods[-1][1] + timedelta(hours=1)
        while agenda:
            at, _, kind, what = heapq.heappop(agenda)
            if kind == "issue":
                self.do(at, cmd.IssueTicket, matters=(what,))
                continue
            if at > closing:
                continue
            called = self.do(at, cmd.CallNext, window_id=what)
            if not called:
                heapq.heappush(agenda, (at + timedelta(minutes=1), next(order), "free", what))
                continue
            if rng.random() < NO_SHOW:
                at += timedelta(minutes=1)
                self.do(at, cmd.MarkNoShow, window_id=what)
            else:
                at += timedelta(seconds=30)
                self.do(at, cmd.StartService, window_id=what)
                at += timedelta(minutes=rng.lognormvariate(math.log(SERVICE_MINUTES), 0.5))
                self.do(at, cmd.FinishService, window_id=what)
                if rng.random() < RATED:
                    level = rng.choices((5, 4, 3, 2, 1), weights=(70, 20, 6, 3, 1))[0]
                    self.do(at, cmd.RateService, window_id=what, level=level)
            heapq.heappush(agenda, (at + timedelta(seconds=20), next(order), "free", what))
        self.do(closing, cmd.CloseDay)
        return self.entries


def generate(district: District, days: int) -> Iterator[list[Entry]]:
    """Each site's days in turn, one list of entries per site and day."""
    for site in district.sites:
        state = SiteState(site_id=site.id)
        for day in open_days(site, district, days):
            yield SiteDay(district, site, state, day, random.Random(f"{site.id}/{day}")).run()


def run(backend: str, url: str, district: District, log: list[list[Entry]], runs: int) -> dict[str, float]:
    store = open_store(url)
    assert isinstance(store, SqlStore)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    for day in log:
        for start in range(0, len(day), APPEND_CHUNK):
            store.append(day[start : start + APPEND_CHUNK])
    figures["append_s"] = time.perf_counter() - started
    started = time.perf_counter()
    projected = Projector(store.engine).rebuild(district)
    figures["project_s"] = time.perf_counter() - started
    figures["events"] = projected
    days = sorted(
        {event.day for entries in log for entry in entries for event in entry.events if hasattr(event, "day")}
    )
    for by in Breakdown:
        query = ReportQuery(start=days[0], end=days[-1], by=by)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            found = report(store.engine, district, query, now=datetime.now().astimezone())
            timings.append(time.perf_counter() - started)
        figures[f"report_{by}_s"] = statistics.median(timings)
        if by is Breakdown.SITE:
            figures["tickets"] = found.total.issued
            figures["centre_per_day"] = found.sites[0].figures.issued / len(days)
            figures["range_days"] = (days[-1] - days[0]).days + 1
    store.close()
    print(f"{backend}: " + ", ".join(f"{name} {value:.3f}" if isinstance(value, float) else f"{name} {value}"
                                     for name, value in figures.items()), flush=True)  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.report_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=90, help="open days of every site (default 90)")
    parser.add_argument("--runs", type=int, default=5, help="timed reports per breakdown (the median is kept)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    district = bench_district()
    started = time.perf_counter()
    log = list(generate(district, args.days))
    commands = sum(len(day) for day in log)
    events = sum(len(entry.events) for day in log for entry in day)
    print(f"generated {args.days} days: {commands} commands, {events} events in {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip
    backends = args.backends.split(",")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as folder:
            run("sqlite", f"sqlite:///{Path(folder) / 'hall.db'}", district, log, args.runs)
    if "postgresql" in backends:
        with postgres.session_database("bench") as url:
            run("postgresql", url, district, log, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

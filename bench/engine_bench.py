"""Engine benchmark (in memory, no store): commands per second and memory per 10,000 waiting tickets.

python -m bench.engine_bench
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from functools import partial

from engine import SiteState, handle
from engine import commands as cmd
from engine.district import District, Matter, Period, Site, Tier, Window

LETTERS = "ABCDEFGHJKLM"
START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def bench_district(windows: int = 10) -> District:
    """A centre with 12 matters (one prefix each) and comprehensive windows weighing them differently."""
    matters = tuple(
        Matter(
            code=f"M{i:02d}", name_zh=f"事项{i}", name_en=f"Matter {i}", category="c", prefix=letter, daily_limit=999
        )
        for i, letter in enumerate(LETTERS)
    )
    site = Site(
        id="bench",
        name_zh="基准中心",
        name_en="Bench centre",
        tier=Tier.CENTRE,
        address_zh="",
        address_en="",
        latitude=34.2,
        longitude=108.9,
        hours={day: (Period(clock_time(0), clock_time(23, 59)),) for day in range(1, 8)},
        matters={matter.code: 0 for matter in matters},
        windows=tuple(
            Window(
                id=f"w{n}",
                number=n,
                name_zh=f"{n}号",
                name_en=f"No. {n}",
                weights={matter.code: 1 + (n + i) % 3 for i, matter in enumerate(matters)},
            )
            for n in range(1, windows + 1)
        ),
    )
    return District(id="bench", name_zh="基准", name_en="Bench", catalogue=matters, sites=(site,))


class Driver:
    def __init__(self, district: District) -> None:
        self.district = district
        self.state = SiteState(site_id="bench")
        self.now = START
        self.count = 0

    def run(self, command_type: type[cmd.Command], **fields: object) -> None:
        self.count += 1
        self.now += timedelta(milliseconds=100)
        result = handle(
            self.district, self.state, command_type(command_id=str(self.count), site_id="bench", at=self.now, **fields)
        )
        assert isinstance(result, list), result

    def open(self) -> None:
        self.run(cmd.OpenDay)
        for window in self.district.sites[0].windows:
            self.run(cmd.OpenWindow, window_id=window.id)

    def fill(self, tickets: int) -> None:
        for i in range(tickets):
            self.run(cmd.IssueTicket, matters=(f"M{i % len(LETTERS):02d}",))


def call_round_robin(driver: Driver) -> None:
    windows = driver.district.sites[0].windows
    driver.run(cmd.CallNext, window_id=windows[driver.count % len(windows)].id)


def per_second(samples: list[float]) -> float:
    return 1.0 / statistics.median(samples)


def timed(action: Callable[[], None], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        begin = time.perf_counter()
        action()
        samples.append(time.perf_counter() - begin)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    args = parser.parse_args()
    district = bench_district()

    driver = Driver(district)
    driver.open()
    issue = timed(lambda: driver.run(cmd.IssueTicket, matters=("M00",)), 900)
    print(f"issue ticket:               {per_second(issue):>10,.0f} commands/s (median)")

    for depth in (100, 1_000, 10_000):
        driver = Driver(district)
        driver.open()
        driver.fill(depth + 200)
        calls = timed(partial(call_round_robin, driver), 200)
        print(f"call next, {depth:>6,} waiting:   {per_second(calls):>10,.0f} commands/s (median)")

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    driver = Driver(district)
    driver.open()
    driver.fill(args.tickets)
    gc.collect()
    size = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    print(f"memory per {args.tickets:,} waiting: {size / 1e6:>8.1f} MB ({size / args.tickets:,.0f} bytes per ticket)")


if __name__ == "__main__":
    main()

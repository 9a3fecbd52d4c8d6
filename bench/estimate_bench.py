"""Waiting-time estimate benchmark: what the hub pays the estimator per issued ticket, on the sample district centre.

python -m bench.estimate_bench

For each queue depth (100, 300, 1,000 waiting) a day at the centre (12 windows, all open) is built with
``engine.handle``: an hour of arrivals faster than the windows serve fills the queue while every event goes to a
``WaitEstimator``. Then tickets keep coming, each followed by one call at the next window in turn (so the queue
stays at its depth), and per issued ticket the benchmark times what the hub does on its writer thread: ``observe``
for every event of the issue and of the call, and ``estimate`` of the new ticket. Two streams:

- **load**: ``--rate`` tickets a second of hall time at this one site (default 100, the hub's 1,000 a second shared
  by a district's sites): one replay serves many tickets (a second of them, ``moved_seconds``, as windows call);
- **hall pace**: one ticket every 40 s, as fast as twelve windows of 8-minute calls serve; every ticket then comes
  after the last replay went stale, so each pays a full replay: the estimator's worst case per ticket.

Then the board: ``estimate_all`` right after an issue (replay reused) and once the replay is stale (a new one).
The sample catalogue's daily limits are raised so that a day can hold the deepest queue.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import msgspec

from engine import Rejection, SiteState, handle
from engine import commands as cmd
from engine import events as ev
from engine.district import District, Site
from engine.estimate import WaitEstimator
from hub.district_file import SAMPLE_DISTRICT, load_district

OPENING = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
"""09:00 in Xi'an on a Wednesday (a working day)."""
FILL_MINUTES = 60.0
MINUTES_PER_CALL = 8.0
PREFIX_SHARES = {"A": 0.2, "B": 0.2, "C": 0.15, "D": 0.15, "E": 0.15, "F": 0.12, "G": 0.03}
"""Tickets per number prefix: the sample's 999 numbers a prefix a day hold a few thousand tickets."""
HALL_PACE_SECONDS = 40.0


class Estimator(Protocol):
    def observe(self, event: ev.Event, state: SiteState, site: Site) -> None: ...

    def estimate(self, state: SiteState, site: Site, ticket_id: str, now: datetime) -> Any: ...

    def estimate_all(self, state: SiteState, site: Site, now: datetime) -> dict[str, Any]: ...


def sample_centre() -> District:
    """The sample district with daily limits high enough for a thousand waiting at its centre."""
    district = load_district(SAMPLE_DISTRICT)
    catalogue = tuple(msgspec.structs.replace(matter, daily_limit=10_000) for matter in district.catalogue)
    return msgspec.structs.replace(district, catalogue=catalogue)


class Hall:
    """The centre's day driven by ``engine.handle``; every event goes to the estimator, timed."""

    def __init__(self, district: District, estimator: Estimator, seed: int) -> None:
        self.district = district
        self.site = next(site for site in district.sites if site.id == "centre")
        self.state = SiteState(site_id=self.site.id)
        self.estimator = estimator
        self.rng = random.Random(seed)
        self.now = OPENING
        self.count = 0
        self.turn = 0
        self.matters: dict[str, list[str]] = {}
        for code in self.site.matters:
            matter = district.matter(code)
            assert matter is not None
            self.matters.setdefault(matter.prefix, []).append(code)

    def run(self, command_type: type[cmd.Command], **fields: Any) -> tuple[list[ev.Event], float]:
        """Decide a command and let the estimator observe its events; the seconds ``observe`` took."""
        self.count += 1
        command = command_type(command_id=str(self.count), site_id=self.site.id, at=self.now, **fields)
        result = handle(self.district, self.state, command)
        if isinstance(result, Rejection):
            assert command_type is cmd.CallNext, result  # a window may have nobody to call
            return [], 0.0
        begin = time.perf_counter()
        for event in result:
            self.estimator.observe(event, self.state, self.site)
        return result, time.perf_counter() - begin

    def open(self) -> None:
        self.run(cmd.OpenDay)
        for window in self.site.windows:
            self.run(cmd.OpenWindow, window_id=window.id, staff_id=f"staff-{window.id}")

    def issue(self) -> tuple[str, float]:
        """Issue a ticket of a random matter and class: its id and the seconds observing it took."""
        prefixes = list(PREFIX_SHARES)
        prefix = self.rng.choices(prefixes, weights=[PREFIX_SHARES[p] for p in prefixes])[0]
        matter = self.rng.choice(self.matters[prefix])
        draw = self.rng.random()
        if draw < 0.08:
            priority, channel = cmd.Priority.ELDERLY, cmd.Channel.KIOSK
        elif draw < 0.2:
            priority, channel = cmd.Priority.APPOINTMENT, cmd.Channel.APPOINTMENT
        else:
            priority, channel = cmd.Priority.NORMAL, cmd.Channel.KIOSK
        events, seconds = self.run(cmd.IssueTicket, matters=(matter,), priority=priority, channel=channel)
        issued = next(event for event in events if isinstance(event, ev.TicketIssued))
        return issued.ticket_id, seconds

    def call(self, window_id: str) -> float:
        """The window settles its ticket and calls the next, who comes up at once; the seconds observing took."""
        _, seconds = self.run(cmd.CallNext, window_id=window_id)
        if self.state.windows[window_id].current is not None:
            _, more = self.run(cmd.StartService, window_id=window_id)
            seconds += more
        return seconds

    def fill(self, depth: int) -> None:
        """An hour of arrivals faster than the windows serve, until ``depth`` tickets wait."""
        start = self.now
        served = len(self.site.windows) * FILL_MINUTES / MINUTES_PER_CALL
        gap = FILL_MINUTES / (depth + served)
        free = {window.id: start for window in self.site.windows}
        arrival = start
        while len(self.state.waiting) < depth:
            window_id, free_at = min(free.items(), key=lambda item: item[1])
            if free_at < arrival:
                self.now = free_at
                self.call(window_id)
                free[window_id] = free_at + timedelta(minutes=self.rng.uniform(0.5, 1.5) * MINUTES_PER_CALL)
            else:
                self.now = arrival
                self.issue()
                arrival += timedelta(minutes=gap)

    def stream(self, tickets: int, gap_seconds: float) -> list[float]:
        """Issue tickets ``gap_seconds`` apart, each followed by a call; seconds the estimator took per ticket."""
        windows = [window.id for window in self.site.windows]
        samples = []
        for _ in range(tickets):
            self.now += timedelta(seconds=gap_seconds)
            ticket_id, observing = self.issue()
            begin = time.perf_counter()
            self.estimator.estimate(self.state, self.site, ticket_id, self.now)
            estimating = time.perf_counter() - begin
            self.turn = (self.turn + 1) % len(windows)
            samples.append(observing + estimating + self.call(windows[self.turn]))
        return samples


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return 1000.0 * ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _row(label: str, depth: int, samples: list[float]) -> str:
    median, p99 = _ms(samples, 0.5), _ms(samples, 0.99)
    mean = 1000.0 * statistics.fmean(samples)
    return f"{depth:>7,}  {label:<22}{len(samples):>8}{median:>10.3f}{p99:>10.3f}{mean:>10.3f}"


def measure(
    factory: Callable[[], Estimator], depths: list[int], *, rate: float, tickets: int, paced: int, seed: int = 1
) -> list[str]:
    """The table's lines for one estimator."""
    district = sample_centre()
    head = f"{'waiting':>7}  {'stream':<22}{'tickets':>8}{'median':>10}{'p99':>10}{'mean':>10}"
    lines = ["observe + estimate per issued ticket, ms (mean = amortised)", head, "-" * len(head)]
    boards = []
    for depth in depths:
        streams = [(f"load, {rate:g} tickets/s", tickets, 1.0 / rate), ("hall pace, 1 per 40 s", paced, 40.0)]
        for label, count, gap in streams:
            hall = Hall(district, factory(), seed)
            hall.open()
            hall.fill(depth)
            gc.collect()
            lines.append(_row(label, depth, hall.stream(count, gap)))
        begin = time.perf_counter()
        board = hall.estimator.estimate_all(hall.state, hall.site, hall.now)
        reused = time.perf_counter() - begin
        hall.now += timedelta(minutes=1)
        begin = time.perf_counter()
        hall.estimator.estimate_all(hall.state, hall.site, hall.now)
        fresh = time.perf_counter() - begin
        boards.append(f"{len(board):>7,}  {1000 * reused:>14.3f}{1000 * fresh:>14.3f}")
    head = f"{'waiting':>7}  {'just issued':>14}{'a minute on':>14}"
    return [*lines, "", "estimate_all (the board), ms", head, "-" * len(head), *boards]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[100, 300, 1_000], help="tickets waiting")
    parser.add_argument("--rate", type=float, default=100.0, help="tickets a second of hall time (load stream)")
    parser.add_argument("--tickets", type=int, default=3_000, help="tickets issued in the load stream")
    parser.add_argument("--paced", type=int, default=60, help="tickets issued in the hall-pace stream")
    args = parser.parse_args()
    lines = measure(WaitEstimator, args.depths, rate=args.rate, tickets=args.tickets, paced=args.paced)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

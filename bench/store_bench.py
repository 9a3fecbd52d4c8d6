"""Durable IssueTicket commands per second through HallService, on SQLite and on PostgreSQL, single-threaded.

Each backend first gets ``--history`` tickets of earlier days (open day, issue, close day, repeated), stored as a
hub would have stored them, then a fresh HallService loads the site and takes ``--commands`` IssueTicket commands
one after another; each returns only after its transaction committed. SQLite runs on a file in a temporary
directory, PostgreSQL in a temporary database (the server is found or started as the tests do).

Run from the repository root:  .venv/bin/python -m bench.store_bench [--history 20000] [--commands 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta

import msgspec

from engine.commands import CloseDay, Command, IssueTicket, OpenDay
from hub.service import HallService
from hub.store import open_store
from hub.store.base import EventStore
from tests.support import postgres
from tests.support.hall import DISTRICT, MATTERS, OPENING, SITE_ID, Recorder

TICKETS_PER_DAY = 900
PRELOAD_BATCH = 1000


class Result(msgspec.Struct, frozen=True):
    backend: str
    history: int
    per_second: float
    median_ms: float
    p99_ms: float
    load_ms: float


def issues(day: int, count: int) -> Iterator[IssueTicket]:
    """``count`` tickets over the day's ``day`` (days before the benchmark day are negative), matters in turn."""
    opening = OPENING + timedelta(days=day)
    for n in range(count):
        matter = MATTERS[n % len(MATTERS)]
        yield IssueTicket(
            command_id=f"d{day}-i{n}", site_id=SITE_ID, at=opening + timedelta(seconds=n), matters=(matter,)
        )


def history(tickets: int) -> Iterator[Command]:
    """Whole days of tickets ending the day before the benchmark day."""
    days = -(-tickets // TICKETS_PER_DAY)
    for day in range(-days, 0):
        count = min(TICKETS_PER_DAY, tickets - (day + days) * TICKETS_PER_DAY)
        yield OpenDay(command_id=f"d{day}-open", site_id=SITE_ID, at=OPENING + timedelta(days=day))
        yield from issues(day, count)
        yield CloseDay(command_id=f"d{day}-close", site_id=SITE_ID, at=OPENING + timedelta(days=day, hours=9))


def preload(store: EventStore, tickets: int) -> None:
    """Store the history in large batches, exactly as a hub decided and stored it command by command."""
    recorder = Recorder()
    hub = HallService(DISTRICT, recorder)
    for n, command in enumerate(history(tickets), start=1):
        hub.execute(command)
        if n % PRELOAD_BATCH == 0:
            store.append(recorder.take())
    store.append(recorder.take())


def run(backend: str, url: str, tickets: int, commands: int) -> Result:
    store = open_store(url)
    try:
        preload(store, tickets)
        started = time.perf_counter()
        service = HallService(DISTRICT, store)
        service.state(SITE_ID)
        load = time.perf_counter() - started
        assert service.execute(OpenDay(command_id="bench-open", site_id=SITE_ID, at=OPENING)).accepted
        latencies = []
        for command in issues(0, commands):
            started = time.perf_counter()
            outcome = service.execute(command)
            latencies.append(time.perf_counter() - started)
            assert outcome.accepted, outcome.rejection
    finally:
        store.close()
    ms = sorted(latency * 1000 for latency in latencies)
    return Result(
        backend=backend,
        history=tickets,
        per_second=len(ms) / (sum(ms) / 1000),
        median_ms=statistics.median(ms),
        p99_ms=ms[min(len(ms) - 1, round(len(ms) * 0.99))],
        load_ms=load * 1000,
    )


def print_table(results: list[Result]) -> None:
    print(f"{'backend':<10} {'history':>8} {'commands/s':>11} {'median ms':>10} {'p99 ms':>8} {'load ms':>8}")
    for r in results:
        figures = f"{r.per_second:>11.0f} {r.median_ms:>10.3f} {r.p99_ms:>8.3f} {r.load_ms:>8.0f}"
        print(f"{r.backend:<10} {r.history:>8} {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=20_000, help="tickets of earlier days in the store")
    parser.add_argument("--commands", type=int, default=2_000, help="IssueTicket commands to time (at most 2997)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as directory:
        results.append(run("sqlite", f"sqlite:///{directory}/hall.db", args.history, args.commands))
    with postgres.session_database("bench") as url:
        results.append(run("postgresql", url, args.history, args.commands))
    print_table(results)


if __name__ == "__main__":
    main()

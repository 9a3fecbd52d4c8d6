"""What a site's snapshot costs the requests: batches of issues through HallService on a SQL store, the snapshot
saved as the hub saves it (beside the requests, hub/store/snapshots.py) and, to compare, as it was saved before
(inline, on the writer's thread).

python -m bench.snapshot_bench [--tickets 12000] [--batch 16] [--url sqlite:///...|postgresql://...] [--runs 3]

One bench site (24 matters, 12 windows) opens its day and gets ``--tickets`` issues in batches of ``--batch`` (the
writer's group commits under 16 kiosks); a snapshot every 1,000 events, so later ones carry the day's thousands of
tickets (~1 MB). Figures: per batch median / p99 / max, and the slowest batch that took a snapshot.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.hub_setup import BENCH_DAY, MATTERS, bench_district, site_id
from engine.commands import IssueTicket, OpenDay
from hub.service import HallService
from hub.store import open_store
from hub.store.base import EventStore
from hub.store.snapshots import SnapshotSaver

SNAPSHOT_EVERY = 1000


class InlineSaver(SnapshotSaver):
    """The save as it was before: on the caller's thread, the requests waiting."""

    def save(self, site_id: str, seq: int, state: bytes) -> None:
        self.store.save_snapshot(site_id, seq, state)


def run(store: EventStore, tickets: int, batch: int, inline: bool) -> tuple[list[float], list[float]]:
    """Each batch's seconds, and those of the batches that took a snapshot."""
    district = bench_district(1)
    site = site_id(1)
    service = HallService(district, store, snapshot_every=SNAPSHOT_EVERY)
    if inline:
        service.snapshots = InlineSaver(store)
    service.execute(OpenDay(command_id="open", site_id=site, at=BENCH_DAY))
    times, snapshotting = [], []
    for start in range(0, tickets, batch):
        commands = [
            IssueTicket(
                command_id=f"i{n}", site_id=site, at=BENCH_DAY + timedelta(seconds=n / 10), matters=(MATTERS[n % 24],)
            )
            for n in range(start, min(tickets, start + batch))
        ]
        seq = service.state(site).seq
        began = time.perf_counter()
        service.execute_many(commands)
        took = time.perf_counter() - began
        times.append(took)
        if seq // SNAPSHOT_EVERY != service.state(site).seq // SNAPSHOT_EVERY:
            snapshotting.append(took)
    service.close()
    return times, snapshotting


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=12_000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--url", default="", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = args.url or "sqlite"
    print(f"$ python -m bench.snapshot_bench --tickets {args.tickets} --batch {args.batch} --url {url}")
    print("save    run  batches  median ms  p99 ms  max ms  slowest batch with a snapshot ms")
    for run_number in range(1, args.runs + 1):
        for inline in (True, False):
            folder = Path(tempfile.mkdtemp(prefix="hall-snapshot-bench-"))
            store = open_store(args.url or f"sqlite:///{folder}/hall.db")
            try:
                times, snapshotting = run(store, args.tickets, args.batch, inline)
            finally:
                store.close()
                shutil.rmtree(folder, ignore_errors=True)
            if args.url:
                from tests.support.postgres import empty_database  # noqa: PLC0415  (only for a PostgreSQL url)

                empty_database(args.url)
            print(
                f"{'inline' if inline else 'aside':<7} {run_number:>3}  {len(times):>7}  "
                f"{1000 * statistics.median(times):>9.2f}  {_ms(times, 0.99):>6.1f}  {_ms(times, 1.0):>6.1f}  "
                f"{1000 * max(snapshotting, default=0.0):>8.1f} (of {len(snapshotting)})"
            )


if __name__ == "__main__":
    main()

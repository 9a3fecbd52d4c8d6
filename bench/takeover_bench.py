"""Takeover after ``kill -9``: how long a hub's sites go undecided when it dies (issue #13, decision 0020).

    python -m bench.takeover_bench [--kills 6]

The city of ``tests/support/city.py``: three real hubs on a private PostgreSQL sharing the sample district's six
sites (two each, preferred), a kiosk per site on a 3-node NATS cluster. Every kiosk issues a ticket every 0.2 s
(each request retried with the same id, as ``DeviceLink`` does). Each round kills one hub with SIGKILL (in turn),
measures for each of its sites the time from the kill to the first request decided after it (a ticket, or the
engine's refusal once a small room's daily limit is reached), restarts the hub and waits until its preferred sites
are home again. p50, p99 and max over every taken site of every round; target p99 ≤ 10 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from devicekit.link import HubUnreachable
from tests.support import postgres
from tests.support.city import HUBS, City, Desk, eventually, issue, record

TARGET_P99_SECONDS = 10.0


def _load(desk: Desk, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            record(desk, issue(desk))
        except HubUnreachable:
            desk.unanswered += 1
        time.sleep(0.2)


def _round(city: City, victim: str) -> list[float]:
    """Kill one hub; the seconds until each of its sites decided again."""
    sites = [site for site, hub in city.owners().items() if hub == victim and site in city.desks]
    city.hubs[victim].kill()
    killed = time.monotonic()

    def decided_again() -> bool:
        return all(any(at > killed for at in city.desks[site].decided) for site in sites)

    eventually(decided_again, timeout=60, what="the victim's sites decided again")
    taken = [min(at for at in city.desks[site].decided if at > killed) - killed for site in sites]
    city.hubs[victim].start(timeout=60)
    eventually(city.balanced, timeout=60, what="home")
    return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=6, help="rounds, each killing one hub (in turn)")
    args = parser.parse_args()
    database = postgres.PrivateCluster()
    failure = database.create()
    if failure:
        raise SystemExit(f"no private PostgreSQL: {failure}")
    city = City(Path(tempfile.mkdtemp(prefix="takeover-")), database)
    stop = threading.Event()
    try:
        city.start()
        workers = [threading.Thread(target=_load, args=(desk, stop)) for desk in city.desks.values()]
        for worker in workers:
            worker.start()
        samples: list[float] = []
        for number in range(args.kills):
            samples += _round(city, HUBS[number % len(HUBS)])
        stop.set()
        for worker in workers:
            worker.join()
        unanswered = sum(desk.unanswered for desk in city.desks.values())
    finally:
        stop.set()
        city.stop()
        database.remove()
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    print("$ python -m bench.takeover_bench --kills", args.kills)
    print(f"| taken sites | {len(samples)} ({args.kills} kills of 3 hubs, 6 sites) |")
    print(f"| kill -9 → first decided request, p50 | {statistics.median(samples):.1f} s |")
    print(f"| p99 (target ≤ {TARGET_P99_SECONDS:.0f} s) | {p99:.1f} s |")
    print(f"| max | {samples[-1]:.1f} s |")
    print(f"| kiosk requests unanswered after every retry | {unanswered} |")
    return 0 if p99 <= TARGET_P99_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())

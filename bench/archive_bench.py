"""Archive search over 100,000 cases on SQLite and PostgreSQL (issue 15, item 5): the queries /admin/archive runs.

    python -m bench.archive_bench [--cases 100000] [--runs 40] [--backends sqlite,postgresql]

The tables are filled directly in bulk (migrated as the hub migrates them): cases spread over the sample district's
six sites (the centre takes the most), each site's own matters (a few matters take most of the cases), two years of
working days, working hours, and states as an archive that has been in use looks (most accepted, some returned,
those of the last days still waiting or receiving). Then ``Archive.search``, the call the page makes (a count and
a page of 50 newest first), is timed ``--runs`` times for each kind of search, each run with other values:

- by case number: a full one, and the part a clerk types (``-0037``: any case whose number holds it);
- by date range and site: a week, and a month, at one site (a site's manager);
- by matter and state: across the district (the administrator), and at one site;
- the first page with no filter (the page as it opens), and page 20 of it.

Target (issue #15): p95 ≤ 100 ms for each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

from engine.calendar import day_bounds
from engine.district import District
from hub.archive.store import Archive, archive_for, day_range
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.store import open_store
from hub.store.schema import archive_cases
from hub.store.sql import SqlStore
from tests.support import postgres

TARGET_MS = 100.0
FIRST_DAY = date(2024, 12, 2)
DAYS = 730
SITE_SHARE = {"centre": 0.45, "xiaozhai": 0.2, "dianzicheng": 0.15}
"""The rest share what is left."""
STATES = (("accepted", 0.78), ("returned", 0.1), ("submitted", 0.1), ("receiving", 0.02))
CHUNK = 5000
Search = Callable[[Archive, random.Random], Any]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def working_days() -> list[date]:
    return [day for day in (FIRST_DAY + timedelta(days=n) for n in range(DAYS)) if day.weekday() < 5]


def generate(district: District, count: int) -> Iterator[list[dict[str, Any]]]:
    """The cases' rows, ``CHUNK`` at a time, in the order the days went by."""
    rng = random.Random(15)
    days = working_days()
    others = [site.id for site in district.sites if site.id not in SITE_SHARE]
    rest = (1 - sum(SITE_SHARE.values())) / len(others)
    sites = [*SITE_SHARE, *others]
    site_weights = [*SITE_SHARE.values(), *[rest] * len(others)]
    matters = {site.id: sorted(site.matters) for site in district.sites}
    matter_weights = {site: [1 / (rank + 1) for rank in range(len(codes))] for site, codes in matters.items()}
    per_day = count / len(days)
    seq: dict[tuple[str, date], int] = {}
    rows: list[dict[str, Any]] = []
    made = 0
    for index, day in enumerate(days):
        todays = round(per_day * (index + 1)) - made
        for _ in range(todays):
            site = district.site(rng.choices(sites, site_weights)[0])
            assert site is not None
            matter = rng.choices(matters[site.id], matter_weights[site.id])[0]
            opening = day_bounds(site, day)[0] + timedelta(hours=9)
            created = (opening + timedelta(seconds=rng.uniform(0, 8 * 3600))).astimezone(UTC)
            recent = (days[-1] - day).days < 5
            state = rng.choices(["submitted", "receiving"] if recent else [s for s, _ in STATES],
                                [0.9, 0.1] if recent else [w for _, w in STATES])[0]  # fmt: skip
            number = seq[site.id, day] = seq.get((site.id, day), 0) + 1
            decided = state in ("accepted", "returned")
            rows.append({
                "case_id": uuid.UUID(int=rng.getrandbits(128)).hex, "site_id": site.id, "day": day.isoformat(),
                "case_number": f"{site.id.upper()}-{day:%Y%m%d}-{number:04d}", "seq": number,
                "submission_id": uuid.UUID(int=rng.getrandbits(128)).hex, "matter": matter,
                "ticket_id": f"{site.id}-{day:%Y%m%d}-A{number:03d}" if rng.random() < 0.7 else None,
                "state": state, "materials": '[{"material": 0, "commitment": false}]', "citizen_ref": None,
                "commitment_text": None, "commitment_at": None, "token_hash": uuid.UUID(int=rng.getrandbits(128)).hex,
                "created_at": created, "submitted_at": None if state == "receiving" else created + timedelta(minutes=4),
                "decided_at": created + timedelta(days=1) if decided else None, "decided_by": "li" if decided else None,
                "reason": "材料不全，请补正" if state == "returned" else None,
            })  # fmt: skip
            made += 1
            if len(rows) == CHUNK:
                yield rows
                rows = []
    if rows:
        yield rows


def searches(district: District, numbers: list[str]) -> dict[str, Search]:
    """Each kind of search the archive page runs, with values drawn from ``rng`` for every run."""
    days = working_days()
    sites = [site.id for site in district.sites]
    matters = {site.id: sorted(site.matters) for site in district.sites}
    states = [state for state, _ in STATES]

    def dated(archive: Archive, rng: random.Random, length: int) -> Any:
        site = rng.choice(sites)
        first = rng.choice(days[: -length // 7 * 5 - 1])
        since, until = day_range(district, site, first, first + timedelta(days=length - 1))
        return archive.search(sites=[site], since=since, until=until)

    return {
        "case number (full)": lambda archive, rng: archive.search(case_number=rng.choice(numbers)),
        "case number (part, one site)": lambda archive, rng: archive.search(
            sites=[rng.choice(sites)], case_number=f"-{rng.randrange(1, 60):04d}"
        ),
        "case number (part, district)": lambda archive, rng: archive.search(case_number=f"-{rng.randrange(1, 60):04d}"),
        "date range 7 days + site": lambda archive, rng: dated(archive, rng, 7),
        "date range 30 days + site": lambda archive, rng: dated(archive, rng, 30),
        "matter + state (district)": lambda archive, rng: archive.search(
            matter=rng.choice(matters["centre"]), state=rng.choice(states)
        ),
        "matter + state (one site)": lambda archive, rng: (
            site := rng.choice(sites),
            archive.search(sites=[site], matter=rng.choice(matters[site]), state=rng.choice(states)),
        )[1],
        "no filter, first page": lambda archive, _rng: archive.search(),
        "no filter, page 20": lambda archive, _rng: archive.search(offset=19 * 50),
    }


def run(backend: str, url: str, district: District, cases: int, runs: int) -> dict[str, tuple[float, float]]:
    store = open_store(url)
    assert isinstance(store, SqlStore)
    started = time.perf_counter()
    numbers: list[str] = []
    rng = random.Random(7)
    for rows in generate(district, cases):
        with store.engine.begin() as connection:
            connection.execute(archive_cases.insert(), rows)
        numbers.extend(row["case_number"] for row in rng.sample(rows, 5))
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    print(f"{backend}: {cases} cases filled in {time.perf_counter() - started:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        archive = archive_for(store, Path(folder), lambda: district, b"s" * 32, lambda _number: None)
        figures: dict[str, tuple[float, float]] = {}
        for name, search in searches(district, numbers).items():
            search(archive, random.Random(0))  # warm the caches
            timings, found = [], 0
            draw = random.Random(name)
            for _ in range(runs):
                began = time.perf_counter()
                _cases, total = search(archive, draw)
                timings.append((time.perf_counter() - began) * 1000)
                found += total
            figures[name] = (statistics.median(timings), percentile(timings, 0.95))
            verdict = "ok" if figures[name][1] <= TARGET_MS else "OVER"
            print(f"  {name:30} median {figures[name][0]:6.1f} ms  p95 {figures[name][1]:6.1f} ms  "
                  f"(matches {found / runs:8.0f} on average)  {verdict}", flush=True)  # fmt: skip
    store.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.archive_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40, help="timed searches of each kind (other values each time)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    district = load_district(SAMPLE_DISTRICT)
    backends = args.backends.split(",")
    worst = 0.0
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as folder:
            figures = run("sqlite", f"sqlite:///{Path(folder) / 'hall.db'}", district, args.cases, args.runs)
            worst = max(worst, *(p95 for _median, p95 in figures.values()))
    if "postgresql" in backends:
        with postgres.session_database("bench") as url:
            figures = run("postgresql", url, district, args.cases, args.runs)
            worst = max(worst, *(p95 for _median, p95 in figures.values()))
    print(f"target p95 ≤ {TARGET_MS:.0f} ms for every search: {'within' if worst <= TARGET_MS else 'OVER'} "
          f"(worst p95 {worst:.1f} ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

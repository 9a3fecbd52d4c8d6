"""``python -m simulator``: replay simulated hall days through the engine and compare the wait predictors."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

import msgspec

from engine.estimate import EstimatorConfig
from simulator.experiment import run
from simulator.profiles import SCENARIOS
from simulator.report import table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--seeds", type=int, default=10, help="run seeds 1..N of every scenario (default 10)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parallel processes")
    parser.add_argument("--json", action="store_true", help="print the summaries as JSON instead of tables")
    parser.add_argument(
        "--refresh", type=float, metavar="SECONDS", help="seconds of hall time one replay answers for (default 10)"
    )
    parser.add_argument(
        "--moved", type=float, metavar="SECONDS", help="the same once a window let a ticket go (default 1)"
    )
    args = parser.parse_args(argv)
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    config = EstimatorConfig()
    if args.refresh is not None:
        config = msgspec.structs.replace(config, refresh_seconds=args.refresh)
    if args.moved is not None:
        config = msgspec.structs.replace(config, moved_seconds=args.moved)
    summaries = run(names, range(1, args.seeds + 1), args.jobs, config)
    if args.json:
        print(json.dumps([dataclasses.asdict(summary) for summary in summaries], indent=2))
    else:
        print(table(summaries))
    missed = [miss for summary in summaries for miss in summary.missed()]
    print(
        "\n" + ("\n".join(f"target missed: {miss}" for miss in missed) if missed else "all targets hold"),
        file=sys.stderr,
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

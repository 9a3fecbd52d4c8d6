"""``hall-hub``: the hub's command line (wiring happens here and nowhere else).

    hall-hub init                  create or upgrade the database and load the district into it
    hall-hub run                   load the sample district if the database is empty, open today, take commands
    hall-hub do issue centre M01   run one console command and exit

The database URL comes from ``--db`` or ``HALL_DB`` (default: SQLite under ./var); ``--at`` pretends another time
(ISO 8601), which the demo uses so that a night-time run still finds the halls open.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from engine.district import District
from hub.console import Console, ConsoleError
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.service import HallService
from hub.store import EventStore, open_store

DEFAULT_DB = "sqlite:///var/hall.db"


def _clock(at: str | None) -> Callable[[], datetime]:
    if at is None:
        return lambda: datetime.now(UTC)
    fixed = datetime.fromisoformat(at)
    if fixed.tzinfo is None:
        raise SystemExit(f"--at needs a timezone, e.g. {at}+08:00")
    start = datetime.now(UTC)
    return lambda: fixed + (datetime.now(UTC) - start)


def _open(args: argparse.Namespace) -> tuple[EventStore, District]:
    if args.db.startswith("sqlite:///"):
        Path(args.db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store = open_store(args.db)
    stored = store.district()
    if stored is None or args.command == "init":
        district = load_district(Path(args.district))
        store.save_district(msgspec.json.encode(district))
        return store, district
    return store, msgspec.json.decode(stored, type=District)


def _repl(console: Console, interactive: bool) -> None:
    while True:
        if interactive:
            print("hall> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line or line.strip() in ("quit", "exit"):
            return
        try:
            answer = console.execute_line(line)
        except (ConsoleError, ValueError) as error:
            answer = f"✗ {error}"
        if answer:
            print(answer, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hall-hub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("HALL_DB", DEFAULT_DB), help="database URL")
    parser.add_argument("--district", default=str(SAMPLE_DISTRICT), help="district folder (init)")
    parser.add_argument("--at", help="pretend the time is this ISO 8601 instant (with timezone)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create or upgrade the database and load the district")
    commands.add_parser("run", help="open every site's day and read console commands from stdin")
    one = commands.add_parser("do", help="run one console command, e.g.: do issue centre M01")
    one.add_argument("words", nargs="+")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    store, district = _open(args)
    try:
        console = Console(HallService(district, store), _clock(args.at))
        if args.command == "init":
            print(f"{district.name_zh}: {len(district.sites)} sites, {len(district.catalogue)} matters → {args.db}")
        elif args.command == "do":
            print(console.execute_line(" ".join(args.words)))
        else:
            print(console.execute_line("open-day all"))
            print(console.sites())
            print("type help for the commands, quit to stop", flush=True)
            _repl(console, sys.stdin.isatty())
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``hall-hub``: the hub's command line.

    hall-hub serve                 run the hub: MQTT (a managed Mosquitto by default), HTTP API, metrics
    hall-hub hall [--site centre]  the hub with one site's kiosk, counter caller and board (make run)
    hall-hub init                  create or upgrade the database and load the district into it
    hall-hub device add --site centre --kind kiosk      provision a device (prints its password once)
    hall-hub admin add NAME        the first administrator of the web pages (the password is typed)
    hall-hub run                   a console on the database: open today, issue and call by typing
    hall-hub do issue centre A02   run one console command and exit

Settings come from ``--config hub.toml`` and ``HALL_<SECTION>_<KEY>`` variables (hub/config.py); ``--db``
overrides the database URL. ``--at`` pretends another time (ISO 8601) for the console, so that a night-time
demo still finds the halls open.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import msgspec

from engine.district import District
from hub.accounts import accounts_for
from hub.accounts_cli import add_account_commands, run_account_command
from hub.archive.cli import add_archive_commands, open_archive, run_archive_command
from hub.config import load_config, make_clock, setup_logging
from hub.console import Console, ConsoleError
from hub.device_cli import add_device_commands, run_device_command
from hub.devices import registry_for
from hub.district_file import load_district
from hub.hall import run_hall
from hub.main import open_district, serve
from hub.reports.cli import COMMAND as REPORTS
from hub.reports.cli import add_reports_commands, run_reports_command
from hub.service import HallService
from hub.staff import staff_for
from hub.staff_cli import add_staff_commands, run_staff_command
from hub.store import EventStore, open_store


def _open(args: argparse.Namespace) -> tuple[EventStore, District]:
    store = open_store(args.db)
    if args.command == "init":
        district = load_district(Path(args.district))
        document = msgspec.json.encode(district)
        store.save_district(document, author="hall-hub init", reason=f"loaded from {args.district}")
        return store, district
    return store, open_district(store, Path(args.district))


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
    parser.add_argument("--config", type=Path, help="hub.toml (see hub/config.py)")
    parser.add_argument("--db", help="database URL (overrides the config)")
    parser.add_argument("--district", help="district folder (overrides the config)")
    parser.add_argument("--at", help="pretend the time is this ISO 8601 instant (with timezone)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the hub (MQTT, HTTP API, metrics)")
    hall = commands.add_parser("hall", help="run the hub with one site's kiosk, caller and board (make run)")
    hall.add_argument("--site", default="centre", help="the site whose devices start (default: centre)")
    commands.add_parser("init", help="create or upgrade the database and load the district")
    commands.add_parser("run", help="open every site's day and read console commands from stdin")
    one = commands.add_parser("do", help="run one console command, e.g.: do issue centre A02")
    one.add_argument("words", nargs="+")
    add_device_commands(commands)
    add_staff_commands(commands)
    add_account_commands(commands)
    add_archive_commands(commands)
    add_reports_commands(commands)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if args.command != "serve":
        config.log.format = "text"
    setup_logging(config.log)
    config.database.url = args.db or config.database.url
    config.district.path = args.district or config.district.path
    args.db, args.district = config.database.url, config.district.path
    if args.command == "serve":
        asyncio.run(serve(config))
        return 0
    if args.command == "hall":
        given = {"--config": args.config, "--db": config.database.url, "--district": config.district.path}
        return run_hall(config, args.site, [arg for key, value in given.items() if value for arg in (key, str(value))])

    store, district = _open(args)
    try:
        console = Console(HallService(district, store), make_clock(args.at or config.clock.start))
        if args.command == "device":
            return run_device_command(args, registry_for(store, district))
        if args.command == "staff":
            return run_staff_command(args, staff_for(store, district))
        if args.command == "admin":
            return run_account_command(args, accounts_for(store, district))
        if args.command == "archive":
            return run_archive_command(args, open_archive(config, store, district), console.clock())
        if args.command == REPORTS:
            return run_reports_command(args, store, district)
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

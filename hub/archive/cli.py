"""``hall-hub archive``: the list of broken commitments, export for long-term preservation, and retention.

    hall-hub archive deny-commitments add <id-number>      # 失信名单: may no longer sign a commitment
    hall-hub archive deny-commitments remove <id-number>
    hall-hub archive export <folder> [--since 2026-01-01]  # a folder per case: manifest.json + page files
    hall-hub archive purge                                 # remove cases older than [archive] retention_years

An ID number given here is turned into its keyed hash at once (the appointment keys' pepper, as the hub does) and
never printed, stored or logged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from engine.district import District
from hub.appointments import keyfile
from hub.appointments.privacy import citizen_ref
from hub.archive.export import export
from hub.archive.files import PageFilesError, page_files
from hub.archive.store import Archive, archive_for
from hub.config import HubConfig, load_secret
from hub.store import EventStore

COMMAND = "archive"


def add_archive_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``archive deny-commitments|export|purge`` to a parser's sub-commands."""
    archive = subparsers.add_parser(COMMAND, help="the archive of handed-in documents: export, retention, 失信名单")
    actions = archive.add_subparsers(dest="archive_command", required=True)
    deny = actions.add_parser("deny-commitments", help="the list of citizens who may not sign a commitment")
    deny.add_argument("change", choices=("add", "remove"))
    deny.add_argument("id_number", metavar="ID-NUMBER", help="the resident ID card number (kept only as a keyed hash)")
    out = actions.add_parser("export", help="export cases for long-term preservation (a folder per case)")
    out.add_argument("folder", type=Path)
    out.add_argument("--since", type=date.fromisoformat, help="only cases handed in on or after this day (UTC)")
    actions.add_parser("purge", help="remove the cases older than [archive] retention_years, and their files")


def open_archive(config: HubConfig, store: EventStore, district: District) -> Archive:
    """The archive of a hub's configuration, with the same keyed hash and status tokens the running hub uses."""
    pepper = keyfile.load_or_create(Path(config.appointments.keys_file)).pepper
    secret = load_secret(Path(config.secrets.path))
    hashed: Callable[[str], str | None] = lambda number: citizen_ref(pepper, number)  # noqa: E731
    return archive_for(
        store, Path(config.archive.directory), lambda: district, secret, hashed,
        max_page_bytes=config.archive.max_page_bytes, retention_years=config.archive.retention_years,
        files=page_files(config.archive),
    )  # fmt: skip


def run_archive_command(args: argparse.Namespace, archive: Archive, now: datetime) -> int:
    """Run a parsed ``archive`` command; an error is printed to stderr and gives exit status 1."""
    try:
        if args.archive_command == "deny-commitments":
            if args.change == "add":
                added = archive.deny(args.id_number, now)
                print("✓ on the list of broken commitments" if added else "✓ on the list already")
            else:
                removed = archive.allow(args.id_number)
                print("✓ taken off the list" if removed else "✓ was not on the list")
        elif args.archive_command == "export":
            since = None if args.since is None else datetime.combine(args.since, time(), UTC)
            folders = export(archive, args.folder, since)
            print(f"✓ {len(folders)} cases exported to {args.folder}")
        else:
            removed_cases = archive.purge(now)
            print(f"✓ {removed_cases} cases older than {archive.retention_years} years removed")
    except (ValueError, PageFilesError) as error:
        print(f"✗ {error}", file=sys.stderr)
        return 1
    return 0

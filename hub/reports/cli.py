"""``hall-hub reports rebuild``: the reports' read models emptied and projected again from the whole event log."""

from __future__ import annotations

import argparse
import time
from typing import Any

from engine.district import District
from hub.reports.projection import projector_for
from hub.store.base import EventStore

COMMAND = "reports"


def add_reports_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``reports rebuild`` to a parser's sub-commands."""
    reports = subparsers.add_parser(COMMAND, help="the reports' read models (projections of the event log)")
    actions = reports.add_subparsers(dest="reports_command", required=True)
    actions.add_parser("rebuild", help="empty the read models and project every site's log again from its start")


def run_reports_command(args: argparse.Namespace, store: EventStore, district: District) -> int:
    projector = projector_for(store)
    if projector is None:
        print("✗ the reports need a SQL database (sqlite:/// or postgresql://)")
        return 1
    started = time.perf_counter()
    projected = projector.rebuild(district)
    seconds = time.perf_counter() - started
    print(f"read models rebuilt: {projected} events of {len(district.sites)} sites in {seconds:.1f} s")
    return 0

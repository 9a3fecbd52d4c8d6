"""The hub that ``test_crash`` kills: it streams commands through a HallService on a SQL store as fast as it can.

Run as ``python -m tests.storage.crash_child URL``. After the service answers a command it prints
``<command id> <ticket number>`` and flushes, so every printed line is a command the hub acknowledged. After
``STREAM_LENGTH`` commands it waits to be killed.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from engine.commands import CallNext, Command, FinishService, IssueTicket, OpenDay, OpenWindow
from hub.service import HallService
from hub.store import open_store
from tests.support.hall import DISTRICT, OPENING, SITE_ID, WINDOW_ID, number_of

STREAM_LENGTH = 1000
"""Commands the child sends at most; 8 of every 10 issue a ticket, so prefix A never runs past 999."""

SNAPSHOT_EVERY = 50


def command(n: int) -> Command:
    """The n-th command of the stream (the same for the child and for the test that checks up on it)."""
    at = OPENING + timedelta(milliseconds=100 * n)
    command_id = f"crash-{n}"
    if n == 0:
        return OpenDay(command_id=command_id, site_id=SITE_ID, at=at)
    if n == 1:
        return OpenWindow(command_id=command_id, site_id=SITE_ID, at=at, window_id=WINDOW_ID)
    if n % 10 == 8:
        return CallNext(command_id=command_id, site_id=SITE_ID, at=at, window_id=WINDOW_ID)
    if n % 10 == 9:
        return FinishService(command_id=command_id, site_id=SITE_ID, at=at, window_id=WINDOW_ID)
    return IssueTicket(command_id=command_id, site_id=SITE_ID, at=at, matters=("A",))


def main(url: str) -> None:
    service = HallService(DISTRICT, open_store(url), snapshot_every=SNAPSHOT_EVERY)
    for n in range(STREAM_LENGTH):
        outcome = service.execute(command(n))
        sys.stdout.write(f"{outcome.command_id} {number_of(outcome)}\n")
        sys.stdout.flush()
    sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1])

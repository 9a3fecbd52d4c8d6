"""A hub killed mid-stream (SIGKILL) loses nothing it acknowledged, repeats nothing, and its successor carries on."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import msgspec

from engine import events as ev
from engine import fold
from engine.commands import IssueTicket
from hub.service import HallService, Outcome
from hub.store import open_store
from hub.store.base import EventStore
from tests.storage.crash_child import command
from tests.support.hall import DISTRICT, SITE_ID, number_of

KILL_AFTER = 300
"""Acknowledged commands to read before the child is killed."""

LINGER_SECONDS = 0.002
"""How long the child runs on after that, so the kill lands anywhere in a command, not just after a reply."""

WATCHDOG_SECONDS = 60
REPOSITORY = Path(__file__).resolve().parents[2]

decode_outcome = msgspec.json.Decoder(Outcome).decode


def kill_mid_stream(url: str, tmp_path: Path) -> list[tuple[str, str]]:
    """Start the child hub, SIGKILL it after ``KILL_AFTER`` acknowledgements; return all it acknowledged."""
    error_log = tmp_path / "child.stderr"
    with error_log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.crash_child", url],
            cwd=REPOSITORY,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert child.stdout is not None and child.stdin is not None
    watchdog = threading.Timer(WATCHDOG_SECONDS, child.kill)
    watchdog.start()
    try:
        lines = [child.stdout.readline() for _ in range(KILL_AFTER)]
        time.sleep(LINGER_SECONDS)
        still_running = child.poll() is None
        child.send_signal(signal.SIGKILL)
        child.wait()
        lines += child.stdout.read().splitlines(keepends=True)
    finally:
        watchdog.cancel()
        child.stdout.close()
        child.stdin.close()
    assert still_running and all(line.endswith("\n") for line in lines[:KILL_AFTER]), (
        f"the child hub stopped before it was killed:\n{error_log.read_text()}"
    )
    return [(line.split()[0], line.split()[1]) for line in lines if line.endswith("\n")]


def issued_numbers(store: EventStore) -> list[str]:
    return [event.number for event in store.events(SITE_ID) if isinstance(event, ev.TicketIssued)]


def assert_stored_exactly_once(store: EventStore, acknowledged: list[tuple[str, str]]) -> None:
    for command_id, number in acknowledged:
        stored = store.outcome(command_id)
        assert stored is not None, f"acknowledged {command_id} is not stored"
        assert decode_outcome(stored).accepted
        assert number_of(decode_outcome(stored)) == number
    issued = Counter(issued_numbers(store))
    acknowledged_issues = [number for n, (_, number) in enumerate(acknowledged) if isinstance(command(n), IssueTicket)]
    assert all(issued[number] == 1 for number in acknowledged_issues)
    assert set(issued.values()) == {1}, "a ticket number is in the log twice"


def test_a_killed_hub_loses_nothing_it_acknowledged(sql_url: str, tmp_path: Path) -> None:
    acknowledged = kill_mid_stream(sql_url, tmp_path)
    assert [command_id for command_id, _ in acknowledged] == [command(n).command_id for n in range(len(acknowledged))]
    store = open_store(sql_url)
    try:
        assert_stored_exactly_once(store, acknowledged)

        service = HallService(DISTRICT, store)
        seq = store.last_seq(SITE_ID)
        for n, (_, number) in enumerate(acknowledged):
            assert number_of(service.execute(command(n))) == number
        assert store.last_seq(SITE_ID) == seq, "a retry of an acknowledged command must not decide it again"

        in_flight = command(len(acknowledged))
        stored = store.outcome(in_flight.command_id)
        answer = service.execute(in_flight)
        if stored is not None:
            assert answer == decode_outcome(stored)
        else:
            assert answer.accepted

        for n in range(len(acknowledged) + 1, len(acknowledged) + 21):
            assert service.execute(command(n)).accepted
        numbers = issued_numbers(store)
        assert numbers == [f"A{serial:03d}" for serial in range(1, len(numbers) + 1)]
        assert fold(SITE_ID, store.events(SITE_ID)) == service.state(SITE_ID)
        assert HallService(DISTRICT, store).state(SITE_ID) == service.state(SITE_ID)
    finally:
        store.close()

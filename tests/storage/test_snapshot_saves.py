"""Snapshots are saved off the requests' path, and a snapshot saved late, never, or half is only a slower start.

The store is a real SQL store (SQLite and PostgreSQL) whose snapshot save waits for a test's signal: commands must be
answered and stored while a save is held.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from engine import fold
from engine.codec import decode_state, encode_state
from hub.service import HallService
from hub.store import open_store, sql
from hub.store.base import EventStore
from tests.storage.test_contract import hall_day, run
from tests.support.hall import DISTRICT, SITE_ID

EVERY = 5
"""Events between two snapshots in these tests (hall_day() makes ~40)."""


class HeldSnapshots(sql.SqlStore):
    """A SQL store whose ``save_snapshot`` says when it began and then waits until ``release`` is set."""

    def __init__(self, url: str, began: threading.Event, release: threading.Event) -> None:
        opened = open_store(url)
        assert isinstance(opened, sql.SqlStore)
        super().__init__(opened.engine)
        self.began, self.release = began, release
        self.threads: set[int] = set()
        """The threads that saved snapshots."""

    def save_snapshot(self, site_id: str, seq: int, state: bytes) -> None:
        self.threads.add(threading.get_ident())
        self.began.set()
        assert self.release.wait(10), "the test never released the snapshot save"
        super().save_snapshot(site_id, seq, state)


class FailingSnapshots(sql.SqlStore):
    def save_snapshot(self, site_id: str, seq: int, state: bytes) -> None:
        raise OSError("disk full")


@pytest.fixture
def store(sql_url: str) -> Iterator[EventStore]:
    store = open_store(sql_url)
    yield store
    store.close()


def test_commands_are_answered_and_stored_while_a_snapshot_save_is_held(sql_url: str) -> None:
    began, release = threading.Event(), threading.Event()
    store = HeldSnapshots(sql_url, began, release)
    service = HallService(DISTRICT, store, snapshot_every=EVERY)
    day = hall_day()
    run(service, day[:EVERY])
    assert began.wait(5), "the first snapshot's save has begun"

    run(service, day[EVERY:])  # would never return if a command waited for the held save

    assert threading.get_ident() not in store.threads, "the commands' thread never saves a snapshot"
    assert store.snapshot(SITE_ID) is None, "the save is still held"
    log = list(store.events(SITE_ID))
    assert len(log) > 4 * EVERY
    assert HallService(DISTRICT, store).state(SITE_ID) == service.state(SITE_ID) == fold(SITE_ID, log)
    release.set()
    service.close()
    snapshot = store.snapshot(SITE_ID)
    assert snapshot is not None
    assert len(log) - EVERY < snapshot[0] <= len(log), "the newest one taken, not the one held"
    assert decode_state(snapshot[1]) == fold(SITE_ID, log[: snapshot[0]])
    store.close()


def test_a_save_lost_with_the_process_leaves_the_previous_snapshot_in_force(sql_url: str) -> None:
    began, release = threading.Event(), threading.Event()
    release.set()
    store = HeldSnapshots(sql_url, began, release)
    service = HallService(DISTRICT, store, snapshot_every=EVERY)
    day = hall_day()
    run(service, day[: 2 * EVERY])
    service.close()
    saved = store.snapshot(SITE_ID)
    assert saved is not None
    release.clear()
    run(service, day[2 * EVERY :])  # its next snapshot is held: as if the hub died before it was written

    restarted = HallService(DISTRICT, open_store(sql_url))

    assert store.snapshot(SITE_ID) == saved
    assert restarted.state(SITE_ID) == fold(SITE_ID, store.events(SITE_ID)) == service.state(SITE_ID)
    release.set()
    service.close()
    restarted.store.close()
    store.close()


def test_a_store_that_cannot_save_snapshots_still_takes_every_command(
    sql_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    opened = open_store(sql_url)
    assert isinstance(opened, sql.SqlStore)
    store = FailingSnapshots(opened.engine)
    service = HallService(DISTRICT, store, snapshot_every=EVERY)

    run(service, hall_day())
    service.close()

    assert "could not save the snapshot of site S1" in caplog.text
    assert store.snapshot(SITE_ID) is None
    assert HallService(DISTRICT, store).state(SITE_ID) == fold(SITE_ID, store.events(SITE_ID))
    store.close()


def test_a_half_written_snapshot_is_ignored_and_the_log_folded(store: EventStore) -> None:
    service = HallService(DISTRICT, store, snapshot_every=EVERY)
    run(service, hall_day())
    service.close()
    snapshot = store.snapshot(SITE_ID)
    assert snapshot is not None
    store.save_snapshot(SITE_ID, snapshot[0], snapshot[1][: len(snapshot[1]) // 2])

    assert HallService(DISTRICT, store).state(SITE_ID) == fold(SITE_ID, store.events(SITE_ID))


def test_snapshots_of_a_site_are_saved_in_order_and_only_the_newest_waiting(store: EventStore) -> None:
    service = HallService(DISTRICT, store, snapshot_every=EVERY)
    run(service, hall_day()[:EVERY])
    state = service.state(SITE_ID)
    for seq in (7, 8, 9):  # queued faster than saved: whichever is written last is the newest
        service.snapshots.save(SITE_ID, seq, encode_state(state))
    service.close()

    assert store.snapshot(SITE_ID) == (9, encode_state(state))

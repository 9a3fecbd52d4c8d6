"""The storage contract, written once and run against every backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import date, timedelta, timezone
from typing import Any

import pytest

from engine import events as ev
from engine import fold
from engine.codec import decode_state, encode_state
from engine.commands import (
    CallNext,
    CancelTicket,
    Channel,
    Command,
    FinishService,
    IssueTicket,
    MarkNoShow,
    OpenDay,
    OpenWindow,
    Park,
    PauseWindow,
    Priority,
    ResumeWindow,
    StartService,
    Transfer,
)
from engine.rejections import Reason
from hub.service import REFUSALS_KEPT, HallService
from hub.store import MEMORY_URL, open_store
from hub.store.base import DuplicateCommand, Entry, EventStore, SequenceConflict
from tests.support.hall import DISTRICT, OPENING, SITE_ID, number_of

OTHER_SITE = "S2"
DAY = date(2026, 11, 25)


def issued(seq: int, site_id: str = SITE_ID) -> ev.TicketIssued:
    return ev.TicketIssued(
        site_id=site_id,
        seq=seq,
        at=OPENING + timedelta(seconds=seq),
        ticket_id=f"{site_id}-20261125-A{seq:03d}",
        number=f"A{seq:03d}",
        day=DAY,
        matters=("A",),
        priority=Priority.NORMAL,
        channel=Channel.KIOSK,
    )


def entry(command_id: str, *events: ev.Event, site_id: str = SITE_ID) -> Entry:
    return Entry(site_id, command_id, events, f"answer to {command_id}".encode())


def one_event_of_each_type() -> list[ev.Event]:
    """Every event type once, with every optional field set, numbered 1, 2, 3, ... for one site."""
    ticket = "S1-20261125-A001"
    samples: list[tuple[type[ev.Event], dict[str, Any]]] = [
        (ev.DayOpened, {"day": DAY}),
        (
            ev.TicketIssued,
            {
                "ticket_id": ticket,
                "number": "A001",
                "day": DAY,
                "matters": ("A", "B"),
                "priority": Priority.ELDERLY,
                "channel": Channel.APPOINTMENT,
                "citizen_ref": "c1f2",
            },
        ),
        (ev.WindowOpened, {"window_id": "W1", "staff_id": "staff-7"}),
        (ev.WindowPaused, {"window_id": "W1", "reason": "休息 break"}),
        (ev.WindowResumed, {"window_id": "W1"}),
        (
            ev.TicketCalled,
            {
                "ticket_id": ticket,
                "number": "A001",
                "window_id": "W1",
                "kind": ev.CallKind.RECALL,
                "call_count": 2,
                "overtook": ("S1-20261125-B001",),
            },
        ),
        (ev.ServiceStarted, {"ticket_id": ticket, "window_id": "W1"}),
        (ev.ServiceFinished, {"ticket_id": ticket, "window_id": "W1", "matter": "A", "next_matter": "B"}),
        (ev.ServiceRated, {"ticket_id": ticket, "window_id": "W1", "staff_id": "staff-7", "matter": "A", "level": 5}),
        (ev.TicketMissed, {"ticket_id": ticket, "window_id": "W1", "automatic": True}),
        (ev.TicketReactivated, {"ticket_id": ticket, "behind": "S1-20261125-B002"}),
        (ev.TicketParked, {"ticket_id": ticket, "window_id": "W1"}),
        (ev.TicketTransferred, {"ticket_id": ticket, "from_window": "W1", "to_matter": "C", "to_window": "W2"}),
        (ev.TicketCancelled, {"ticket_id": ticket, "reason": "citizen left"}),
        (ev.WindowClosed, {"window_id": "W1"}),
        (ev.DayClosed, {"day": DAY}),
    ]
    return [
        kind(site_id=SITE_ID, seq=seq, at=OPENING + timedelta(minutes=seq), **fields)
        for seq, (kind, fields) in enumerate(samples, start=1)
    ]


def hall_day() -> list[Command]:
    """A morning at the site: windows open, tickets issued, called, served, missed, parked, transferred, cancelled."""
    steps: list[tuple[type[Command], dict[str, Any]]] = [
        (OpenDay, {}),
        (OpenWindow, {"window_id": "W1", "staff_id": "staff-1"}),
        (OpenWindow, {"window_id": "W2"}),
        *[(IssueTicket, {"matters": (matter,)}) for matter in "ABCABC"],
        (IssueTicket, {"matters": ("A", "B"), "priority": Priority.ELDERLY, "citizen_ref": "c1f2"}),
        (CallNext, {"window_id": "W1"}),
        (StartService, {"window_id": "W1"}),
        (FinishService, {"window_id": "W1"}),
        (CallNext, {"window_id": "W2"}),
        (MarkNoShow, {"window_id": "W2"}),
        (CallNext, {"window_id": "W2"}),
        (Park, {"window_id": "W2"}),
        (CallNext, {"window_id": "W1"}),
        (Transfer, {"window_id": "W1", "to_matter": "C", "to_window": "W2"}),
        (PauseWindow, {"window_id": "W1", "reason": "break"}),
        (ResumeWindow, {"window_id": "W1"}),
        (CancelTicket, {"ticket_id": "S1-20261125-C002", "reason": "left"}),
        (CallNext, {"window_id": "W1"}),
    ]
    return [
        kind(command_id=f"day-{n}", site_id=SITE_ID, at=OPENING + timedelta(minutes=n), **fields)
        for n, (kind, fields) in enumerate(steps)
    ]


def run(service: HallService, commands: list[Command]) -> None:
    for command in commands:
        outcome = service.execute(command)
        assert outcome.accepted, (command, outcome.rejection)


class StoreContract:
    """What every ``EventStore`` does. A backend's test class subclasses this and provides the ``url`` fixture."""

    @pytest.fixture
    def url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def store(self, url: str) -> Iterator[EventStore]:
        store = open_store(url)
        yield store
        store.close()

    # --- the log and the outcomes

    def test_a_new_store_is_empty(self, store: EventStore) -> None:
        assert list(store.events(SITE_ID)) == []
        assert store.last_seq(SITE_ID) == 0
        assert store.outcome("never-sent") is None
        assert store.snapshot(SITE_ID) is None

    def test_events_come_back_per_site_in_sequence_order(self, store: EventStore) -> None:
        store.append([entry("c1", issued(1), issued(2)), entry("c2", issued(1, OTHER_SITE), site_id=OTHER_SITE)])
        store.append([entry("c3", issued(3))])

        assert list(store.events(SITE_ID)) == [issued(1), issued(2), issued(3)]
        assert list(store.events(OTHER_SITE)) == [issued(1, OTHER_SITE)]

    def test_after_seq_returns_only_later_events(self, store: EventStore) -> None:
        store.append([entry("c1", issued(1), issued(2), issued(3))])

        assert list(store.events(SITE_ID, after_seq=1)) == [issued(2), issued(3)]
        assert list(store.events(SITE_ID, after_seq=3)) == []

    def test_last_seq_is_per_site(self, store: EventStore) -> None:
        store.append([entry("c1", issued(1), issued(2)), entry("c2", issued(1, OTHER_SITE), site_id=OTHER_SITE)])

        assert store.last_seq(SITE_ID) == 2
        assert store.last_seq(OTHER_SITE) == 1
        assert store.last_seq("S3") == 0

    def test_every_command_keeps_its_outcome_even_without_events(self, store: EventStore) -> None:
        store.append([entry("accepted", issued(1)), entry("refused")])

        assert store.outcome("accepted") == b"answer to accepted"
        assert store.outcome("refused") == b"answer to refused"
        assert store.outcome("other") is None

    def test_outcomes_of_many_commands_come_in_one_look_up(self, store: EventStore) -> None:
        store.append([entry("accepted", issued(1)), entry("refused")])

        assert store.outcomes(["refused", "other", "accepted"]) == {
            "accepted": b"answer to accepted",
            "refused": b"answer to refused",
        }
        assert store.outcomes([]) == {}

    def test_a_long_log_streams_whole_and_in_order(self, store: EventStore) -> None:
        count = 4500
        store.append([entry(f"c{seq}", issued(seq)) for seq in range(1, count + 1)])

        assert [event.seq for event in store.events(SITE_ID)] == list(range(1, count + 1))
        assert [event.seq for event in store.events(SITE_ID, after_seq=4321)] == list(range(4322, count + 1))

    def test_every_event_type_round_trips(self, store: EventStore) -> None:
        events = one_event_of_each_type()
        assert {type(event) for event in events} == set(typing.get_args(ev.AnyEvent)), "a sample per event type"

        store.append([entry("all", *events)])

        assert list(store.events(SITE_ID)) == events

    def test_events_of_one_type_in_a_time_range(self, store: EventStore) -> None:
        events = one_event_of_each_type()
        store.append([entry("all", *events)])
        rated = next(event for event in events if isinstance(event, ev.ServiceRated))

        around = store.events_of_type(SITE_ID, "ServiceRated", rated.at, rated.at + timedelta(seconds=1))
        assert around == [rated]
        local = rated.at.astimezone(timezone(timedelta(hours=8)))  # the same instant in another zone
        assert store.events_of_type(SITE_ID, "ServiceRated", local - timedelta(hours=1), local) == []
        assert store.events_of_type(OTHER_SITE, "ServiceRated", OPENING, OPENING + timedelta(days=1)) == []

    # --- refused batches store nothing

    def test_a_stored_command_id_refuses_the_whole_batch(self, store: EventStore) -> None:
        store.append([entry("c1", issued(1))])

        with pytest.raises(DuplicateCommand):
            store.append([entry("c2", issued(2)), entry("c1", issued(3))])

        assert store.outcome("c2") is None
        assert list(store.events(SITE_ID)) == [issued(1)]

    def test_a_command_id_twice_in_one_batch_refuses_it(self, store: EventStore) -> None:
        with pytest.raises(DuplicateCommand):
            store.append([entry("c1", issued(1)), entry("c1")])

        assert store.outcome("c1") is None
        assert store.last_seq(SITE_ID) == 0

    def test_a_taken_sequence_number_refuses_the_whole_batch(self, store: EventStore) -> None:
        store.append([entry("c1", issued(1))])

        with pytest.raises(SequenceConflict):
            store.append([entry("c2", issued(1, OTHER_SITE), site_id=OTHER_SITE), entry("c3", issued(1))])

        assert store.outcome("c2") is None
        assert store.outcome("c3") is None
        assert list(store.events(OTHER_SITE)) == []
        assert list(store.events(SITE_ID)) == [issued(1)]

    def test_a_gap_in_the_sequence_refuses_the_whole_batch(self, store: EventStore) -> None:
        store.append([entry("c1", issued(1))])

        with pytest.raises(SequenceConflict):
            store.append([entry("c2", issued(2)), entry("c3", issued(4))])
        with pytest.raises(SequenceConflict):
            store.append([entry("c4", issued(3))])
        with pytest.raises(SequenceConflict):
            store.append([entry("c5", issued(2, OTHER_SITE), site_id=OTHER_SITE)])

        assert [store.outcome(command_id) for command_id in ("c2", "c3", "c4", "c5")] == [None] * 4
        assert list(store.events(SITE_ID)) == [issued(1)]
        assert store.last_seq(OTHER_SITE) == 0

    def test_the_store_takes_writes_again_after_a_refused_batch(self, store: EventStore) -> None:
        store.append([entry("c1", issued(1))])
        with pytest.raises(SequenceConflict):
            store.append([entry("c2", issued(1))])

        store.append([entry("c2", issued(2))])

        assert store.last_seq(SITE_ID) == 2
        assert store.outcome("c2") == b"answer to c2"

    # --- snapshots

    def test_snapshots_are_kept_per_site_and_overwritten(self, store: EventStore) -> None:
        store.save_snapshot(SITE_ID, 10, b"state at 10")
        store.save_snapshot(OTHER_SITE, 3, b"other at 3")
        store.save_snapshot(SITE_ID, 20, b"state at 20")

        assert store.snapshot(SITE_ID) == (20, b"state at 20")
        assert store.snapshot(OTHER_SITE) == (3, b"other at 3")

    # --- the hall service on top of the store

    def test_the_newest_district_configuration_is_in_force(self, store: EventStore) -> None:
        assert store.district() is None
        first = store.save_district(b'{"v": 1}')
        second = store.save_district(b'{"v": 2}')
        assert second > first
        assert store.district() == b'{"v": 2}'

    def test_each_version_keeps_who_saved_it_and_why(self, store: EventStore) -> None:
        loaded = store.save_district(b'{"v": 1}')
        edited = store.save_district(b'{"v": 2}', author="li", reason="窗口 3 增办社保")

        newest, oldest = store.district_versions()

        assert (newest.version, newest.author, newest.reason) == (edited, "li", "窗口 3 增办社保")
        assert (oldest.version, oldest.author, oldest.reason) == (loaded, None, None)
        assert newest.saved_at.tzinfo is not None and newest.saved_at >= oldest.saved_at
        assert store.district_versions(limit=1) == [newest]

    def test_the_service_numbers_tickets_and_answers_a_retry_from_the_store(self, store: EventStore) -> None:
        service = HallService(DISTRICT, store)
        commands = hall_day()[:6]
        answers = [service.execute(command) for command in commands]
        seq = store.last_seq(SITE_ID)

        retried = service.execute(commands[3])

        assert number_of(retried) == "A001"
        assert retried == answers[3]
        assert store.last_seq(SITE_ID) == seq
        numbers = [event.number for event in store.events(SITE_ID) if isinstance(event, ev.TicketIssued)]
        assert numbers == ["A001", "B001", "C001"]

    def test_a_refusal_is_repeated_to_a_retry_but_not_stored(self, store: EventStore) -> None:
        service = HallService(DISTRICT, store)
        early = IssueTicket(command_id="early", site_id=SITE_ID, at=OPENING, matters=("A",))
        assert service.execute(early).rejection is not None
        run(service, hall_day()[:1])

        retried = service.execute(early)

        assert retried.rejection is not None
        assert retried.rejection.reason == Reason.DAY_NOT_OPEN
        assert not any(isinstance(event, ev.TicketIssued) for event in store.events(SITE_ID))
        assert store.outcome("early") is None

    def test_a_refusal_past_its_lifetime_is_decided_again(self, store: EventStore) -> None:
        now = [0.0]
        service = HallService(DISTRICT, store, refusals_kept_seconds=60, monotonic=lambda: now[0])
        early = IssueTicket(command_id="early", site_id=SITE_ID, at=OPENING, matters=("A",))
        assert service.execute(early).rejection is not None
        run(service, hall_day()[:1])
        now[0] = 59.0
        assert service.execute(early).rejection is not None

        now[0] = 61.0
        retried = service.execute(early)

        assert retried.accepted, "a refusal changed nothing: once forgotten, its retry is a new request"
        assert number_of(retried) == "A001"
        assert service.execute(early) == retried, "and an accepted retry is stored like any other"

    def test_a_flood_of_refusals_keeps_the_store_and_the_memory_bounded(self, store: EventStore) -> None:
        service = HallService(DISTRICT, store)
        run(service, hall_day()[:1])
        seq = store.last_seq(SITE_ID)
        flood = [
            CallNext(command_id=f"flood-{n}", site_id=SITE_ID, at=OPENING, window_id="W1")  # W1 is not open
            for n in range(REFUSALS_KEPT + 500)
        ]

        outcomes = service.execute_many(flood[:64]) + [service.execute(command) for command in flood[64:]]

        assert {outcome.rejection.reason for outcome in outcomes if outcome.rejection} == {Reason.WINDOW_CLOSED}
        assert store.outcomes([command.command_id for command in flood]) == {}
        assert store.last_seq(SITE_ID) == seq
        assert len(service._refused) == REFUSALS_KEPT

    def test_each_answer_carries_the_digest_of_its_first_request(self, store: EventStore) -> None:
        service = HallService(DISTRICT, store)
        run(service, hall_day()[:1])
        issue = IssueTicket(command_id="i1", site_id=SITE_ID, at=OPENING, matters=("A",))
        refused = CallNext(command_id="c1", site_id=SITE_ID, at=OPENING, window_id="W1")
        assert [o.digest for o in service.execute_many([issue, refused], ["first", "first-c"])] == ["first", "first-c"]

        again = service.execute_many([issue, refused], ["second", "second-c"])
        restarted = HallService(DISTRICT, store).execute(issue, "third")

        assert [outcome.digest for outcome in again] == ["first", "first-c"], "the caller tells a reuse by it"
        assert restarted.digest == "first"
        assert number_of(restarted) == "A001"

    def test_a_retry_after_a_restart_of_a_command_once_accepted_gets_its_answer_not_a_refusal(
        self, store: EventStore
    ) -> None:
        day = hall_day()
        cancel = day[21]  # the CancelTicket: decided again now, it would be refused (the ticket has ended)
        assert isinstance(cancel, CancelTicket)
        service = HallService(DISTRICT, store)
        run(service, day)
        first = service.execute(cancel)  # its own retry: the stored answer
        assert first.accepted and first.events

        restarted = HallService(DISTRICT, store)
        again = restarted.execute(cancel)
        seq = store.last_seq(SITE_ID)

        assert again.accepted and again.events == first.events
        assert restarted.execute(cancel).events == first.events  # and not remembered as a refusal
        assert store.last_seq(SITE_ID) == seq

    def test_a_new_service_on_the_store_rebuilds_an_equal_state(self, store: EventStore) -> None:
        service = HallService(DISTRICT, store)
        run(service, hall_day())

        rebuilt = HallService(DISTRICT, store).state(SITE_ID)

        assert rebuilt == service.state(SITE_ID)
        assert rebuilt == fold(SITE_ID, store.events(SITE_ID))
        assert rebuilt.seq == store.last_seq(SITE_ID) > 20

    def test_a_snapshot_plus_the_tail_equals_the_full_fold(self, store: EventStore) -> None:
        service = HallService(DISTRICT, store, snapshot_every=5)
        run(service, hall_day())
        assert service.snapshots.flush(timeout=10)
        log = list(store.events(SITE_ID))

        snapshot = store.snapshot(SITE_ID)

        assert snapshot is not None
        seq, blob = snapshot
        assert 0 < seq < len(log)
        assert decode_state(blob) == fold(SITE_ID, log[:seq])
        assert HallService(DISTRICT, store, snapshot_every=5).state(SITE_ID) == fold(SITE_ID, log)

    def test_a_new_service_starts_from_the_snapshot(self, store: EventStore) -> None:
        service = HallService(DISTRICT, store, snapshot_every=5)
        run(service, hall_day())
        service.close()
        snapshot = store.snapshot(SITE_ID)
        assert snapshot is not None
        marked = decode_state(snapshot[1])
        marked.window("W2").staff_id = "only-in-the-snapshot"
        store.save_snapshot(SITE_ID, snapshot[0], encode_state(marked))

        state = HallService(DISTRICT, store).state(SITE_ID)

        assert state.window("W2").staff_id == "only-in-the-snapshot"
        assert state.seq == store.last_seq(SITE_ID)


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def url(self) -> str:
        return MEMORY_URL


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def url(self, sqlite_url: str) -> str:
        return sqlite_url


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def url(self, postgresql_url: str) -> str:
        return postgresql_url

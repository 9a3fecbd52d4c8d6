"""The gateway's batches (a group commit), the clerk's sign-in, the caller's queue and the tickets' status links."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

import contract as wire
from engine.commands import OpenDay
from hub.gateway import Gateway, Request
from hub.service import HallService
from hub.staff import LOCKOUT, MAX_FAILURES, MemoryStaffRows, StaffDirectory
from hub.store import open_store
from hub.store.base import Entry, SequenceConflict
from hub.store.memory import MemoryStore
from tests.hub.test_gateway import DEVICES, DISTRICT, WEDNESDAY_10AM

PIN = "2468"


class FlakyStore(MemoryStore):
    """Refuses the next ``fail`` appends that hold more than one entry (as if another writer got in first)."""

    def __init__(self, fail: int = 0) -> None:
        super().__init__()
        self.fail = fail
        self.appends: list[int] = []

    def append(self, entries: Sequence[Entry]) -> None:
        if len(entries) > 1 and self.fail:
            self.fail -= 1
            raise SequenceConflict("another writer")
        self.appends.append(len(entries))
        super().append(entries)


class Clock:
    def __init__(self) -> None:
        self.now = WEDNESDAY_10AM

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def hall(store: MemoryStore | None = None, clock: Clock | None = None) -> tuple[Gateway, FlakyStore | MemoryStore]:
    store = store or MemoryStore()
    clock = clock or Clock()
    staff = StaffDirectory(DISTRICT, MemoryStaffRows(), clock)
    staff.add("centre", "li", "李敏", PIN)
    staff.add("xiaozhai", "zhao", "赵强", PIN)
    service = HallService(DISTRICT, store)
    service.execute(OpenDay(command_id="open-centre", site_id="centre", at=WEDNESDAY_10AM))
    return Gateway(service, DEVICES.get, clock, staff=staff, secret=b"k" * 32), store


def request(device: str, action: str, request_id: str, **body: object) -> Request:
    return ("centre", device, action, json.dumps({"v": 1, "id": request_id, **body}).encode())


def issues(count: int, first: int = 0) -> list[Request]:
    return [request("kiosk-centre-1", "issue", f"i{n}", matters=["A02"]) for n in range(first, first + count)]


def test_a_batch_is_stored_in_one_transaction_and_answered_in_order() -> None:
    gateway, store = hall(FlakyStore())
    answers = gateway.handle_batch([*issues(3), ("centre", "kiosk-centre-1", "issue", b"garbage"), *issues(2, 3)])
    assert [reply.ticket.number if reply.ticket else reply.error.code for reply, _ in answers] == [  # type: ignore[union-attr]
        "A001", "A002", "A003", "malformed", "A004", "A005",
    ]  # fmt: skip
    assert isinstance(store, FlakyStore) and store.appends == [1, 5]  # the day's opening, then the batch at once


def test_a_retry_inside_a_batch_gets_the_first_answer() -> None:
    gateway, _ = hall()
    first, again, other = gateway.handle_batch([*issues(1), *issues(1), *issues(1, 1)])
    assert first[0] == again[0] and first[0].ticket.number == "A001"  # type: ignore[union-attr]
    assert other[0].ticket.number == "A002"  # type: ignore[union-attr]
    assert gateway.handle_batch(issues(1))[0][0] == first[0]  # and in a later batch


def test_a_batch_that_cannot_be_stored_runs_again_one_by_one_without_gaps() -> None:
    gateway, store = hall(FlakyStore(fail=1))
    answers = gateway.handle_batch(issues(4))
    assert [reply.ticket.number for reply, _ in answers] == ["A001", "A002", "A003", "A004"]  # type: ignore[union-attr]
    assert isinstance(store, FlakyStore) and store.appends == [1, 1, 1, 1, 1]
    assert [event.seq for event in store.events("centre")] == list(range(1, 6))


def test_a_clerk_signs_in_with_the_right_pin_only() -> None:
    gateway, _ = hall()
    (wrong, _), (right, _) = gateway.handle_batch([
        request("caller-centre-w01", "open-window", "s1", window_id="w01", staff_id="li", pin="1111"),
        request("caller-centre-w01", "open-window", "s2", window_id="w01", staff_id="li", pin=PIN),
    ])  # fmt: skip
    assert not wrong.ok and wrong.error is not None and wrong.error.code == "bad_credentials"
    assert wrong.error.zh == "工号或密码错误"
    assert right.ok and right.staff == wire.StaffInfo(staff_id="li", name="李敏")
    assert gateway.service.state("centre").window("w01").staff_id == "li"


def test_a_clerk_of_another_site_or_without_a_pin_cannot_sign_in() -> None:
    gateway, _ = hall()
    for staff_id, pin, code in (
        ("zhao", PIN, "wrong_site_staff"),
        ("li", "", "bad_credentials"),
        ("", "", "bad_credentials"),
    ):
        reply = gateway.handle_batch(
            [
                request(
                    "caller-centre-w01",
                    "open-window",
                    f"s-{staff_id}{pin}",
                    window_id="w01",
                    staff_id=staff_id,
                    pin=pin,
                )
            ]
        )[0][0]
        assert not reply.ok and reply.error is not None and reply.error.code == code
    assert not gateway.service.state("centre").window("w01").is_open


def test_five_wrong_pins_lock_the_staff_id_for_a_while() -> None:
    clock = Clock()
    gateway, _ = hall(clock=clock)
    sign_in = lambda n, pin: gateway.handle_batch(  # noqa: E731
        [request("caller-centre-w01", "open-window", f"s{n}", window_id="w01", staff_id="li", pin=pin)]
    )[0][0]
    codes = [sign_in(n, "0000").error.code for n in range(MAX_FAILURES)]  # type: ignore[union-attr]
    assert codes == ["bad_credentials"] * MAX_FAILURES
    assert sign_in(10, PIN).error.code == "staff_locked"  # type: ignore[union-attr]
    clock.now += LOCKOUT
    assert sign_in(11, PIN).ok


def test_a_new_pin_ends_a_lock_out_at_once() -> None:
    gateway, _ = hall(clock=Clock())
    sign_in = lambda n, pin: gateway.handle_batch(  # noqa: E731
        [request("caller-centre-w01", "open-window", f"s{n}", window_id="w01", staff_id="li", pin=pin)]
    )[0][0]
    for n in range(MAX_FAILURES):
        sign_in(n, "0000")
    assert sign_in(10, PIN).error.code == "staff_locked"  # type: ignore[union-attr]

    gateway.staff.add("centre", "li", "李敏", "24680")  # type: ignore[union-attr]  # the manager resets the PIN

    assert sign_in(11, "24680").ok


def test_the_caller_gets_its_queue_in_calling_order_with_parked_and_missed_tickets() -> None:
    clock = Clock()
    gateway, _ = hall(clock=clock)
    gateway.handle_batch([
        request("caller-centre-w01", "open-window", "s", window_id="w01", staff_id="li", pin=PIN),
        *issues(4),
        request("kiosk-centre-1", "issue", "elder", matters=["A02"], priority="elderly"),
        request("caller-centre-w01", "call-next", "c1", window_id="w01"),
        request("caller-centre-w01", "park", "p1", window_id="w01"),
        request("caller-centre-w01", "call-next", "c2", window_id="w01"),
        request("caller-centre-w01", "no-show", "n2", window_id="w01"),
    ])  # fmt: skip
    clock.now = clock.now.replace(minute=12)
    reply = gateway.handle_batch([request("caller-centre-w01", "queue", "q", window_id="w01")])[0][0]
    assert reply.ok and reply.queue is not None
    lines = [(line.number, line.status) for line in reply.queue]
    # the elderly ticket (A005) was called first, then parked; A001 was called next and missed
    assert lines == [
        ("A002", "waiting"),
        ("A003", "waiting"),
        ("A004", "waiting"),
        ("A005", "parked"),
        ("A001", "no_show"),
    ]
    assert all(line.waited_minutes == 12.0 for line in reply.queue if line.status == "waiting")
    kiosk = gateway.handle_batch([request("kiosk-centre-1", "queue", "q", window_id="w01")])[0][0]
    assert not kiosk.ok and kiosk.error is not None and kiosk.error.code == "unauthorised"


def test_a_ticket_carries_an_unguessable_status_link() -> None:
    gateway, _ = hall()
    first, second = (reply.ticket for reply, _ in gateway.handle_batch(issues(2)))
    assert first is not None and second is not None
    assert first.status_path.startswith("/t/") and len(first.status_path) == 3 + 20
    assert first.status_path != second.status_path
    assert first.number not in first.status_path and first.ticket_id not in first.status_path
    other_key = Gateway(gateway.service, DEVICES.get, Clock(), secret=b"x" * 32)
    assert other_key.status_token(first.ticket_id) != first.status_path[3:]


@pytest.mark.parametrize("secret", [b""])
def test_without_a_secret_no_link_is_made(secret: bytes) -> None:
    service = HallService(DISTRICT, MemoryStore())
    service.execute(OpenDay(command_id="open-centre", site_id="centre", at=WEDNESDAY_10AM))
    gateway = Gateway(service, DEVICES.get, Clock(), secret=secret)
    ticket = gateway.handle_batch(issues(1))[0][0].ticket
    assert ticket is not None and ticket.status_path == ""


def test_walk_ins_leave_the_places_booked_for_appointments() -> None:
    gateway, _ = hall()
    limit = gateway.boards["centre"].limits["A02"]
    gateway.reserve("centre", {"A02": limit - 1})
    first, second = (reply for reply, _ in gateway.handle_batch(issues(2)))
    assert first.ok
    assert not second.ok and second.error is not None and second.error.code == "kept_for_appointments"
    assert "预约" in second.error.zh
    gateway.reserve("centre", {})
    assert gateway.handle_batch(issues(1, 5))[0][0].ok


def test_check_in_is_refused_when_the_hub_has_no_appointment_desk() -> None:
    gateway, _ = hall()
    reply = gateway.handle_batch([request("kiosk-centre-1", "check-in", "c", code="HQ1.x.y.z")])[0][0]
    assert not reply.ok and reply.error is not None and reply.error.code == "appointments_off"


def test_the_same_clerk_signs_in_again_at_the_open_window_and_another_must_wait() -> None:
    gateway, _ = hall()
    gateway.staff.add("centre", "wang", "王芳", PIN)  # type: ignore[union-attr]
    sign_in = lambda staff_id, n: gateway.handle_batch(  # noqa: E731
        [request("caller-centre-w01", "open-window", f"s{n}", window_id="w01", staff_id=staff_id, pin=PIN)]
    )[0][0]
    assert sign_in("li", 1).ok
    again = sign_in("li", 2)  # the caller restarted
    assert again.ok and again.staff == wire.StaffInfo(staff_id="li", name="李敏") and again.events == ()
    other = sign_in("wang", 3)
    assert not other.ok and other.error is not None and other.error.code == "window_already_open"


def test_a_retry_from_before_a_restart_in_a_batch_gets_its_first_answer(tmp_path: Path) -> None:
    """The restarted hub has not seen the id: the store's primary key refuses it, and the batch runs again."""
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    try:
        before, _ = hall(store)  # type: ignore[arg-type]
        [(first, _)] = before.handle_batch(issues(1))
        after, _ = hall(store)  # type: ignore[arg-type]
        answers = [reply for reply, _ in after.handle_batch([*issues(2, 1), *issues(1), *issues(1, 3)])]
        assert [reply.ticket.number for reply in answers] == ["A002", "A003", "A001", "A004"]  # type: ignore[union-attr]
        assert answers[2] == first
        assert [event.seq for event in store.events("centre")] == list(range(1, 6))
    finally:
        store.close()


def test_the_snapshots_waiting_counts_follow_every_kind_of_change() -> None:
    """Read from the engine's waiting index (engine/waiting.py), they always equal a count of the whole queue."""
    gateway, _ = hall()
    rng = random.Random(7)
    caller = "caller-centre-w01"
    actions = [
        ("issue", lambda n: request("kiosk-centre-1", "issue", f"i{n}", matters=[rng.choice(["A01", "A02", "B01"])])),
        ("call", lambda n: request(caller, "call-next", f"c{n}", window_id="w01")),
        ("park", lambda n: request(caller, "park", f"p{n}", window_id="w01")),
        ("no-show", lambda n: request(caller, "no-show", f"m{n}", window_id="w01")),
        ("finish", lambda n: request(caller, "finish", f"f{n}", window_id="w01")),
        ("transfer", lambda n: request(caller, "transfer", f"t{n}", window_id="w01", to_matter="A01")),
        ("call-back", lambda n: request(caller, "call-back", f"b{n}", window_id="w01", ticket=pick("parked"))),
        ("reactivate", lambda n: request(caller, "reactivate", f"r{n}", ticket=pick("no_show"))),
        ("cancel", lambda n: request(caller, "cancel", f"x{n}", ticket=pick("waiting"))),
    ]

    def pick(status: str) -> str:
        queue = gateway.queue("centre", "w01")
        return rng.choice([line.number for line in queue if line.status == status] or ["A999"])

    gateway.handle_batch([request(caller, "open-window", "s", window_id="w01", staff_id="li", pin=PIN)])
    for n in range(300):
        batch = [rng.choice(actions)[1](n * 10 + k) for k in range(rng.randint(1, 4))]
        gateway.handle_batch(batch)
        state = gateway.service.state("centre")
        counted = Counter(state.tickets[ticket_id].matter for ticket_id in state.waiting)
        assert {m: c for m, c in gateway.snapshot("centre").waiting.items() if c} == dict(counted), n

"""Device requests through the gateway: validation, authorisation, commands, replies (no transport)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import NamedTuple

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

import contract as wire
from engine.commands import OpenDay
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.gateway import Gateway
from hub.service import HallService
from hub.store.memory import MemoryStore

WEDNESDAY_10AM = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
DISTRICT = load_district(SAMPLE_DISTRICT)


class Device(NamedTuple):
    site_id: str
    kind: str
    window_id: str | None


DEVICES = {
    "kiosk-centre-1": Device("centre", "kiosk", None),
    "caller-centre-w01": Device("centre", "caller", "w01"),
    "board-centre-1": Device("centre", "board", None),
    "kiosk-xiaozhai-1": Device("xiaozhai", "kiosk", None),
    "evaluator-centre-w01": Device("centre", "evaluator", "w01"),
    "evaluator-centre-w02": Device("centre", "evaluator", "w02"),
}


def gateway() -> Gateway:
    service = HallService(DISTRICT, MemoryStore())
    hub = Gateway(service, DEVICES.get, lambda: WEDNESDAY_10AM)
    for site in ("centre", "xiaozhai"):
        service.execute(OpenDay(command_id=f"open-{site}", site_id=site, at=WEDNESDAY_10AM))
    return hub


def ask(hub: Gateway, device: str, action: str, site: str = "centre", **body: object) -> wire.Reply:
    payload = json.dumps({"v": 1, "id": body.pop("id", f"r-{action}"), **body}).encode()
    return hub.handle(site, device, action, payload)[0]


def test_a_kiosk_issues_and_learns_its_windows() -> None:
    hub = gateway()
    reply = ask(hub, "kiosk-centre-1", "issue", matters=["A02"])
    assert reply.ok and reply.ticket is not None
    assert reply.ticket.number == "A001" and 1 in reply.ticket.windows
    assert reply.ticket.wait is not None and reply.ticket.wait.people_ahead == 0
    assert all(getattr(event, "citizen_ref", None) is None for event in reply.events)


ID_NUMBER = "11010519491231002X"


def test_an_id_number_read_at_the_kiosk_is_kept_only_as_a_keyed_reference() -> None:
    hub = gateway()
    reply = ask(hub, "kiosk-centre-1", "issue", matters=["A02"], id_number=ID_NUMBER.lower())
    assert reply.ok and reply.ticket is not None
    assert all(getattr(event, "citizen_ref", None) is None for event in reply.events)  # not even the hash goes out
    stored = next(iter(hub.service.store.events("centre", after_seq=1)))
    ref = getattr(stored, "citizen_ref", None)
    assert ref == hub.citizen_ref(ID_NUMBER) and ref is not None and ID_NUMBER not in ref
    kept = repr(hub.service.state("centre")) + repr(vars(hub.service.store))  # the state, the log, the outcomes
    assert "citizen_ref" in kept and ID_NUMBER not in kept.upper()

    again = ask(hub, "kiosk-centre-1", "issue", matters=["A02"], id_number=ID_NUMBER, id="again")
    assert again.error is not None and again.error.code == "already_holds_ticket"  # one per citizen and matter
    other = ask(hub, "kiosk-centre-1", "issue", matters=["A02"], id_number="110105194912310021", id="typo")
    assert other.error is not None and other.error.code == "bad_id_number"
    assert other.error.zh == "身份证号码无效，请重新读卡"
    assert len(hub.service.state("centre").tickets) == 1


def test_a_retry_gets_the_first_answer_and_no_second_ticket() -> None:
    hub = gateway()
    first = ask(hub, "kiosk-centre-1", "issue", matters=["A02"], id="same")
    again = ask(hub, "kiosk-centre-1", "issue", matters=["A02"], id="same")
    assert first == again
    assert ask(hub, "kiosk-centre-1", "issue", matters=["A02"], id="other").ticket.number == "A002"  # type: ignore[union-attr]


def test_a_caller_calls_for_its_own_window_only() -> None:
    hub = gateway()
    ask(hub, "kiosk-centre-1", "issue", matters=["A02"])
    assert ask(hub, "caller-centre-w01", "open-window", window_id="w01", staff_id="li").ok
    called = ask(hub, "caller-centre-w01", "call-next", window_id="w01", id="c1")
    assert called.ok and called.events[-1].number == "A001"  # type: ignore[union-attr]
    other = ask(hub, "caller-centre-w01", "call-next", window_id="w02", id="c2")
    assert not other.ok and other.error is not None and other.error.code == "unauthorised"


def test_engine_refusals_come_back_in_both_languages() -> None:
    hub = gateway()
    reply = ask(hub, "caller-centre-w01", "call-next", window_id="w01")
    assert reply.error == wire.Error(code="window_closed", zh="1 号窗口未开启", en="Window 1 is not open")


def test_devices_may_do_only_what_their_kind_and_site_allow() -> None:
    hub = gateway()
    for device, action, site, body in [
        ("kiosk-centre-1", "call-next", "centre", {"window_id": "w01"}),
        ("board-centre-1", "issue", "centre", {"matters": ["A02"]}),
        ("kiosk-xiaozhai-1", "issue", "centre", {"matters": ["A02"]}),
        ("stranger", "issue", "centre", {"matters": ["A02"]}),
    ]:
        reply = ask(hub, device, action, site=site, **body)
        assert reply.error is not None and reply.error.code == "unauthorised", (device, action)
    assert hub.service.state("centre").seq == 1  # only the day was opened


def test_malformed_requests_get_a_clear_error_with_their_id_when_readable() -> None:
    hub = gateway()
    cases = {
        b"not json": ("malformed", None),
        b'{"v": 1, "id": "x1", "matters": "A02"}': ("malformed", "x1"),
        b'{"v": 1, "id": "x2", "matters": ["A02"], "surprise": 1}': ("malformed", "x2"),
        b'{"v": 2, "id": "x3", "matters": ["A02"]}': ("unsupported_version", "x3"),
        b" " * (wire.MAX_PAYLOAD_BYTES + 1): ("too_large", None),
    }
    for payload, (code, request_id) in cases.items():
        reply, outcome = hub.handle("centre", "kiosk-centre-1", "issue", payload)
        assert (reply.ok, reply.error.code if reply.error else None, reply.id) == (False, code, request_id)
        assert outcome is None
    reply, _ = hub.handle("centre", "kiosk-centre-1", "teleport", b'{"v":1,"id":"t"}')
    assert reply.error is not None and reply.error.code == "unknown_action"


def test_a_board_can_ask_for_the_snapshot() -> None:
    hub = gateway()
    ask(hub, "kiosk-centre-1", "issue", matters=["B01"])
    reply = ask(hub, "board-centre-1", "snapshot")
    assert reply.snapshot is not None
    assert reply.snapshot.waiting["B01"] == 1 and reply.snapshot.day_open
    assert msgspec.json.decode(wire.encode(reply), type=wire.Reply) == reply


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from([*wire.Action, "x"]), payload=st.binary(max_size=300) | st.text(max_size=200).map(str.encode)
)
def test_garbage_on_any_request_topic_is_answered_and_stores_nothing(action: str, payload: bytes) -> None:
    hub = GARBAGE_HUB
    seq = hub.service.state("centre").seq
    reply, _ = hub.handle("centre", "kiosk-centre-1", action, payload)
    assert isinstance(reply, wire.Reply)
    assert reply.ok is (action == "snapshot" and reply.snapshot is not None)
    assert hub.service.state("centre").seq == seq


GARBAGE_HUB = gateway()


def test_the_windows_evaluator_rates_the_service_just_finished_once() -> None:
    hub = gateway()
    ask(hub, "kiosk-centre-1", "issue", matters=["A02"])
    assert ask(hub, "caller-centre-w01", "open-window", window_id="w01", staff_id="li").ok
    for action in ("call-next", "start", "finish"):
        assert ask(hub, "caller-centre-w01", action, window_id="w01", id=action).ok
    assert ask(hub, "caller-centre-w01", "rate", window_id="w01", level=5).error.code == "unauthorised"  # type: ignore[union-attr]
    assert ask(hub, "evaluator-centre-w02", "rate", window_id="w01", level=1).error.code == "unauthorised"  # type: ignore[union-attr]
    assert ask(hub, "evaluator-centre-w01", "rate", window_id="w01", level=9).error.code == "malformed"  # type: ignore[union-attr]

    rated = ask(hub, "evaluator-centre-w01", "rate", window_id="w01", level=4, id="r1")
    assert rated.ok and [(type(e).__name__, e.level, e.staff_id) for e in rated.events] == [("ServiceRated", 4, "li")]  # type: ignore[attr-defined]
    again = ask(hub, "evaluator-centre-w01", "rate", window_id="w01", level=1, id="r2")
    assert again.error is not None and again.error.code == "nothing_to_rate"

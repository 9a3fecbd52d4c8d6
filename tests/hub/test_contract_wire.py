"""The wire contract as a device maker reads it (docs/protocol.md): replies carry ``v``, hub messages with fields a
device does not know still decode, request ids have one format, and an error reply names its request's id whenever
the id can be read."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest

import contract as wire
from engine import events as ev
from hub.gateway import error_reply
from tests.hub.test_gateway import ask, gateway

AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_every_reply_carries_the_protocol_version() -> None:
    hub = gateway()
    replies = [
        ask(hub, "kiosk-centre-1", "issue", matters=["A02"]),
        ask(hub, "kiosk-centre-1", "call-next", window_id="w01"),  # unauthorised
        hub.handle("centre", "kiosk-centre-1", "issue", b"not json")[0],  # id null
        error_reply(None, wire.ErrorCode.UNAVAILABLE),
    ]
    for reply in replies:
        assert json.loads(wire.encode(reply))["v"] == wire.PROTOCOL_VERSION
    assert wire.decode_as(wire.Reply, b'{"id":"a","ok":true}').v == 1  # and a reply without it still decodes


def _with_extra(message: msgspec.Struct, **extra: Any) -> bytes:
    as_dict = json.loads(wire.encode(message))
    return json.dumps({**as_dict, "added_in_a_later_hub": {"x": 1}, **extra}).encode()


HUB_MESSAGES: list[msgspec.Struct] = [
    wire.Reply(id="r1", ok=True, snapshot=None),
    wire.Snapshot(
        site_id="centre", seq=3, day=date(2026, 11, 25), day_open=True, windows=(), recent_calls=(), waiting={}
    ),
    wire.DeviceConfig(device_id="kiosk-centre-1", kind=wire.DeviceKind.KIOSK, site_id="centre"),
    wire.HubStatus(hub="hall-hub", online=True, sites=("centre",)),
    wire.SiteHub(hub="hall-hub", online=True),
    wire.DistrictSummary(at=AT, sites=()),
]


@pytest.mark.parametrize("message", HUB_MESSAGES, ids=lambda message: type(message).__name__)
def test_a_device_ignores_fields_it_does_not_know(message: msgspec.Struct) -> None:
    assert wire.decode_as(type(message), _with_extra(message)) == message


def test_an_event_with_a_field_a_device_does_not_know_still_applies() -> None:
    called = ev.TicketCalled(
        site_id="centre", seq=4, at=AT, ticket_id="t", number="A001", window_id="w01", kind=ev.CallKind.NEXT,
        call_count=1,
    )  # fmt: skip
    event = {**json.loads(wire.encode(called)), "voice_hint": "loud"}
    payload = json.dumps({"v": 1, "site_id": "centre", "events": [event], "trace": "abc"}).encode()
    assert wire.decode_events(payload).events == (called,)


GOOD_IDS = ["87836480b19d4c408ebf90d190ef5af2", "5f612e6b-eea7-4485-bb4c-9590dc364755", "kiosk-boot7:42"]


@pytest.mark.parametrize("good", [*GOOD_IDS, "a" * wire.MAX_ID_LENGTH])
def test_a_request_id_is_1_to_128_printable_ascii_characters(good: str) -> None:
    assert wire.decode_request("snapshot", json.dumps({"v": 1, "id": good}).encode()).id == good


@pytest.mark.parametrize("bad", ["", "two words", "a" * (wire.MAX_ID_LENGTH + 1), "编号1", "tab\there", "abc\n"])
def test_another_request_id_is_refused_saying_what_an_id_is(bad: str) -> None:
    with pytest.raises(wire.ProtocolError) as refused:
        wire.decode_request("snapshot", json.dumps({"v": 1, "id": bad}).encode())
    assert refused.value.code == wire.ErrorCode.MALFORMED
    assert "1-128 printable ASCII characters" in refused.value.detail


def test_a_too_large_request_is_answered_with_its_id_when_the_id_comes_first() -> None:
    hub = gateway()
    padding = b"x" * wire.MAX_PAYLOAD_BYTES
    for payload, request_id in [
        (b'{"v": 1, "id": "big-1", "matters": ["' + padding + b'"]}', "big-1"),
        (b'{"id":"big-2","v":1,"matters":["' + padding + b'"]}', "big-2"),
        (b'{"matters": ["' + padding + b'"], "v": 1, "id": "late"}', None),  # the id is not at the start
        (b'{"v":1,"id":"cut short', None),
    ]:
        reply, _ = hub.handle("centre", "kiosk-centre-1", "issue", payload)
        assert reply.error is not None and reply.id == request_id, payload[:40]
    cut = hub.handle("centre", "kiosk-centre-1", "issue", b'{"v":1,"id":"half-1","matters":["A0')[0]
    assert (cut.id, cut.error.code if cut.error else None) == ("half-1", "malformed")

"""An appointment booked over the REST API and checked in by a kiosk over MQTT, through the real hub and Mosquitto."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

import contract as wire
from contract import DeviceKind as Kind
from devicekit.link import DeviceLink
from engine.commands import Priority
from engine.events import TicketIssued
from tests.hub.test_end_to_end import eventually
from tests.support.hub_process import HubProcess

SLOT = "2026-11-25T10:30:00+08:00"
"""The hub's clock starts at 10:00 on that Wednesday: check-in for the 10:30 slot is open (30 minutes ahead)."""
PHONE = "13812345678"


def post(hub: HubProcess, path: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{hub.http_port}{path}", data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            answer: dict[str, object] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read())
    return answer


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubProcess, DeviceLink]]:
    hub = HubProcess(tmp_path_factory.mktemp("hub"))
    kiosk = hub.provision("centre", "kiosk")
    hub.start()
    try:
        yield hub, hub.link(kiosk, "centre", Kind.KIOSK)
    finally:
        hub.stop()
    assert hub.log_defects() == [], "the hub logged a defect (see hub.log)"


def book(hub: HubProcess, phone: str = PHONE) -> str:
    answer = post(hub, "/api/v1/sites/centre/appointments", {"matter": "A02", "slot": SLOT, "phone": phone})
    assert answer["ok"] is True, answer
    code = answer["code"]
    assert isinstance(code, str) and code.startswith("HQ1.")
    return code


def test_a_booked_code_checks_in_once_with_the_appointment_priority(hall: tuple[HubProcess, DeviceLink]) -> None:
    hub, kiosk = hall
    code = book(hub)
    reply = kiosk.request(wire.Action.CHECK_IN, {"code": code}, request_id="checkin-1")
    assert reply.ok and reply.ticket is not None, reply.error
    assert reply.ticket.appointment == "10:30-11:00"
    issued = next(event for event in reply.events if isinstance(event, TicketIssued))
    assert issued.priority == Priority.APPOINTMENT
    assert kiosk.request(wire.Action.CHECK_IN, {"code": code}, request_id="checkin-1") == reply  # a retry
    again = kiosk.request(wire.Action.CHECK_IN, {"code": code}, request_id="checkin-2")
    assert not again.ok and again.error is not None and again.error.code == "already_used"
    assert "已" in again.error.zh


def test_a_forged_code_is_refused_and_issues_nothing(hall: tuple[HubProcess, DeviceLink]) -> None:
    hub, kiosk = hall
    code = book(hub, phone="13900001111")
    forged = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
    before = json.loads(hub.get("/api/v1/sites/centre/snapshot") or b"{}")["seq"]
    reply = kiosk.request(wire.Action.CHECK_IN, {"code": forged})
    assert not reply.ok and reply.error is not None and reply.error.code == "forged_code"
    assert json.loads(hub.get("/api/v1/sites/centre/snapshot") or b"{}")["seq"] == before


def test_a_caller_cannot_check_in_even_with_a_valid_code(hall: tuple[HubProcess, DeviceLink]) -> None:
    """Over HTTP (the broker's ACL would drop an MQTT publish silently): the hub refuses, and the code stays good."""
    hub, kiosk = hall
    code = book(hub, phone="13900002222")
    caller = hub.provision("centre", "caller", "w02")
    token = base64.b64encode(f"{caller.device_id}:{caller.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{hub.http_port}/api/v1/sites/centre/check-in",
        data=json.dumps({"v": 1, "id": "c-1", "code": code}).encode(),
        headers={"Authorization": f"Basic {token}"},
    )

    def refused() -> bool:  # the hub takes up a new device within a tick
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as error:
            answer = json.loads(error.read())
            return error.code == 403 and answer["error"]["code"] == "unauthorised"
        return False

    eventually(refused, timeout=10)
    assert kiosk.request(wire.Action.CHECK_IN, {"code": code}).ok

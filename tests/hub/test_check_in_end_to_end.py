"""An appointment booked over the REST API and checked in by a kiosk over MQTT, through the real hub and Mosquitto."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from contract import DeviceKind as Kind
from devicekit.link import DeviceLink
from engine.commands import Priority
from engine.events import TicketIssued
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


def test_a_kiosk_of_another_kind_of_request_cannot_check_in_for_a_caller(tmp_path: Path) -> None:
    assert wire.Action.CHECK_IN in wire.ALLOWED_ACTIONS[Kind.KIOSK]
    assert wire.Action.CHECK_IN not in wire.ALLOWED_ACTIONS[Kind.CALLER]

"""A caller's ``cancel`` and ``reactivate`` reach only tickets of its own window's queue: through the gateway, on
a SQLite store, both the allowed and the refused case."""

from __future__ import annotations

import json
from pathlib import Path

import contract as wire
from engine.commands import OpenDay
from hub.gateway import Gateway
from hub.service import HallService
from hub.store import open_store
from tests.hub.test_gateway import DISTRICT, WEDNESDAY_10AM, Device

DEVICES = {
    "kiosk-centre-1": Device("centre", "kiosk", None),
    "caller-centre-w05": Device("centre", "caller", "w05"),  # business: A01-A03
    "caller-centre-w07": Device("centre", "caller", "w07"),  # social insurance: B01-B03
}


def ask(hub: Gateway, device: str, action: str, request_id: str, **body: object) -> wire.Reply:
    payload = json.dumps({"v": 1, "id": request_id, **body}).encode()
    return hub.handle("centre", device, action, payload)[0]


def test_a_caller_cancels_and_reactivates_only_tickets_of_its_windows_queue(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/hall.db")
    service = HallService(DISTRICT, store)
    service.execute(OpenDay(command_id="open", site_id="centre", at=WEDNESDAY_10AM))
    hub = Gateway(service, DEVICES.get, lambda: WEDNESDAY_10AM)
    assert ask(hub, "kiosk-centre-1", "issue", "i1", matters=["A02"]).ok
    assert ask(hub, "kiosk-centre-1", "issue", "i2", matters=["B01"]).ok
    before = service.state("centre").seq

    refused = ask(hub, "caller-centre-w07", "cancel", "c1", ticket="A001", reason="left")
    assert refused.error == wire.Error(
        code="not_window_queue", zh="A001 不在 7 号窗口的队列中", en="Ticket A001 is not in window 7's queue"
    )
    assert service.state("centre").seq == before  # nothing was decided
    cancelled = ask(hub, "caller-centre-w05", "cancel", "c2", ticket="A001", reason="left")
    assert cancelled.ok and [type(event).__name__ for event in cancelled.events] == ["TicketCancelled"]

    for action, request_id in (("open-window", "o"), ("call-next", "n"), ("no-show", "m")):
        assert ask(hub, "caller-centre-w07", action, request_id, window_id="w07").ok, action
    refused = ask(hub, "caller-centre-w05", "reactivate", "r1", ticket="B001")
    assert refused.error is not None and refused.error.code == "not_window_queue"
    reactivated = ask(hub, "caller-centre-w07", "reactivate", "r2", ticket="B001")
    assert reactivated.ok and [type(event).__name__ for event in reactivated.events] == ["TicketReactivated"]
    store.close()

    reopened = HallService(DISTRICT, open_store(f"sqlite:///{tmp_path}/hall.db"))  # what was stored, read again
    tickets = {ticket.number: ticket.status.value for ticket in reopened.state("centre").tickets.values()}
    assert tickets == {"A001": "cancelled", "B001": "waiting"}

"""The kiosk against a real hub (its own process, Mosquitto and SQLite): an officer's code typed at the kiosk makes
the ticket the officer's visit, and the ticket's QR code then rates its service over the hub's HTTP routes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

import contract as wire
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.officers import VisitReport, officers_for, report, shown
from hub.site_info import site_info
from hub.store import open_store
from kiosk.controller import KioskController, Printing
from kiosk.model import KioskModel, Screen
from kiosk.printer import FileTransport, TicketPrinter
from kiosk.rating import RatingClient, RatingFlow, Step
from kiosk.texts import Texts
from tests.hub.test_end_to_end import eventually
from tests.kiosk.printer_peer import POS58
from tests.kiosk.test_controller import UiThread
from tests.kiosk.test_hub_link import NOW
from tests.support.escpos_reader import read
from tests.support.hub_process import HubProcess

PUBLIC_URL = "https://hall.example.cn"


def enrol_officer(hub: HubProcess) -> str:
    """An officer enrolled in the hub's database, as /admin/officers does; their code (shown once)."""
    store = open_store(hub.db_url)
    try:
        _, code = officers_for(store).enrol("王建国", "deputy", "13812345678", "root", NOW, pepper=b"p" * 32)
        return code
    finally:
        store.close()


@dataclass
class Kiosk:
    """The kiosk's model and controller linked to the real hub, printing to a file; the test's thread is its UI."""

    hub: HubProcess
    model: KioskModel
    controller: KioskController
    ui: UiThread
    tickets: Path

    def take(self, matter: str = "A02") -> tuple[str, str]:
        """Take a ticket from the matters screen: its number and the link in its printed QR code."""
        self.model.tap("take", NOW)
        body = self.model.choose_matter(matter, NOW)
        assert body is not None
        self.controller.issue(body)
        self.ui.pump_until(lambda: self.model.ticket is not None and self.model.ticket.printed is not None, 20)
        assert self.model.screen == Screen.TICKET and self.model.ticket is not None
        number = self.model.ticket.number
        printed = read(self.tickets.read_bytes(), chinese_at_start=True)
        assert number in printed.texts and printed.qr_codes, "an ordinary ticket, its QR code included"
        self.model.tap("home", NOW)
        return number, printed.qr_codes[-1].payload


@pytest.fixture
def kiosk(hub: HubProcess, tmp_path: Path) -> Iterator[Kiosk]:
    account = hub.provision("centre", "kiosk")
    hub.add_staff("centre", "li")
    hub.start()
    link = hub.link(account, "centre", wire.DeviceKind.KIOSK, follow_site=True)
    eventually(lambda: link.hub_online, timeout=10)
    district = load_district(SAMPLE_DISTRICT)
    centre = district.site("centre")
    assert centre is not None
    model = KioskModel("centre", Texts("zh_CN"))
    model.on_info(site_info(district, centre))
    ui = UiThread()
    client = RatingClient(f"http://127.0.0.1:{hub.http_port}")
    model.rating = RatingFlow(model.texts, client, run=_thread, post=ui.post, retry_wait=0.1)
    tickets = tmp_path / "tickets.bin"
    printing = Printing(TicketPrinter(FileTransport(path=str(tickets)), POS58), POS58, PUBLIC_URL)
    controller = KioskController(model, link, ui.post, printing=printing, now=lambda: NOW)
    controller.changed()
    try:
        yield Kiosk(hub, model, controller, ui, tickets)
    finally:
        controller.close()


def visits(hub: HubProcess) -> list[VisitReport]:
    store = open_store(hub.db_url)
    try:
        return report(officers_for(store), store, date(2026, 11, 25), date(2026, 11, 25))
    finally:
        store.close()


def test_an_officer_code_typed_at_the_kiosk_makes_the_ticket_the_officers_visit(kiosk: Kiosk) -> None:
    code = enrol_officer(kiosk.hub)
    model = kiosk.model
    model.tap("take", NOW)  # 取号 → 体验官 → the code on the keys → 已记录 → back to the matters
    model.tap("officer", NOW)
    for key in shown(code).removeprefix("TY-").replace("-", ""):
        model.officer.press(key)
    model.officer.confirm()
    assert model.officer.recorded
    number, _ = kiosk.take()
    plain, _ = kiosk.take()  # the next citizen's ticket carries no code

    found = visits(kiosk.hub)
    assert [(v.journey.number, v.visit.channel) for v in found] == [(number, "kiosk")]  # the plain one is none
    assert found[0].officer is not None and found[0].officer.name_masked == "王*国"
    assert plain != number
    log = kiosk.hub.log_path.read_text()
    assert code not in log and shown(code) not in log  # the code is never logged


def test_the_tickets_qr_code_rates_its_service_once_over_the_hubs_http(kiosk: Kiosk) -> None:
    """Against the contract's ``/api/v1/tickets/{token}/rating``: a 404 (未查到这张号票) until the hub has it."""
    number, ticket_url = kiosk.take()
    caller = kiosk.hub.link(kiosk.hub.provision("centre", "caller", "w01"), "centre", wire.DeviceKind.CALLER)
    assert caller.request(wire.Action.OPEN_WINDOW, {"window_id": "w01", "staff_id": "li", "pin": "2468"}).ok
    called = caller.request(wire.Action.CALL_NEXT, {"window_id": "w01"})
    assert called.ok and [getattr(event, "number", None) for event in called.events] == [number]
    assert caller.request(wire.Action.FINISH, {"window_id": "w01"}).ok

    model, flow = kiosk.model, kiosk.model.rating
    assert flow is not None
    for attempt in range(2):  # rated, then the same ticket scanned again
        model.tap("rate", NOW)
        model.on_scanned(ticket_url, NOW)
        kiosk.ui.pump_until(lambda: flow.step != Step.LOOKING, timeout=10)
        if attempt:
            assert (flow.step, flow.message) == (Step.MESSAGE, "本次服务已经评价过了，谢谢您。")
            break
        assert flow.step == Step.FORM, flow.message
        assert flow.offer is not None and (flow.offer.number, flow.offer.window_number) == (number, 1)
        flow.choose_level(2)
        flow.toggle_reason(wire.RatingReason.LONG_WAIT)
        flow.send()
        kiosk.ui.pump_until(lambda: flow.step != Step.SENDING, timeout=10)
        assert flow.step == Step.THANKS


def _thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, daemon=True).start()

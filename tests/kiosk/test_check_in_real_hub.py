"""Appointment check-in end to end: a booking made over the hub's REST API, its QR code photographed at an angle and
read by the kiosk's camera (OpenCV's image-sequence capture as the stand-in camera), checked in over MQTT by the
kiosk's controller against the real hub, and the ticket printed with its slot."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import cv2

import contract as wire
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.site_info import site_info
from kiosk.camera import CameraScan
from kiosk.controller import KioskController, Printing
from kiosk.model import KioskModel, Screen
from kiosk.printer import FileTransport, TicketPrinter
from kiosk.texts import Texts
from tests.appointments.test_qr_scan import camera_photo
from tests.hub.test_end_to_end import eventually
from tests.kiosk.printer_peer import POS58
from tests.kiosk.test_controller import UiThread
from tests.kiosk.test_hub_link import NOW
from tests.support.escpos_reader import read
from tests.support.hub_process import HubProcess


def book(hub: HubProcess) -> str:
    body = {"matter": "A02", "slot": "2026-11-25T10:30:00+08:00", "phone": "13812345678"}
    request = urllib.request.Request(
        f"http://127.0.0.1:{hub.http_port}/api/v1/sites/centre/appointments", data=json.dumps(body).encode()
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        code: str = json.loads(response.read())["code"]
    return code


def test_a_photographed_booking_code_checks_in_and_prints_its_slot(hub: HubProcess, tmp_path: Path) -> None:
    account = hub.provision("centre", "kiosk")
    hub.start()
    code = book(hub)
    frames = tmp_path / "camera"
    frames.mkdir()
    for n, seed in enumerate(range(4)):  # the phone held under the camera for a few frames
        cv2.imwrite(str(frames / f"frame_{n:02d}.png"), camera_photo(code, seed))

    link = hub.link(account, "centre", wire.DeviceKind.KIOSK, follow_site=True)
    eventually(lambda: link.hub_online, timeout=10)
    centre = load_district(SAMPLE_DISTRICT).site("centre")
    assert centre is not None
    model = KioskModel("centre", Texts("zh_CN"))
    model.on_info(site_info(load_district(SAMPLE_DISTRICT), centre))
    tickets = tmp_path / "tickets.bin"
    printing = Printing(TicketPrinter(FileTransport(path=str(tickets)), POS58), POS58, "https://hall.example.cn")
    ui = UiThread()
    scan = CameraScan(str(frames / "frame_%02d.png"))
    controller = KioskController(model, link, ui.post, printing=printing, now=lambda: NOW, scan=scan)
    try:
        controller.changed()
        effect = model.tap("checkin", NOW)
        assert effect is not None and model.screen == Screen.CHECKIN
        controller.effect(effect)
        ui.pump_until(lambda: model.ticket is not None and model.ticket.printed is not None, timeout=20)
        assert model.screen == Screen.TICKET and model.ticket is not None and model.ticket.printed is True
        assert model.ticket.appointment == "预约时段 10:30-11:00"
        printed = read(tickets.read_bytes(), chinese_at_start=True)
        assert "预约时段 10:30-11:00" in printed.texts and model.ticket.number in printed.texts
        assert printed.qr_codes[0].payload.startswith("https://hall.example.cn/t/")
    finally:
        controller.close()
        scan.close()

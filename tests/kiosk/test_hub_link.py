"""The kiosk against the real hub and a real Mosquitto that is stopped and started again: while the broker is gone
the kiosk says so and confirms (and prints) nothing; a retry reuses the request's id, so a request the hub saw late
is answered with the ticket it made; afterwards numbering goes on without a gap or a duplicate. The UI thread is the
test's: it only ever runs what the controller posts back, and no tap waits for the network."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import contract as wire
from devicekit.link import DeviceLink
from hub.broker import free_port
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.site_info import site_info
from kiosk.controller import KioskController, Printing
from kiosk.model import KioskModel, Screen
from kiosk.printer import FileTransport, TicketPrinter
from kiosk.texts import Texts
from tests.hub.test_end_to_end import eventually
from tests.kiosk.printer_peer import POS58
from tests.kiosk.test_controller import UiThread
from tests.support.escpos_reader import Document, read
from tests.support.hub_process import ExternalBroker, HubProcess

NOW = datetime.fromisoformat("2026-11-25T10:00:00+08:00")


class Mosquitto:
    """A broker of the test's own on a fixed port: stop() ends the process, start() runs a new one."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.log = directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=log, stderr=log)
        eventually(self._accepts, timeout=10)

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path)
    mosquitto.start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()


@pytest.fixture
def hub(tmp_path: Path, broker: Mosquitto) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path, broker=ExternalBroker("127.0.0.1", broker.port, "hub", "unused"))
    try:
        yield process
    finally:
        process.stop()
    assert process.log_defects() == [], "the hub logged a defect (see hub.log)"


class Spy:
    """Another client on the broker: every request the kiosk publishes, as (action, id)."""

    def __init__(self, port: int, site: str, device: str) -> None:
        self.seen: list[tuple[str, str]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="spy")
        self.client.on_message = self._record
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(wire.request_topic(site, device, wire.Action.ISSUE), qos=1)
        assert subscribed.wait(5)

    def _record(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        body = msgspec.json.decode(message.payload)
        self.seen.append((message.topic.rsplit("/", 1)[1], body["id"]))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Kiosk:
    """The kiosk's model and controller on the real link, the test's thread as the UI thread, a file printer."""

    def __init__(self, hub: HubProcess, link: DeviceLink, tickets: Path) -> None:
        district = load_district(SAMPLE_DISTRICT)
        centre = district.site("centre")
        assert centre is not None
        self.model = KioskModel("centre", Texts("zh_CN"))
        self.model.on_info(site_info(district, centre))
        self.tickets = tickets
        printer = TicketPrinter(FileTransport(path=str(tickets)), POS58)
        printing = Printing(printer, POS58, f"http://127.0.0.1:{hub.http_port}")
        self.ui = UiThread()
        self.controller = KioskController(
            self.model, link, self.ui.post, printing=printing, now=lambda: NOW, request_timeout=0.5, attempts=3
        )
        self.shown: list[str] = []

    def take(self, expect_ticket: bool) -> None:
        """A citizen takes a B01 ticket; the taps return at once, the answer arrives through the UI queue."""
        model = self.model
        self.controller.changed()
        if model.screen != Screen.MATTERS:
            model.tap("take", NOW)
            assert model.screen == Screen.MATTERS, model.message
        started = time.perf_counter()
        body = model.choose_matter("B01", NOW)
        assert body is not None
        self.controller.issue(body)
        assert time.perf_counter() - started < 0.4, "the UI thread waited"  # a wait on the frozen hub: 1.5 s
        self.ui.pump_until(lambda: model.screen in (Screen.TICKET, Screen.MESSAGE), timeout=15)
        if expect_ticket:
            assert model.screen == Screen.TICKET and model.ticket is not None, model.message
            self.ui.pump_until(lambda: model.ticket is not None and model.ticket.printed is not None)
            self.shown.append(model.ticket.number)
        else:
            assert (model.screen, model.ticket) == (Screen.MESSAGE, None)
            assert model.message == "暂时无法连接服务系统，请稍后重试或咨询工作人员。"
        model.tap("home", NOW)

    def printed(self) -> Document:
        return read(self.tickets.read_bytes(), chinese_at_start=True)


def test_the_kiosk_rides_out_a_stopped_broker_and_a_frozen_hub(
    hub: HubProcess, broker: Mosquitto, tmp_path: Path
) -> None:
    account = hub.provision("centre", "kiosk")
    hub.start()
    link = hub.link(account, "centre", wire.DeviceKind.KIOSK, follow_site=True)
    eventually(lambda: link.hub_online, timeout=10)
    kiosk = Kiosk(hub, link, tmp_path / "tickets.bin")
    ids = kiosk.controller.request_ids

    # 1. all up: a ticket, printed with its status link
    kiosk.take(expect_ticket=True)
    [first] = kiosk.printed().qr_codes
    assert first.payload.startswith(f"http://127.0.0.1:{hub.http_port}/t/")

    # 2. the broker stops while a citizen is choosing: unreachable, nothing confirmed, nothing printed
    kiosk.model.tap("take", NOW)
    broker.stop()
    eventually(lambda: not link.connected.is_set(), timeout=10)
    printed_before = kiosk.tickets.read_bytes()
    kiosk.take(expect_ticket=False)
    assert kiosk.tickets.read_bytes() == printed_before
    kiosk.controller.changed()
    kiosk.model.tap("take", NOW)  # with the link down the kiosk does not even offer the matters
    assert kiosk.model.screen == Screen.MESSAGE and "暂时无法连接" in kiosk.model.message
    kiosk.model.tap("home", NOW)

    # 3. the broker is back: the retry reuses the unanswered id and gets the next number; then a new request
    broker.start()
    eventually(lambda: link.connected.is_set() and link.hub_online, timeout=20)
    kiosk.take(expect_ticket=True)
    assert ids[-1] == ids[-2]
    kiosk.take(expect_ticket=True)
    assert len(set(ids)) == 3

    # 4. the hub freezes with the broker up: three tries with one id, then unreachable; the hub wakes and answers
    #    late; the citizen's retry gets the ticket that late answer made, not a second one
    spy = Spy(broker.port, "centre", account.device_id)
    assert hub.process is not None
    os.kill(hub.process.pid, signal.SIGSTOP)
    try:
        kiosk.take(expect_ticket=False)
    finally:
        os.kill(hub.process.pid, signal.SIGCONT)
    frozen_id = ids[-1]
    assert spy.seen == [("issue", frozen_id)] * 3
    eventually(lambda: link.last_reply is not None and link.last_reply.id == frozen_id, timeout=10)
    kiosk.take(expect_ticket=True)
    assert ids[-1] == frozen_id
    kiosk.take(expect_ticket=True)
    spy.close()

    assert kiosk.shown == ["B001", "B002", "B003", "B004", "B005"]
    snapshot = msgspec.json.decode(hub.get("/api/v1/sites/centre/snapshot") or b"{}")
    assert snapshot["waiting"]["B01"] == 5  # no ticket that nobody holds
    assert [line for line in kiosk.printed().texts if line.startswith("B0")] == kiosk.shown

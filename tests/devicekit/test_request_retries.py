"""A request outlasts a hub takeover (issue #13): when a site's hub dies, another takes the site over within ~10 s,
and a request sent meanwhile must be answered by the new hub rather than fail. ``DeviceLink.request`` sends it
again with the same id after 2, 2, 3, 3 and 4 s (14 s in all).

Real parts: a Mosquitto of the test's own, the real hub (``hall-hub serve``) started only once the kiosk has sent
its request three times (so it hears the 4th send or a later one, as a hub taking a site over does), the kiosk's
model and controller on a real DeviceLink, the test's thread as the UI thread. While it waits, the kiosk says
"正在处理，请稍候…" and its UI thread stays free; in the end: one reply, one ticket, the same id in every send.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import contract as wire
from devicekit.link import REQUEST_WAITS, DeviceLink
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.gateway import error_reply
from hub.site_info import site_info
from kiosk.controller import KioskController
from kiosk.model import KioskModel, Screen
from kiosk.texts import Texts
from tests.kiosk.test_controller import UiThread
from tests.kiosk.test_hub_link import Mosquitto, Spy
from tests.support.hub_process import ExternalBroker, HubProcess
from tests.support.waits import eventually

NOW = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
SILENT_SENDS = 3


def test_the_retries_span_longer_than_a_takeover() -> None:
    assert sum(REQUEST_WAITS) >= 14
    assert list(REQUEST_WAITS) == sorted(REQUEST_WAITS)  # patient, but the first retry comes soon


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
    (tmp_path / "hub").mkdir()
    process = HubProcess(tmp_path / "hub", broker=ExternalBroker("127.0.0.1", broker.port, "hub", "unused"))
    try:
        yield process
    finally:
        process.stop()
    assert process.log_defects() == [], "the hub logged a defect (see hub.log)"


def test_a_request_sent_while_no_hub_decides_is_answered_once_by_the_hub_that_comes(
    hub: HubProcess, broker: Mosquitto
) -> None:
    account = hub.provision("centre", "kiosk")
    link = DeviceLink(
        host="127.0.0.1",
        port=broker.port,
        site_id="centre",
        device_id=account.device_id,
        password=account.password,
        kind=wire.DeviceKind.KIOSK,
    )
    assert link.start(wait=10)
    spy = Spy(broker.port, "centre", account.device_id)
    district = load_district(SAMPLE_DISTRICT)
    centre = district.site("centre")
    assert centre is not None
    model = KioskModel("centre", Texts("zh_CN"))
    model.on_info(site_info(district, centre))
    ui = UiThread()
    controller = KioskController(model, link, ui.post, now=lambda: NOW)
    try:
        body = model.choose_matter("B01", NOW)
        assert body is not None and model.message == "正在处理…"
        started = time.perf_counter()
        controller.issue(body)
        assert time.perf_counter() - started < 0.2, "the UI thread waited for the hub"

        ui.pump_until(lambda: model.message == "正在处理，请稍候…", timeout=REQUEST_WAITS[0] + 2)
        ui.pump_until(lambda: len(spy.seen) >= SILENT_SENDS, timeout=sum(REQUEST_WAITS[:SILENT_SENDS]) + 2)
        assert model.screen == Screen.WORKING
        hub.start()
        ui.pump_until(lambda: model.screen == Screen.TICKET, timeout=sum(REQUEST_WAITS))
        answered = time.perf_counter() - started

        assert answered > sum(REQUEST_WAITS[:SILENT_SENDS])
        [request_id] = controller.request_ids
        assert len(spy.seen) > SILENT_SENDS
        assert set(spy.seen) == {("issue", request_id)}  # the same id in every send
        assert model.ticket is not None and model.ticket.number.startswith("B")
        eventually(lambda: link.replies_received == 1, timeout=1)
        time.sleep(0.5)
        assert link.replies_received == 1  # the hub came between two sends and heard only the next one
        reply = link.request(wire.Action.SNAPSHOT)
        assert reply.snapshot is not None
        assert reply.snapshot.waiting.get("B01") == 1  # one ticket
    finally:
        spy.close()
        link.stop()


def test_only_the_working_screen_says_please_wait() -> None:
    model = KioskModel("centre", Texts("zh_CN"))
    model.on_slow_reply()  # a late retry after the citizen went home: the home screen stays as it is
    assert (model.screen, model.message) == (Screen.HOME, "")


class Answerer:
    """A stand-in for a hub on the broker: answers every ISSUE request of the kiosk with ``reply(id)`` after
    ``delay`` seconds (the real hubs' behaviour is in tests/hub/test_city.py; here the device's side alone)."""

    def __init__(self, port: int, name: str, reply: Callable[[str], wire.Reply], delay: float = 0.0) -> None:
        self.ids: list[str] = []
        self.reply, self.delay = reply, delay
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
        self.client.on_message = self._answer
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(wire.request_topic("centre", "kiosk-1", wire.Action.ISSUE), qos=1)
        assert subscribed.wait(5)

    def _answer(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        request_id = msgspec.json.decode(message.payload)["id"]
        self.ids.append(request_id)
        answer = wire.encode(self.reply(request_id))
        threading.Timer(self.delay, self.client.publish, (wire.reply_topic("centre", "kiosk-1"), answer, 1)).start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_an_unavailable_answer_is_asked_again_and_the_next_hubs_answer_wins(broker: Mosquitto) -> None:
    """A hub that lost the site with its database answers at once ``unavailable``; the site's next hub answers a
    moment later with the ticket. The device must end with the ticket, however the two answers interleave."""
    ticket = wire.Reply(id=None, ok=True, ticket=None)
    old = Answerer(broker.port, "old-hub", lambda rid: error_reply(rid, wire.ErrorCode.UNAVAILABLE))
    new = Answerer(broker.port, "new-hub", lambda rid: msgspec.structs.replace(ticket, id=rid), delay=0.3)
    link = DeviceLink(
        host="127.0.0.1", port=broker.port, site_id="centre", device_id="kiosk-1", password="x",
        kind=wire.DeviceKind.KIOSK,
    )  # fmt: skip
    assert link.start(wait=10)
    try:
        reply = link.request(wire.Action.ISSUE, {"matters": ["A02"]}, request_id="r-1")
    finally:
        link.stop()
        old.close()
        new.close()
    assert reply.ok and reply.id == "r-1"
    assert set(old.ids) == set(new.ids) == {"r-1"}  # the same id every time

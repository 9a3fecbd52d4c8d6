"""The real hub process, its managed Mosquitto and device links: a kiosk issues, a caller calls, a board sees it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

import contract as wire
from devicekit.link import DeviceLink, HubUnreachable
from engine import events as ev
from hub.devices import Credentials
from tests.support.hub_process import REPO, HubProcess
from tests.support.waits import eventually

Kind = wire.DeviceKind


class Hall:
    def __init__(self, hub: HubProcess) -> None:
        self.hub = hub
        self.credentials: dict[str, Credentials] = {
            "kiosk": hub.provision("centre", "kiosk"),
            "caller": hub.provision("centre", "caller", "w01"),
            "board": hub.provision("centre", "board"),
            "other_kiosk": hub.provision("xiaozhai", "kiosk"),
        }
        hub.add_staff("centre", "li")
        hub.start()
        self.kiosk = hub.link(self.credentials["kiosk"], "centre", Kind.KIOSK)
        self.caller = hub.link(self.credentials["caller"], "centre", Kind.CALLER)
        self.board = hub.link(self.credentials["board"], "centre", Kind.BOARD, follow_site=True)
        eventually(lambda: self.board.view is not None and self.board.view.synced)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    hub = HubProcess(tmp_path_factory.mktemp("hub"))
    try:
        yield Hall(hub)
    finally:
        hub.stop()
    assert hub.log_defects() == [], "the hub logged a defect (see hub.log)"


def test_a_ticket_issued_and_called_reaches_the_board(hall: Hall) -> None:
    issued = hall.kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]})
    assert issued.ok and issued.ticket is not None and issued.ticket.wait is not None
    number = issued.ticket.number
    assert hall.caller.request(wire.Action.OPEN_WINDOW, {"window_id": "w01", "staff_id": "li", "pin": "2468"}).ok
    called = hall.caller.request(wire.Action.CALL_NEXT, {"window_id": "w01"})
    assert called.ok, called.error
    view = hall.board.view
    assert view is not None
    eventually(lambda: view.latest_call is not None and view.latest_call.number == number)
    assert view.latest_call is not None and view.latest_call.window_number == 1
    assert view.current["w01"] == number

    snapshot = wire.decode_as(wire.Snapshot, hall.hub.get("/api/v1/sites/centre/snapshot") or b"")
    assert snapshot.recent_calls[0].number == number and snapshot.seq == view.seq


def test_a_call_that_settles_the_ticket_before_reaches_the_board_as_one_message(hall: Hall) -> None:
    link = hall.board
    deliver = link.client.on_message
    assert deliver is not None and link.view is not None
    messages: list[list[int]] = []

    def noting(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.topic == wire.events_topic("centre"):
            messages.append([event.seq for event in wire.decode_events(bytes(message.payload)).events])
        deliver(client, userdata, message)

    link.client.on_message = noting
    try:
        for _ in range(2):
            assert hall.kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]}).ok
        assert hall.caller.request(wire.Action.OPEN_WINDOW, {"window_id": "w01", "staff_id": "li", "pin": "2468"}).ok
        assert hall.caller.request(wire.Action.CALL_NEXT, {"window_id": "w01"}).ok
        second = hall.caller.request(wire.Action.CALL_NEXT, {"window_id": "w01"})
        assert [type(event).__name__ for event in second.events] == ["TicketMissed", "TicketCalled"]
        seqs = [event.seq for event in second.events]
        eventually(lambda: link.view is not None and link.view.seq >= seqs[-1])
    finally:
        link.client.on_message = deliver
    assert seqs in messages  # both events in one message, in order
    called = second.events[1]
    assert isinstance(called, ev.TicketCalled) and link.view.current["w01"] == called.number


def test_a_late_board_starts_from_the_retained_snapshot(hall: Hall) -> None:
    credentials = hall.hub.provision("centre", "board")
    time.sleep(3.5)  # the hub reloads the broker's accounts on its next tick
    late = hall.hub.link(credentials, "centre", Kind.BOARD, follow_site=True)
    assert late.view is not None
    eventually(lambda: late.view is not None and late.view.synced)
    expected = hall.board.view
    assert expected is not None
    assert late.view.seq == expected.seq and late.view.calls == expected.calls


def test_device_status_is_retained_and_the_last_will_says_offline(hall: Hall) -> None:
    def statuses(of: str) -> dict[str, bool]:
        """The online flags of the devices of the site of ``of`` (a device of that site asks)."""
        return {device: status["online"] for device, status in hall.hub.statuses(hall.credentials[of]).items()}

    eventually(lambda: statuses("kiosk").get(hall.credentials["kiosk"].device_id) is True)
    other = hall.credentials["other_kiosk"]
    device = subprocess.Popen(
        [sys.executable, "-c", DEVICE_SCRIPT, str(hall.hub.broker_port), other.device_id, other.password], cwd=REPO
    )
    try:
        eventually(lambda: statuses("other_kiosk").get(other.device_id) is True, timeout=10)
    finally:
        device.kill()  # SIGKILL: the kernel closes the socket, the broker publishes the last will
        device.wait()
    eventually(lambda: statuses("other_kiosk").get(other.device_id) is False, timeout=10)


DEVICE_SCRIPT = """
import sys, time
from devicekit.link import DeviceLink
port, device_id, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
link = DeviceLink(host="127.0.0.1", port=port, site_id="xiaozhai", device_id=device_id, password=password, kind="kiosk")
assert link.start(wait=10)
time.sleep(60)
"""


def test_the_broker_refuses_what_a_device_may_not_publish(hall: Hall) -> None:
    seq = hall.board.view.seq if hall.board.view else 0
    with pytest.raises(HubUnreachable):  # the kiosk's call-next never reaches the hub
        hall.kiosk.request(wire.Action.CALL_NEXT, {"window_id": "w01"}, timeout=0.5, attempts=1)
    refused = hall.caller.request(wire.Action.CALL_NEXT, {"window_id": "w02"})  # the hub checks the window
    assert refused.error is not None and refused.error.code == "unauthorised"
    assert hall.board.view is not None and hall.board.view.seq == seq


def test_engine_refusals_arrive_in_both_languages(hall: Hall) -> None:
    reply = hall.kiosk.request(wire.Action.ISSUE, {"matters": ["Z99"]})
    assert reply.error == wire.Error(
        code="unknown_matter", zh="事项目录中没有 Z99", en="The catalogue has no matter Z99"
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.binary(max_size=200) | st.text(max_size=100).map(str.encode),
    action=st.sampled_from(["issue", "snapshot"]),
)
def test_garbage_gets_an_error_reply_and_stores_nothing(hall: Hall, payload: bytes, action: str) -> None:
    link: DeviceLink = hall.kiosk
    topic = wire.request_topic("centre", link.device_id, wire.Action(action))
    before = wire.decode_as(wire.Snapshot, hall.hub.get("/api/v1/sites/centre/snapshot") or b"").seq
    received = link.replies_received
    link.client.publish(topic, payload, qos=1).wait_for_publish(2)
    eventually(lambda: link.replies_received > received)
    assert link.last_reply is not None and not link.last_reply.ok and link.last_reply.error is not None
    after = wire.decode_as(wire.Snapshot, hall.hub.get("/api/v1/sites/centre/snapshot") or b"").seq
    assert after == before


def test_kiosks_get_the_site_info_and_the_district_summary_retained(hall: Hall) -> None:
    received: dict[str, bytes] = {}
    credentials = hall.credentials["board"]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="summary-reader")
    client.username_pw_set(credentials.device_id, credentials.password)
    client.on_message = lambda _c, _u, message: received.__setitem__(message.topic, bytes(message.payload))
    client.on_connect = lambda c, *_: c.subscribe([(wire.info_topic("centre"), 1), (wire.DISTRICT_SUMMARY_TOPIC, 1)])
    client.connect("127.0.0.1", hall.hub.broker_port)
    client.loop_start()
    try:
        eventually(lambda: len(received) == 2, timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()
    info = wire.decode_as(wire.SiteInfo, received[wire.info_topic("centre")])
    summary = wire.decode_as(wire.DistrictSummary, received[wire.DISTRICT_SUMMARY_TOPIC])
    assert info.name_zh == "雁塔区政务服务中心" and any(matter.code == "A02" for matter in info.matters)
    assert len(summary.sites) == 6 and next(s for s in summary.sites if s.site_id == "centre").open_now


def test_device_statuses_are_for_devices_of_the_same_site_only(hall: Hall) -> None:
    kiosk, other = hall.credentials["kiosk"], hall.credentials["other_kiosk"]
    assert hall.hub.fetch("/api/v1/devices")[0] == 401
    assert hall.hub.fetch("/api/v1/devices", Credentials(kiosk.device_id, "not-its-password"))[0] == 401
    other_link = hall.hub.link(other, "xiaozhai", Kind.KIOSK)
    eventually(lambda: hall.hub.statuses(other).get(other.device_id, {}).get("online") is True)
    other_link.stop()

    seen = hall.hub.statuses(kiosk)

    assert {kiosk.device_id, hall.credentials["caller"].device_id, hall.credentials["board"].device_id} <= set(seen)
    assert other.device_id not in seen
    assert set(hall.hub.statuses(other)) == {other.device_id}

"""DeviceLink.follow_retained on a real Mosquitto: the retained message arrives decoded, again after a reconnect;
garbage and a cleared message are skipped without stopping the link."""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

import contract as wire
from devicekit.link import DeviceLink
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.site_info import site_info
from tests.hub.test_end_to_end import eventually
from tests.kiosk.test_hub_link import Mosquitto


def publish(port: int, topic: str, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="publisher")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_a_followed_retained_topic_is_decoded_skipped_when_garbage_and_followed_again_after_a_reconnect(
    tmp_path: Path,
) -> None:
    broker = Mosquitto(tmp_path)
    broker.start()
    district = load_district(SAMPLE_DISTRICT)
    centre = district.site("centre")
    assert centre is not None
    topic = wire.info_topic("centre")
    link = DeviceLink(
        host="127.0.0.1",
        port=broker.port,
        site_id="centre",
        device_id="kiosk-x",
        password="",
        kind=wire.DeviceKind.KIOSK,
    )
    received: list[wire.SiteInfo] = []
    try:
        link.follow_retained(topic, wire.SiteInfo, received.append)
        link.start()
        publish(broker.port, topic, b"{not json")
        publish(broker.port, topic, b"")  # cleared
        publish(broker.port, topic, wire.encode(site_info(district, centre)))
        eventually(lambda: len(received) == 1)
        assert received[0].site_id == "centre" and received[0].matters

        broker.stop()
        eventually(lambda: not link.connected.is_set())
        broker.start()
        publish(broker.port, topic, wire.encode(site_info(district, centre)))
        eventually(lambda: len(received) == 2, timeout=15)  # subscribed again after the reconnect
    finally:
        link.stop()
        broker.stop()

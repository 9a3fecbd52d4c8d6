"""A device's "hub online" with several hubs (issue #13): its site's retained ``SiteHub`` names the hub that decides
for the site, and that hub's own retained status (its last will) says whether it is up. Real Mosquitto with the
hub's ACLs; two hubs, each its real ``MqttBridge`` (client id = hub id, with its last will) publishing what
``hub.server`` publishes when it takes a site. Hub A dies (its connection cut, the broker publishes its will), hub B
takes the site over, then gives it up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from devicekit.backoff import drop_connection
from devicekit.link import DeviceLink
from hub.broker import ManagedMosquitto
from hub.devices import DeviceRegistry, MemoryDeviceRows
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.mqtt_bridge import MqttBridge
from tests.support.waits import eventually


class Hub:
    """The hub's MQTT side as one of several hubs: its real ``MqttBridge`` (client id = hub id, with its last will)
    and what ``hub.server`` publishes when it takes sites."""

    def __init__(self, broker: ManagedMosquitto, hub_id: str) -> None:
        self.hub_id = hub_id
        self.bridge = MqttBridge(
            host=broker.host,
            port=broker.port,
            username=broker.hub_user,
            password=broker.hub_password,
            loop=asyncio.new_event_loop(),  # never run: nothing here waits for the bridge's asyncio side
            client_id=hub_id,
        )
        self.bridge.start()
        eventually(self.bridge.client.is_connected)

    def publish(self, topic: str, message: wire.HubStatus | wire.SiteHub) -> None:
        self.bridge.client.publish(topic, wire.encode(message), qos=1, retain=True).wait_for_publish(5)

    def up(self, *sites: str) -> None:
        """What a hub publishes when it takes sites: its status, then each site's SiteHub."""
        self.publish(wire.hub_status_topic(self.hub_id), wire.HubStatus(hub=self.hub_id, online=True, sites=sites))
        for site in sites:
            self.publish(wire.site_hub_topic(site), wire.SiteHub(hub=self.hub_id, online=True))

    def die(self) -> None:
        """The process is gone: no more network loop, the connection ends without a DISCONNECT, the broker
        publishes the last will."""
        self.bridge.client.loop_stop()
        drop_connection(self.bridge.client)

    def close(self) -> None:
        self.bridge.client.disconnect()
        self.bridge.client.loop_stop()
        self.bridge.loop.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[ManagedMosquitto, DeviceLink]]:
    registry = DeviceRegistry(load_district(SAMPLE_DISTRICT), MemoryDeviceRows())
    kiosk = registry.provision("centre", wire.DeviceKind.KIOSK)
    with ManagedMosquitto(tmp_path / "broker", registry.all) as started:
        link = DeviceLink(
            host=started.host,
            port=started.port,
            site_id="centre",
            device_id=kiosk.device_id,
            password=kiosk.password,
            kind=wire.DeviceKind.KIOSK,
        )
        assert link.start(wait=10)
        try:
            yield started, link
        finally:
            link.stop()


def test_the_sites_hub_is_up_while_its_site_hub_and_that_hubs_status_say_so(
    broker: tuple[ManagedMosquitto, DeviceLink],
) -> None:
    mosquitto, link = broker
    hub_a, hub_b = Hub(mosquitto, "hub-a"), Hub(mosquitto, "hub-b")
    try:
        assert not link.hub_online  # nobody said which hub decides

        hub_b.up("xiaozhai")  # another site's hub: not this device's
        hub_a.up("centre")
        eventually(lambda: link.hub_online)

        hub_a.die()
        eventually(lambda: not link.hub_online)  # A's last will: the site's hub is down

        hub_b.up("centre", "xiaozhai")  # B takes the site over
        eventually(lambda: link.hub_online)

        hub_b.publish(wire.site_hub_topic("centre"), wire.SiteHub(hub="hub-b", online=False))  # B gives it up
        eventually(lambda: not link.hub_online)
    finally:
        hub_a.close()
        hub_b.close()

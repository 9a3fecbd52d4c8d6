"""A refused subscription (SUBACK 0x80) is a failed connection (issue #13): the device (and the hub's bridge) drops
the connection and reconnects after its back-off, and is not "connected" — so sends no request it could not hear
the reply to — until the broker grants every subscription.

The broker is a real NATS (MQTT listener) whose permissions leave out one subject the client subscribes to: NATS
answers that SUBSCRIBE with 0x80. Mosquitto 2.0.11 does not do this: it grants a subscription its ACL denies and
then delivers nothing on it (checked here; docs/protocol.md §2 says so), so it cannot stand in for a refusing broker.
Once the permission is given (a configuration reload), the client comes in on its next attempt.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

import contract as wire
from devicekit.link import DeviceLink
from hub.mqtt_bridge import MqttBridge
from tests.support.nats_cluster import NATS_SERVER, NatsCluster, NatsUser, device_user, hub_user, subject
from tests.support.waits import eventually

pytestmark = pytest.mark.skipif(not Path(NATS_SERVER).exists(), reason="nats-server is not installed")

DEVICE, PASSWORD = "kiosk-centre-1", "kiosk-password-of-this-test"
HUB_PASSWORD = "hub-password-of-this-test"


def _without(user: NatsUser, topic: str) -> NatsUser:
    """The user with subscribe permission on ``topic`` taken away."""
    denied = subject(topic)
    assert denied in user.subscribe
    return NatsUser(user.name, user.password, user.publish, tuple(s for s in user.subscribe if s != denied))


class Nats:
    """A NATS cluster (NATS's MQTT needs clustered JetStream: one node alone does not start); the clients use node 1.
    ``allow`` reloads every node with every permission of the contract."""

    def __init__(self, directory: Path) -> None:
        self.cluster = NatsCluster(directory)
        self.node = self.cluster.nodes[0]
        self.device = device_user("centre", DEVICE, wire.DeviceKind.KIOSK, PASSWORD)
        self.hub = hub_user("hub", HUB_PASSWORD)

    def start(self, users: list[NatsUser]) -> None:
        self.cluster.start(users)

    def allow(self) -> None:
        for node in self.cluster.nodes:
            (node.directory / "nats.conf").write_text(self.cluster.config(node, [self.device, self.hub]))
            assert node.process is not None
            node.process.send_signal(signal.SIGHUP)


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[Nats]:
    broker = Nats(tmp_path / "nats")
    try:
        yield broker
    finally:
        broker.cluster.stop()


def _count_connects(client: mqtt.Client) -> list[int]:
    """Count the CONNACKs the client gets (each one a new connection the broker accepted)."""
    connects: list[int] = []
    accepted = client.on_connect
    assert accepted is not None

    def counting(*args: Any) -> None:
        connects.append(1)
        accepted(*args)

    client.on_connect = counting
    return connects


def test_a_device_whose_subscription_is_refused_reconnects_and_is_not_connected_until_granted(nats: Nats) -> None:
    nats.start([_without(nats.device, wire.ALL_HUB_STATUSES), nats.hub])
    link = DeviceLink(
        host="127.0.0.1",
        port=nats.node.mqtt_port,
        site_id="centre",
        device_id=DEVICE,
        password=PASSWORD,
        kind=wire.DeviceKind.KIOSK,
    )
    connects = _count_connects(link.client)
    try:
        assert not link.start(wait=3)
        eventually(lambda: len(connects) >= 3, timeout=20)  # admitted, refused a subscription, dropped, again
        assert not link.connected.is_set()

        nats.allow()
        eventually(link.connected.is_set, timeout=20)
        assert link.reconnect.backoff.attempt == 0  # granted: the back-off starts over
    finally:
        link.stop()


def test_the_hub_bridge_whose_subscription_is_refused_reconnects_and_is_not_connected_until_granted(
    nats: Nats,
) -> None:
    nats.start([nats.device, _without(nats.hub, "hall.>")])  # "hall" alone: no topic of the contract

    async def scenario() -> None:
        bridge = MqttBridge(
            host="127.0.0.1",
            port=nats.node.mqtt_port,
            username="hub",
            password=HUB_PASSWORD,
            loop=asyncio.get_running_loop(),
        )
        connects = _count_connects(bridge.client)
        bridge.start()
        try:
            while len(connects) < 3:
                await asyncio.sleep(0.05)
            assert not bridge.connected.is_set()
            nats.allow()
            await asyncio.wait_for(bridge.connected.wait(), 20)
        finally:
            bridge.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))

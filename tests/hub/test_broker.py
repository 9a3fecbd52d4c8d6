"""The managed Mosquitto with the accounts the hub generates: a real broker per test, real paho clients.

A publish the ACL denies is dropped silently (MQTT 3.1.1 has no negative PUBACK). So each "never arrives" is
shown by a marker: the same sender publishes something allowed after the denied messages, the receiver gets the
marker, and nothing else arrives before it (a broker delivers one sender's messages in order) or for ``QUIET``
seconds after it.
"""

from __future__ import annotations

import base64
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from contract import (
    Action,
    DeviceKind,
    events_topic,
    hub_status_topic,
    reply_topic,
    request_topic,
    site_hub_topic,
    snapshot_topic,
    status_topic,
)
from hub.broker import BrokerError, ManagedMosquitto
from hub.devices import Credentials, DeviceRegistry, MemoryDeviceRows, mosquitto_hash
from hub.district_file import SAMPLE_DISTRICT, load_district

DISTRICT = load_district(SAMPLE_DISTRICT)
WAIT = 5.0
QUIET = 0.5
CENTRE, XIAOZHAI = "centre", "xiaozhai"


class Peer:
    """A paho client (MQTT 3.1.1) of the test broker that keeps every message it receives; once dropped, it stays
    down."""

    def __init__(self, broker: ManagedMosquitto, name: str, username: str | None, password: str | None) -> None:
        self.broker = broker
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=name,
            protocol=MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda _client, _data, message: self.messages.put(
            (message.topic, bytes(message.payload))
        )
        self.connack: queue.Queue[ReasonCode] = queue.Queue()
        self.disconnected = threading.Event()
        self.subacks: dict[int, list[ReasonCode]] = {}
        self.subscribed = threading.Condition()

    def _on_connect(self, _client: mqtt.Client, _data: object, _flags: object, code: ReasonCode, _p: object) -> None:
        self.connack.put(code)

    def _on_disconnect(self, _client: mqtt.Client, _data: object, _flags: object, _code: object, _p: object) -> None:
        self.disconnected.set()

    def _on_subscribe(self, _client: mqtt.Client, _data: object, mid: int, codes: list[ReasonCode], _p: object) -> None:
        with self.subscribed:
            self.subacks[mid] = codes
            self.subscribed.notify_all()

    def connect(self) -> ReasonCode:
        """Connect and return the broker's answer. Only an admitted client gets a network thread (so a refused one
        does not keep retrying)."""
        self.client.connect(self.broker.host, self.broker.port, keepalive=10)
        deadline = time.monotonic() + WAIT
        while self.connack.empty():
            assert time.monotonic() < deadline, "no CONNACK"
            self.client.loop(timeout=0.05)
        code = self.connack.get_nowait()
        if not code.is_failure:
            self.client.loop_start()
        return code

    def subscribe(self, *topics: str) -> list[ReasonCode]:
        """Subscribe (QoS 1) to each topic in its own SUBSCRIBE; return the granted codes in order."""
        granted = []
        for topic in topics:
            _result, mid = self.client.subscribe(topic, qos=1)
            assert mid is not None, topic
            with self.subscribed:
                assert self.subscribed.wait_for(partial(self.subacks.__contains__, mid), WAIT), topic
                granted += self.subacks.pop(mid)
        return granted

    def publish(self, topic: str, payload: bytes = b"{}") -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(WAIT)

    def received_until(self, marker: str) -> list[str]:
        """The topics received up to and including the first message on ``marker``."""
        topics: list[str] = []
        while not topics or topics[-1] != marker:
            topics.append(self.messages.get(timeout=WAIT)[0])
        return topics

    def received_within(self, seconds: float) -> list[str]:
        topics: list[str] = []
        try:
            while True:
                topics.append(self.messages.get(timeout=seconds)[0])
        except queue.Empty:
            return topics

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


PeerFactory = Callable[..., Peer]


@pytest.fixture
def registry() -> DeviceRegistry:
    return DeviceRegistry(DISTRICT, MemoryDeviceRows())


@pytest.fixture
def kiosk(registry: DeviceRegistry) -> Credentials:
    return registry.provision(CENTRE, DeviceKind.KIOSK)


@pytest.fixture
def broker(tmp_path: Path, registry: DeviceRegistry, kiosk: Credentials) -> Iterator[ManagedMosquitto]:
    with ManagedMosquitto(tmp_path / "broker", registry.all) as started:
        yield started


@pytest.fixture
def peer(broker: ManagedMosquitto) -> Iterator[PeerFactory]:
    """``peer(credentials | "hub" | username | None, password=None)``: a client, not yet connected."""
    peers: list[Peer] = []

    def make(who: Credentials | str | None, password: str | None = None) -> Peer:
        if isinstance(who, Credentials):
            username: str | None = who.device_id
            password = who.password
        else:
            username = who
            if who == broker.hub_user and password is None:
                password = broker.hub_password
        made = Peer(broker, f"test-{len(peers)}", username, password)
        peers.append(made)
        return made

    yield make
    for made in peers:
        made.close()


def connected(peer: Peer) -> Peer:
    code = peer.connect()
    assert not code.is_failure, code
    return peer


# --- the process -------------------------------------------------------------------------------------------------


def test_the_broker_listens_on_loopback_until_stopped(tmp_path: Path, registry: DeviceRegistry) -> None:
    broker = ManagedMosquitto(tmp_path, registry.all)
    broker.start()
    try:
        assert broker.running
        socket.create_connection((broker.host, broker.port), timeout=1).close()
        assert {path.stat().st_mode & 0o777 for path in (broker.password_path, broker.acl_path)} == {0o600}
        assert "Opening ipv4 listen socket on port" in broker.log_path.read_text()
    finally:
        broker.stop()

    assert not broker.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((broker.host, broker.port), timeout=1)
    broker.stop()  # a second stop does nothing


def test_a_broker_that_cannot_listen_fails_to_start_with_its_log(tmp_path: Path, registry: DeviceRegistry) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = ManagedMosquitto(tmp_path, registry.all, port=taken.getsockname()[1])

        with pytest.raises(BrokerError, match=r"(?s)mosquitto exited.*Address already in use"):
            broker.start()
    assert not broker.running


def test_the_password_hash_is_the_one_mosquitto_passwd_makes(tmp_path: Path) -> None:
    password_file = tmp_path / "passwd"
    password_file.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(password_file), "alice", "s3cret pass"], check=True)

    user, line = password_file.read_text().strip().split(":", 1)
    _, algorithm, iterations, salt, _digest = line.split("$")

    assert (user, algorithm, iterations) == ("alice", "7", "101")
    assert mosquitto_hash("s3cret pass", salt=base64.b64decode(salt)) == line


# --- who gets in -------------------------------------------------------------------------------------------------


def test_the_hub_reads_and_writes_every_topic_under_hall(peer: PeerFactory, kiosk: Credentials) -> None:
    hub = connected(peer("hub"))
    topics = [
        request_topic(CENTRE, kiosk.device_id, Action.CALL_NEXT),
        reply_topic(XIAOZHAI, "board-xiaozhai-9"),
        events_topic(CENTRE),
        hub_status_topic("hall-hub"),
    ]
    assert [code.value for code in hub.subscribe("hall/#")] == [1]  # granted QoS 1

    for topic in topics:
        hub.publish(topic)

    assert hub.received_until(topics[-1]) == topics


@pytest.mark.parametrize(
    ("user", "password"),
    [("hub", "not-the-password"), ("kiosk-centre-1", "not-the-password"), ("nobody", "x"), (None, None)],
)
def test_a_wrong_password_an_unknown_user_and_anonymous_are_refused(
    peer: PeerFactory, user: str | None, password: str | None
) -> None:
    code = peer(user, password).connect()

    assert code.is_failure
    assert code.getName() == "Not authorized"


def test_a_device_is_admitted_from_the_reload_after_its_provisioning(
    broker: ManagedMosquitto, registry: DeviceRegistry, peer: PeerFactory
) -> None:
    board = registry.provision(CENTRE, DeviceKind.BOARD)
    assert peer(board).connect().is_failure

    broker.reload()

    connected(peer(board))


def test_a_revoked_device_is_refused_after_the_reload(
    broker: ManagedMosquitto, registry: DeviceRegistry, peer: PeerFactory, kiosk: Credentials
) -> None:
    online = connected(peer(kiosk))
    registry.revoke(kiosk.device_id)
    connected(peer(kiosk))  # the broker has not been told yet

    broker.reload()

    assert peer(kiosk).connect().is_failure
    assert online.disconnected.wait(WAIT), "the connection of the revoked device is closed by the reload"
    connected(peer("hub"))


def test_a_restart_keeps_the_port_and_the_accounts(
    broker: ManagedMosquitto, peer: PeerFactory, kiosk: Credentials
) -> None:
    port = broker.port
    connected(peer("hub")).close()

    broker.restart()

    assert broker.port == port and broker.running
    hub = connected(peer("hub"))
    device = connected(peer(kiosk))
    hub.subscribe("hall/#")
    device.publish(request_topic(CENTRE, kiosk.device_id, Action.ISSUE))
    assert hub.received_until(request_topic(CENTRE, kiosk.device_id, Action.ISSUE))


# --- what a device may publish and read --------------------------------------------------------------------------


def test_a_kiosk_publishes_only_its_own_allowed_requests(
    peer: PeerFactory, registry: DeviceRegistry, kiosk: Credentials
) -> None:
    hub = connected(peer("hub"))
    hub.subscribe("hall/#")
    device = connected(peer(kiosk))
    issue = request_topic(CENTRE, kiosk.device_id, Action.ISSUE)
    denied = [
        request_topic(CENTRE, kiosk.device_id, Action.CALL_NEXT),
        request_topic(CENTRE, kiosk.device_id, Action.OPEN_WINDOW),
        request_topic(CENTRE, "kiosk-centre-2", Action.ISSUE),
        request_topic(XIAOZHAI, kiosk.device_id, Action.ISSUE),
        events_topic(CENTRE),
        snapshot_topic(CENTRE),
        reply_topic(CENTRE, kiosk.device_id),
        hub_status_topic("hall-hub"),
        site_hub_topic(CENTRE),
    ]

    for topic in [*denied, issue]:
        device.publish(topic)

    assert hub.received_until(issue) == [issue]
    assert hub.received_within(QUIET) == []
    device.publish(status_topic(CENTRE, kiosk.device_id))
    assert hub.received_until(status_topic(CENTRE, kiosk.device_id)) == [status_topic(CENTRE, kiosk.device_id)]


def test_a_kiosk_reads_its_replies_and_its_sites_events_and_snapshot_only(
    peer: PeerFactory, kiosk: Credentials
) -> None:
    hub = connected(peer("hub"))
    device = connected(peer(kiosk))
    readable = [reply_topic(CENTRE, kiosk.device_id), events_topic(CENTRE), snapshot_topic(CENTRE)]
    readable += [site_hub_topic(CENTRE), hub_status_topic("hall-hub")]
    device.subscribe(*readable, "hall/v1/centre/reply/+", "hall/v1/centre/req/#")
    hub.subscribe(request_topic(CENTRE, "kiosk-centre-2", Action.ISSUE))

    hub.publish(reply_topic(CENTRE, "kiosk-centre-2"))
    hub.publish(request_topic(CENTRE, "kiosk-centre-2", Action.ISSUE))
    for topic in readable:
        hub.publish(topic)

    assert device.received_until(readable[-1]) == readable
    assert hub.received_until(request_topic(CENTRE, "kiosk-centre-2", Action.ISSUE))
    assert device.received_within(QUIET) == []


def test_a_device_of_one_site_hears_nothing_of_another(
    peer: PeerFactory, broker: ManagedMosquitto, registry: DeviceRegistry, kiosk: Credentials
) -> None:
    other = registry.provision(XIAOZHAI, DeviceKind.KIOSK)
    broker.reload()
    hub = connected(peer("hub"))
    listener = connected(peer(kiosk))
    neighbour = connected(peer(other))
    other_topics = [
        request_topic(XIAOZHAI, other.device_id, Action.ISSUE),
        reply_topic(XIAOZHAI, other.device_id),
        events_topic(XIAOZHAI),
        snapshot_topic(XIAOZHAI),
    ]
    listener.subscribe(*other_topics, "hall/v1/xiaozhai/#", "hall/v1/+/events", "hall/#", events_topic(CENTRE))
    neighbour.subscribe(*other_topics[1:])

    neighbour.publish(other_topics[0])
    for topic in other_topics[1:]:
        hub.publish(topic)
    hub.publish(events_topic(CENTRE))

    assert neighbour.received_until(other_topics[-1]) == other_topics[1:]
    assert set(listener.received_until(events_topic(CENTRE))) == {events_topic(CENTRE)}
    assert set(listener.received_within(QUIET)) <= {events_topic(CENTRE)}

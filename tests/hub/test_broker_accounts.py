"""The provisioning hook on real external brokers: ``hall-hub device add|rotate|revoke|sync`` make, change and delete
the device's account on a NATS node (an include file of users with bcrypt hashes, then a reload) and on RabbitMQ's
MQTT plugin (a private node, its management API), and the real hub serves the devices through them.

Each broker is checked the same way: a kiosk and a board added by the command line connect with the password it
printed; the kiosk's ``issue`` reaches the hub and its reply comes back; the board reads the retained snapshot; the
kiosk cannot publish for or read another site; a rotated password refuses the old one and takes the new one; a
revoked device cannot connect again and its open connection is closed; and a broker that does not answer leaves no
device with a hub account but no broker account.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from aiohttp import web
from paho.mqtt.enums import CallbackAPIVersion

import contract as wire
from devicekit.link import DeviceLink
from hub.accounts import accounts_for
from hub.broker import free_port
from hub.broker_accounts import NatsAccounts, RabbitMqAccounts, broker_accounts, with_broker_accounts
from hub.broker_accounts.nats import NATS_SERVER
from hub.config import BrokerConfig, HubConfig, MqttConfig
from hub.device_cli import add_device_commands, run_device_command
from hub.devices import Credentials, DeviceRegistry, registry_for
from hub.district_file import SAMPLE_DISTRICT
from hub.main import open_district
from hub.store import EventStore, open_store
from hub.web_pages import Pages, pages_app
from tests.support.hub_process import ExternalBroker, HubProcess
from tests.support.nats_cluster import _accepts
from tests.support.rabbitmq import RABBITMQ_SERVER, RabbitNode
from tests.support.waits import eventually
from tests.web.changes_support import hidden_fields
from tests.web.conftest import DISTRICT, Client, Clock, add_accounts, make_pages, sign_in

HUB_PASSWORD = "hub-password-of-this-test-only"
Kind = wire.DeviceKind


# --- the brokers ------------------------------------------------------------------------------------------------


class NatsNode:
    """One nats-server with JetStream and an MQTT listener whose users are the hub's include file."""

    needs_accounts_to_start = True
    """The node's configuration includes the hub's file of users."""
    closes_on_denial = False
    """NATS drops a denied publish and answers a denied subscription with SUBACK 0x80; the connection stays."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.mqtt_port, self.client_port, self.monitor_port = free_port(), free_port(), free_port()
        self.accounts_file = directory / "hall-accounts.conf"
        self.pid_file = directory / "nats.pid"
        self.process: subprocess.Popen[bytes] | None = None

    def hub_config(self) -> HubConfig:
        broker = BrokerConfig(
            accounts="nats", nats_files=str(self.accounts_file), nats_pid_files=str(self.pid_file),
            nats_monitor_urls=f"http://127.0.0.1:{self.monitor_port}",
        )  # fmt: skip
        return HubConfig(mqtt=_hub_mqtt(self.mqtt_port), broker=broker)

    def unreachable(self) -> HubConfig:
        """The node's settings with a reload that cannot reach it (its pid file gone: a node on a host that is down)."""
        config = self.hub_config()
        config.broker.nats_pid_files = str(self.directory / "gone.pid")
        return config

    def accounts(self) -> set[str]:
        return set(NatsAccounts.from_config(self.hub_config().broker, self.hub_config().mqtt).hashes())

    def start(self) -> None:
        config = self.directory / "nats.conf"
        config.write_text(f"""\
server_name: hall-accounts
listen: 127.0.0.1:{self.client_port}
http: 127.0.0.1:{self.monitor_port}
pid_file: "{self.pid_file}"
jetstream {{ store_dir: "{self.directory / "jetstream"}", max_memory_store: 64MB, max_file_store: 256MB }}
mqtt {{ listen: 127.0.0.1:{self.mqtt_port} }}
include "{self.accounts_file.name}"
""")
        self.process = subprocess.Popen(
            [NATS_SERVER, "-c", str(config), "-l", str(self.directory / "nats.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        eventually(lambda: self.pid_file.exists() and _accepts(self.mqtt_port), timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)


class RabbitBroker:
    """A private RabbitMQ node; the hub's own account is made by hand, as an operator does once."""

    needs_accounts_to_start = False
    closes_on_denial = True
    """RabbitMQ closes the connection of a client that publishes or subscribes where it may not."""

    def __init__(self, directory: Path) -> None:
        self.node = RabbitNode(directory)
        self.mqtt_port = self.node.mqtt_port

    def hub_config(self) -> HubConfig:
        broker = BrokerConfig(
            accounts="rabbitmq", rabbitmq_url=self.node.management_url, rabbitmq_user=self.node.admin_user,
            rabbitmq_password=self.node.admin_password,
        )  # fmt: skip
        return HubConfig(mqtt=_hub_mqtt(self.mqtt_port), broker=broker)

    def unreachable(self) -> HubConfig:
        """The node's settings with a management API nobody answers at."""
        config = self.hub_config()
        config.broker.rabbitmq_url = f"http://127.0.0.1:{free_port()}"
        return config

    def accounts(self) -> set[str]:
        return RabbitMqAccounts.from_config(self.hub_config().broker).users()

    def start(self) -> None:
        self.node.start()
        self.node.ctl("add_user", "hub", HUB_PASSWORD)
        self.node.ctl("set_permissions", "-p", "/", "hub", "^mqtt-subscription-hall-hub", ".*", ".*")
        self.node.ctl("set_topic_permissions", "-p", "/", "hub", "amq.topic", r"^hall\.", r"^hall\.")

    def stop(self) -> None:
        self.node.stop()


Broker = NatsNode | RabbitBroker


def _hub_mqtt(port: int) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=port, username="hub", password=HUB_PASSWORD)


# --- the hall: a broker, the hub on it, devices added by the command line ------------------------------------------


@dataclass
class Hall:
    broker: Broker
    hub: HubProcess
    store: EventStore
    registry: DeviceRegistry
    config: HubConfig

    def device(self, *argv: str) -> tuple[int, str, str]:
        """``hall-hub device <argv>`` on the hub's database with the hub's configuration: (status, out, err)."""
        parser = argparse.ArgumentParser()
        add_device_commands(parser.add_subparsers(dest="command", required=True))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = run_device_command(parser.parse_args(["device", *argv]), self.registry, self.config)
        return status, out.getvalue(), err.getvalue()

    def add(self, site: str, kind: str, *window: str) -> Credentials:
        status, out, err = self.device("add", "--site", site, "--kind", kind, *window)
        assert status == 0, err
        found = re.search(r"device:\s+(\S+)\npassword: (\S+)\n", out)
        assert found is not None, out
        return Credentials(found.group(1), found.group(2))

    def link(self, credentials: Credentials, site: str, kind: Kind, follow_site: bool = False) -> DeviceLink:
        return self.hub.link(credentials, site, kind, follow_site=follow_site, port=self.broker.mqtt_port)


BROKERS = [
    pytest.param(NatsNode, id="nats", marks=pytest.mark.skipif(
        not Path(NATS_SERVER).exists(), reason="nats-server is not installed")),
    pytest.param(RabbitBroker, id="rabbitmq", marks=pytest.mark.skipif(
        not RABBITMQ_SERVER.exists(), reason="rabbitmq-server is not installed")),
]  # fmt: skip


@pytest.fixture(scope="module", params=BROKERS)
def hall(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    directory = tmp_path_factory.mktemp(request.param.__name__)
    (directory / "broker").mkdir()
    (directory / "hub").mkdir()
    broker: Broker = request.param(directory / "broker")
    hub = HubProcess(directory / "hub", broker=ExternalBroker("127.0.0.1", broker.mqtt_port, "hub", HUB_PASSWORD))
    store = open_store(hub.db_url)
    hall = Hall(broker, hub, store, registry_for(store, open_district(store, SAMPLE_DISTRICT)), broker.hub_config())
    try:
        if broker.needs_accounts_to_start:
            assert hall.device("sync")[0] == 0  # the first file, with the hub's user: nothing to reload yet
        broker.start()
        assert hall.device("sync")[0] == 0
        hub.start()
        yield hall
    finally:
        hub.stop()
        broker.stop()
        store.close()


# --- an MQTT client that records what the broker does to it -------------------------------------------------------


class Session:
    def __init__(self, port: int, username: str, password: str, client_id: str | None = None) -> None:
        """``client_id``: the username's (the hub's spy its own) unless given: a second session of one device needs
        another, or the broker may close one of the two while it takes the id over."""
        self.answered, self.closed = threading.Event(), threading.Event()
        self.refused: bool | None = None
        self.received: list[str] = []
        self.granted: list[bool] = []
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or (username if username != "hub" else "hall-hub-spy")
        )
        client.username_pw_set(username, password)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_args: self.closed.set()
        client.on_message = lambda _c, _u, message: self.received.append(message.topic)
        client.on_subscribe = lambda _c, _u, _mid, reasons, _p: self.granted.extend(not r.is_failure for r in reasons)
        self.client = client
        client.connect("127.0.0.1", port)
        client.loop_start()
        assert self.answered.wait(10), "the broker did not answer CONNECT"

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        self.refused = bool(getattr(reason, "is_failure", False))
        self.answered.set()

    def subscribe(self, topic: str) -> None:
        before = len(self.granted)
        self.client.subscribe(topic, qos=1)
        eventually(lambda: len(self.granted) > before or self.closed.is_set())

    def publish(self, topic: str) -> None:
        self.client.publish(topic, b"{}", qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def admitted(hall: Hall, credentials: Credentials) -> bool:
    session = Session(hall.broker.mqtt_port, credentials.device_id, credentials.password)
    try:
        return session.refused is False
    finally:
        session.close()


def served(link: DeviceLink) -> wire.Reply:
    """The kiosk's ``issue`` once the hub has read the new device from its registry (every 3 s)."""
    deadline = time.monotonic() + 15
    while True:
        reply = link.request(wire.Action.ISSUE, {"matters": ["A02"]}, timeout=3)
        if reply.ok or time.monotonic() > deadline:
            return reply
        assert reply.error is not None and reply.error.code == wire.ErrorCode.UNAUTHORISED, reply.error
        time.sleep(0.5)


# --- the tests ------------------------------------------------------------------------------------------------------


def test_devices_added_by_the_command_line_are_served_through_the_broker(hall: Hall) -> None:
    kiosk, board = hall.add("centre", "kiosk"), hall.add("centre", "board")

    issued = served(hall.link(kiosk, "centre", Kind.KIOSK))
    assert issued.ok and issued.ticket is not None, issued.error  # the request reached the hub, the reply came back

    shown = hall.link(board, "centre", Kind.BOARD, follow_site=True)
    eventually(lambda: shown.view is not None and shown.view.synced, timeout=15)  # the retained snapshot, read
    assert shown.view is not None and shown.view.seq >= 1


def test_a_device_may_not_publish_for_or_read_another_site(hall: Hall) -> None:
    kiosk = hall.add("centre", "kiosk")
    spy = Session(hall.broker.mqtt_port, "hub", HUB_PASSWORD)
    spy.subscribe("hall/#")
    device = Session(hall.broker.mqtt_port, kiosk.device_id, kiosk.password)
    own = wire.request_topic("centre", kiosk.device_id, wire.Action.SNAPSHOT)
    foreign = wire.request_topic("xiaozhai", kiosk.device_id, wire.Action.ISSUE)

    device.publish(own)
    eventually(lambda: own in spy.received)
    device.publish(foreign)
    time.sleep(1)
    assert foreign not in spy.received
    assert device.closed.is_set() is hall.broker.closes_on_denial  # NATS drops it; RabbitMQ closes the connection

    reader = Session(hall.broker.mqtt_port, kiosk.device_id, kiosk.password, client_id=f"{kiosk.device_id}-reader")
    reader.subscribe(wire.events_topic("centre"))
    reader.subscribe(wire.events_topic("xiaozhai"))
    assert reader.granted[0] is True
    if hall.broker.closes_on_denial:
        eventually(reader.closed.is_set)
    else:
        assert reader.granted[1:] == [False]  # SUBACK 0x80
    spy.client.publish(wire.events_topic("xiaozhai"), b"{}", qos=1)
    spy.client.publish(wire.events_topic("centre"), b"{}", qos=1)
    if not hall.broker.closes_on_denial:
        eventually(lambda: wire.events_topic("centre") in reader.received)
    time.sleep(0.5)
    assert wire.events_topic("xiaozhai") not in reader.received
    for session in (spy, device, reader):
        session.close()


def test_a_rotated_password_refuses_the_old_one_and_ends_its_session(hall: Hall) -> None:
    old = hall.add("centre", "board")
    session = Session(hall.broker.mqtt_port, old.device_id, old.password)
    assert session.refused is False

    status, out, err = hall.device("rotate", old.device_id)
    assert status == 0, err
    new = Credentials(old.device_id, re.findall(r"password: (\S+)", out)[0])

    assert not admitted(hall, old)
    assert admitted(hall, new)
    eventually(session.closed.is_set)  # whoever had the old password is out, not only kept from coming back
    session.close()


def test_a_revoked_device_is_shut_out_and_its_connection_closed(hall: Hall) -> None:
    kiosk = hall.add("centre", "kiosk")
    session = Session(hall.broker.mqtt_port, kiosk.device_id, kiosk.password)
    assert session.refused is False

    status, out, err = hall.device("revoke", kiosk.device_id)
    assert (status, out) == (0, f"revoked {kiosk.device_id}\n"), err

    eventually(session.closed.is_set)
    assert not admitted(hall, kiosk)
    session.close()


def test_sync_removes_strays_and_names_the_accounts_only_a_rotation_can_make(hall: Hall) -> None:
    kept, lost = hall.add("centre", "kiosk"), hall.add("xiaozhai", "board")
    revoked = hall.add("centre", "kiosk")
    hook = broker_accounts(hall.config)
    assert hook is not None
    hook.remove(lost.device_id)  # lost behind the hub's back (a broker rebuilt, a file restored from a backup)
    hall.registry.revoke(revoked.device_id)  # revoked while the hook was not in the registry's steps

    status, out, err = hall.device("sync")

    assert status == 1
    assert f"removed: {revoked.device_id}" in out
    assert f"missing: {lost.device_id} has no broker account" in err
    assert f"hall-hub device rotate {lost.device_id}" in err
    assert admitted(hall, kept) and not admitted(hall, revoked) and not admitted(hall, lost)

    status, out, err = hall.device("rotate", lost.device_id)
    assert status == 0, err
    assert admitted(hall, Credentials(lost.device_id, re.findall(r"password: (\S+)", out)[0]))


def test_a_broker_that_does_not_answer_leaves_no_device_half_made(hall: Hall) -> None:
    board = hall.add("centre", "board")
    revocable = hall.add("centre", "kiosk")
    accounts, file = hall.broker.accounts(), getattr(hall.broker, "accounts_file", None)
    written = file.read_bytes() if file is not None else None
    down = Hall(hall.broker, hall.hub, hall.store, hall.registry, hall.broker.unreachable())

    status, _out, err = down.device("add", "--site", "centre", "--kind", "kiosk")
    assert status == 1
    assert "the device was not added" in err and "revoked in the hub again" in err, err
    newest = max(hall.registry.all(), key=lambda device: device.created_at)
    assert newest.revoked and newest.device_id in err  # its id is burnt: no active device without a broker account

    status, out, err = down.device("rotate", board.device_id)
    assert (status, out) == (1, "")
    assert "the old one still works" in err
    assert hall.registry.verify(board.device_id, board.password) and admitted(hall, board)

    assert hall.broker.accounts() == accounts  # nothing of the two changes reached the broker
    if file is not None:
        assert file.read_bytes() == written  # NATS: the file that could not be reloaded was put back

    status, _out, err = down.device("revoke", revocable.device_id)
    assert status == 1 and "is revoked in the hub" in err and "hall-hub device sync" in err, err
    assert not hall.registry.verify(revocable.device_id, revocable.password)
    assert admitted(hall, revocable)  # as the error said: the broker still admits it...
    assert hall.device("revoke", revocable.device_id)[0] == 0  # ...until revoked again with the broker back
    assert not admitted(hall, revocable)


# --- the devices page with the hook -----------------------------------------------------------------------------

DEVICES = "/admin/sites/centre/devices"


async def manager_of(
    config: HubConfig, directory: Path, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> tuple[Client, Pages]:
    """The devices page over its own store, its registry with the hook ``config`` names, li (centre's manager)
    signed in."""
    store = open_store(f"sqlite:///{directory / 'pages.db'}")
    add_accounts(accounts_for(store, DISTRICT))
    pages = make_pages(store, Clock())
    pages.devices = with_broker_accounts(pages.devices, config)
    app = web.Application()
    app.add_subapp("/admin", pages_app(pages))
    client = await aiohttp_client(app)
    assert await sign_in(client, "li") == 303
    return client, pages


async def test_the_devices_page_makes_and_deletes_the_broker_account(
    hall: Hall, tmp_path: Path, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    client, _pages = await manager_of(hall.config, tmp_path, aiohttp_client)
    response = await client.post(DEVICES, data=await hidden_fields(client, DEVICES) | {"kind": "kiosk"})
    page = await response.text()
    assert response.status == 200, page
    found = re.search(r'<dd class="id">([^<]+)</dd>.*?<code class="secret">([^<]+)</code>', page, re.DOTALL)
    assert found is not None
    kiosk = Credentials(found.group(1), found.group(2))
    assert admitted(hall, kiosk)

    path = f"{DEVICES}/{kiosk.device_id}/revoke"
    response = await client.post(path, data=await hidden_fields(client, path), allow_redirects=False)
    assert response.status == 303
    assert not admitted(hall, kiosk)


async def test_the_devices_page_says_what_a_broker_that_does_not_answer_left_done(
    hall: Hall, tmp_path: Path, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    client, pages = await manager_of(hall.broker.unreachable(), tmp_path, aiohttp_client)

    response = await client.post(DEVICES, data=await hidden_fields(client, DEVICES) | {"kind": "board"})

    assert response.status == 503
    shown = re.findall(r'<p class="problem" role="alert">([^<]+)</p>', await response.text())
    assert shown == ["消息服务器未能创建该设备的账号，设备未添加。请待消息服务器恢复后重试"]  # the page's own problem
    assert [device.revoked for device in pages.devices.all()] == [True]  # made, then revoked again: none is active

"""Scale-out: the real hub on a 3-node NATS cluster (MQTT listeners) with PostgreSQL as its store.

The hub connects to node 1 only; the kiosk is on node 2, the caller on node 3 and a board on each node, so every
request, reply, event and retained snapshot crosses the cluster's routes. The hub is configured the way production
configures it, by ``HALL_MQTT_HOST/PORT/USERNAME/PASSWORD`` and ``HALL_DATABASE_URL``.

Authentication is on, with per-device permissions. With an external broker the hub manages no broker accounts, so
the test does what an operator would: it provisions the devices in the hub's database (``DeviceRegistry``) and gives
each one a NATS user with its password and the subject permissions of ``contract.device_acl`` (docs/broker.md).
NATS 2.9's MQTT listener behaves with them (QoS 1 subscriptions need subscribe on ``$MQTT.sub.>``; a denied publish
is dropped and the connection stays up, as on Mosquitto), so there was no reason to fall back to no-auth.

What nats-server 2.9.10 did, seen here:
- QoS 1 both ways, retained messages (published through node 1, read by a board connecting later on node 3), the
  hub's persistent session and a last will (sent by node 3, received by the hub on node 1) all work across nodes:
  nothing the contract uses needed a workaround.
- ``mqtt { stream_replicas: 3 }`` must be set (``tests/support/nats_cluster.py`` says why): by default the MQTT
  streams got 2 replicas, and after killing one node QoS 1 publishes timed out for over a minute.
- Each QoS 1 subscription is a replicated JetStream consumer: a board's five subscriptions take about 2 s to set up
  here (``consumer_replicas: 1`` with memory storage makes it ~10 ms, but then a device whose consumer sits on a dead
  node silently stops receiving, so it is not used).
- While the stream leader is re-elected after a node dies (~5-8 s), QoS 1 publishes time out after 4 s and NATS
  closes the publisher's connection; a device reconnecting in that window can have a subscription refused
  ("Unable to add JetStream consumer"), and ``DeviceLink`` does not look at SUBACK codes, so such a device stays
  deaf until it reconnects again. The node-death test therefore makes its call over HTTP and checks the hub ->
  boards path only.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from devicekit.link import HubUnreachable
from engine import events as ev
from hub.devices import Credentials
from hub.store import open_store
from tests.hub.test_end_to_end import DEVICE_SCRIPT, eventually
from tests.support import postgres
from tests.support.hub_process import REPO, ExternalBroker, HubProcess
from tests.support.nats_cluster import NATS_SERVER, NatsCluster, device_user, hub_user

Kind = wire.DeviceKind

pytestmark = pytest.mark.skipif(not Path(NATS_SERVER).exists(), reason="nats-server is not installed")

HUB_PASSWORD = "hub-password-of-this-test-only"


class ClusterHall:
    def __init__(self, directory: Path, db_url: str) -> None:
        self.cluster = NatsCluster(directory / "nats")
        self.node_ports = [node.mqtt_port for node in self.cluster.nodes]
        (directory / "hub").mkdir()
        self.hub = HubProcess(
            directory / "hub",
            db_url=db_url,
            broker=ExternalBroker("127.0.0.1", self.node_ports[0], "hub", HUB_PASSWORD),
        )
        wanted = {
            "kiosk": ("centre", Kind.KIOSK, None),
            "caller": ("centre", Kind.CALLER, "w01"),
            "board-1": ("centre", Kind.BOARD, None),
            "board-2": ("centre", Kind.BOARD, None),
            "board-3": ("centre", Kind.BOARD, None),
            "late-board": ("centre", Kind.BOARD, None),
            "other-kiosk": ("xiaozhai", Kind.KIOSK, None),
        }
        self.credentials: dict[str, Credentials] = {
            role: self.hub.provision(site, kind, window) for role, (site, kind, window) in wanted.items()
        }
        self.hub.add_staff("centre", "li")
        self.users = [hub_user("hub", HUB_PASSWORD)]
        self.users += [
            device_user(wanted[role][0], credentials.device_id, wanted[role][1], credentials.password)
            for role, credentials in self.credentials.items()
        ]

    def start(self) -> None:
        """The cluster with an account for the hub and each device, the hub on node 1, devices spread over nodes."""
        self.cluster.start(self.users)
        self.hub.start()
        self.kiosk = self.hub.link(self.credentials["kiosk"], "centre", Kind.KIOSK, port=self.node_ports[1])
        self.caller = self.hub.link(self.credentials["caller"], "centre", Kind.CALLER, port=self.node_ports[2])
        self.boards = [
            self.hub.link(self.credentials[f"board-{n}"], "centre", Kind.BOARD, follow_site=True, port=port)
            for n, port in enumerate(self.node_ports, start=1)
        ]
        for board in self.boards:
            eventually(lambda board=board: board.view is not None and board.view.synced)  # type: ignore[misc]

    def stop(self) -> None:
        self.hub.stop()
        self.cluster.stop()


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory, postgres_database: str) -> Iterator[ClusterHall]:
    postgres.empty_database(postgres_database)
    directory = tmp_path_factory.mktemp("cluster")
    hall = ClusterHall(directory, postgres_database)
    try:
        hall.start()
        yield hall
    finally:
        hall.stop()


def test_a_call_made_through_one_node_reaches_the_boards_on_every_node(hall: ClusterHall) -> None:
    issued = hall.kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]})  # node 2 -> hub on node 1 -> node 2
    assert issued.ok and issued.ticket is not None, issued.error
    number = issued.ticket.number
    assert hall.caller.request(wire.Action.OPEN_WINDOW, {"window_id": "w01", "staff_id": "li", "pin": "2468"}).ok
    called = hall.caller.request(wire.Action.CALL_NEXT, {"window_id": "w01"})
    assert called.ok, called.error

    def shown(board_index: int) -> bool:
        view = hall.boards[board_index].view
        return view is not None and view.latest_call is not None and view.latest_call.number == number

    for index in range(len(hall.boards)):
        eventually(lambda index=index: shown(index))  # type: ignore[misc]
    snapshot = wire.decode_as(wire.Snapshot, hall.hub.get("/api/v1/sites/centre/snapshot") or b"")
    seqs = [board.view.seq for board in hall.boards if board.view is not None]
    assert seqs == [snapshot.seq] * 3
    assert snapshot.recent_calls[0].number == number

    store = open_store(hall.hub.db_url)  # the decisions are in PostgreSQL
    try:
        logged = list(store.events("centre"))
    finally:
        store.close()
    assert logged[-1].seq == snapshot.seq
    assert any(isinstance(event, ev.TicketCalled) and event.number == number for event in logged)


def test_a_late_board_on_node_3_starts_from_the_retained_snapshot(hall: ClusterHall) -> None:
    late = hall.hub.link(
        hall.credentials["late-board"], "centre", Kind.BOARD, follow_site=True, port=hall.node_ports[2]
    )
    expected = hall.boards[0].view
    assert expected is not None
    # the retained snapshot may be up to a second behind (decision 0010): the next one brings the board level
    eventually(lambda: late.view is not None and late.view.synced and late.view.seq == expected.seq)
    assert late.view is not None and late.view.calls == expected.calls


def test_the_cluster_enforces_each_devices_permissions(hall: ClusterHall) -> None:
    seq = hall.boards[0].view.seq if hall.boards[0].view else 0
    with pytest.raises(HubUnreachable):  # the kiosk's call-next is dropped by its node, never reaches the hub
        hall.kiosk.request(wire.Action.CALL_NEXT, {"window_id": "w01"}, timeout=0.5, attempts=1)
    assert hall.kiosk.connected.is_set()  # NATS, like Mosquitto, drops the publish and keeps the connection
    assert hall.boards[0].view is not None and hall.boards[0].view.seq == seq


def test_the_last_will_of_a_device_on_node_3_reaches_the_hub_on_node_1(hall: ClusterHall) -> None:
    def statuses(of: str) -> dict[str, bool]:
        """The online flags of the devices of the site of ``of`` (a device of that site asks)."""
        return {device: status["online"] for device, status in hall.hub.statuses(hall.credentials[of]).items()}

    other = hall.credentials["other-kiosk"]
    device = subprocess.Popen(
        [sys.executable, "-c", DEVICE_SCRIPT, str(hall.node_ports[2]), other.device_id, other.password], cwd=REPO
    )
    try:
        eventually(lambda: statuses("other-kiosk").get(other.device_id) is True, timeout=10)
    finally:
        device.kill()  # SIGKILL: node 3 sees the socket close and publishes the retained will
        device.wait()
    eventually(lambda: statuses("other-kiosk").get(other.device_id) is False, timeout=10)


def post(hall: ClusterHall, credentials: Credentials, action: wire.Action, body: dict[str, str]) -> wire.Reply:
    """A device request through the hub's HTTP API (no broker involved)."""
    token = base64.b64encode(f"{credentials.device_id}:{credentials.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{hall.hub.http_port}/api/v1/sites/centre/{action}",
        data=json.dumps({"v": wire.PROTOCOL_VERSION, "id": uuid.uuid4().hex, **body}).encode(),
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return wire.decode_as(wire.Reply, response.read())


def test_events_still_reach_the_boards_when_a_node_dies(hall: ClusterHall) -> None:
    """Last in the module: it kills a node. NATS keeps QoS 1 messages in the stream ``$MQTT_msgs``; when its leader
    is node 2 or 3 that node is the one killed (else node 2), so the other two must elect a new leader while the hub
    publishes. The call is made over HTTP, so only the hub -> boards path is under test here (see the module
    docstring for what a device that publishes during the election may suffer)."""
    nodes = hall.cluster.nodes
    leader = hall.cluster.stream_leader("$MQTT_msgs")
    victim = 2 if leader == nodes[2].name else 1
    survivor = 3 - victim  # the other device node
    assert hall.kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]}).ok
    hall.cluster.kill(nodes[victim])
    reply = post(hall, hall.credentials["caller"], wire.Action.CALL_NEXT, {"window_id": "w01"})
    assert reply.ok, reply.error
    seq = wire.decode_as(wire.Snapshot, hall.hub.get("/api/v1/sites/centre/snapshot") or b"").seq
    views = [hall.boards[0].view, hall.boards[survivor].view]
    for view in views:
        assert view is not None
        eventually(lambda view=view: view.seq >= seq, timeout=20)  # type: ignore[misc]
    first, other = views
    assert first is not None and other is not None and first.calls == other.calls

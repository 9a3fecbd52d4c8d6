"""A private NATS cluster with MQTT listeners, for tests: every node a child process on free loopback ports.

Each node has its own ``server_name``, JetStream store (NATS's MQTT keeps sessions, QoS 1 messages and retained
messages in JetStream streams, replicated across the cluster), a ``cluster {}`` block with routes to the other nodes
and an ``mqtt {}`` listener with ``stream_replicas`` set to the cluster's size. That setting matters: left out,
nats-server 2.9 takes the number of configured routes (``mqttDetermineReplicas``), which is 2 when each node lists
the two others, and an R2 stream has no quorum once one node is gone: QoS 1 publishes then time out for good.

Accounts are NATS users with subject permissions made from ``contract.device_acl``, as docs/broker.md describes;
NATS turns an MQTT topic into a subject by replacing ``/`` with ``.``. The machine's own NATS (port 4222) is never
touched: every port here is a fresh one.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import contract as wire
from hub.broker import free_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
MQTT_DELIVERY = "$MQTT.sub.>"
"""NATS delivers QoS 1 subscriptions through this subject: every MQTT account needs subscribe on it."""


class ClusterError(RuntimeError):
    pass


@dataclass(frozen=True)
class NatsUser:
    name: str
    password: str = field(repr=False)
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]

    def entry(self) -> dict[str, Any]:
        return {
            "user": self.name,
            "password": self.password,
            "allowed_connection_types": ["MQTT"],
            "permissions": {"publish": list(self.publish), "subscribe": list(self.subscribe)},
        }


def subject(topic: str) -> str:
    """The NATS subject of an MQTT topic or filter (contract topics have no dots, so none needs escaping): ``/`` is
    ``.``, ``+`` is ``*``, ``#`` is ``>``."""
    return topic.replace("/", ".").replace("+", "*").replace("#", ">")


def hub_user(name: str, password: str) -> NatsUser:
    """``readwrite hall/#``: MQTT ``hall/#`` is the two subjects ``hall`` and ``hall.>``."""
    return NatsUser(name, password, publish=("hall.>",), subscribe=("hall", "hall.>", MQTT_DELIVERY))


def device_user(site_id: str, device_id: str, kind: wire.DeviceKind, password: str) -> NatsUser:
    """The device's rules from ``contract.device_acl``: write -> publish, read -> subscribe, readwrite -> both."""
    rules = wire.device_acl(site_id, device_id, kind)
    publish = tuple(subject(topic) for access, topic in rules if access in ("write", "readwrite"))
    subscribe = tuple(subject(topic) for access, topic in rules if access in ("read", "readwrite"))
    return NatsUser(device_id, password, publish=publish, subscribe=(*subscribe, MQTT_DELIVERY))


@dataclass
class Node:
    name: str
    directory: Path
    client_port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.directory / "nats.log"

    def monitor(self, path: str) -> dict[str, Any] | None:
        """A monitoring endpoint's JSON (``/routez``, ``/jsz``, ``/healthz``), or None while it does not answer."""
        try:
            url = f"http://127.0.0.1:{self.monitor_port}{path}"
            with urllib.request.urlopen(url, timeout=1) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            return None


class NatsCluster:
    def __init__(self, directory: Path, size: int = 3) -> None:
        self.directory = directory
        self.nodes = [Node(f"hall-{i}", directory / f"hall-{i}") for i in range(1, size + 1)]

    def config(self, node: Node, users: list[NatsUser]) -> str:
        routes = [f"nats-route://127.0.0.1:{other.route_port}" for other in self.nodes if other is not node]
        authorization = json.dumps({"users": [user.entry() for user in users]}, indent=2)
        return f"""\
server_name: {node.name}
listen: 127.0.0.1:{node.client_port}
http: 127.0.0.1:{node.monitor_port}
jetstream {{
  store_dir: "{node.directory / "jetstream"}"
  max_memory_store: 64MB
  max_file_store: 256MB
}}
cluster {{
  name: hall
  listen: 127.0.0.1:{node.route_port}
  routes: {json.dumps(routes)}
}}
mqtt {{
  listen: 127.0.0.1:{node.mqtt_port}
  stream_replicas: {min(len(self.nodes), 3)}
}}
authorization: {authorization}
"""

    def start(self, users: list[NatsUser], timeout: float = 20.0) -> None:
        """Start every node; return once the routes are up, JetStream has a leader and every MQTT port answers."""
        for node in self.nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            path = node.directory / "nats.conf"
            path.touch(mode=0o600)
            path.write_text(self.config(node, users))
            node.process = subprocess.Popen(
                [NATS_SERVER, "-c", str(path), "-l", str(node.log_path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                assert node.process is not None
                if node.process.poll() is not None:
                    raise ClusterError(f"{node.name} exited:\n{self.log_tail(node)}")
            if self.formed():
                return
            time.sleep(0.1)
        raise ClusterError("the cluster did not form:\n" + "\n".join(self.log_tail(node) for node in self.nodes))

    def formed(self) -> bool:
        """Every node routes to every other, all agree on a JetStream meta leader, and every MQTT port accepts."""
        peers = len(self.nodes) - 1
        leaders = set()
        for node in self.nodes:
            routes = node.monitor("/routez")
            jetstream = node.monitor("/jsz")
            health = node.monitor("/healthz")
            if routes is None or jetstream is None or health is None or health.get("status") != "ok":
                return False
            if len({route.get("remote_id") for route in routes.get("routes") or []}) < peers:
                return False
            meta = jetstream.get("meta_cluster") or {}
            if meta.get("cluster_size") != len(self.nodes):
                return False
            leaders.add(meta.get("leader"))
        if len(leaders) != 1 or None in leaders or "" in leaders:
            return False
        return all(_accepts(node.mqtt_port) for node in self.nodes)

    def log_tail(self, node: Node, characters: int = 2000) -> str:
        text = node.log_path.read_text(errors="replace") if node.log_path.exists() else "(no log)"
        return f"--- {node.name} ---\n{text[-characters:]}"

    def stream_leader(self, stream: str) -> str | None:
        """The server name of the node that leads a JetStream stream (e.g. NATS's ``$MQTT_msgs``), if known."""
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            details = node.monitor("/jsz?accounts=true&streams=true") or {}
            for account in details.get("account_details") or []:
                for info in account.get("stream_detail") or []:
                    if info.get("name") == stream and (info.get("cluster") or {}).get("leader"):
                        leader: str = info["cluster"]["leader"]
                        return leader
        return None

    def kill(self, node: Node) -> None:
        """SIGKILL one node: its clients lose their connection, the others must carry on."""
        assert node.process is not None
        node.process.kill()
        node.process.wait(10)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(5)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False

"""A city for tests and benchmarks: three real hub processes sharing a district's sites on a private PostgreSQL
(each hub through a TCP proxy of its own, so one can be cut off), with a kiosk, a caller and a board per site on a
3-node NATS cluster (each on another node than its site's hub) or one RabbitMQ node (``hub.cluster``, decision
0020)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import psycopg

import contract as wire
from bench.city_district import city_district
from devicekit.link import DeviceLink, HubUnreachable
from engine import events as ev
from engine.district import District, Site
from hub.broker_accounts.rabbitmq import RabbitMqAccounts
from hub.cluster import libpq_url
from hub.devices import Credentials, Device, registry_for
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.store import open_store
from tests.support import postgres
from tests.support.hub_process import ExternalBroker, HubProcess
from tests.support.nats_cluster import NatsCluster, device_user, hub_user
from tests.support.rabbitmq import RabbitNode
from tests.support.tcp_proxy import TcpProxy

Kind = wire.DeviceKind
DESKS_PER_HUB = 2
"""Sites of each hub's preferred share that have devices."""

HUBS = ("hub-a", "hub-b", "hub-c")
PIN = "2468"


def eventually(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what or check}")


@dataclass
class Desk:
    """One site's devices and what they were told."""

    site: Site
    matter: str
    window: str
    kiosk: DeviceLink | None = None
    caller: DeviceLink | None = None
    board: DeviceLink | None = None
    issued: list[tuple[float, str]] = field(default_factory=list)
    """(when, ticket id) of every acknowledged ticket."""
    decided: list[float] = field(default_factory=list)
    """When each request was decided (a ticket or the engine's refusal, e.g. the day's limit reached)."""
    unanswered: int = 0


def desk_of(site: Site) -> Desk:
    """The site's first window and a matter it serves."""
    for window in site.windows:
        for code in site.matters:
            if window.serves(code):
                return Desk(site, matter=code, window=window.id)
    raise AssertionError(f"{site.id} serves nothing")


class NatsBrokers:
    """A 3-node NATS cluster with MQTT listeners; its users (hubs' and devices') are in its configuration."""

    def __init__(self, directory: Path) -> None:
        self.cluster = NatsCluster(directory / "nats")
        self.ports = [node.mqtt_port for node in self.cluster.nodes]

    def start(self, hubs: Sequence[str], devices: Sequence[tuple[Device, str]]) -> None:
        users = [hub_user(hub, f"pw-{hub}") for hub in hubs]
        users += [device_user(d.site_id, d.device_id, d.kind, password) for d, password in devices]
        self.cluster.start(users)

    def stop(self) -> None:
        self.cluster.stop()


class RabbitBrokers:
    """One RabbitMQ node with its MQTT plugin (every hub and device on it): the hubs' accounts made by hand, as an
    operator does once; the devices' by the hub's provisioning hook (``hub.broker_accounts``)."""

    def __init__(self, directory: Path) -> None:
        (directory / "rabbitmq").mkdir()
        self.node = RabbitNode(directory / "rabbitmq")
        self.ports = [self.node.mqtt_port] * 3

    def start(self, hubs: Sequence[str], devices: Sequence[tuple[Device, str]]) -> None:
        self.node.start()
        for hub in hubs:
            self.node.ctl("add_user", hub, f"pw-{hub}")
            self.node.ctl("set_permissions", "-p", "/", hub, f"^mqtt-subscription-{hub}", ".*", ".*")
            self.node.ctl("set_topic_permissions", "-p", "/", hub, "amq.topic", r"^hall\.", r"^hall\.")
        accounts = RabbitMqAccounts(self.node.management_url, self.node.admin_user, self.node.admin_password)
        for device, password in devices:
            accounts.add(device, password)

    def stop(self) -> None:
        self.node.stop()


Brokers = NatsBrokers | RabbitBrokers


class City:
    def __init__(
        self,
        directory: Path,
        database: postgres.PrivateCluster,
        brokers: type[Brokers] = NatsBrokers,
        sites: int = 0,
    ) -> None:
        """``sites``: that many sites shaped like the sample's (``bench.city_district``), every tenth a centre; 0:
        the sample district's six. Devices (a kiosk, a caller and a board) stand at two of each hub's preferred
        sites (``desks``); the other sites have none (connecting hundreds of devices would take minutes here)."""
        self.database = database
        with database.server.admin() as admin:
            admin.execute("CREATE DATABASE hall")
        self.url = database.server.url("hall")
        self.district: District = (
            city_district(sites, busy=max(1, sites // 10)) if sites else load_district(SAMPLE_DISTRICT)
        )
        store = open_store(self.url)
        try:
            store.save_district(msgspec.json.encode(self.district), author="tests", reason="the city of the test")
        finally:
            store.close()
        self.brokers = brokers(directory)
        ports = self.brokers.ports
        ids = [site.id for site in self.district.sites]
        self.share = len(ids) // len(HUBS)
        """Sites each hub prefers (and holds once all are up)."""
        self.proxies = {hub: TcpProxy(database.server.host, database.server.port) for hub in HUBS}
        self.hubs: dict[str, HubProcess] = {}
        for index, hub in enumerate(HUBS):
            (directory / hub).mkdir()
            via_proxy = self.url.replace(f":{database.server.port}/", f":{self.proxies[hub].port}/")
            broker = ExternalBroker("127.0.0.1", ports[index], hub, f"pw-{hub}")
            process = HubProcess(directory / hub, db_url=via_proxy, broker=broker, district=None)
            process.env |= {
                "HALL_CLUSTER_HUB_ID": hub,
                "HALL_CLUSTER_PREFER": ",".join(ids[self.share * index : self.share * (index + 1)]),
                "HALL_CLUSTER_GRACE_SECONDS": "2",
                "HALL_SECRETS_PATH": str(directory / "hub-secret"),  # one deployment: the secrets are shared
                "HALL_APPOINTMENTS_KEYS_FILE": str(directory / "appointment-keys.toml"),
            }
            self.hubs[hub] = process
        equipped = [site for index in range(len(HUBS)) for site in ids[self.share * index :][:DESKS_PER_HUB]]
        self.desks = {site.id: desk_of(site) for site in self.district.sites if site.id in equipped}
        first = self.hubs[HUBS[0]]
        self.credentials: dict[tuple[str, Kind], Credentials] = {}
        for site_id, desk in self.desks.items():
            for kind in (Kind.KIOSK, Kind.CALLER, Kind.BOARD):
                window = desk.window if kind is Kind.CALLER else None
                self.credentials[site_id, kind] = first.provision(site_id, kind, window)
            first.add_staff(site_id, f"clerk-{site_id}"[:32], pin=PIN)
        devices = self.registered()
        self.brokers.start(HUBS, [(devices[c.device_id], c.password) for c in self.credentials.values()])
        self.ports = ports

    def start(self) -> None:
        for process in self.hubs.values():
            process.start(timeout=60)
        eventually(lambda: len(self.owners()) == len(self.district.sites), what="every site held")
        for number, (site_id, desk) in enumerate(self.desks.items()):
            owner_index = HUBS.index(self.owners()[site_id])
            port = self.ports[(owner_index + 1 + number % 2) % 3]  # never the node of the site's hub
            link = self.hubs[HUBS[0]].link
            desk.kiosk = link(self.credentials[site_id, Kind.KIOSK], site_id, Kind.KIOSK, port=port)
            desk.caller = link(self.credentials[site_id, Kind.CALLER], site_id, Kind.CALLER, port=port)
            desk.board = link(self.credentials[site_id, Kind.BOARD], site_id, Kind.BOARD, follow_site=True, port=port)

    def owners(self) -> dict[str, str]:
        """Which hub holds each site, as PostgreSQL says (the lock's session is alive and names its hub)."""
        with psycopg.connect(libpq_url(self.url), autocommit=True, connect_timeout=2) as connection:
            rows = connection.execute(
                "SELECT l.site_id, substr(a.application_name, 10) FROM site_locks l"
                " JOIN pg_locks p ON p.locktype = 'advisory' AND p.classid = 1212238924 AND p.objid = l.lock_key"
                " AND p.objsubid = 2 AND p.granted JOIN pg_stat_activity a ON a.pid = p.pid"
            ).fetchall()
        return dict(rows)

    def balanced(self) -> bool:
        """Every hub holds its preferred share of the sites (and every site is held)."""
        owners = self.owners()
        return len(owners) == len(self.district.sites) and Counter(owners.values()) == Counter(
            dict.fromkeys(HUBS, self.share)
        )

    def registered(self) -> dict[str, Device]:
        """The provisioned devices as the hubs' registry has them."""
        store = open_store(self.url)
        try:
            return {device.device_id: device for device in registry_for(store, self.district).all()}
        finally:
            store.close()

    def log(self, site_id: str) -> list[ev.Event]:
        store = open_store(self.url)
        try:
            return list(store.events(site_id))
        finally:
            store.close()

    def stop(self) -> None:
        for process in self.hubs.values():
            process.stop()
        self.brokers.stop()
        for proxy in self.proxies.values():
            proxy.close()


def issue(desk: Desk) -> wire.Reply:
    assert desk.kiosk is not None
    return desk.kiosk.request(wire.Action.ISSUE, {"matters": [desk.matter]}, request_id=uuid.uuid4().hex)


def decides(desk: Desk) -> bool:
    """Whether the site's hub decides now: a ticket (recorded), or the engine's refusal (a daily limit reached)."""
    try:
        reply = issue(desk)
    except HubUnreachable:
        return False
    record(desk, reply)
    return decided(reply)


def decided(reply: wire.Reply) -> bool:
    """A ticket, or the engine's refusal: the hub decided (not a protocol error such as ``unavailable``)."""
    return reply.ok or (reply.error is not None and reply.error.code not in set(wire.ErrorCode))


def open_and_call(desk: Desk) -> wire.Reply:
    assert desk.caller is not None
    staff = {"window_id": desk.window, "staff_id": f"clerk-{desk.site.id}"[:32], "pin": PIN}
    opened = desk.caller.request(wire.Action.OPEN_WINDOW, staff)
    assert opened.ok or (opened.error and opened.error.code == "rejected"), opened.error
    return desk.caller.request(wire.Action.CALL_NEXT, {"window_id": desk.window})


def record(desk: Desk, reply: wire.Reply) -> None:
    now = time.monotonic()
    if decided(reply):
        desk.decided.append(now)
    if reply.ok and reply.ticket is not None:
        desk.issued.append((now, reply.ticket.ticket_id))

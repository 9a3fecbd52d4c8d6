"""A city: three real hub processes sharing the sample district's sites on one PostgreSQL, devices on a 3-node NATS
cluster (``hub.cluster``, docs/deployment.md, decision 0020).

PostgreSQL is a private cluster of this module's own (so that it can be stopped), reached by each hub through a TCP
proxy of its own (so that one hub can be cut off from it). Each hub prefers two of the six sites. Per site a kiosk,
a caller and a board, each on another broker node than its site's hub.

What the tests show, in order (they share the city):
- each site is decided by exactly one hub, and a call at every site reaches its board;
- ``kill -9`` of a hub under load: its sites are taken by the others; every acknowledged ticket is in the log exactly
  once, numbering continues without gap or repeat, the boards of the taken sites converge on the log;

Not here yet (issue #13): PostgreSQL stopped for a moment, and one hub cut off from it (``tests/support/tcp_proxy.py``
and ``postgres.PrivateCluster`` are ready for both); tests/hub/test_cluster_leases.py shows the leases' side of both
against a real server.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

import contract as wire
from devicekit.link import DeviceLink, HubUnreachable
from engine import events as ev
from engine.district import District, Site
from hub.cluster import libpq_url
from hub.devices import Credentials
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.store import open_store
from tests.support import postgres
from tests.support.hub_process import ExternalBroker, HubProcess
from tests.support.nats_cluster import NATS_SERVER, NatsCluster, device_user, hub_user
from tests.support.tcp_proxy import TcpProxy

Kind = wire.DeviceKind
pytestmark = pytest.mark.skipif(not Path(NATS_SERVER).exists(), reason="nats-server is not installed")

HUBS = ("hub-a", "hub-b", "hub-c")
PIN = "2468"
DATABASE_GONE = (
    "lease session failed",
    "did not answer",
    "not stored",
    "could not read the device registry",
    "could not load",
)
"""What a hub logs, in one line each, while it cannot reach PostgreSQL."""


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
    unanswered: int = 0


def first_matter(site: Site) -> tuple[str, str]:
    for window in site.windows:
        for code in site.matters:
            if window.serves(code):
                return window.id, code
    raise AssertionError(f"{site.id} serves nothing")


class City:
    def __init__(self, directory: Path, database: postgres.PrivateCluster) -> None:
        self.database = database
        with database.server.admin() as admin:
            admin.execute("CREATE DATABASE hall")
        self.url = database.server.url("hall")
        self.district: District = load_district(SAMPLE_DISTRICT)
        self.nats = NatsCluster(directory / "nats")
        ports = [node.mqtt_port for node in self.nats.nodes]
        sites = [site.id for site in self.district.sites]
        self.proxies = {hub: TcpProxy(database.server.host, database.server.port) for hub in HUBS}
        self.hubs: dict[str, HubProcess] = {}
        for index, hub in enumerate(HUBS):
            (directory / hub).mkdir()
            via_proxy = self.url.replace(f":{database.server.port}/", f":{self.proxies[hub].port}/")
            process = HubProcess(
                directory / hub, db_url=via_proxy, broker=ExternalBroker("127.0.0.1", ports[index], hub, f"pw-{hub}")
            )
            process.env |= {
                "HALL_CLUSTER_HUB_ID": hub,
                "HALL_CLUSTER_PREFER": ",".join(sites[2 * index : 2 * index + 2]),
                "HALL_CLUSTER_GRACE_SECONDS": "2",
                "HALL_SECRETS_PATH": str(directory / "hub-secret"),  # one deployment: the secrets are shared
                "HALL_APPOINTMENTS_KEYS_FILE": str(directory / "appointment-keys.toml"),
            }
            self.hubs[hub] = process
        self.desks = {site.id: Desk(site, *reversed(first_matter(site))) for site in self.district.sites}
        first = self.hubs[HUBS[0]]
        self.credentials: dict[tuple[str, Kind], Credentials] = {}
        for site_id, desk in self.desks.items():
            for kind in (Kind.KIOSK, Kind.CALLER, Kind.BOARD):
                window = desk.window if kind is Kind.CALLER else None
                self.credentials[site_id, kind] = first.provision(site_id, kind, window)
            first.add_staff(site_id, f"clerk-{site_id}"[:32], pin=PIN)
        users = [hub_user(hub, f"pw-{hub}") for hub in HUBS]
        users += [
            device_user(site_id, credentials.device_id, kind, credentials.password)
            for (site_id, kind), credentials in self.credentials.items()
        ]
        self.nats.start(users)
        self.ports = ports

    def start(self) -> None:
        for process in self.hubs.values():
            process.start(timeout=60)
        eventually(lambda: len(self.owners()) == len(self.desks), what="every site held")
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

    def log(self, site_id: str) -> list[ev.Event]:
        store = open_store(self.url)
        try:
            return list(store.events(site_id))
        finally:
            store.close()

    def stop(self) -> None:
        for process in self.hubs.values():
            process.stop()
        self.nats.stop()
        for proxy in self.proxies.values():
            proxy.close()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    database = postgres.PrivateCluster()
    failure = database.create()
    if failure:
        database.remove()
        pytest.fail(f"no private PostgreSQL: {failure}")
    city = City(tmp_path_factory.mktemp("city"), database)
    try:
        city.start()
        yield city
    finally:
        city.stop()
        database.remove()
    for name, process in city.hubs.items():
        assert process.log_defects() == [], f"{name} logged a defect (see {process.log_path})"


def issue(desk: Desk) -> wire.Reply:
    assert desk.kiosk is not None
    return desk.kiosk.request(wire.Action.ISSUE, {"matters": [desk.matter]}, request_id=uuid.uuid4().hex)


def issues(desk: Desk) -> bool:
    """Whether a ticket can be had now (recorded if so)."""
    try:
        reply = issue(desk)
    except HubUnreachable:
        return False
    record(desk, reply)
    return reply.ok


def open_and_call(desk: Desk) -> wire.Reply:
    assert desk.caller is not None
    staff = {"window_id": desk.window, "staff_id": f"clerk-{desk.site.id}"[:32], "pin": PIN}
    opened = desk.caller.request(wire.Action.OPEN_WINDOW, staff)
    assert opened.ok or (opened.error and opened.error.code == "rejected"), opened.error
    return desk.caller.request(wire.Action.CALL_NEXT, {"window_id": desk.window})


def record(desk: Desk, reply: wire.Reply) -> None:
    if reply.ok and reply.ticket is not None:
        desk.issued.append((time.monotonic(), reply.ticket.ticket_id))


def check_log(city: City, desk: Desk) -> None:
    """Every acknowledged ticket exactly once; numbers without gap or repeat; seqs without gap."""
    log = city.log(desk.site.id)
    assert [event.seq for event in log] == list(range(1, len(log) + 1))
    tickets = [event for event in log if isinstance(event, ev.TicketIssued)]
    counted = Counter(event.ticket_id for event in tickets)
    assert all(counted[ticket] == 1 for _at, ticket in desk.issued), "an acknowledged ticket is missing or twice"
    for prefix in {event.number.rstrip("0123456789") for event in tickets}:
        numbers = [int(e.number[len(prefix) :]) for e in tickets if e.number.rstrip("0123456789") == prefix]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"{desk.site.id}: {numbers}"


def board_converges(city: City, desk: Desk) -> None:
    def level() -> bool:
        log = city.log(desk.site.id)
        calls = [event for event in log if isinstance(event, ev.TicketCalled)]
        view = desk.board.view if desk.board else None
        if view is None or view.seq != log[-1].seq:
            return False
        return not calls or (view.latest_call is not None and view.latest_call.number == calls[-1].number)

    eventually(level, what=f"the board of {desk.site.id} level with the log")


def test_each_site_is_decided_by_one_hub_and_its_calls_reach_its_board(city: City) -> None:
    owners = city.owners()
    assert Counter(owners.values()) == Counter({hub: 2 for hub in HUBS})
    for desk in city.desks.values():
        eventually(lambda desk=desk: issues(desk), what=f"{desk.site.id} open")  # type: ignore[misc]
        called = open_and_call(desk)
        assert called.ok, called.error
        board_converges(city, desk)


def test_a_killed_hubs_sites_are_taken_over_under_load(city: City) -> None:
    victim = "hub-b"
    victims = {site for site, hub in city.owners().items() if hub == victim}
    stop = threading.Event()

    def load(desk: Desk) -> None:
        while not stop.is_set():
            try:
                record(desk, issue(desk))
            except HubUnreachable:
                desk.unanswered += 1
            time.sleep(0.1)

    workers = [threading.Thread(target=load, args=(desk,)) for desk in city.desks.values()]
    for worker in workers:
        worker.start()
    time.sleep(3)
    city.hubs[victim].kill()
    killed_at = time.monotonic()
    eventually(lambda: victims <= set(city.owners()) and victim not in city.owners().values(), what="taken over")
    eventually(
        lambda: all(any(at > killed_at for at, _ in city.desks[site].issued) for site in victims), what="answers"
    )
    time.sleep(2)
    stop.set()
    for worker in workers:
        worker.join()
    takeover = max(min(at for at, _ in city.desks[site].issued if at > killed_at) for site in victims) - killed_at
    print(f"takeover: first acknowledged ticket of a taken site {takeover:.1f} s after kill -9")
    for desk in city.desks.values():
        check_log(city, desk)
        called = open_and_call(desk)
        assert called.ok, called.error
        board_converges(city, desk)
    city.hubs[victim].start(timeout=60)  # back for the next tests; it takes its preferred sites home
    eventually(lambda: Counter(city.owners().values()) == Counter({hub: 2 for hub in HUBS}), what="rebalanced")

"""City scale: one hub deciding for thousands of sites, and as many boards as this machine holds on a NATS cluster.

python -m bench.city_bench sites [--sites 2000] [--busy 200] [--commands 500] [--command-sites 50]
python -m bench.city_bench devices [--sites 40] [--step 500] [--max-boards 5000] [--calls 200]

**sites**: a district of ``--sites`` sites shaped like the sample's (``bench.city_district``: the first ``--busy``
like its centre, the rest like its stations and community rooms) goes into a fresh PostgreSQL database with the day
before's history (``--busy-tickets`` tickets at each busy site, about four events each, ``--small-tickets`` at every
other). Then the real hub process (``hall-hub serve``, its managed Mosquitto) starts on it: time until it answers
``/readyz``, until every site's day is open, its RSS then and its CPU while idle (every 3 s it publishes each site's
info and the district summary). A kiosk and the caller of the first window at each of ``--command-sites`` sites spread
over the district then take turns, one request at a time: the kiosk issues a ticket of a matter the window serves,
the caller calls next; each request's latency is from its publish to its reply.

**devices**: a 3-node NATS cluster with MQTT (``tests/support/nats_cluster.py``, per-device users and permissions from
``contract.device_acl``) and the hub on node 1, PostgreSQL as its store, ``--sites`` sites. Boards following a site
(``bench.sim_devices.Board`` on ``bench.mqtt_lite``, in ``--fleets`` child processes at nice 10) are added
``--step`` at a time, spread over the sites and the three nodes, until a step does not have every board connected
and synced (holding the site's snapshot) within ``--step-timeout`` seconds, or ``--max-boards`` is reached, or the
machine's available memory falls under ``--min-free-mib``. With the boards that held connected, a caller at every
site (on node 2 or 3) calls next ``--calls`` times at ``--rate`` calls a second over the sites in turn; each board
notes when the TicketCalled reached its socket (the kernel's receive timestamp): latency from the caller's publish.

Both print one table; CPU is the share of one core each process used.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import multiprocessing
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import contract as wire
from bench.city_district import city_district, day_of_history, store_history
from bench.hub_bench import Cpu, Report, percentile, rss_mib
from bench.hub_setup import provision, save_district
from bench.sim_devices import Board, Device, Fleet, NoReply, now_ns, serve_parent
from engine import events as ev
from engine.district import District, Site
from hub.staff import staff_for
from hub.store import open_store
from hub.store.base import EventStore
from tests.support.hub_process import ExternalBroker, HubProcess
from tests.support.nats_cluster import NatsCluster, NatsUser, device_user, hub_user
from tests.support.postgres import session_database

CLOCK_START = "2026-11-25T10:00:00+08:00"
STAFF_PIN = "2468"
HUB_PASSWORD = "city-bench-hub-password"
Kind = wire.DeviceKind
CONNECT_AT_ONCE = 8
"""Sites whose kiosk and caller connect together (NATS refuses subscriptions when too many come at once)."""
CONNECT_TRIES = 3
CALL_TIMEOUT = 2.0
"""Seconds a call waits for each of its three attempts' reply while the boards are measured."""
GIVE_UP_AFTER = 5
"""Unanswered calls, with none answered yet, after which the boards' measurement stops."""


# --- what both parts share ------------------------------------------------------------------------------------------


def spread(district: District, count: int) -> list[Site]:
    """``count`` sites evenly spread over the district (busy and small ones alike)."""
    sites = district.sites
    count = min(count, len(sites))
    return [sites[n * len(sites) // count] for n in range(count)]


def desk_of(site: Site) -> tuple[str, str]:
    """The site's first window and a matter it serves that the site enables."""
    window = site.windows[0]
    return window.id, next(code for code in window.weights if code in site.matters)


@dataclass
class Desk:
    """A kiosk and a caller of one site's first window, connected in this process."""

    site: Site
    kiosk: Device
    caller: Device

    @property
    def window(self) -> str:
        return desk_of(self.site)[0]

    @property
    def matter(self) -> str:
        return desk_of(self.site)[1]


class Counters:
    """Provision, connect and open the desks (``Desk``) of some sites; issue and call at them."""

    def __init__(self, sites: list[Site]) -> None:
        self.sites = sites
        self.passwords: dict[str, str] = {}
        self.desks: list[Desk] = []
        self.deaf = 0
        """Connections that heard no reply and were made again (``hearing``)."""

    def provision(self, store: EventStore, district: District) -> list[tuple[str, str, Kind]]:
        """The kiosk and caller of every site in the registry, and a clerk for the window: (site, device, kind)."""
        staff = staff_for(store, district)
        made = []
        for site in self.sites:
            window, _ = desk_of(site)
            for kind, device_id, at in (
                (Kind.KIOSK, f"kiosk-{site.id}", None),
                (Kind.CALLER, f"caller-{site.id}", window),
            ):
                self.passwords[device_id] = provision(
                    store, district, site.id, kind, device_id, at, cheap=True
                ).password
                made.append((site.id, device_id, kind))
            staff.add(site.id, f"staff-{site.id}", "职员", STAFF_PIN)
        return made

    async def hearing(self, site: Site, device_id: str, kind: Kind, port: int) -> Device:
        """A connected device that hears its replies. NATS may refuse a QoS 1 subscription while it is busy creating
        others ("Unable to add JetStream consumer"), and a refused SUBACK leaves a device deaf to its replies
        (docs/deployment.md): a device whose snapshot request goes unanswered connects again (counted in
        ``deaf``), as the fix for devices will do."""
        for _ in range(CONNECT_TRIES):
            device = Device(site.id, device_id, self.passwords[device_id], kind)
            device.start("127.0.0.1", port)
            await asyncio.wait_for(device.ready.wait(), 60)
            with contextlib.suppress(NoReply):
                await device.request(wire.Action.SNAPSHOT, timeout=3, attempts=2)
                return device
            self.deaf += 1
            await device.stop()
        raise RuntimeError(f"{device_id} heard no reply after {CONNECT_TRIES} connections")

    async def connect(self, ports: list[int]) -> None:
        """Connect each site's devices (the n-th site's to ``ports[n % len(ports)]``), a few sites at a time, and
        open its window."""

        async def one(n: int, site: Site) -> Desk:
            port = ports[n % len(ports)]
            kiosk = await self.hearing(site, f"kiosk-{site.id}", Kind.KIOSK, port)
            caller = await self.hearing(site, f"caller-{site.id}", Kind.CALLER, port)
            desk = Desk(site, kiosk, caller)
            self.desks.append(desk)
            staff = {"staff_id": f"staff-{site.id}", "pin": STAFF_PIN}
            reply = await caller.request(wire.Action.OPEN_WINDOW, {"window_id": desk.window, **staff}, timeout=10)
            if not reply.ok:
                raise RuntimeError(f"{site.id}: the window did not open: {reply.error}")
            return desk

        for first in range(0, len(self.sites), CONNECT_AT_ONCE):
            batch = self.sites[first : first + CONNECT_AT_ONCE]
            await asyncio.gather(*(one(first + n, site) for n, site in enumerate(batch)))

    async def issue(self, counter: Desk) -> float:
        """Issue one ticket at the desk's site; the reply's latency in ms."""
        began = time.perf_counter()
        reply = await counter.kiosk.request(wire.Action.ISSUE, {"matters": [counter.matter]}, timeout=10)
        if not reply.ok:
            raise RuntimeError(f"{counter.site.id}: issue refused: {reply.error}")
        return 1000 * (time.perf_counter() - began)

    async def call(self, counter: Desk, timeout: float = 10.0) -> tuple[float, int, int]:
        """Call next at the desk's window: (latency in ms, the call's seq, its publish instant in ns)."""
        began, at = time.perf_counter(), now_ns()
        reply = await counter.caller.request(wire.Action.CALL_NEXT, {"window_id": counter.window}, timeout=timeout)
        seq = next((event.seq for event in reply.events if isinstance(event, ev.TicketCalled)), None)
        if not reply.ok or seq is None:
            raise RuntimeError(f"{counter.site.id}: call-next gave no call: {reply.error}")
        return 1000 * (time.perf_counter() - began), seq, at

    async def stop(self) -> None:
        devices = [device for counter in self.desks for device in (counter.kiosk, counter.caller)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(device.stop() for device in devices)), 10)


def day_open(hub: HubProcess, site_id: str) -> bool:
    body = hub.get(f"/api/v1/sites/{site_id}/snapshot")
    return body is not None and wire.decode_as(wire.Snapshot, body).day_open


async def wait_until(condition: Any, timeout: float, what: str) -> float:
    """Seconds until ``condition()`` holds (polled every 0.1 s); RuntimeError naming ``what`` after ``timeout``."""
    began = time.perf_counter()
    while not condition():
        if time.perf_counter() - began > timeout:
            raise RuntimeError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.1)
    return time.perf_counter() - began


def spread_ms(values: list[float]) -> str:
    return f"median {statistics.median(values):.1f} ms, p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms"


def available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def run_directory(keep: bool) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="hall-city-bench-"))
    try:
        yield directory
    finally:
        if keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


# --- sites ------------------------------------------------------------------------------------------------------------


async def bench_sites(args: argparse.Namespace, directory: Path, report: Report) -> None:
    district = city_district(args.sites, args.busy)
    counters = Counters(spread(district, args.command_sites))
    with session_database("city") as url:
        store = open_store(url)
        try:
            save_district(store, district)
            stored = store_history(
                store, district, day_of_history(district, args.busy, args.busy_tickets, args.small_tickets)
            )
            began = time.perf_counter()
            counters.provision(store, district)
            provisioned = time.perf_counter() - began
        finally:
            store.close()
        report.add(
            f"district: {args.sites:,} sites, {args.busy:,} busy",
            f"{stored.events:,} events",
            note=f"the day before: {stored.commands:,} commands ({args.busy_tickets} tickets at a busy site, "
            f"{args.small_tickets} at a small one) stored in {stored.seconds:.1f} s; {2 * len(counters.sites)} devices "
            f"and {len(counters.sites)} clerks provisioned in {provisioned:.1f} s",
        )
        hub = HubProcess(directory, url, clock_start=CLOCK_START, district=None)
        try:
            ready = hub.start(args.start_timeout)
            last = district.sites[-1].id
            opened = ready + await wait_until(lambda: day_open(hub, last), args.start_timeout, "every day open")
            report.add("hub start until /readyz (load every site)", f"{ready:.1f} s")
            report.add("hub start until every site's day is open", f"{opened:.1f} s", note=f"{last} checked, the last")
            await asyncio.sleep(2)
            report.add("hub RSS after start", f"{rss_mib(hub.pid):.0f} MiB")
            with Cpu({"hub": hub.pid, "broker": hub.broker_pid()}) as cpu:
                await asyncio.sleep(args.idle_seconds)
            report.add(f"hub CPU idle, {args.idle_seconds:g} s", cpu.text(), note="site info and summary every 3 s")
            await counters.connect([hub.broker_port])
            issues, calls = [], []
            with Cpu({"hub": hub.pid, "broker": hub.broker_pid(), "bench": os.getpid()}) as cpu:
                for n in range(args.commands):
                    counter = counters.desks[n % len(counters.desks)]
                    issues.append(await counters.issue(counter))
                    calls.append((await counters.call(counter))[0])
            report.add(f"issue over MQTT, {len(issues)} at {len(counters.desks)} sites", spread_ms(issues))
            report.add(
                f"call-next over MQTT, {len(calls)} at {len(counters.desks)} sites",
                spread_ms(calls),
                note=f"{len(calls)} of {args.commands} calls answered with a call; CPU {cpu.text()}",
            )
            report.add("hub RSS after the commands", f"{rss_mib(hub.pid):.0f} MiB")
        finally:
            await counters.stop()
            hub.stop()
        defects = hub.log_defects()
        report.add("hub log: defects", str(len(defects)), "0", not defects, "; ".join(defects[:3]))


# --- devices ----------------------------------------------------------------------------------------------------------


class CityFleet(Fleet):
    """Boards of many sites and broker nodes in one child process, added by the parent while it runs."""

    def __init__(self, qos: int) -> None:
        super().__init__("127.0.0.1", 0, "", [], qos)
        self.qos = qos
        self.starting: set[asyncio.Task[None]] = set()

    def command(self, name: str, *args: Any) -> Any:
        if name == "add":
            (entries,) = args
            boards = [Board(site, device_id, password, self.qos) for site, device_id, password, _ in entries]
            self.boards += boards
            task = asyncio.get_running_loop().create_task(self._start(boards, [port for *_, port in entries]))
            self.starting.add(task)
            task.add_done_callback(self.starting.discard)
            return len(self.boards)
        if name == "shed":  # boards not connected stop trying: their reconnects keep a saturated cluster busy
            kept = [n for n, board in enumerate(self.boards) if board.client.connected]
            shed = [board for board in self.boards if not board.client.connected]
            self.boards = [self.boards[n] for n in kept]
            task = asyncio.get_running_loop().create_task(self._stop(shed))
            self.starting.add(task)
            task.add_done_callback(self.starting.discard)
            return kept
        return super().command(name, *args)

    @staticmethod
    async def _stop(boards: list[Board]) -> None:
        await asyncio.gather(*(board.stop() for board in boards))

    @staticmethod
    async def _start(boards: list[Board], ports: list[int]) -> None:
        for n, (board, port) in enumerate(zip(boards, ports, strict=True)):
            board.start("127.0.0.1", port)
            if n % 50 == 49:
                await asyncio.sleep(0.05)


def city_fleet_main(pipe: Connection, qos: int) -> None:
    """A child process's life, as ``bench.sim_devices.fleet_main``'s (nice 10), with boards added on ``add``."""
    os.nice(10)

    async def run() -> None:
        fleet = CityFleet(qos)
        await serve_parent(fleet, pipe)

    asyncio.run(run())


class Fleets:
    """The child processes of boards and which site each of their boards follows."""

    def __init__(self, count: int, qos: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.processes: list[tuple[Any, Connection]] = []
        self.sites: list[list[str]] = [[] for _ in range(count)]
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=city_fleet_main, args=(child, qos), daemon=True)
            process.start()
            self.processes.append((process, parent))

    @property
    def pids(self) -> dict[str, int]:
        return {f"boards{k + 1}": process.pid for k, (process, _) in enumerate(self.processes)}

    def ask(self, *command: Any) -> list[Any]:
        for _, pipe in self.processes:
            pipe.send(command)
        return [pipe.recv() for _, pipe in self.processes]

    def add(self, boards: list[tuple[str, str, str, int]]) -> None:
        """(site, device id, password, port) of new boards, dealt over the processes."""
        for k, (_, pipe) in enumerate(self.processes):
            share = boards[k :: len(self.processes)]
            self.sites[k] += [site for site, *_ in share]
            pipe.send(("add", share))
        for _, pipe in self.processes:
            pipe.recv()

    def shed(self) -> int:
        """Stop the boards not connected; how many were."""
        before = sum(map(len, self.sites))
        for k, kept in enumerate(self.ask("shed")):
            self.sites[k] = [self.sites[k][n] for n in kept]
        return before - sum(map(len, self.sites))

    def status(self) -> tuple[int, int]:
        """(connected, synced) over every board."""
        found = self.ask("status")
        return sum(s["connected"] for s in found), sum(s["synced"] for s in found)

    def receipts(self) -> Iterator[tuple[str, int, int]]:
        """(site, seq, received ns) of every TicketCalled every board noted."""
        for sites, boards in zip(self.sites, self.ask("called"), strict=True):
            for site, called in zip(sites, boards, strict=True):
                for seq, at in called:
                    yield site, seq, at

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("stop")
        for process, _ in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()


_COMPLAINT = re.compile(r"\[(ERR|WRN)\] (.*)")
_VARYING = re.compile(r"[0-9a-f]{8,}|\d+")
"""What differs between two lines of the same complaint in a NATS log: ids, ports, counts."""


def cluster_complaints(cluster: NatsCluster) -> tuple[int, str]:
    """How many error and warning lines the nodes logged, and the commonest few (timestamps and ids cut off)."""
    found: collections.Counter[str] = collections.Counter()
    for node in cluster.nodes:
        if node.log_path.exists():
            for line in node.log_path.read_text(errors="replace").splitlines():
                complaint = _COMPLAINT.search(line)
                if complaint is not None:
                    found[f"{complaint[1]} {_VARYING.sub('#', complaint[2])[:160]}"] += 1
    return sum(found.values()), "; ".join(f"{count}x {text}" for text, count in found.most_common(3))


def board_id(n: int) -> str:
    return f"board-{n}"


def nodes_rss(cluster: NatsCluster) -> str:
    return " / ".join(f"{rss_mib(node.process.pid):.0f}" for node in cluster.nodes if node.process is not None)


async def ramp(
    args: argparse.Namespace,
    fleets: Fleets,
    boards: list[tuple[str, str, str, int]],
    *,
    pids: dict[str, int],
    report: Report,
    cluster: NatsCluster,
) -> int:
    """Add boards a step at a time while each step connects and syncs in time; how many held."""
    held = 0
    while held < len(boards):
        step = boards[held : held + args.step]
        total = held + len(step)
        fleets.add(step)
        began = time.perf_counter()
        connected = synced = 0
        with Cpu(pids) as cpu:
            while time.perf_counter() - began < args.step_timeout:
                connected, synced = fleets.status()
                if connected == synced == total:
                    break
                await asyncio.sleep(0.25)
        seconds = time.perf_counter() - began
        free = available_mib()
        ok = connected == synced == total
        report.add(
            f"boards {held + 1:,}-{total:,} connected and synced",
            f"{seconds:.1f} s" if ok else f"{connected:,} / {synced:,} of {total:,}",
            f"<= {args.step_timeout:g} s",
            ok,
            f"NATS nodes RSS {nodes_rss(cluster)} MiB; memory available {free:,.0f} MiB; CPU {cpu.text()}",
        )
        if not ok:
            return connected if connected == synced else min(connected, synced)
        held = total
        if free < args.min_free_mib:
            report.add("ramp stopped", f"{free:,.0f} MiB free", f">= {args.min_free_mib:,} MiB", False)
            break
    return held


def provision_devices(
    url: str, district: District, counters: Counters, count: int, ports: list[int]
) -> tuple[list[NatsUser], list[tuple[str, str, str, int]]]:
    """The district, the desks and ``count`` boards (spread over the sites and ``ports``) in the hub's database;
    a NATS user for the hub and each device, and each board's (site, device id, password, port)."""
    users = [hub_user("hub", HUB_PASSWORD)]
    boards = []
    store = open_store(url)
    try:
        save_district(store, district)
        for site, device_id, kind in counters.provision(store, district):
            users.append(device_user(site, device_id, kind, counters.passwords[device_id]))
        for n in range(count):
            site = district.sites[n % len(district.sites)].id
            password = provision(store, district, site, Kind.BOARD, board_id(n), cheap=True).password
            users.append(device_user(site, board_id(n), Kind.BOARD, password))
            boards.append((site, board_id(n), password, ports[n % len(ports)]))
    finally:
        store.close()
    return users, boards


async def bench_devices(args: argparse.Namespace, directory: Path, report: Report) -> None:
    district = city_district(args.sites, busy=max(1, args.sites // 10))
    counters = Counters(list(district.sites))
    cluster = NatsCluster(directory / "nats")
    ports = [node.mqtt_port for node in cluster.nodes]
    with session_database("city_devices") as url:
        began = time.perf_counter()
        users, boards = provision_devices(url, district, counters, args.max_boards, ports)
        provisioned = time.perf_counter() - began
        (directory / "hub").mkdir()
        hub = HubProcess(
            directory / "hub", url, clock_start=CLOCK_START, district=None,
            broker=ExternalBroker("127.0.0.1", ports[0], "hub", HUB_PASSWORD),
        )  # fmt: skip
        fleets: Fleets | None = None
        try:
            began = time.perf_counter()
            cluster.start(users, timeout=120)
            formed = time.perf_counter() - began
            report.add(
                "NATS cluster formed", f"{formed:.1f} s",
                note=f"3 nodes, {len(users):,} users (one per device, with its permissions); {len(users) - 1:,} "
                f"devices provisioned in the hub's database in {provisioned:.1f} s",
            )  # fmt: skip
            started = hub.start(args.start_timeout)
            await wait_until(lambda: day_open(hub, district.sites[-1].id), args.start_timeout, "every day open")
            report.add(f"hub start on node 1, {args.sites} sites", f"{started:.1f} s")
            began = time.perf_counter()
            await counters.connect(ports[1:])  # callers and kiosks on nodes 2 and 3
            report.add(
                "kiosks and callers on nodes 2 and 3 hearing replies", f"{time.perf_counter() - began:.1f} s",
                note=f"{2 * len(counters.desks)} devices, {CONNECT_AT_ONCE} sites at a time; {counters.deaf} "
                "connections heard no reply (a QoS 1 subscription refused) and were made again",
            )  # fmt: skip
            for _ in range(-(-args.calls // len(counters.desks)) + 1):  # enough tickets waiting at every site
                for counter in counters.desks:
                    await counters.issue(counter)
            fleets = Fleets(args.fleets, args.board_qos)
            pids = {"hub": hub.pid, **{n.name: n.process.pid for n in cluster.nodes if n.process}, **fleets.pids}
            held = await ramp(args, fleets, boards, pids=pids, report=report, cluster=cluster)
            shed = fleets.shed()
            await asyncio.sleep(args.calm if shed else 0)
            report.add(
                "boards held", f"{held:,}",
                note=f"of {len(boards):,} tried; hub RSS {rss_mib(hub.pid):.0f} MiB; {shed:,} boards that had not "
                f"connected stopped, then {args.calm if shed else 0:g} s for the cluster to calm down",
            )  # fmt: skip
            await calls_to_boards(args, counters, fleets, pids, report)
        finally:
            await counters.stop()
            if fleets is not None:
                fleets.stop()
            hub.stop()
            cluster.stop()
            complaints, commonest = cluster_complaints(cluster)
            report.add("NATS logs: errors and warnings", f"{complaints:,}", note=commonest)
        defects = hub.log_defects()
        report.add("hub log: defects", str(len(defects)), "0", not defects, "; ".join(defects[:3]))


async def calls_to_boards(
    args: argparse.Namespace, counters: Counters, fleets: Fleets, pids: dict[str, int], report: Report
) -> None:
    """Calls at the sites in turn, at ``--rate``; each board's receipt of each call of its site, against the call's
    publish instant."""
    connected, _ = fleets.status()
    following = {site: 0 for site in (counter.site.id for counter in counters.desks)}
    for sites in fleets.sites:
        for site in sites:
            following[site] += 1
    fleets.ask("clear")
    published: dict[tuple[str, int], int] = {}
    replies: list[float] = []
    unanswered = 0
    with Cpu(pids) as cpu:
        start = time.monotonic()
        for n in range(args.calls):
            await asyncio.sleep(max(0.0, start + n / args.rate - time.monotonic()))
            counter = counters.desks[n % len(counters.desks)]
            try:
                latency, seq, at = await counters.call(counter, timeout=CALL_TIMEOUT)
            except NoReply:
                unanswered += 1
                if unanswered >= GIVE_UP_AFTER and not replies:
                    break  # a cluster that answers nothing: not worth minutes of timeouts
                continue
            replies.append(latency)
            published[(counter.site.id, seq)] = at
        await asyncio.sleep(args.settle)
    latencies = [(at - published[(site, seq)]) / 1e6 for site, seq, at in fleets.receipts() if (site, seq) in published]
    expected = sum(following[site] for site, _ in published)
    report.add(
        f"call -> board, {connected:,} boards connected",
        spread_ms(latencies) if latencies else "no receipt",
        note=f"{len(latencies):,} of {expected:,} receipts ({len(published)} calls at {args.rate:g}/s over "
        f"{len(counters.desks)} sites, {unanswered} unanswered); caller's reply "
        f"{spread_ms(replies) if replies else '-'}; CPU {cpu.text()}",
    )


# --- command line -----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parts = parser.add_subparsers(dest="part", required=True)
    sites = parts.add_parser("sites", help="one hub with thousands of sites on PostgreSQL")
    sites.add_argument("--sites", type=int, default=2000)
    sites.add_argument("--busy", type=int, default=200, help="sites shaped like the centre, with a busy day before")
    sites.add_argument("--busy-tickets", type=int, default=500, help="tickets the day before at a busy site")
    sites.add_argument("--small-tickets", type=int, default=10, help="tickets the day before at any other site")
    sites.add_argument("--commands", type=int, default=500, help="issue + call-next pairs measured")
    sites.add_argument("--command-sites", type=int, default=50, help="sites the commands are spread over")
    sites.add_argument("--idle-seconds", type=float, default=9.0, help="how long the idle hub's CPU is measured")
    devices = parts.add_parser("devices", help="boards on a 3-node NATS cluster until this machine holds no more")
    devices.add_argument("--sites", type=int, default=40)
    devices.add_argument("--step", type=int, default=500, help="boards added at a time")
    devices.add_argument("--max-boards", type=int, default=5000)
    devices.add_argument("--step-timeout", type=float, default=60.0, help="seconds a step may take to connect")
    devices.add_argument("--min-free-mib", type=int, default=1024, help="stop adding below this available memory")
    devices.add_argument("--fleets", type=int, default=2, help="child processes of boards")
    devices.add_argument("--board-qos", type=int, default=0, choices=(0, 1), help="QoS of the boards' site feed")
    devices.add_argument("--calls", type=int, default=200)
    devices.add_argument("--rate", type=float, default=10.0, help="calls a second")
    devices.add_argument("--calm", type=float, default=20.0, help="seconds after boards were stopped, before calls")
    devices.add_argument("--settle", type=float, default=2.0, help="seconds the boards get after the last call")
    for part in (sites, devices):
        part.add_argument("--start-timeout", type=float, default=300.0, help="seconds the hub may take to start")
        part.add_argument("--keep", action="store_true", help="keep the run's folder (logs, NATS stores)")
    args = parser.parse_args()
    report = Report()
    bench = bench_sites if args.part == "sites" else bench_devices
    failed = False
    with run_directory(args.keep) as directory:
        try:
            asyncio.run(bench(args, directory, report))
        except (RuntimeError, NoReply) as error:  # a part that could not finish says why, under the figures it measured
            report.add("stopped", "error", note=str(error)[:2000])
            failed = True
    report.print(" ".join(["python -m bench.city_bench", *sys.argv[1:]]))
    if failed or any(row.met is False and row.figure.startswith("hub log") for row in report.rows):
        sys.exit(1)


if __name__ == "__main__":
    main()

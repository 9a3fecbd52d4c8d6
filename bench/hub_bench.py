"""The whole hub under load: the real hub process, its managed Mosquitto, SQLite, and simulated devices.

python -m bench.hub_bench [--history 200000] [--clients 16] [--devices 500] [--seconds 10]

Before the hub starts, a bench district (``bench.hub_setup``: nine sites like the sample centre, 24 matters of
their own prefix each) is written into a fresh SQLite database with ``--history`` tickets of earlier days and every
device the run uses. Then the hub runs as a child process (``hall-hub serve``, clock at 10:00 on a Wednesday, a
managed Mosquitto), opens the day at every site, every window is opened, and:

1. **MQTT**: ``--clients`` kiosks at sites s01-s04 each issue a ticket and wait for the reply, then the next;
2. **HTTP**: ``--clients`` clients POST ``/api/v1/sites/{site}/issue`` (HTTP Basic) at sites s05-s08 alike;
3. **two windows**: at s09, four kiosks issue while the callers of windows 1 and 2 press call-next as fast as
   the hub answers; no number may be given twice and no ticket called twice;
4. **boards**: ``--devices`` boards of s09 (two child processes at nice 10) follow the site; a caller calls 20
   times a second and each board notes when each TicketCalled reached its socket (the kernel's receive timestamp):
   latency from the caller's publish, plus the hub's own arrival-to-reply time from its /metrics;
5. **broker restart**: the managed Mosquitto is killed (SIGKILL), a window calls over HTTP meanwhile, the hub's
   watchdog restarts the broker and every board must reconnect and catch up with the site (retained snapshot, the
   event, or its own snapshot request): time from the kill until each board's view reaches the new sequence.

Each phase's throughput counts only replies, and a reply comes after the command's transaction committed. After
the hub stopped, the database is read back: every acknowledged ticket is in the log, no number twice a day, no
ticket called twice. Figures are printed as one table; CPU is the share of one core each process used, "other
processes" is whatever else ran on the machine meanwhile (a shared machine: ``--quiet-wait`` waits for it to calm
down before each phase), "kernel interrupts" mostly the loopback TCP of the run itself.

``--proposed CHANGE ...`` runs the hub with changes not (yet) in it, patched in by ``bench/proposed_hub.py``;
``--profile-hub DIR`` records the hub with py-spy during each phase (``pip install py-spy``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

import contract as wire
from bench.hub_setup import MATTERS, WINDOWS, bench_district, preload, provision, save_district, site_id
from bench.sim_devices import Board, Device, fleet_main, now_ns
from engine import events as ev
from hub.staff import staff_for
from hub.store import open_store
from tests.support.hub_process import HubProcess

REPO = Path(__file__).resolve().parents[1]
CLOCK_START = "2026-11-25T10:00:00+08:00"
STAFF_PIN = "2468"
SITES = 9
MQTT_SITES = [site_id(n) for n in (1, 2, 3, 4)]
HTTP_SITES = [site_id(n) for n in (5, 6, 7, 8)]
HALL = site_id(9)
"""The site of the two-window, board and broker-restart phases."""
HALL_KIOSKS = 4
FLEETS = 2
CALL_RATE = 20.0
"""Calls a second in the board latency phase."""
Kind = wire.DeviceKind
PHASES = ["mqtt", "http", "windows", "boards", "restart"]
BENCH_DEVICE_RATE = "100000/second"
"""Each simulated kiosk sends ~100 requests a second, far over a real device's limit (hub/config.py): the limiter
still counts every request, and refuses none."""


# --- the hub process -------------------------------------------------------------------------------------------------


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _machine_ticks(interrupts: bool = False) -> int:
    """Busy jiffies of all cores in processes (user, nice, system, steal), or in interrupts (irq, softirq: where the
    kernel does loopback TCP)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return irq + softirq if interrupts else user + nice + system + steal


async def _others_share(pids: set[int], seconds: float) -> float:
    """Cores' worth of CPU that processes other than ``pids`` used over ``seconds``."""
    hz = os.sysconf("SC_CLK_TCK")
    machine, mine = _machine_ticks(), sum(_cpu_ticks(pid) for pid in pids)
    await asyncio.sleep(seconds)
    ours = sum(_cpu_ticks(pid) for pid in pids) - mine
    return max(0.0, (_machine_ticks() - machine - ours) / hz / seconds)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Cpu:
    """Share of one core used by each process between ``start`` and ``stop``."""

    def __init__(self, pids: dict[str, int], profiler: subprocess.Popen[bytes] | None = None) -> None:
        self.pids = pids
        self.profiler = profiler
        self.began = 0.0
        self.ticks: dict[str, int] = {}
        self.machine = self.interrupts = 0
        self.shares: dict[str, float] = {}

    def __enter__(self) -> Cpu:
        self.began = time.monotonic()
        self.ticks = {name: _cpu_ticks(pid) for name, pid in self.pids.items()}
        self.machine = _machine_ticks()
        self.interrupts = _machine_ticks(interrupts=True)
        return self

    def __exit__(self, *_: object) -> None:
        elapsed = time.monotonic() - self.began
        hz = os.sysconf("SC_CLK_TCK")
        self.shares = {name: (_cpu_ticks(pid) - self.ticks[name]) / hz / elapsed for name, pid in self.pids.items()}
        machine = (_machine_ticks() - self.machine) / hz / elapsed
        self.shares["other processes"] = max(0.0, machine - sum(self.shares.values()))
        self.shares["kernel interrupts"] = (_machine_ticks(interrupts=True) - self.interrupts) / hz / elapsed
        if self.profiler is not None:
            self.profiler.wait()

    def text(self) -> str:
        return ", ".join(f"{name} {100 * share:.0f}%" for name, share in self.shares.items())


# --- figures ---------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    value: str
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, figure: str, value: str, target: str = "", met: bool | None = None, note: str = "") -> None:
        self.rows.append(Row(figure, value, target, met, note))
        print(f"  {figure}: {value} {target} {'' if met is None else ('MET' if met else 'MISSED')} {note}", flush=True)

    def print(self, command: str) -> None:
        print()
        print(f"$ {command}")
        widths = [max(len(getattr(row, name)) for row in self.rows) for name in ("figure", "value", "target")]
        head = f"{'figure':<{widths[0]}}  {'value':>{widths[1]}}  {'target':<{widths[2]}}  met  note"
        print(head)
        print("-" * len(head))
        for row in self.rows:
            met = "" if row.met is None else ("yes" if row.met else "NO")
            print(
                f"{row.figure:<{widths[0]}}  {row.value:>{widths[1]}}  {row.target:<{widths[2]}}  {met:<3}  {row.note}"
            )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# --- load ------------------------------------------------------------------------------------------------------------


@dataclass
class Load:
    """Replies of one throughput phase."""

    latencies: list[float] = field(default_factory=list)
    done_at: list[float] = field(default_factory=list)
    tickets: list[tuple[str, str, str]] = field(default_factory=list)
    """(site, ticket id, number) of every acknowledged ticket."""
    refused: Counter[str] = field(default_factory=Counter)

    def take(self, site: str, reply: wire.Reply, began: float) -> None:
        ended = time.monotonic()
        self.latencies.append(ended - began)
        self.done_at.append(ended)
        if reply.ok and reply.ticket is not None:
            self.tickets.append((site, reply.ticket.ticket_id, reply.ticket.number))
        else:
            self.refused[reply.error.code if reply.error else "?"] += 1

    def rate(self, start: float, seconds: float) -> float:
        return sum(start <= at < start + seconds for at in self.done_at) / seconds

    def tail(self) -> str:
        """The slowest replies and the longest time with no reply at all (a stall of every request: the writer
        busy with something else)."""
        ms = [1000 * latency for latency in self.latencies]
        done = sorted(self.done_at)
        gap = max((later - earlier for earlier, later in itertools.pairwise(done)), default=0.0)
        return (
            f"p99.9 {percentile(ms, 0.999):.1f} ms, max {max(ms, default=float('nan')):.1f} ms, longest gap between "
            f"replies {1000 * gap:.1f} ms"
        )


async def run_clients(count: int, seconds: float, warmup: float, one: Callable[[int], Awaitable[None]]) -> float:
    """``count`` clients each running ``one(client)`` in a loop for warmup + seconds; the measured window's start."""
    stop_at = time.monotonic() + warmup + seconds

    async def client(n: int) -> None:
        while time.monotonic() < stop_at:
            await one(n)

    start = time.monotonic() + warmup
    await asyncio.gather(*(client(n) for n in range(count)))
    return start


# --- the run ---------------------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, directory: Path) -> None:
        self.args = args
        self.directory = directory
        self.db_url = f"sqlite:///{directory}/hall.db"
        self.report = Report()
        self.district = bench_district(SITES)
        self.credentials: dict[str, str] = {}
        self.hub = HubProcess(directory, self.db_url, clock_start=CLOCK_START, district=None)
        self.hub.env["HALL_REQUESTS_DEVICE_RATE"] = BENCH_DEVICE_RATE
        self.preload_seq: dict[str, int] = {}
        self.acknowledged: list[tuple[str, str, str]] = []
        self.devices: dict[str, Device] = {}
        self.fleet_pids: dict[str, int] = {}
        self.probe: Board

    # -- before the hub --------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        args = self.args
        store = open_store(self.db_url)
        try:
            save_district(store, self.district)
            loaded = preload(store, self.district, args.history)
            self.preload_seq = {site.id: store.last_seq(site.id) for site in self.district.sites}
            began = time.perf_counter()
            for n in range(args.clients):
                self._provision(store, MQTT_SITES[n % len(MQTT_SITES)], Kind.KIOSK, f"kiosk-m{n}", cheap=True)
                self._provision(store, HTTP_SITES[n % len(HTTP_SITES)], Kind.KIOSK, f"kiosk-h{n}")
            for n in range(HALL_KIOSKS):
                self._provision(store, HALL, Kind.KIOSK, f"kiosk-{HALL}-{n}", cheap=True)
            staff = staff_for(store, self.district)
            for site in self.district.sites:
                for w in range(1, WINDOWS + 1):
                    window = f"w{w:02d}"
                    self._provision(store, site.id, Kind.CALLER, f"caller-{site.id}-{window}", window, cheap=True)
                    staff.add(site.id, f"staff-{site.id}-{window}", f"职员{window}", STAFF_PIN)
            for n in range(args.devices):
                self._provision(store, HALL, Kind.BOARD, f"board-{n}", cheap=True)
            self._provision(store, HALL, Kind.BOARD, "board-probe", cheap=True)
            provisioned = time.perf_counter() - began
        finally:
            store.close()
        size = sum(path.stat().st_size for path in self.directory.glob("hall.db*")) / 2**20
        self.report.add(
            "history preloaded",
            f"{loaded.tickets:,} tickets",
            note=f"{loaded.events:,} events, {loaded.commands:,} commands, {size:.0f} MiB SQLite, "
            f"{loaded.seconds:.1f} s (+{provisioned:.1f} s provisioning {len(self.credentials)} devices)",
        )

    def _provision(
        self, store: Any, site: str, kind: Kind, device_id: str, window: str | None = None, *, cheap: bool = False
    ) -> None:
        credentials = provision(store, self.district, site, kind, device_id, window, cheap=cheap)
        self.credentials[device_id] = credentials.password

    # -- devices in this process -----------------------------------------------------------------------------------

    async def connect(self, site: str, device_id: str, kind: Kind) -> Device:
        device = Device(site, device_id, self.credentials[device_id], kind)
        device.start("127.0.0.1", self.hub.broker_port)
        await asyncio.wait_for(device.ready.wait(), 20)
        self.devices[device_id] = device
        return device

    async def open_windows(self) -> None:
        callers = []
        for site in self.district.sites:
            for w in range(1, WINDOWS + 1):
                callers.append(self.connect(site.id, f"caller-{site.id}-w{w:02d}", Kind.CALLER))
        for caller in await asyncio.gather(*callers):
            window = caller.device_id.rpartition("-")[2]
            staff = {"staff_id": f"staff-{caller.site_id}-{window}", "pin": STAFF_PIN}
            reply = await caller.request(wire.Action.OPEN_WINDOW, {"window_id": window, **staff})
            assert reply.ok, reply.error

    def _probes(self) -> list[Board]:
        return [self.probe] if hasattr(self, "probe") else []

    # -- 1. MQTT -----------------------------------------------------------------------------------------------------

    async def mqtt_throughput(self) -> None:
        args = self.args
        kiosks = await asyncio.gather(
            *(self.connect(MQTT_SITES[n % len(MQTT_SITES)], f"kiosk-m{n}", Kind.KIOSK) for n in range(args.clients))
        )
        load = Load()
        turns = [n for n in range(args.clients)]

        async def issue(n: int) -> None:
            kiosk = kiosks[n]
            turns[n] += 1
            began = time.monotonic()
            reply = await kiosk.request(wire.Action.ISSUE, {"matters": [MATTERS[turns[n] % len(MATTERS)]]})
            load.take(kiosk.site_id, reply, began)

        await self.quiet()
        with self.cpu("mqtt") as cpu:
            start = await run_clients(args.clients, args.seconds, 1.0, issue)
        self._throughput("MQTT", load, start, 1000, cpu, sum(k.retries for k in kiosks))

    async def quiet(self) -> None:
        """This machine may be shared: wait (up to --quiet-wait seconds) until other processes leave the cores alone
        (under 10 % of a core for a second)."""
        pids = {self.hub.pid, self.hub.broker_pid(), os.getpid(), *self.fleet_pids.values()}
        deadline = time.monotonic() + self.args.quiet_wait
        while time.monotonic() < deadline:
            others = await _others_share(pids, 1.0)
            if others < 0.1:
                return
            print(f"  (other processes use {100 * others:.0f}% of a core: waiting)", flush=True)

    def _throughput(  # noqa: PLR0917
        self, name: str, load: Load, start: float, target: float, cpu: Cpu, retries: int = 0
    ) -> None:
        args = self.args
        self.acknowledged += load.tickets
        rate = load.rate(start, args.seconds)
        ms = [1000 * latency for latency in load.latencies]
        refused = ", ".join(f"{code} {count}" for code, count in load.refused.items()) or "none"
        self.report.add(
            f"{name}: durable tickets/s, {args.clients} clients",
            f"{rate:,.0f}/s",
            f">= {target:,}/s",
            rate >= target,
            f"reply median {statistics.median(ms):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, {load.tail()}; "
            f"{len(load.tickets):,} tickets; refused: {refused}; retries {retries}; CPU {cpu.text()}",
        )

    def cpu(self, phase: str = "") -> Cpu:
        """CPU shares of a phase (and, with --profile-hub, a py-spy recording of the hub meanwhile)."""
        pids = {"hub": self.hub.pid, "broker": self.hub.broker_pid(), "bench": os.getpid(), **self.fleet_pids}
        if not (self.args.profile_hub and phase):
            return Cpu(pids)
        folder = Path(self.args.profile_hub)
        folder.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        record = [str(spy), "record", "--pid", str(self.hub.pid), "--threads", "--rate", "200", "--format", "raw"]
        record += ["--gil"] if self.args.profile_gil else []
        record += ["--duration", str(int(self.args.seconds + 1)), "-o", str(folder / f"{phase}.txt")]
        return Cpu(pids, subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    # -- 2. HTTP -----------------------------------------------------------------------------------------------------

    async def http_throughput(self) -> None:
        args = self.args
        base = f"http://127.0.0.1:{self.hub.http_port}"
        load = Load()
        headers = []
        for n in range(args.clients):
            token = base64.b64encode(f"kiosk-h{n}:{self.credentials[f'kiosk-h{n}']}".encode()).decode()
            headers.append({"Authorization": f"Basic {token}", "Content-Type": "application/json"})
        turns = [n for n in range(args.clients)]
        connector = aiohttp.TCPConnector(limit=args.clients)
        async with aiohttp.ClientSession(base, connector=connector) as session:

            async def post(n: int, body: dict[str, Any]) -> wire.Reply:
                site = HTTP_SITES[n % len(HTTP_SITES)]
                payload = msgspec.json.encode({"v": 1, "id": os.urandom(12).hex(), **body})
                async with session.post(f"/api/v1/sites/{site}/issue", data=payload, headers=headers[n]) as response:
                    return wire.decode_as(wire.Reply, await response.read())

            for n in range(args.clients):  # the hub verifies each device's password once (argon2), then caches it
                await post(n, {"matters": [MATTERS[0]]})

            async def issue(n: int) -> None:
                turns[n] += 1
                began = time.monotonic()
                reply = await post(n, {"matters": [MATTERS[turns[n] % len(MATTERS)]]})
                load.take(HTTP_SITES[n % len(HTTP_SITES)], reply, began)

            await self.quiet()
            with self.cpu("http") as cpu:
                start = await run_clients(args.clients, args.seconds, 1.0, issue)
        self._throughput("HTTP", load, start, 1400, cpu)

    # -- 3. two windows --------------------------------------------------------------------------------------------

    async def two_windows(self) -> None:
        args = self.args
        kiosks = await asyncio.gather(
            *(self.connect(HALL, f"kiosk-{HALL}-{n}", Kind.KIOSK) for n in range(HALL_KIOSKS))
        )
        callers = [self.devices[f"caller-{HALL}-w0{w}"] for w in (1, 2)]
        load, calls = Load(), Load()
        called: list[str] = []
        nothing = Counter[str]()
        turns = list(range(HALL_KIOSKS))

        async def work(n: int) -> None:
            if n < HALL_KIOSKS:
                turns[n] += 1
                began = time.monotonic()
                reply = await kiosks[n].request(wire.Action.ISSUE, {"matters": [MATTERS[turns[n] % len(MATTERS)]]})
                load.take(HALL, reply, began)
                return
            caller = callers[n - HALL_KIOSKS]
            began = time.monotonic()
            reply = await caller.request(wire.Action.CALL_NEXT, {"window_id": caller.device_id.rpartition("-")[2]})
            calls.take(HALL, reply, began)
            if not reply.ok:
                nothing[reply.error.code if reply.error else "?"] += 1
            for event in reply.events:
                if isinstance(event, ev.TicketCalled) and event.kind == ev.CallKind.NEXT:
                    called.append(event.ticket_id)

        await self.quiet()
        with self.cpu("two-windows") as cpu:
            await run_clients(HALL_KIOSKS + len(callers), args.seconds, 0.0, work)
        self.acknowledged += load.tickets
        numbers = Counter(number for _, _, number in load.tickets)
        twice = Counter(called)
        duplicates = sum(count - 1 for count in numbers.values() if count > 1)
        called_twice = sum(count - 1 for count in twice.values() if count > 1)
        self.report.add(
            "two windows: duplicate numbers (replies)",
            str(duplicates),
            "0",
            duplicates == 0,
            f"{len(load.tickets):,} tickets issued by {HALL_KIOSKS} kiosks at {HALL} in {args.seconds:g} s",
        )
        self.report.add(
            "two windows: tickets called twice (replies)",
            str(called_twice),
            "0",
            called_twice == 0,
            f"{len(called):,} call-next by w01+w02 ({len(called) / args.seconds:,.0f}/s); refused "
            f"{dict(nothing) or 'none'}; CPU {cpu.text()}",
        )
        both = Load(latencies=load.latencies + calls.latencies, done_at=load.done_at + calls.done_at)
        median = 1000 * statistics.median(both.latencies)
        self.report.add("two windows: reply tail", f"median {median:.1f} ms", note=f"kiosks and callers: {both.tail()}")

    # -- 4. boards ---------------------------------------------------------------------------------------------------

    def start_fleets(self) -> list[tuple[Any, Any]]:
        context = multiprocessing.get_context("spawn")
        boards = [(f"board-{n}", self.credentials[f"board-{n}"]) for n in range(self.args.devices)]
        fleets = []
        for k in range(FLEETS):
            parent, child = context.Pipe()
            share = boards[k::FLEETS]
            process = context.Process(
                target=fleet_main,
                args=(child, "127.0.0.1", self.hub.broker_port, HALL, share, self.args.board_qos),
                daemon=True,
            )
            process.start()
            assert process.pid is not None
            self.fleet_pids[f"boards{k + 1}"] = process.pid
            fleets.append((process, parent))
        return fleets

    @staticmethod
    def ask(fleets: list[tuple[Any, Any]], *command: Any) -> list[Any]:
        for _, pipe in fleets:
            pipe.send(command)
        return [pipe.recv() for _, pipe in fleets]

    async def wait_boards(self, fleets: list[tuple[Any, Any]], seq: int | None, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.ask(fleets, "status")
            connected = sum(s["connected"] for s in status)
            synced = sum(s["synced"] for s in status)
            seqs = sorted({q for s in status for q in s["seqs"]})
            done = connected == self.args.devices and synced == self.args.devices
            if done and (seq is None or seqs == [seq]):
                return {"connected": connected, "seqs": seqs}
            if time.monotonic() > deadline:
                raise RuntimeError(f"boards: {connected} connected, {synced} synced, seqs {seqs[:5]}")
            await asyncio.sleep(0.1)

    def hub_latency(self) -> tuple[float, float]:
        """The hub's own histogram of MQTT requests (arrival to reply): (seconds summed, count)."""
        text = (self.hub.get("/metrics") or b"").decode()
        found = {}
        for line in text.splitlines():
            for name in ("sum", "count"):
                if line.startswith(f'hall_request_seconds_{name}{{transport="mqtt"}}'):
                    found[name] = float(line.rpartition(" ")[2])
        return found.get("sum", 0.0), found.get("count", 0.0)

    def day_open(self, site: str) -> bool:
        body = self.hub.get(f"/api/v1/sites/{site}/snapshot")
        return body is not None and wire.decode_as(wire.Snapshot, body).day_open

    def site_seq(self, site: str) -> int:
        body = self.hub.get(f"/api/v1/sites/{site}/snapshot")
        assert body is not None
        return wire.decode_as(wire.Snapshot, body).seq

    async def boards(self, fleets: list[tuple[Any, Any]]) -> None:
        args = self.args
        began = time.monotonic()
        await self.wait_boards(fleets, self.site_seq(HALL), 60)
        self.report.add(
            f"{args.devices} boards connected and synced", f"{time.monotonic() - began:.1f} s",
            note=f"{FLEETS} processes of the bench's asyncio MQTT client (bench/mqtt_lite.py)",
        )  # fmt: skip
        self.report.add("hub RSS with the boards connected", f"{rss_mib(self.hub.pid):.0f} MiB")
        caller = self.devices[f"caller-{HALL}-w03"]
        published: dict[int, int] = {}
        replied: list[float] = []
        calls = int(args.seconds * CALL_RATE)
        kiosk = self.devices.get(f"kiosk-{HALL}-0") or await self.connect(HALL, f"kiosk-{HALL}-0", Kind.KIOSK)
        for n in range(calls + 10):  # enough waiting tickets to call
            assert (await kiosk.request(wire.Action.ISSUE, {"matters": [MATTERS[n % len(MATTERS)]]})).ok
        await self.quiet()
        self.ask(fleets, "clear")
        self.probe.called.clear()
        hub_before = self.hub_latency()
        with self.cpu("boards") as cpu:
            start = time.monotonic()
            for n in range(calls):
                await asyncio.sleep(max(0.0, start + n / CALL_RATE - time.monotonic()))
                at = now_ns()
                _, future = caller.send(wire.Action.CALL_NEXT, {"window_id": "w03"})
                reply = await asyncio.wait_for(future, 5)
                replied.append((now_ns() - at) / 1e6)
                seq = next((e.seq for e in reply.events if isinstance(e, ev.TicketCalled)), None)
                assert seq is not None, reply.error
                published[seq] = at
            await asyncio.sleep(1.0)
        hub_after = self.hub_latency()
        in_hub = (hub_after[0] - hub_before[0]) / max(1.0, hub_after[1] - hub_before[1]) * 1000
        received = self.ask(fleets, "called")
        latencies = [
            (at - published[seq]) / 1e6
            for fleet in received
            for board in fleet
            for seq, at in board
            if seq in published
        ]
        expected = len(published) * args.devices
        median, p99 = statistics.median(latencies), percentile(latencies, 0.99)
        per_call: dict[int, list[float]] = {}
        for fleet in received:
            for board in fleet:
                for seq, at in board:
                    if seq in published:
                        per_call.setdefault(seq, []).append((at - published[seq]) / 1e6)
        firsts = [min(values) for values in per_call.values()]
        lasts = [max(values) for values in per_call.values()]
        probe = [(at - published[seq]) / 1e6 for seq, at in self.probe.called if seq in published]
        self.report.add(
            f"call -> board latency, {args.devices} boards",
            f"median {median:.1f} ms, p99 {p99:.1f} ms",
            "p99 <= 20 ms",
            p99 <= 20,
            f"{len(latencies):,} of {expected:,} receipts ({len(published)} calls at {CALL_RATE:g}/s); max "
            f"{max(latencies):.1f} ms; per call, first board median {statistics.median(firsts):.1f} ms, last board "
            f"median {statistics.median(lasts):.1f} ms / p99 {percentile(lasts, 0.99):.1f} ms; a probe board "
            f"subscribed before the others: median {statistics.median(probe):.1f} ms, p99 {percentile(probe, 0.99):.1f}"
            f" ms; caller's reply median {statistics.median(replied):.1f} ms, p99 {percentile(replied, 0.99):.1f} ms"
            f" (of which in the hub, arrival to reply: mean {in_hub:.1f} ms); CPU {cpu.text()}",
        )

    # -- 5. broker restart -----------------------------------------------------------------------------------------

    async def broker_restart(self, fleets: list[tuple[Any, Any]]) -> None:
        args = self.args
        await self.quiet()
        self.ask(fleets, "arm")
        caller = f"caller-{HALL}-w04"
        token = base64.b64encode(f"{caller}:{self.credentials[caller]}".encode()).decode()
        url = f"http://127.0.0.1:{self.hub.http_port}/api/v1/sites/{HALL}/call-next"
        headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as session:

            async def call() -> wire.Reply:
                payload = msgspec.json.encode({"v": 1, "id": os.urandom(12).hex(), "window_id": "w04"})
                async with session.post(url, data=payload, headers=headers) as response:
                    return wire.decode_as(wire.Reply, await response.read())

            await call()  # the hub checks the caller's password once
            await asyncio.sleep(0.5)
            await self.wait_boards(fleets, self.site_seq(HALL), 10)
            old = self.hub.broker_pid()
            killed = now_ns()
            os.kill(old, signal.SIGKILL)
            reply = await call()  # during the outage: the boards must catch up with this
            assert reply.ok, reply.error
            target = max(event.seq for event in reply.events)
            broker_back = hub_back = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (broker_back is None or hub_back is None):
                if broker_back is None and self.hub.broker_pid() != old and _accepts(self.hub.broker_port):
                    broker_back = now_ns()
                if hub_back is None and broker_back is not None and self.hub.get("/readyz") is not None:
                    hub_back = now_ns()
                await asyncio.sleep(0.01)
        await self.wait_boards(fleets, target, 30)
        results = [row for fleet in self.ask(fleets, "resync", target) for row in fleet]
        synced = [(at - killed) / 1e9 for _, _, at in results if at is not None]
        back = [(at - killed) / 1e9 for _, at, _ in results if at is not None]
        status = self.ask(fleets, "status")
        everyone = max(synced) if len(synced) == args.devices else float("inf")
        self.report.add(
            f"broker restart: all {args.devices} boards resynced",
            f"{everyone:.2f} s",
            "<= 5 s",
            everyone <= 5,
            f"after the kill: broker listening {((broker_back or killed) - killed) / 1e9:.2f} s, hub "
            f"ready {((hub_back or killed) - killed) / 1e9:.2f} s, boards reconnected median "
            f"{statistics.median(back):.2f} s / last {max(back):.2f} s, resynced median "
            f"{statistics.median(synced):.2f} s; gaps {sum(s['gaps'] for s in status)}, snapshot requests "
            f"{sum(s['snapshot_requests'] for s in status)}",
        )

    # -- after -----------------------------------------------------------------------------------------------------

    def verify(self) -> None:
        """Read the log back: every acknowledged ticket stored, no number twice, no ticket called twice."""
        store = open_store(self.db_url)
        issued: dict[tuple[str, str], str] = {}
        numbers = Counter[tuple[str, str, str]]()
        calls = Counter[str]()
        try:
            for site in self.district.sites:
                for event in store.events(site.id, after_seq=self.preload_seq[site.id]):
                    if isinstance(event, ev.TicketIssued):
                        issued[(site.id, event.ticket_id)] = event.number
                        numbers[(site.id, event.day.isoformat(), event.number)] += 1
                    elif isinstance(event, ev.TicketCalled) and event.kind == ev.CallKind.NEXT:
                        calls[event.ticket_id] += 1
        finally:
            store.close()
        missing = sum((site, ticket) not in issued for site, ticket, _ in self.acknowledged)
        wrong = sum(issued.get((site, ticket)) not in (None, number) for site, ticket, number in self.acknowledged)
        duplicates = sum(count - 1 for count in numbers.values() if count > 1)
        twice = sum(count - 1 for count in calls.values() if count > 1)
        self.report.add(
            "log: acknowledged tickets missing",
            f"{missing} of {len(self.acknowledged):,}",
            "0",
            missing == 0 and wrong == 0,
            f"{len(issued):,} tickets and {sum(calls.values()):,} call-next in today's log of all sites",
        )
        self.report.add("log: numbers given twice a day", str(duplicates), "0", duplicates == 0)
        self.report.add("log: tickets called twice", str(twice), "0", twice == 0)

    async def run(self) -> None:
        args = self.args
        self.prepare()
        command = [sys.executable, "-m", "hub.cli", "serve"]
        if args.proposed:
            command = [sys.executable, "-m", "bench.proposed_hub", *args.proposed]
        started = self.hub.start(60.0, command, ready=lambda: all(map(self.day_open, [*MQTT_SITES, *HTTP_SITES, HALL])))
        hub_pid = self.hub.pid
        self.report.add("hub start (load history, open 9 days)", f"{started:.1f} s")
        await asyncio.sleep(2)
        self.report.add("hub RSS idle", f"{rss_mib(hub_pid):.0f} MiB")
        await self.open_windows()
        if "mqtt" in args.phases:
            print("MQTT throughput ...", flush=True)
            await self.mqtt_throughput()
        if "http" in args.phases:
            print("HTTP throughput ...", flush=True)
            await self.http_throughput()
        if "windows" in args.phases:
            print("two windows ...", flush=True)
            await self.two_windows()
        if "boards" in args.phases or "restart" in args.phases:
            print(f"{args.devices} boards ...", flush=True)
            self.probe = Board(HALL, "board-probe", self.credentials["board-probe"])
            self.probe.start("127.0.0.1", self.hub.broker_port)
            await asyncio.wait_for(self.probe.ready.wait(), 20)
            fleets = self.start_fleets()
            try:
                await self.boards(fleets)
                if "restart" in args.phases:
                    print("broker restart ...", flush=True)
                    await self.broker_restart(fleets)
            finally:
                with contextlib.suppress(Exception):
                    self.ask(fleets, "stop")
                for process, _ in fleets:
                    process.join(10)
        self.report.add("hub RSS after the load", f"{rss_mib(hub_pid):.0f} MiB")
        stopping = asyncio.gather(*(device.stop() for device in [*self.devices.values(), *self._probes()]))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping, 10)
        self.hub.stop()
        self.verify()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=200_000, help="tickets of earlier days in the store")
    parser.add_argument("--clients", type=int, default=16, help="concurrent kiosks (MQTT) and HTTP clients")
    parser.add_argument("--devices", type=int, default=500, help="boards following the site")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each phase, wait up to this long for other processes to leave the cores alone",
    )
    parser.add_argument(
        "--board-qos",
        type=int,
        default=0,
        choices=(0, 1),
        help="QoS of the boards' event and snapshot subscriptions (devicekit.link.FOLLOW_QOS: 0)",
    )
    parser.add_argument(
        "--proposed", nargs="+", default=[], metavar="CHANGE", help="run the hub with bench/proposed_hub.py changes"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (database, hub and broker logs)")
    parser.add_argument(
        "--profile-hub", metavar="DIR", help="record the hub with py-spy during each phase (collapsed stacks in DIR)"
    )
    parser.add_argument("--profile-gil", action="store_true", help="record only the thread holding the GIL")
    parser.add_argument(
        "--phases", nargs="+", default=PHASES, choices=PHASES, help="run only these phases (default: all)"
    )
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="hall-hub-bench-"))
    bench = Bench(args, directory)
    try:
        asyncio.run(bench.run())
    finally:
        bench.hub.stop()
        if args.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    bench.report.print(" ".join(["python -m bench.hub_bench", *sys.argv[1:]]))


if __name__ == "__main__":
    main()

"""The web pages against the real hub: a call reaching the open live-hall pages and web boards, the district wall's
render time, and a configuration save reaching the devices.

    python -m bench.web_bench [--pages 50] [--boards 10] [--calls 200] [--renders 100] [--saves 10] [--quiet-wait 0]

The hub runs as a child process as the tests run it (``tests/support/hub_process.py``: ``hall-hub serve`` on the
sample district at 10:00 on a Wednesday, SQLite, a managed Mosquitto on a free port). Before it starts, the bench
provisions a kiosk per site and a caller per window, a clerk per window and one web administrator. Then the district
gets busy: every window of the six sites opens, ``--tickets`` tickets are issued at each site (more at the centre,
which the calls below need) and every window calls one. Every request is a device's, over MQTT
(``bench.sim_devices``).

1. **call → page**: ``--pages`` streams of server-sent events are opened (one signed-in session of the
   administrator; aiohttp, one TCP connection each): ``--boards`` of them follow the public web board
   ``/board/centre/stream``, the rest the centre's live hall ``/admin/sites/centre/live/stream``. Then the caller of
   window w01 presses call-next ``--calls`` times; each latency is from the request's publish to a stream reading
   a view in which that number is a window's current ticket (only w01 calls meanwhile, and a number is the day's
   only one, so it is w01's). The next call waits until every stream saw the last or ``--timeout`` passed (a
   stream that never saw it counts as missed), then ``--gap`` more. p50, p99 and max of every stream's latency.
2. **district wall**: ``GET /admin/wall`` (HTML) and ``/admin/wall.json`` ``--renders`` times each, one after the
   other, with the streams closed: each builds the six sites' views on the hub's writer. Time from the request to
   the whole answer read.
3. **save → device**: ``--saves`` saves of the centre's window-matter grid (``POST /admin/sites/centre/matrix``, the
   form as ``.../matrix.json`` draws it with one cell changed: a window serving a matter it did not, then not
   again, in turn) while a real caller model (``caller.model`` fed by ``caller.hub_link``, as the caller app feeds
   it, on a caller of its own) follows the site: time from the POST to the model holding a site info
   (``wire.info_topic``, retained) in which the matter's windows say so.

The bench process itself reads every stream and parses every view (JSON) it receives: its own event loop's delay is
part of each latency, as a browser's would be. On a shared machine, ``--quiet-wait SECONDS`` waits before each
measure for other processes to calm down (as ``hub_bench``); each row's CPU shares say what ran meanwhile.

Targets (issue 12): call → page p99 ≤ 100 ms, wall render p95 ≤ 50 ms, save → device ≤ 1 s. Exit code 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

import contract as wire
from bench.hub_bench import Cpu, Report, _others_share, percentile
from bench.sim_devices import Device
from caller.hub_link import CallerLink
from caller.model import CallerModel
from devicekit.link import DeviceLink
from engine import events as ev
from engine.district import District, Site
from hub.accounts import accounts_for
from hub.devices import registry_for
from hub.district_file import SAMPLE_DISTRICT
from hub.main import open_district
from hub.staff import staff_for
from hub.store import open_store
from tests.support.hub_process import HubProcess

SITE = "centre"
WINDOW = "w01"
"""The window whose calls are measured."""
MODEL_CALLER, MODEL_WINDOW = "caller-centre-model", "w12"
"""The caller whose model follows the site's info in the save → device measure (a second caller of a window)."""
ADMIN = "bench-admin"
PASSWORD = "bench password 2468"
PIN = "2468"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CALL_TARGET_MS = 100.0
WALL_TARGET_MS = 50.0
SAVE_TARGET_S = 1.0
DEVICE_RATE = "100000/second"
"""The bench's kiosks issue tickets far faster than a person at a kiosk (hub/config.py's limit)."""
Kind = wire.DeviceKind


# --- the hall --------------------------------------------------------------------------------------------------------


@dataclass
class Hall:
    """The devices and the web account, provisioned before the hub starts."""

    district: District
    passwords: dict[str, str] = field(default_factory=dict)
    """Device id → password."""
    windows: list[tuple[str, str]] = field(default_factory=list)
    """(site, window) of every window, each with its caller ``caller-<site>-<window>``."""


def caller_id(site_id: str, window_id: str) -> str:
    return f"caller-{site_id}-{window_id}"


def staff_id(site_id: str, window_id: str) -> str:
    return f"bench-{site_id}-{window_id}"


def prepare(hub: HubProcess) -> Hall:
    """A kiosk per site, a caller and a clerk per window, and the administrator, in the hub's database."""
    store = open_store(hub.db_url)
    try:
        hall = Hall(open_district(store, SAMPLE_DISTRICT))
        registry, staff = registry_for(store, hall.district), staff_for(store, hall.district)
        for site in hall.district.sites:
            kiosk = registry.provision(site.id, Kind.KIOSK, device_id=f"kiosk-{site.id}")
            hall.passwords[kiosk.device_id] = kiosk.password
            for window in site.windows:
                caller = registry.provision(site.id, Kind.CALLER, caller_id(site.id, window.id), window.id)
                hall.passwords[caller.device_id] = caller.password
                staff.add(site.id, staff_id(site.id, window.id), f"职员{window.number}", PIN)
                hall.windows.append((site.id, window.id))
        model = registry.provision(SITE, Kind.CALLER, MODEL_CALLER, MODEL_WINDOW)
        hall.passwords[model.device_id] = model.password
        accounts_for(store, hall.district).add(ADMIN, PASSWORD)
    finally:
        store.close()
    return hall


class Devices:
    """The bench's connected devices, by id."""

    def __init__(self, hub: HubProcess, hall: Hall) -> None:
        self.hub, self.hall = hub, hall
        self.connected: dict[str, Device] = {}

    async def get(self, site_id: str, device_id: str, kind: Kind) -> Device:
        device = self.connected.get(device_id)
        if device is None:
            device = Device(site_id, device_id, self.hall.passwords[device_id], kind)
            device.start(self.hub.broker_host, self.hub.broker_port)
            await asyncio.wait_for(device.ready.wait(), 20)
            self.connected[device_id] = device
        return device

    async def caller(self, site_id: str, window_id: str) -> Device:
        return await self.get(site_id, caller_id(site_id, window_id), Kind.CALLER)

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(device.stop() for device in self.connected.values())), 10)


async def ask(device: Device, action: wire.Action, **body: Any) -> wire.Reply:
    reply = await device.request(action, body)
    if not reply.ok:
        raise RuntimeError(f"{device.device_id} {action}: {reply.error}")
    return reply


async def busy_district(devices: Devices, tickets: int, centre_tickets: int) -> int:
    """Every window open, ``tickets`` issued at each site (``centre_tickets`` at the centre), each window calling
    one (if one is waiting for it); the tickets issued."""

    async def site_tickets(site: Site) -> int:
        kiosk = await devices.get(site.id, f"kiosk-{site.id}", Kind.KIOSK)
        offered, count, issued = list(site.matters), centre_tickets if site.id == SITE else tickets, 0
        while issued < count and offered:  # the matters in turn, less those whose tickets are all taken today
            matter = offered[issued % len(offered)]
            reply = await kiosk.request(wire.Action.ISSUE, {"matters": [matter]})
            if reply.ok:
                issued += 1
            elif reply.error is not None and reply.error.code == "daily_limit":
                offered.remove(matter)
            else:
                raise RuntimeError(f"{kiosk.device_id} issue {matter}: {reply.error}")
        return issued

    async def open_window(site_id: str, window_id: str) -> Device:
        caller = await devices.caller(site_id, window_id)
        await ask(caller, wire.Action.OPEN_WINDOW, window_id=window_id, staff_id=staff_id(site_id, window_id), pin=PIN)
        return caller

    callers = await asyncio.gather(*(open_window(site, window) for site, window in devices.hall.windows))
    issued = await asyncio.gather(*(site_tickets(site) for site in devices.hall.district.sites))
    for caller, (_, window_id) in zip(callers, devices.hall.windows, strict=True):
        reply = await caller.request(wire.Action.CALL_NEXT, {"window_id": window_id})
        if not reply.ok and (reply.error is None or reply.error.code != "nothing_waiting"):  # (a few tickets only)
            raise RuntimeError(f"{caller.device_id} call-next: {reply.error}")
    return sum(issued)


# --- the pages -------------------------------------------------------------------------------------------------------


async def csrf_of(session: aiohttp.ClientSession, path: str) -> str:
    """The session's CSRF token, from a page's form."""
    async with session.get(path) as response:
        found = CSRF.search(await response.text())
    if found is None:
        raise RuntimeError(f"no CSRF field on {path}")
    return found.group(1)


async def sign_in(session: aiohttp.ClientSession) -> None:
    form = {"csrf": await csrf_of(session, "/admin/sign-in"), "username": ADMIN, "password": PASSWORD}
    async with session.post("/admin/sign-in", data=form) as response:
        if response.status != 200 or response.url.path != "/admin/":
            raise RuntimeError(f"sign-in failed: {response.status} {response.url}")


def current_numbers(view: dict[str, Any]) -> set[str]:
    """The tickets a live-hall or web-board view shows as its windows' current ones."""
    return {window["current"] for window in view.get("windows", ()) if window.get("current")}


class Stream:
    """One open page's stream of server-sent events: when it first read each number as a window's current ticket."""

    def __init__(self, path: str, progress: asyncio.Event) -> None:
        self.path = path
        self.seen: dict[str, float] = {}
        """Ticket number → ``time.perf_counter()`` when a view first showed it."""
        self.views = 0
        self.first = asyncio.Event()
        self._progress = progress

    async def follow(self, session: aiohttp.ClientSession) -> None:
        async with session.get(self.path, headers={"Accept": "text/event-stream"}) as response:
            if response.status != 200:
                raise RuntimeError(f"{self.path}: {response.status}")
            async for line in response.content:
                if not line.startswith(b"data: "):
                    continue
                at = time.perf_counter()
                view = json.loads(line[6:])
                self.views += 1
                for number in current_numbers(view):
                    self.seen.setdefault(number, at)
                self.first.set()
                self._progress.set()


@dataclass
class Calls:
    """What the call → page phase measured."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    """Seconds, one per stream and call, by the streams' path."""
    missed: int = 0
    """(stream, call) pairs where the stream never showed the called ticket within the timeout."""
    replies: list[float] = field(default_factory=list)
    """Seconds from call-next's publish to its reply."""
    first: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    """Seconds from each call to the first and the last stream that showed it."""
    views: int = 0


async def calls_to_pages(
    session: aiohttp.ClientSession,
    caller: Device,
    paths: list[str],
    *,
    calls: int,
    gap: float,
    timeout: float,
) -> Calls:
    progress = asyncio.Event()
    streams = [Stream(path, progress) for path in paths]
    followers = [asyncio.ensure_future(stream.follow(session)) for stream in streams]
    measured = Calls()
    try:
        await asyncio.wait_for(asyncio.gather(*(stream.first.wait() for stream in streams)), 30)
        await asyncio.sleep(1.0)  # the first views, and any build they woke, are over
        for _ in range(calls):
            began = time.perf_counter()
            reply = await ask(caller, wire.Action.CALL_NEXT, window_id=WINDOW)
            measured.replies.append(time.perf_counter() - began)
            number = next(e.number for e in reply.events if isinstance(e, ev.TicketCalled) and e.window_id == WINDOW)
            deadline = began + timeout
            while not all(number in stream.seen for stream in streams) and time.perf_counter() < deadline:
                progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(progress.wait(), max(deadline - time.perf_counter(), 0.0))
            seen = {stream: stream.seen[number] - began for stream in streams if number in stream.seen}
            for stream, latency in seen.items():
                measured.latencies.setdefault(stream.path, []).append(latency)
            measured.missed += len(streams) - len(seen)
            if seen:
                measured.first.append(min(seen.values()))
                measured.last.append(max(seen.values()))
            for follower in followers:
                if follower.done():
                    follower.result()  # a stream that ended says why
            await asyncio.sleep(gap)
        measured.views = sum(stream.views for stream in streams)
    finally:
        for follower in followers:
            follower.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    return measured


async def renders(session: aiohttp.ClientSession, path: str, count: int) -> tuple[list[float], int]:
    """Seconds of each of ``count`` GETs of ``path``, one after the other, and the size of the last answer."""
    times, size = [], 0
    for _ in range(count):
        began = time.perf_counter()
        async with session.get(path) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status}")
        times.append(time.perf_counter() - began)
        size = len(body)
    return times, size


class FollowingCaller:
    """A caller model (``caller.model``) fed by its ``CallerLink`` as the caller app feeds it, the site's retained
    info included; when the model last took an info."""

    def __init__(self, hub: HubProcess, password: str) -> None:
        link = DeviceLink(
            host=hub.broker_host, port=hub.broker_port, site_id=SITE, device_id=MODEL_CALLER, password=password,
            kind=Kind.CALLER, follow_site=True,
        )  # fmt: skip
        self.link = CallerLink(link)
        self.model = CallerModel(SITE, MODEL_WINDOW)
        self.updated = asyncio.Event()
        self.at = 0.0
        self._loop = asyncio.get_running_loop()
        self.link.on_info = self._on_info

    def _on_info(self, info: wire.SiteInfo) -> None:
        """On paho's thread: the model takes it on the event loop (the app: on Kivy's thread)."""
        self._loop.call_soon_threadsafe(self._take, info)

    def _take(self, info: wire.SiteInfo) -> None:
        self.model.on_info(info)
        self.at = time.perf_counter()
        self.updated.set()

    async def start(self) -> None:
        if not await asyncio.to_thread(self.link.start, 10.0):
            raise RuntimeError(f"{MODEL_CALLER} could not connect")

    def stop(self) -> None:
        self.link.stop()

    def serves(self, code: str, number: int) -> bool:
        """Whether the model's site info has window ``number`` serving the matter ``code``."""
        info = self.model.info
        return info is not None and any(number in matter.windows for matter in info.matters if matter.code == code)


def blank_cell(values: dict[str, str], site: Site) -> tuple[str, str, int]:
    """A cell of the grid that is blank (the window does not serve the matter): its field, matter and window."""
    for window in site.windows:
        if window.id in (WINDOW, MODEL_WINDOW):
            continue
        for code in site.matters:
            if values.get(f"w.{window.id}.{code}") == "":
                return f"w.{window.id}.{code}", code, window.number
    raise RuntimeError(f"every window of {site.id} serves every matter: no cell to change")


async def saves_to_device(
    session: aiohttp.ClientSession, follower: FollowingCaller, site: Site, *, saves: int, timeout: float
) -> tuple[list[float], list[float]]:
    """``saves`` saves of the site's grid, each one turning the same cell on (weight 1) or off again; seconds from
    each POST to its answer, and to the caller model's info showing the change."""
    grid = f"/admin/sites/{site.id}/matrix"
    token = await csrf_of(session, "/admin/")
    answers, seen = [], []

    async def drawn_now() -> dict[str, Any]:
        """The grid's fields as they are now, and its digest (``base``)."""
        async with session.get(f"{grid}.json") as response:
            drawn: dict[str, Any] = await response.json()
        return drawn

    cell, code, number = blank_cell((await drawn_now())["values"], site)
    for n in range(saves):
        drawn = await drawn_now()
        serve = n % 2 == 0
        form = drawn["values"] | {cell: "1" if serve else "", "base": drawn["base"], "csrf": token}
        form["reason"] = f"web_bench: window {number} {'serves' if serve else 'no longer serves'} {code}"
        follower.updated.clear()
        began = time.perf_counter()
        async with session.post(grid, data=form, allow_redirects=False) as response:
            if response.status != 303:
                raise RuntimeError(f"POST {grid}: {response.status} {(await response.text())[:500]}")
        answers.append(time.perf_counter() - began)
        while follower.serves(code, number) != serve:
            follower.updated.clear()
            await asyncio.wait_for(follower.updated.wait(), max(began + timeout - time.perf_counter(), 0.0))
        seen.append(follower.at - began)
    return answers, seen


# --- the run ---------------------------------------------------------------------------------------------------------


def ms(seconds: list[float]) -> list[float]:
    return [1000 * value for value in seconds]


class Bench:
    def __init__(self, args: argparse.Namespace, directory: Path) -> None:
        self.args = args
        self.hub = HubProcess(directory)
        self.hub.env["HALL_REQUESTS_DEVICE_RATE"] = DEVICE_RATE
        self.report = Report()

    def pids(self) -> dict[str, int]:
        return {"hub": self.hub.pid, "broker": self.hub.broker_pid(), "bench": os.getpid()}

    def cpu(self) -> Cpu:
        return Cpu(self.pids())

    async def quiet(self) -> None:
        """As ``hub_bench --quiet-wait``: on a shared machine, wait (up to ``--quiet-wait`` seconds) until other
        processes use under 10 % of a core for a second."""
        deadline = time.monotonic() + self.args.quiet_wait
        while time.monotonic() < deadline:
            others = await _others_share(set(self.pids().values()), 1.0)
            if others < 0.1:
                return
            print(f"  (other processes use {100 * others:.0f}% of a core: waiting)", flush=True)

    async def run(self) -> None:
        args = self.args
        hall = prepare(self.hub)
        started = self.hub.start(30.0)
        self.report.add("hub start", f"{started:.1f} s")
        devices = Devices(self.hub, hall)
        base = f"http://127.0.0.1:{self.hub.http_port}"
        jar = aiohttp.CookieJar(unsafe=True)  # the session cookie of 127.0.0.1
        no_limit = aiohttp.ClientTimeout(total=None, sock_read=None)
        connector = aiohttp.TCPConnector(limit=0)  # one connection per open page, as browsers would have
        try:
            began = time.perf_counter()
            issued = await busy_district(devices, args.tickets, args.tickets + args.calls + 20)
            self.report.add(
                "busy district",
                f"{issued} tickets",
                note=f"{len(hall.windows)} windows open and each called once, 6 sites, "
                f"{time.perf_counter() - began:.1f} s",
            )
            async with aiohttp.ClientSession(
                base, cookie_jar=jar, timeout=no_limit, connector=connector, read_bufsize=2**20
            ) as session:
                await sign_in(session)
                await self.call_to_page(session, await devices.caller(SITE, WINDOW))
                await self.wall(session)
                await self.save_to_device(session, hall)
        finally:
            await devices.stop()
            self.hub.stop()
        defects = self.hub.log_defects()
        self.report.add("hub log: defects", str(len(defects)), "0", not defects, defects[0][:120] if defects else "")

    async def call_to_page(self, session: aiohttp.ClientSession, caller: Device) -> None:
        args = self.args
        kinds = {f"/admin/sites/{SITE}/live/stream": "live hall", f"/board/{SITE}/stream": "web board"}
        live, board = kinds
        paths = [board] * args.boards + [live] * (args.pages - args.boards)
        print(f"call → page: {args.pages} streams ({args.boards} web boards), {args.calls} calls ...", flush=True)
        await self.quiet()
        with self.cpu() as cpu:
            measured = await calls_to_pages(
                session, caller, paths, calls=args.calls, gap=args.gap, timeout=args.timeout
            )
        every = ms([latency for latencies in measured.latencies.values() for latency in latencies])
        if not every:
            raise RuntimeError(f"no stream showed any of the {args.calls} calls within {args.timeout} s")
        p99 = percentile(every, 0.99)
        self.report.add(
            f"call → page p99, {args.pages} streams",
            f"{p99:.1f} ms",
            f"<= {CALL_TARGET_MS:.0f} ms",
            p99 <= CALL_TARGET_MS and measured.missed == 0,
            f"p50 {statistics.median(every):.1f} ms, max {max(every):.1f} ms; {len(every)} (stream, call) pairs, "
            f"{measured.missed} missed; call-next reply median {statistics.median(ms(measured.replies)):.1f} ms; "
            f"a call's first stream median {statistics.median(ms(measured.first)):.1f} ms, its last "
            f"{statistics.median(ms(measured.last)):.1f} ms; "
            f"{measured.views} views read; CPU {cpu.text()}",
        )
        for path, kind in kinds.items():
            if path in measured.latencies:
                times = ms(measured.latencies[path])
                self.report.add(
                    f"  of them {kind}, {paths.count(path)} streams",
                    f"{percentile(times, 0.99):.1f} ms",
                    note=f"p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms",
                )

    async def wall(self, session: aiohttp.ClientSession) -> None:
        print(f"district wall: {self.args.renders} renders each of HTML and JSON ...", flush=True)
        for path in ("/admin/wall", "/admin/wall.json"):
            await self.quiet()
            with self.cpu() as cpu:
                times, size = await renders(session, path, self.args.renders)
            p95 = percentile(ms(times), 0.95)
            self.report.add(
                f"wall render p95 ({path})",
                f"{p95:.1f} ms",
                f"<= {WALL_TARGET_MS:.0f} ms",
                p95 <= WALL_TARGET_MS,
                f"p50 {statistics.median(ms(times)):.1f} ms, max {max(ms(times)):.1f} ms; {size / 1024:.0f} KiB; "
                f"CPU {cpu.text()}",
            )

    async def save_to_device(self, session: aiohttp.ClientSession, hall: Hall) -> None:
        args = self.args
        site = hall.district.site(SITE)
        assert site is not None
        print(f"save → device: {args.saves} saves of the grid ...", flush=True)
        follower = FollowingCaller(self.hub, hall.passwords[MODEL_CALLER])
        await follower.start()
        try:
            await self.quiet()
            with self.cpu() as cpu:
                answers, seen = await saves_to_device(session, follower, site, saves=args.saves, timeout=args.timeout)
        finally:
            follower.stop()
        worst = max(seen)
        self.report.add(
            "save → caller model (max)",
            f"{1000 * worst:.0f} ms",
            f"<= {SAVE_TARGET_S:.0f} s",
            worst <= SAVE_TARGET_S,
            f"median {statistics.median(ms(seen)):.0f} ms; the POST's answer (303) median "
            f"{statistics.median(ms(answers)):.0f} ms, max {max(ms(answers)):.0f} ms; {len(seen)} saves of the "
            f"{SITE} grid, each a window serving a matter or no longer; the model: caller.model + caller.hub_link on "
            f"the retained site info; CPU {cpu.text()}",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=50, help="open streams (pages) during the calls")
    parser.add_argument("--boards", type=int, default=10, help="of them, web boards (when the hub serves them)")
    parser.add_argument("--calls", type=int, default=200, help="calls measured")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between a call seen everywhere and the next")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds a call has to reach every stream")
    parser.add_argument("--tickets", type=int, default=40, help="tickets issued at each site before the measures")
    parser.add_argument("--renders", type=int, default=100, help="GETs of the wall (HTML, then JSON)")
    parser.add_argument("--saves", type=int, default=10, help="saves of the window-matter grid")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each measure, wait up to this long for other processes to leave the cores alone",
    )
    args = parser.parse_args()
    if not 0 <= args.boards <= args.pages:
        parser.error("--boards: between 0 and --pages")
    with tempfile.TemporaryDirectory(prefix="web-bench-") as name:
        bench = Bench(args, Path(name))
        try:
            asyncio.run(bench.run())
        finally:
            bench.hub.stop()
    bench.report.print(" ".join(["python -m bench.web_bench", *sys.argv[1:]]))
    raise SystemExit(0 if all(row.met is not False for row in bench.report.rows) else 1)


if __name__ == "__main__":
    main()

"""The live hall of a site and the district wall: who may open them, the figures after real commands through the
gateway (a kiosk and callers provisioned in the registry, a clerk signed in with a PIN), the alerts, the
server-sent-events stream (one build per change, the wake-up when an alert falls due, the end when the hub stops),
and a call made over MQTT reaching an open stream of the running hub."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import ClientResponse, web

import contract as wire
from engine import commands as cmd
from hub.cluster import HeldSites, SiteLeases
from hub.devices import DeviceRegistry, registry_for
from hub.gateway import Gateway
from hub.hall_feed import HallFeed
from hub.service import HallService
from hub.staff import staff_for
from hub.store import EventStore, open_store
from hub.web_pages import HallReader, Pages, pages_app
from hub.web_pages.hall_view import PAUSE_ALERT_MINUTES
from tests.support.hub_process import REPO, HubProcess
from tests.web.conftest import CSRF, DISTRICT, PASSWORD, SECRET, Client, Clock, make_pages, sign_in

CENTRE = "centre"
TARGET = DISTRICT.sites[0].rules.target_wait_minutes
PIN = "2468"


class CountingReader(HallReader):
    """The hall as the pages read it, counting the views built (each one a trip to the writer thread)."""

    builds = 0

    async def on_writer(self, work: Callable[..., Any], *args: Any) -> Any:
        if getattr(work, "__name__", "") == "site":
            self.builds += 1
        return await super().on_writer(work, *args)


class Hall:
    """The centre worked through the gateway as its devices would: a kiosk issues, callers sign in and call."""

    def __init__(self, pages: Pages, gateway: Gateway, registry: DeviceRegistry, clock: Clock) -> None:
        self.pages, self.gateway, self.clock = pages, gateway, clock
        self.kiosk = registry.provision(CENTRE, "kiosk").device_id
        self.callers = {window: registry.provision(CENTRE, "caller", window_id=window).device_id
                        for window in ("w01", "w02")}  # fmt: skip
        self.count = 0

    async def ask(self, device: str, action: wire.Action, **body: Any) -> wire.Reply:
        self.count += 1
        payload = json.dumps({"v": 1, "id": f"r{self.count}", **body}).encode()
        reply, _ = await self.pages.hall.on_writer(self.gateway.handle, CENTRE, device, action, payload)
        assert reply.ok, reply.error
        return reply

    async def issue(self, *matters: str) -> str:
        reply = await self.ask(self.kiosk, wire.Action.ISSUE, matters=list(matters))
        assert reply.ticket is not None
        return reply.ticket.number

    async def at_window(self, window: str, action: wire.Action, **body: Any) -> wire.Reply:
        return await self.ask(self.callers[window], action, window_id=window, **body)

    async def run(self, command: cmd.Command) -> None:
        outcome = await self.pages.hall.on_writer(self.gateway.execute, command)
        assert outcome.accepted, outcome.rejection

    def changed(self) -> None:
        self.pages.hall.feed.changed(CENTRE)


@pytest.fixture
def writer() -> Iterator[Executor]:
    """The one thread the hall's states change on, as the hub's writer."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer")
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
def hall_store(tmp_path: Path) -> Iterator[EventStore]:
    """The hall's own store per test (its events, devices and staff); the accounts stay in the module's."""
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    yield store
    store.close()


@pytest.fixture
async def live(
    web_store: EventStore, hall_store: EventStore, clock: Clock, writer: Executor
) -> AsyncIterator[tuple[Pages, Hall]]:
    registry = registry_for(hall_store, DISTRICT)
    staff = staff_for(hall_store, DISTRICT)
    staff.add(CENTRE, "li01", "李敏", PIN)
    staff.add(CENTRE, "wu02", "吴芳", PIN)

    def provisioned(device_id: str) -> Any:
        device = registry.get(device_id)
        return device if device is not None and not device.revoked else None

    gateway = Gateway(HallService(DISTRICT, hall_store), provisioned, clock, staff=staff, secret=SECRET)
    statuses: dict[str, wire.DeviceStatus] = {}
    feed = HallFeed(asyncio.get_running_loop())
    reader = CountingReader(gateway, writer, feed, statuses)
    pages = replace(make_pages(web_store, clock), hall=reader, devices=registry)  # the accounts of the module's store
    hall = Hall(pages, gateway, registry, clock)
    for site in DISTRICT.sites:
        await hall.run(cmd.OpenDay(command_id=f"open-{site.id}", site_id=site.id, at=clock()))
    yield pages, hall
    feed.close()  # the streams still open end, as when the hub stops


@pytest.fixture
async def live_client(
    live: tuple[Pages, Hall], aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    app = web.Application()
    app.add_subapp("/admin", pages_app(live[0]))
    return await aiohttp_client(app)


def statuses_of(pages: Pages) -> dict[str, wire.DeviceStatus]:
    assert isinstance(pages.hall.statuses, dict)
    return pages.hall.statuses


def report(device_id: str, kind: str, online: bool, **detail: str) -> wire.DeviceStatus:
    """A status as a device publishes it and the hub decodes it."""
    body = {"v": 1, "device_id": device_id, "kind": kind, "online": online, "at": "2026-11-25T10:00:00+08:00",
            "detail": detail}  # fmt: skip
    return wire.decode_as(wire.DeviceStatus, msgspec.json.encode(body))


async def view_of(client: Client, path: str = f"/admin/sites/{CENTRE}/live.json") -> dict[str, Any]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer["view"]


async def next_view(response: ClientResponse, timeout: float = 10.0) -> dict[str, Any]:
    """The data of the stream's next ``view`` event (the retry line and keep-alive comments skipped)."""
    while True:
        block = (await asyncio.wait_for(response.content.readuntil(b"\n\n"), timeout)).decode()
        if not block.endswith("\n\n"):
            raise EOFError("the stream ended")
        lines = block.splitlines()
        if "event: view" in lines:
            return json.loads(next(line[6:] for line in lines if line.startswith("data: ")))


def by(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return next(row for row in rows if row[key] == value)


# --- who may open them -----------------------------------------------------------------------------------------

LIVE, STREAM = f"/admin/sites/{CENTRE}/live", f"/admin/sites/{CENTRE}/live/stream"


async def test_signed_out_the_pages_send_to_the_sign_in_and_the_streams_answer_nothing(client: Client) -> None:
    for path in (LIVE, STREAM, "/admin/wall", "/admin/wall/stream"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == f"/admin/sign-in?next={path}"
        refused = await client.get(path, headers={"Accept": "application/json"})
        assert refused.status == 401 and (await refused.json())["error"]["code"] == "signed_out"


@pytest.mark.parametrize(("username", "path", "code"), [
    ("zhao", LIVE, "wrong_role"), ("zhao", STREAM, "wrong_role"),
    ("wang", LIVE, "wrong_site"), ("wang", STREAM, "wrong_site"),
    ("li", "/admin/wall", "wrong_role"), ("li", "/admin/wall/stream", "wrong_role"),
])  # fmt: skip
async def test_others_are_refused(client: Client, username: str, path: str, code: str) -> None:
    assert await sign_in(client, username) == 303

    response = await client.get(path, headers={"Accept": "application/json"})

    assert response.status == 403 and (await response.json())["error"]["code"] == code


async def test_the_manager_opens_their_site_and_the_administrator_every_site_and_the_wall(client: Client) -> None:
    assert await sign_in(client, "li") == 303
    assert (await client.get(LIVE)).status == 200
    assert await sign_in(client, "root") == 303
    for site in DISTRICT.sites:
        assert (await client.get(f"/admin/sites/{site.id}/live.json")).status == 200
    wall = await client.get("/admin/wall")
    assert wall.status == 200 and "全区大屏" in await wall.text()
    assert "District wall" in await (await client.get("/admin/wall?lang=en")).text()
    assert (await client.get("/admin/sites/atlantis/live.json")).status == 404
    assert (await client.get("/admin/sites/atlantis/live/stream")).status == 404


# --- the figures -----------------------------------------------------------------------------------------------


async def test_the_view_follows_the_commands_of_the_hall(live: tuple[Pages, Hall], live_client: Client) -> None:
    _, hall = live
    for matter in ("A02", "A02", "B01"):
        await hall.issue(matter)
    await hall.at_window("w01", wire.Action.OPEN_WINDOW, staff_id="li01", pin=PIN)
    await hall.at_window("w01", wire.Action.CALL_NEXT)
    await hall.at_window("w01", wire.Action.START)
    await hall.at_window("w01", wire.Action.FINISH)
    await hall.at_window("w01", wire.Action.CALL_NEXT)
    await hall.at_window("w02", wire.Action.OPEN_WINDOW, staff_id="wu02", pin=PIN)
    await hall.at_window("w02", wire.Action.PAUSE, reason="break")
    hall.clock.advance(minutes=4)
    assert await sign_in(live_client, "li") == 303

    view = await view_of(live_client)

    assert (view["issued"], view["served"], view["waiting"]) == (3, 1, 1)
    assert (view["windows_open"], view["windows_total"]) == (2, 12)
    w01, w02, w03 = (by(view["windows"], "window_id", window) for window in ("w01", "w02", "w03"))
    assert (w01["state"], w01["current"], w01["clerk"]) == ("called", "A002", "李敏")
    assert (w02["state"], w02["clerk"], w02["paused_minutes"]) == ("paused", "吴芳", 4.0)
    assert (w03["state"], w03["clerk"], w03["current"]) == ("closed", None, None)
    a02, b01, a01 = (by(view["matters"], "code", code) for code in ("A02", "B01", "A01"))
    assert (a02["issued"], a02["served"], a02["waiting"], a02["longest_wait_minutes"]) == (2, 1, 0, None)
    assert (b01["issued"], b01["served"], b01["waiting"], b01["longest_wait_minutes"]) == (1, 0, 1, 4.0)
    assert b01["estimated_wait_minutes"] is not None and a01["waiting"] == 0
    assert view["longest_wait_minutes"] == 4.0 and view["target_wait_minutes"] == TARGET
    assert [alert["kind"] for alert in view["alerts"]] == ["device_silent"] * 3  # nothing reported yet
    html = await (await live_client.get(LIVE)).text()
    assert "李敏" in html and "A002" in html and "大厅实时" in html and "连接中断，正在重连…" in html
    assert "li01" not in html + json.dumps(view)  # a clerk is shown by name, never by staff id
    english = await (await live_client.get(f"{LIVE}?lang=en")).text()
    assert "Live hall" in english and "Connection lost, reconnecting…" in english


async def test_a_wait_past_the_target_and_a_long_pause_are_alerts(
    live: tuple[Pages, Hall], live_client: Client
) -> None:
    _, hall = live
    await hall.issue("B01")
    await hall.at_window("w02", wire.Action.OPEN_WINDOW, staff_id="wu02", pin=PIN)
    await hall.at_window("w02", wire.Action.PAUSE, reason="break")
    assert await sign_in(live_client, "li") == 303

    hall.clock.advance(minutes=PAUSE_ALERT_MINUTES)
    at_limits = await view_of(live_client)
    hall.clock.advance(minutes=TARGET + 1 - PAUSE_ALERT_MINUTES)
    past = await view_of(live_client)

    assert not {"wait_over_target", "window_paused"} & {alert["kind"] for alert in at_limits["alerts"]}
    assert at_limits["alerts_due_at"] == "2026-11-25T10:15:00+08:00"  # when B001 passes the target
    waited = by(past["alerts"], "kind", "wait_over_target")
    assert (waited["code"], waited["minutes"], waited["target"], waited["severity"]) == ("B01", TARGET + 1, TARGET,
                                                                                            "high")  # fmt: skip
    paused = by(past["alerts"], "kind", "window_paused")
    assert (paused["window_id"], paused["minutes"], paused["limit"]) == ("w02", TARGET + 1, PAUSE_ALERT_MINUTES)
    assert by(past["matters"], "code", "B01")["over_target"] and past["alerts_due_at"] is None
    html = await (await live_client.get(LIVE)).text()
    assert "已等候 16 分钟，目标 15 分钟" in html and "已暂停 16 分钟" in html


async def test_devices_gone_silent_out_of_paper_or_asking_for_help(
    live: tuple[Pages, Hall], live_client: Client
) -> None:
    pages, hall = live
    statuses = statuses_of(pages)
    statuses[hall.kiosk] = report(hall.kiosk, "kiosk", True, printer="paper_out", help="requested",
                                  help_at="2026-11-25T09:58:00+08:00", id_reader="offline")  # fmt: skip
    statuses[hall.callers["w01"]] = report(hall.callers["w01"], "caller", False)
    assert await sign_in(live_client, "root") == 303

    view = await view_of(live_client)

    assert (view["devices"]["online"], view["devices"]["offline"]) == (1, 2)
    kiosk = by(view["devices"]["items"], "device_id", hall.kiosk)
    assert (kiosk["online"], kiosk["printer"], kiosk["help_requested"]) == (True, "paper_out", True)
    assert kiosk["faults"] == {"id_reader": "offline"}
    alerts = [(alert["kind"], alert.get("device_id"), alert["severity"]) for alert in view["alerts"]]
    assert alerts == [
        ("help_requested", hall.kiosk, "high"), ("device_offline", hall.callers["w01"], "high"),
        ("printer", hall.kiosk, "high"), ("device_silent", hall.callers["w02"], "low"),
        ("device_fault", hall.kiosk, "low"),
    ]  # fmt: skip
    html = await (await live_client.get(LIVE)).text()
    assert f"{hall.kiosk} 请求工作人员协助" in html and f"{hall.callers['w01']} 已离线" in html
    assert f"{hall.kiosk}：打印机缺纸" in html

    statuses[hall.kiosk] = report(hall.kiosk, "kiosk", True, printer="paper_low", help="none")
    calmer = await view_of(live_client)
    assert ("printer", "low") in {(alert["kind"], alert["severity"]) for alert in calmer["alerts"]}
    assert "help_requested" not in {alert["kind"] for alert in calmer["alerts"]}


# --- the streams -----------------------------------------------------------------------------------------------


async def test_the_stream_sends_the_view_again_after_each_change_and_ends_with_the_hub(
    live: tuple[Pages, Hall], live_client: Client
) -> None:
    pages, hall = live
    assert await sign_in(live_client, "li") == 303
    response = await live_client.get(STREAM)
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")

    first = await next_view(response)
    await hall.issue("A02")
    hall.changed()
    second = await next_view(response)
    await hall.at_window("w01", wire.Action.OPEN_WINDOW, staff_id="li01", pin=PIN)
    await hall.at_window("w01", wire.Action.CALL_NEXT)
    hall.changed()
    third = await next_view(response)
    pages.hall.feed.close()

    assert (first["waiting"], second["waiting"], third["waiting"]) == (0, 1, 0)
    assert by(third["windows"], "window_id", "w01")["current"] == "A001"
    with pytest.raises(EOFError):
        await next_view(response)


async def test_streams_share_one_build_per_change(live: tuple[Pages, Hall], live_client: Client) -> None:
    pages, hall = live
    reader = pages.hall
    assert isinstance(reader, CountingReader)
    assert await sign_in(live_client, "li") == 303
    streams = [await live_client.get(STREAM) for _ in range(5)]
    await asyncio.gather(*(next_view(response) for response in streams))
    assert reader.builds == 1

    await hall.issue("A02")
    hall.changed()
    views = await asyncio.gather(*(next_view(response) for response in streams))

    assert [view["waiting"] for view in views] == [1] * 5
    assert reader.builds == 2


async def test_a_followed_site_is_sent_again_when_its_alert_falls_due(
    live: tuple[Pages, Hall], live_client: Client
) -> None:
    _, hall = live
    await hall.issue("B01")
    hall.clock.advance(minutes=TARGET, seconds=-0.5)  # the alert falls due in half a second of hall time
    assert await sign_in(live_client, "li") == 303
    response = await live_client.get(STREAM)
    before = await next_view(response)
    hall.clock.advance(seconds=1)  # nobody calls changed(): the page's own wake-up does, a second after it is due

    after = await next_view(response, timeout=5)

    assert "wait_over_target" not in {alert["kind"] for alert in before["alerts"]}
    assert "wait_over_target" in {alert["kind"] for alert in after["alerts"]}


async def test_the_wall_shows_every_site_and_follows_a_change_at_any(
    live: tuple[Pages, Hall], live_client: Client
) -> None:
    _, hall = live
    assert await sign_in(live_client, "root") == 303
    response = await live_client.get("/admin/wall/stream")
    first = await next_view(response)

    await hall.issue("A02")
    hall.changed()
    second = await next_view(response)

    assert [site["site_id"] for site in first["sites"]] == [site.id for site in DISTRICT.sites]
    assert (first["sites"][0]["waiting"], second["sites"][0]["waiting"]) == (0, 1)
    assert second["sites"][1] == first["sites"][1]
    wall = await view_of(live_client, "/admin/wall.json")
    assert len(wall["sites"]) == 6 and wall["name_zh"] == DISTRICT.name_zh


async def test_among_several_hubs_the_wall_shows_this_hubs_sites_and_names_the_others(
    live: tuple[Pages, Hall], live_client: Client
) -> None:
    """A wall built from stale copies of other hubs' sites would mislead: it shows the sites this hub holds, and
    says which hub decides each other one, with a link to that hub's live hall."""
    pages, _ = live
    gate = HeldSites(SiteLeases("postgresql://unused", "hub-a"))
    gate.taken(CENTRE)
    gate.leases.holders = {"xiaozhai": ("hub-b", "http://hub-b.hall.local:8080")}
    pages.hall.sites = gate
    assert await sign_in(live_client, "root") == 303

    wall = await view_of(live_client, "/admin/wall.json")

    assert [site["site_id"] for site in wall["sites"]] == [CENTRE]
    others = {site["site_id"]: site for site in wall["elsewhere"]}
    assert set(others) == {site.id for site in DISTRICT.sites} - {CENTRE}
    assert (others["xiaozhai"]["hub"], others["xiaozhai"]["address"]) == ("hub-b", "http://hub-b.hall.local:8080")
    html = await (await live_client.get("/admin/wall")).text()
    assert "以下站点由另一台服务器处理" in html
    assert 'href="http://hub-b.hall.local:8080/admin/sites/xiaozhai/live"' in html


# --- the running hub -------------------------------------------------------------------------------------------


async def test_a_call_over_mqtt_reaches_an_open_stream_of_the_running_hub(hub: HubProcess) -> None:
    kiosk = hub.provision(CENTRE, "kiosk")
    caller = hub.provision(CENTRE, "caller", window_id="w01")
    hub.add_staff(CENTRE, "li", name="李敏", pin=PIN)
    made = subprocess.run(
        [sys.executable, "-m", "hub.cli", "admin", "add", "root"], input=PASSWORD, text=True, cwd=REPO, env=hub.env,
        capture_output=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    hub.start()
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{hub.http_port}", cookie_jar=jar) as session:
        async with session.get("/admin/sign-in") as response:
            found = CSRF.search(await response.text())
        assert found is not None
        form = {"csrf": found.group(1), "username": "root", "password": PASSWORD}
        async with session.post("/admin/sign-in", data=form) as response:
            assert response.status == 200
        async with session.get(STREAM) as response:
            view = await next_view(response)
            while not view["day_open"]:  # the hub opens the day on its first tick
                view = await next_view(response)
            kiosk_link = hub.link(kiosk, CENTRE, wire.DeviceKind.KIOSK)
            caller_link = hub.link(caller, CENTRE, wire.DeviceKind.CALLER)
            sign_in_at_w01 = {"window_id": "w01", "staff_id": "li", "pin": PIN}
            for link, action, body in ((kiosk_link, wire.Action.ISSUE, {"matters": ["A02"]}),
                                       (caller_link, wire.Action.OPEN_WINDOW, sign_in_at_w01),
                                       (caller_link, wire.Action.CALL_NEXT, {"window_id": "w01"})):  # fmt: skip
                assert (await asyncio.to_thread(link.request, action, body)).ok
            while not (by(view["windows"], "window_id", "w01")["current"] == "A001"
                       and by(view["devices"]["items"], "device_id", kiosk.device_id)["online"]):  # fmt: skip
                view = await next_view(response)

    w01 = by(view["windows"], "window_id", "w01")
    assert (w01["state"], w01["clerk"]) == ("called", "李敏")

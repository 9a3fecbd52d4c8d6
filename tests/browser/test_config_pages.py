"""The configuration grid and the devices of a site in Chromium, against the running hub: a hall manager types a
weight into the window-matter grid and saves it, and within a second a running caller model of that window and a
plain MQTT subscriber of the site's info both have it; a weight that cannot be is shown beside its cell and nothing
is saved; another site's manager is refused; a kiosk is provisioned with its password and QR code shown once; the
audit shows the change; the pages fit a phone.

The module's hub has, before it starts, the caller of window 11 (worked as the caller app works it, without its
window: ``RunningCaller``), a kiosk to issue tickets, a board whose account the plain subscriber borrows, and the
window's clerk."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import pytest_asyncio
from paho.mqtt.enums import CallbackAPIVersion
from playwright.async_api import Locator, Page, expect

import contract as wire
from caller.hub_link import CallerLink
from caller.model import CallerModel, Request
from caller.texts import Texts
from devicekit.link import DeviceLink
from hub.devices import Credentials
from hub.district_file import SAMPLE_DISTRICT, load_district
from tests.browser.conftest import PHONE, OpenPage, Shot, running_web_hub
from tests.support.hub_process import HubProcess

Kind = wire.DeviceKind
CENTRE = "centre"
CENTRE_NAME = next(site.name_zh for site in load_district(SAMPLE_DISTRICT).sites if site.id == CENTRE)
GRID = f"/admin/sites/{CENTRE}/matrix"
DEVICES = f"/admin/sites/{CENTRE}/devices"
WINDOW, NUMBER = "w11", 11
"""The window whose caller follows the site: it serves F01 and F02 only until the grid gives it B01."""
CLERK, CLERK_NAME, PIN = "liu11", "刘洋", "2468"
FOLLOW_WITHIN = 1.0
"""Seconds from the click on save to a device holding the change (docs/web.md: "within a second")."""


@dataclass
class Hall:
    hub: HubProcess
    kiosk: DeviceLink
    caller: Credentials
    """Window 11's caller, for ``RunningCaller``."""
    board: Credentials
    """A board's account, for a plain MQTT subscriber."""


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    directory = tmp_path_factory.mktemp("hub")
    ready = HubProcess(directory)  # the database the started hub will use, prepared before it starts
    kiosk = ready.provision(CENTRE, Kind.KIOSK.value)
    caller = ready.provision(CENTRE, Kind.CALLER.value, WINDOW)
    board = ready.provision(CENTRE, Kind.BOARD.value)
    ready.add_staff(CENTRE, CLERK, CLERK_NAME, PIN)
    with running_web_hub(directory) as hub:
        yield Hall(hub, hub.link(kiosk, CENTRE, Kind.KIOSK), caller, board)


@pytest.fixture(scope="module")
def web_hub(hall: Hall) -> HubProcess:
    """conftest's pages open on this module's hub."""
    return hall.hub


# --- the devices that follow the site -------------------------------------------------------------------------------


def serves(info: wire.SiteInfo | None, code: str, number: int) -> bool:
    """Whether a site info has window ``number`` serving the matter ``code``."""
    return info is not None and any(number in matter.windows for matter in info.matters if matter.code == code)


class RunningCaller:
    """Window 11's caller as the caller app runs it (caller/app.py), without its Kivy window: the model fed by its
    ``CallerLink`` on the event loop (the app: on Kivy's thread) — the site's retained info, the site's events, and
    a queue refresh whenever the site moved on — its requests sent off the loop. ``seen`` keeps when each thing the
    test waits for first held."""

    def __init__(self, hub: HubProcess, credentials: Credentials) -> None:
        link = DeviceLink(
            host=hub.broker_host, port=hub.broker_port, site_id=CENTRE, device_id=credentials.device_id,
            password=credentials.password, kind=Kind.CALLER, follow_site=True,
        )  # fmt: skip
        self.hub = CallerLink(link)
        self.model = CallerModel(CENTRE, WINDOW, Texts("zh_CN"))
        self.seen: dict[str, float] = {}
        self._loop = asyncio.get_running_loop()
        self._seen_seq = -2
        self._sending: set[asyncio.Task[None]] = set()
        self.hub.on_info = lambda info: self._later(self.model.on_info, info)
        self.hub.on_event = lambda event: self._later(self.model.on_event, event)
        link.on_change = lambda: self._later(self._link_changed)

    def _later(self, change: Any, *args: Any) -> None:
        """From paho's thread onto the loop, then note what now holds."""
        self._loop.call_soon_threadsafe(self._apply, change, *args)

    def _apply(self, change: Any, *args: Any) -> None:
        change(*args)
        self._note()

    def _note(self) -> None:
        at = time.monotonic()
        if serves(self.model.info, "B01", NUMBER):
            self.seen.setdefault("info: 11 serves B01", at)
        if any("B01" in ticket.matters for ticket in self.model.queue):
            self.seen.setdefault("queue: a B01 ticket", at)

    def _link_changed(self) -> None:
        """As the app: take the snapshot, and refresh the queue when the site moved on."""
        view = self.hub.link.view
        if view is not None and view.snapshot is not None:
            self.model.on_snapshot(view.snapshot)
        self.model.set_online(self.hub.online)
        if self.hub.online and view is not None and view.seq != self._seen_seq:
            self._seen_seq = view.seq
            self.send(self.model.queue_request())

    def send(self, request: Request | None) -> None:
        if request is not None:
            task = asyncio.ensure_future(self.drive(request))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def drive(self, request: Request) -> None:
        """A request and its follow-ups, each sent off the loop and its answer applied on it."""
        reply = await asyncio.to_thread(self.hub.send, request)
        follow = self.model.on_reply(request, reply) if reply is not None else self.model.on_unreachable(request)
        self._note()
        for then in follow:
            await self.drive(then)

    async def start(self) -> None:
        assert await asyncio.to_thread(self.hub.start, 10.0), "window 11's caller could not connect"
        deadline = time.monotonic() + 10
        while (self.model.info is None or self.model.snapshot is None) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert self.model.info is not None and self.model.snapshot is not None, "no site info or snapshot"
        request = self.model.sign_in(CLERK, PIN)
        assert request is not None
        await self.drive(request)
        assert self.model.clerk is not None and self.model.clerk.name == CLERK_NAME, self.model.message

    async def stop(self) -> None:
        request = self.model.command("sign_out")  # the window closes again: the grid may remove it
        if request is not None:
            await self.drive(request)
        await asyncio.gather(*self._sending, return_exceptions=True)
        self.hub.stop()


class InfoWatcher:
    """A plain MQTT subscriber of the site's retained info (paho, a board's account): each info as it arrived."""

    def __init__(self, hub: HubProcess, credentials: Credentials) -> None:
        self.infos: list[tuple[float, wire.SiteInfo]] = []
        self.subscribed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=credentials.device_id)
        client.username_pw_set(credentials.device_id, credentials.password)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.connect(hub.broker_host, hub.broker_port)
        client.loop_start()
        self.client = client

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(wire.info_topic(CENTRE), qos=1)

    def _on_subscribe(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self.subscribed.set)

    def _on_message(self, _client: mqtt.Client, _data: object, message: mqtt.MQTTMessage) -> None:
        self.infos.append((time.monotonic(), wire.decode_as(wire.SiteInfo, bytes(message.payload))))

    def first(self, holds: Any) -> float | None:
        return next((at for at, info in self.infos if holds(info)), None)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest_asyncio.fixture(loop_scope="session")
async def followers(hall: Hall) -> AsyncIterator[tuple[RunningCaller, InfoWatcher]]:
    caller = RunningCaller(hall.hub, hall.caller)
    watcher = InfoWatcher(hall.hub, hall.board)
    try:
        await caller.start()
        await asyncio.wait_for(watcher.subscribed.wait(), 10)
        yield caller, watcher
    finally:
        watcher.stop()
        await caller.stop()


# --- the pages --------------------------------------------------------------------------------------------------


async def version_of(page: Page) -> int:
    """The configuration version in force, as the grid's JSON tells (with the page's session)."""
    answer = await page.request.get(f"{GRID}.json")
    assert answer.ok
    version: int = (await answer.json())["version"]
    return version


async def versions(page: Page) -> list[dict[str, Any]]:
    answer = await page.request.get("/admin/config/versions.json")
    assert answer.ok
    saved: list[dict[str, Any]] = (await answer.json())["versions"]
    return saved


def cell(page: Page, name: str) -> Locator:
    """The grid's cell (``td``) of a field such as ``w.w11.B01``."""
    return page.locator("table.grid td", has=page.locator(f'input[name="{name}"]'))


async def save(page: Page, reason: str) -> tuple[int, float]:
    """Write the reason and press save, as a person does: the status of the page it led to, and when the button
    was pressed (``time.monotonic()``)."""
    await page.get_by_label("修改原因").fill(reason)
    async with page.expect_navigation() as navigation:
        clicked = time.monotonic()
        await page.get_by_role("button", name="保存并推送到设备").click()
    response = await navigation.value
    assert response is not None
    return response.status, clicked


async def test_a_weight_saved_in_the_grid_reaches_the_window_s_caller_and_a_subscriber_within_a_second(
    hall: Hall, signed_in: OpenPage, followers: tuple[RunningCaller, InfoWatcher], shot: Shot
) -> None:
    caller, watcher = followers
    ticket = await asyncio.to_thread(hall.kiosk.request, wire.Action.ISSUE, {"matters": ["B01"]})
    assert ticket.ok, ticket.error
    assert not serves(caller.model.info, "B01", NUMBER) and not caller.model.queue  # F01, F02: nobody
    page = await signed_in("li")
    await page.goto(GRID)
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"{CENTRE_NAME} · 窗口与事项")
    await shot(page, "config-matrix-1366")
    version = await version_of(page)

    field = cell(page, f"w.{WINDOW}.B01").locator("input")
    await expect(field).to_have_value("")
    await field.fill("1")
    await expect(field).to_have_class(re.compile(r"\bchanged\b"))  # configure.js marks what differs
    status, clicked = await save(page, "11 号窗口也办理个体工商户变更（测试）")
    assert status == 200

    await expect(page.get_by_role("status")).to_have_text(f"已保存为第 {version + 1} 版，已推送到设备")
    await expect(cell(page, f"w.{WINDOW}.B01").locator("input")).to_have_value("1")
    assert page.url.endswith(f"{GRID}?saved={version + 1}")
    deadline = clicked + FOLLOW_WITHIN
    while time.monotonic() < deadline and not (
        "info: 11 serves B01" in caller.seen and watcher.first(lambda info: serves(info, "B01", NUMBER))
    ):
        await asyncio.sleep(0.01)
    heard = watcher.first(lambda info: serves(info, "B01", NUMBER))
    took = caller.seen.get("info: 11 serves B01")
    seconds = [("subscriber", heard), ("caller", took)]
    after = {who: None if at is None else round(at - clicked, 3) for who, at in seconds}
    assert heard is not None and heard - clicked < FOLLOW_WITHIN, f"the subscriber: {after}"
    assert took is not None and took - clicked < FOLLOW_WITHIN, f"window 11's caller model: {after}"

    # The hub calls B01 tickets to window 11 now. The caller app refreshes its queue after each event of the site
    # (and every ``queue_refresh_seconds``), not when the info changes: the next ticket issued brings the B01 one.
    issued = await asyncio.to_thread(hall.kiosk.request, wire.Action.ISSUE, {"matters": ["F01"]})
    assert issued.ok, issued.error
    asked = time.monotonic()
    while "queue: a B01 ticket" not in caller.seen and time.monotonic() < asked + FOLLOW_WITHIN:
        await asyncio.sleep(0.01)
    assert ticket.ticket is not None
    assert ticket.ticket.number in [queued.number for queued in caller.model.queue], caller.model.queue


@pytest.mark.parametrize("typed", ["0", "x"])
async def test_a_weight_that_cannot_be_is_shown_in_its_cell_and_nothing_is_saved(
    signed_in: OpenPage, typed: str
) -> None:
    page = await signed_in("li")
    await page.goto(GRID)
    before = await versions(page)

    await cell(page, "w.w09.A01").locator("input").fill(typed)
    assert (await save(page, "a weight that cannot be"))[0] == 422

    bad = cell(page, "w.w09.A01")
    await expect(bad.locator(".problem")).to_have_text(
        f"9 号窗口对 A01 的权重须为 1 至 9 的整数（留空表示不办理），现为“{typed}”"
    )
    await expect(bad).to_have_class(re.compile(r"\bbad\b"))
    await expect(bad.locator("input")).to_have_value(typed)
    await expect(bad.locator("input")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("alert")).to_contain_text("未保存：请修改标红的内容")
    await expect(page.locator("table.grid .problem")).to_have_count(1)
    await expect(page.get_by_role("status")).to_have_count(0)
    assert await versions(page) == before
    await page.goto(GRID)
    await expect(cell(page, "w.w09.A01").locator("input")).to_have_value("")


async def test_another_site_s_manager_is_refused_the_grid(signed_in: OpenPage) -> None:
    page = await signed_in("wang")
    response = await page.goto(GRID)

    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("无法完成")
    await expect(page.locator(".problem")).to_have_text("此页面属于其他站点")
    await expect(page.locator("#config-form")).to_have_count(0)


async def test_a_kiosk_is_provisioned_and_its_password_shown_once_with_a_qr_code(
    signed_in: OpenPage, shot: Shot
) -> None:
    page = await signed_in("li")
    await page.goto(DEVICES)
    rows = page.locator("tbody tr")
    before = await rows.count()
    await shot(page, "devices-1366")

    await page.get_by_label("设备类型").select_option(label="自助取号机")
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name="添加设备并生成密码").click()
    response = await navigation.value
    assert response is not None and response.status == 200 and response.headers["cache-control"] == "no-store"

    device_id = (await page.locator("dd.id").inner_text()).strip()
    password = (await page.locator("code.secret").inner_text()).strip()
    assert re.fullmatch(r"kiosk-centre-\d+", device_id) and len(password) >= 16
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(rf"^设备已添加[:：]\s*{device_id}$"))
    await expect(page.locator(".once")).to_contain_text("只显示这一次")
    qr = page.locator("figure.qr svg, figure.qr img")
    await expect(qr).to_have_count(1)
    box = await qr.bounding_box()
    assert box is not None and box["width"] >= 150 and box["height"] >= 150
    await expect(page.locator("pre.settings")).to_contain_text(f'password = "{password}"')
    await shot(page, "device-provisioned-1366")

    await page.reload()  # the browser sends the form again: refused, the password not shown again
    await expect(page.get_by_role("alert")).to_contain_text("此表单已经提交过：结果请查看列表")
    assert password not in await page.content()
    await page.goto(DEVICES)
    await expect(rows).to_have_count(before + 1)
    await expect(page.locator("td.id", has_text=device_id)).to_have_count(1)
    assert password not in await page.content()


async def test_the_audit_shows_a_grid_change_with_what_it_was_and_became(signed_in: OpenPage, shot: Shot) -> None:
    page = await signed_in("li")
    await page.goto(GRID)
    await cell(page, "w.w10.C01").locator("input").fill("2")
    reason = "10 号窗口协办企业变更（审计测试）"
    assert (await save(page, reason))[0] == 200

    await page.goto("/admin/audit")
    entry = page.locator("tbody tr", has=page.get_by_text(f"原因: {reason}", exact=True))
    await expect(entry).to_have_count(1)
    cells = entry.locator("td")
    await expect(cells.nth(1)).to_have_text("li")
    await expect(cells.nth(2)).to_have_text("修改配置")
    await expect(cells.nth(4)).to_have_text(CENTRE)
    await expect(cells.nth(5)).to_have_text(f"site:{CENTRE}")
    change = cells.nth(6).locator("ul.changes li")
    await expect(change).to_have_count(1)  # the one cell, not the site's windows as a whole
    await expect(change).to_contain_text("windows.w10.weights.C01")
    await expect(change.locator("ins")).to_have_text("2")  # a new cell: nothing before it
    await expect(cells.nth(7)).to_have_text("127.0.0.1")
    await shot(page, "audit-1366")


async def test_the_audit_names_the_cell_a_grid_change_changed(signed_in: OpenPage) -> None:
    page = await signed_in("li")
    await page.goto(GRID)
    await cell(page, "w.w08.A02").locator("input").fill("1")
    reason = "8 号窗口协办个体工商户登记（审计测试）"
    assert (await save(page, reason))[0] == 200

    await page.goto("/admin/audit")
    entry = page.locator("tbody tr", has=page.get_by_text(f"原因: {reason}", exact=True))
    changed = entry.locator("ul.changes li", has_text="A02")
    assert await changed.count() == 1, await entry.locator("ul.changes").inner_text()
    assert "w08" in await changed.inner_text() and await changed.locator("ins").inner_text() == "1"


async def test_the_grid_fits_a_phone_and_scrolls_in_its_own_box(signed_in: OpenPage, shot: Shot) -> None:
    page = await signed_in("li", viewport=PHONE)
    await page.goto(GRID)

    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator(".grid-box")
    assert await box.evaluate("box => box.scrollWidth > box.clientWidth")
    await expect(page.get_by_role("button", name="保存并推送到设备")).to_be_visible()
    await shot(page, "config-matrix-phone")


async def test_the_site_settings_page_draws_the_site_as_in_force(signed_in: OpenPage, shot: Shot) -> None:
    page = await signed_in("li")
    await page.goto(f"/admin/sites/{CENTRE}/settings")

    await expect(page.get_by_role("heading", level=1)).to_contain_text("站点设置")
    await expect(page.locator("#config-form")).to_have_count(1)
    await expect(page.get_by_role("button", name="保存并推送到设备")).to_be_visible()
    await shot(page, "config-settings-1366")

"""The live hall of a site and the district wall in Chromium, against the running hub, while the hall's devices work
over MQTT: a ticket issued and called shows without a reload, the stream resumes after a lost connection, the wall's
six sites fit a 1920×1080 screen and follow a call, the others are refused, the pages fit a phone.

The module's hub starts on a morning already under way (``MORNING``, played through the console on the hub's
database before it starts, so that tickets have waited minutes at 10:00 and windows have served), with its devices
provisioned and linked; the tests then act as those devices."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
import pytest_asyncio
from playwright.async_api import Locator, Page, ViewportSize, expect

import contract as wire
from devicekit.link import DeviceLink
from engine import events as ev
from hub.console import Console
from hub.devices import Credentials
from hub.district_file import SAMPLE_DISTRICT
from hub.main import open_district
from hub.service import HallService
from hub.store import open_store
from tests.browser.conftest import PHONE, OpenPage, Shot, running_web_hub
from tests.support.hub_process import HubProcess

Kind = wire.DeviceKind
CENTRE, XIAOZHAI = "centre", "xiaozhai"
WALL_SCREEN = ViewportSize(width=1920, height=1080)
PIN = "2468"
CLERKS = {
    CENTRE: {"li01": "李敏", "wu02": "吴芳", "zhang03": "张伟", "chen05": "陈静", "zhao07": "赵磊"},
    XIAOZHAI: {"sun11": "孙丽", "zhou13": "周强"},
    "dianzicheng": {"ma21": "马俊"},
    "jixiangcun": {"he32": "何婷"},
    "cuihualu": {"gao51": "高远"},
}
"""Each site's counter staff (``hall-hub staff``): staff id → name."""
DEVICES: list[tuple[str, Kind, str | None]] = [
    (CENTRE, Kind.KIOSK, None), (CENTRE, Kind.BOARD, None),
    (CENTRE, Kind.CALLER, "w01"), (CENTRE, Kind.CALLER, "w02"), (CENTRE, Kind.CALLER, "w03"),
    (XIAOZHAI, Kind.KIOSK, None), (XIAOZHAI, Kind.CALLER, "w1"),
]  # fmt: skip
"""The devices provisioned and linked: (site, kind, window)."""
DAY = "2026-11-25"
MORNING = """
09:00 open-day all
09:00 open-window centre w01 li01
09:00 open-window centre w02 wu02
09:00 open-window xiaozhai w1 sun11
09:00 open-window xiaozhai w3 zhou13
09:01 open-window centre w05 chen05
09:01 open-window centre w07 zhao07
09:02 open-window dianzicheng w1 ma21
09:03 open-window jixiangcun w2 he32
09:04 issue centre A02
09:05 open-window cuihualu w1 gao51
09:05 issue centre B01
09:06 call centre w01
09:06 start centre w01
09:07 call centre w07
09:07 start centre w07
09:10 issue xiaozhai B01
09:11 issue centre A01
09:12 call centre w05
09:12 call xiaozhai w3
09:13 start centre w05
09:14 start xiaozhai w3
09:14 issue centre C01
09:15 call centre w02
09:15 start centre w02
09:16 finish centre w01
09:18 issue centre B01
09:19 finish centre w07
09:19 call centre w07
09:20 start centre w07
09:21 issue dianzicheng B01
09:22 issue centre D01 elderly
09:23 call centre w01
09:24 start centre w01
09:25 issue xiaozhai A02
09:26 call xiaozhai w1
09:26 issue centre A02
09:27 call dianzicheng w1
09:28 finish centre w02
09:29 finish centre w05
09:30 issue jixiangcun E01
09:30 call centre w05
09:31 start centre w05
09:32 call jixiangcun w2
09:33 issue centre E01
09:35 finish centre w07
09:36 issue centre B02
09:37 call centre w07
09:37 start centre w07
09:38 finish centre w01
09:40 issue centre F01
09:40 issue xiaozhai D01
09:41 call centre w02
09:41 start centre w02
09:43 issue centre C02
09:44 issue dianzizhengjie B01
09:45 issue centre A03
09:46 issue jixiangcun B01
09:47 finish centre w05
09:48 issue centre B01
09:50 issue centre A02
09:50 issue xiaozhai C01
09:51 issue dianzicheng A02
09:52 pause centre w05 窗口设备维护
09:53 issue centre E02
09:55 issue xiaozhai B01
09:55 finish centre w02
09:55 call centre w02
09:56 start centre w02
09:57 issue centre B01
09:58 call centre w01
09:59 issue centre D01
"""
"""The morning until 10:00, when the hub's clock starts: console lines (``hall-hub run``), each at its local time."""


def play_morning(db_url: str) -> None:
    """Every line of ``MORNING`` through the console on the hub's database (the hub is not running yet)."""
    store = open_store(db_url)
    try:
        now = [datetime.fromisoformat(f"{DAY}T09:00:00+08:00")]
        console = Console(HallService(open_district(store, SAMPLE_DISTRICT), store), lambda: now[0])
        for line in MORNING.strip().splitlines():
            at, words = line.split(maxsplit=1)
            now[0] = datetime.fromisoformat(f"{DAY}T{at}:00+08:00")
            said = console.execute_line(words)
            assert "✗" not in said, f"{line}: {said}"
    finally:
        store.close()


@dataclass
class Hall:
    """The running hub and the hall's devices linked to it over MQTT, worked as their apps would."""

    hub: HubProcess
    kiosks: dict[str, DeviceLink]
    callers: dict[tuple[str, str], DeviceLink]

    @classmethod
    def linked(cls, hub: HubProcess, credentials: dict[tuple[str, Kind, str | None], Credentials]) -> Hall:
        links = {key: hub.link(account, key[0], key[1]) for key, account in credentials.items()}
        return cls(
            hub,
            kiosks={site: link for (site, kind, _), link in links.items() if kind == Kind.KIOSK},
            callers={(site, window): link for (site, kind, window), link in links.items() if window is not None},
        )

    async def ask(self, link: DeviceLink, action: wire.Action, **body: object) -> wire.Reply:
        reply = await asyncio.to_thread(link.request, action, body)
        assert reply.ok, reply.error
        return reply

    async def issue(self, site: str, matter: str) -> str:
        """A ticket taken at the site's kiosk: its number."""
        reply = await self.ask(self.kiosks[site], wire.Action.ISSUE, matters=[matter])
        assert reply.ticket is not None
        return reply.ticket.number

    async def sign_in(self, site: str, window: str, staff_id: str) -> None:
        """The clerk signs in at the window's caller with the PIN (again by the same clerk: nothing changes)."""
        await self.ask(
            self.callers[site, window], wire.Action.OPEN_WINDOW, window_id=window, staff_id=staff_id, pin=PIN
        )

    async def call_next(self, site: str, window: str) -> str:
        """呼叫下一位 at the window's caller: the number the hub called."""
        reply = await self.ask(self.callers[site, window], wire.Action.CALL_NEXT, window_id=window)
        return next(event.number for event in reply.events if isinstance(event, ev.TicketCalled))


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    directory = tmp_path_factory.mktemp("hub")
    ready = HubProcess(directory)  # the database the started hub will use, prepared before it starts
    credentials = {(site, kind, window): ready.provision(site, kind.value, window) for site, kind, window in DEVICES}
    for site, clerks in CLERKS.items():
        for staff_id, name in clerks.items():
            ready.add_staff(site, staff_id, name, PIN)
    play_morning(ready.db_url)
    with running_web_hub(directory) as hub:
        assert hub.db_url == ready.db_url
        yield Hall.linked(hub, credentials)


@pytest.fixture(scope="module")
def web_hub(hall: Hall) -> HubProcess:
    """conftest's pages open on this module's hub."""
    return hall.hub


class Cable:
    """A TCP relay between the browser and the hub that can be cut, as a network that goes down cuts the pages'
    streams: ``cut()`` ends every connection through it and turns new ones away until ``mend()``."""

    def __init__(self, hub_port: int) -> None:
        self.hub_port = hub_port
        self.up = True
        self._open: set[asyncio.StreamWriter] = set()

    async def relay(self, from_browser: asyncio.StreamReader, to_browser: asyncio.StreamWriter) -> None:
        if not self.up:
            to_browser.transport.abort()
            return
        from_hub, to_hub = await asyncio.open_connection("127.0.0.1", self.hub_port)
        self._open |= {to_browser, to_hub}
        await asyncio.gather(self._pump(from_browser, to_hub), self._pump(from_hub, to_browser))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One way of a connection until its end, passed on (an end as it came, a cut one as a cut)."""
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()
        except ConnectionError:
            writer.transport.abort()
        finally:
            self._open.discard(writer)

    def cut(self) -> None:
        self.up = False
        for writer in list(self._open):
            writer.transport.abort()

    def mend(self) -> None:
        self.up = True


@pytest_asyncio.fixture(loop_scope="session")
async def cable(web_hub: HubProcess) -> AsyncIterator[tuple[Cable, str]]:
    """A cable to the hub and its URL (the session cookies of 127.0.0.1 hold on any port)."""
    cable = Cable(web_hub.http_port)
    server = await asyncio.start_server(cable.relay, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield cable, f"http://127.0.0.1:{port}"
    cable.cut()
    server.close()
    await server.wait_closed()


async def opened_live(page: Page, path: str) -> Locator:
    """Open a live page and wait until its stream is live; its state line. A marker is left in the page's window:
    ``still_same_page`` tells whether it survived (no reload, no navigation)."""
    await page.goto(path)
    state = page.locator("[data-live-state]")
    await expect(state).to_have_attribute("data-live", "live")
    await expect(state).to_have_text("实时")
    await page.evaluate("window.__marker = 'the page as first opened'")
    return state


async def still_same_page(page: Page) -> bool:
    return bool(await page.evaluate("window.__marker === 'the page as first opened'"))


def window_row(page: Page, name_zh: str) -> Locator:
    rows = page.locator("[data-part=windows] tr")
    return rows.filter(has=page.get_by_role("cell", name=name_zh, exact=True))


async def test_a_ticket_issued_and_called_shows_on_the_managers_live_hall_without_a_reload(
    hall: Hall, signed_in: OpenPage
) -> None:
    page = await signed_in("li")
    await opened_live(page, f"/admin/sites/{CENTRE}/live")
    waiting = page.locator("[data-field=waiting]")
    before = int(await waiting.inner_text())

    await hall.issue(CENTRE, "E04")
    await expect(waiting).to_have_text(str(before + 1))

    await hall.sign_in(CENTRE, "w03", "zhang03")
    called = await hall.call_next(CENTRE, "w03")
    w03 = window_row(page, "3号综合窗口")
    await expect(w03.locator("td.ticket")).to_have_text(called)
    await expect(w03.locator("td").nth(1)).to_have_text("已呼叫")
    await expect(w03.locator("td").nth(2)).to_have_text("张伟")
    await expect(waiting).to_have_text(str(before))
    assert await still_same_page(page)


async def test_the_live_hall_resumes_after_a_lost_connection_with_what_happened_meanwhile(
    hall: Hall, signed_in: OpenPage, cable: tuple[Cable, str]
) -> None:
    line, through_cable = cable
    page = await signed_in("li")
    state = await opened_live(page, f"{through_cable}/admin/sites/{CENTRE}/live")
    await hall.issue(CENTRE, "A02")  # someone for window 1 to call

    line.cut()
    await expect(state).to_have_attribute("data-live", "lost")
    await expect(state).to_have_text("连接中断，正在重连…")
    called = await hall.call_next(CENTRE, "w01")
    w01 = window_row(page, "1号综合窗口")
    await expect(w01.locator("td.ticket")).not_to_have_text(called)
    line.mend()

    await expect(state).to_have_text("实时", timeout=15_000)
    await expect(w01.locator("td.ticket")).to_have_text(called)
    assert await still_same_page(page)


async def test_the_wall_shows_the_six_sites_on_one_screen_and_follows_a_call(
    hall: Hall, signed_in: OpenPage, shot: Shot
) -> None:
    page = await signed_in("root", viewport=WALL_SCREEN)
    await opened_live(page, "/admin/wall")
    tiles = page.locator(".tile")
    await expect(tiles).to_have_count(6)
    for tile in await tiles.all():
        await expect(tile).to_be_in_viewport(ratio=1)
    assert await page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    await shot(page, "district-wall-1920")

    xiaozhai = page.locator(f".tile[data-site={XIAOZHAI}]")
    waiting = xiaozhai.locator("[data-field=waiting]")
    before = int(await waiting.inner_text())
    await hall.issue(XIAOZHAI, "B01")
    await expect(waiting).to_have_text(str(before + 1))
    called = await hall.call_next(XIAOZHAI, "w1")
    window_1 = xiaozhai.locator(".chip", has=page.locator("b").get_by_text("1", exact=True))
    await expect(window_1).to_have_text(f"1 {called}")
    assert await still_same_page(page)


@pytest.mark.parametrize(
    ("username", "path", "problem"),
    [("wang", f"/admin/sites/{CENTRE}/live", "此页面属于其他站点"), ("li", "/admin/wall", "您的角色无权打开此页面")],
    ids=["another-sites-manager", "a-manager-on-the-wall"],
)
async def test_others_are_refused_in_chinese(signed_in: OpenPage, username: str, path: str, problem: str) -> None:
    page = await signed_in(username)
    response = await page.goto(path)

    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("无法完成")
    await expect(page.locator(".problem")).to_have_text(problem)
    await expect(page.locator("[data-live-state]")).to_have_count(0)


@pytest.mark.parametrize(
    ("username", "path", "name"),
    [("li", f"/admin/sites/{CENTRE}/live", "live-hall-phone"), ("root", "/admin/wall", "district-wall-phone")],
    ids=["live-hall", "wall"],
)
async def test_the_pages_fit_a_phone(signed_in: OpenPage, shot: Shot, username: str, path: str, name: str) -> None:
    page = await signed_in(username, viewport=PHONE)
    await opened_live(page, path)

    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shot(page, name)


async def test_the_live_hall_of_a_working_morning(hall: Hall, signed_in: OpenPage, shot: Shot) -> None:
    page = await signed_in("li")
    await opened_live(page, f"/admin/sites/{CENTRE}/live")

    paused = window_row(page, "5号企业开办专窗")
    await expect(paused.locator("td").nth(1)).to_have_text(re.compile(r"^暂停 · \d+ 分钟$"))
    await expect(paused.locator("td").nth(2)).to_have_text("陈静")
    await expect(page.locator(".alert.high").first).to_contain_text("目标 15 分钟")
    await expect(page.locator("[data-field=devices]")).to_have_text("5 / 5")
    await shot(page, "live-hall-1366")

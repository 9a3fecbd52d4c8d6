"""The public pages in Chromium, against the running hub, while the hall's devices work over MQTT: the citizen's
ticket page on a phone (what the kiosk's ticket links to) follows its ticket until the call without a reload, in
Chinese and in English, and reminds once of the call; a wrong link gets the friendly 404; the web board shows a
call as it happens, a zone board only its windows, a portrait TV without scrolling, and no clerk's name anywhere.

The module's hub starts on the working morning of test_live_pages.py (``play_morning``: windows open, tickets
waiting, calls made), so the waits are estimated from a real queue and the boards have calls to show; the tests
then act as the centre's kiosk and callers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

import contract as wire
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.web_pages.public_texts import PublicTexts, material_lines
from hub.web_pages.texts import CHINESE, ENGLISH
from hub.web_pages.ticket_view import NEAR
from tests.browser.conftest import PHONE, OpenPage, Shot, running_web_hub, url_of
from tests.browser.test_live_pages import CLERKS, PIN, Hall, play_morning
from tests.support.hub_process import HubProcess

Kind = wire.DeviceKind
CENTRE = "centre"
DISTRICT = load_district(SAMPLE_DISTRICT)
SITE = next(site for site in DISTRICT.sites if site.id == CENTRE)
MATTER = next(matter for matter in DISTRICT.catalogue if matter.code == "A02")  # 个体工商户设立登记, with materials
TV = ViewportSize(width=1920, height=1080)
PORTRAIT_TV = ViewportSize(width=1080, height=1920)
ZONE = "综合受理区"
DEVICES: list[tuple[str, Kind, str | None]] = [
    (CENTRE, Kind.KIOSK, None),
    *((CENTRE, Kind.CALLER, window) for window in ("w01", "w02", "w03", "w07")),
]
"""The devices provisioned and linked: (site, kind, window)."""
MARKER = "the page as first opened"
NOTIFICATIONS = """
window.__notified = [];
const record = (route, title) => window.__notified.push({ route, title });
const Page = window.Notification;
if (Page) {
  window.Notification = new Proxy(Page, {
    construct(target, args) { record("page", args[0]); return Reflect.construct(target, args); },
    get(target, name) { const value = target[name]; return typeof value === "function" ? value.bind(target) : value; },
  });
}
if (window.ServiceWorkerRegistration) {
  const show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    record("worker", title);
    return show.call(this, title, options);
  };
}
"""
"""An init script that records every notification a page makes (a page's own, or its service worker's) in
``window.__notified``, and still makes it."""


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    directory = tmp_path_factory.mktemp("hub")
    ready = HubProcess(directory)  # the database the started hub will use, prepared before it starts
    credentials = {(site, kind, window): ready.provision(site, kind.value, window) for site, kind, window in DEVICES}
    for staff_id, name in CLERKS[CENTRE].items():
        ready.add_staff(CENTRE, staff_id, name, PIN)
    play_morning(ready.db_url)
    with running_web_hub(directory) as hub:
        yield Hall.linked(hub, credentials)


@pytest.fixture(scope="module")
def web_hub(hall: Hall) -> HubProcess:
    """conftest's pages open on this module's hub."""
    return hall.hub


async def take_ticket(hall: Hall, matter: str = MATTER.code) -> wire.TicketInfo:
    """A ticket taken at the centre's kiosk: what the kiosk prints (its status link for the QR code)."""
    reply = await hall.ask(hall.kiosks[CENTRE], wire.Action.ISSUE, matters=[matter])
    assert reply.ticket is not None and reply.ticket.status_path.startswith("/t/")
    return reply.ticket


async def call_ticket(hall: Hall, window: str, number: str) -> None:
    """特呼 the ticket to the window at its caller (the window's current ticket settled first)."""
    await hall.ask(hall.callers[CENTRE, window], wire.Action.CALL_TICKET, window_id=window, ticket=number)


async def followed(page: Page, path: str) -> None:
    """Open a live public page and wait until its stream is live; a marker is left in the page's window
    (``still_same_page``)."""
    await page.goto(path)
    await expect(page.locator("[data-live-state]")).to_have_attribute("data-live", "live")
    await page.evaluate("(marker) => { window.__marker = marker; }", MARKER)


async def still_same_page(page: Page) -> bool:
    return bool(await page.evaluate("(marker) => window.__marker === marker", MARKER))


async def fits_across(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


SHOWS_ITS_VIEW = """async (path) => {
  const view = (await (await fetch(path, { cache: "no-store" })).json()).ticket;
  const shown = (name) => document.querySelector(`[data-field="${name}"]`).textContent;
  return ["status", "people", "wait"].every((name) => shown(name) === view[name]) && view;
}"""


async def shown_view(page: Page, path: str) -> dict[str, Any]:
    """The hub's view of the page's ticket (its JSON answer, ``path``) once the page shows it: its status, people
    ahead and wait. The page is told again a moment after every change of its site (the estimate made anew), so
    the page and the hub are compared at one moment, not the page with what the kiosk said at the issue."""
    for _ in range(50):
        view: dict[str, Any] | None = await page.evaluate(SHOWS_ITS_VIEW, path) or None
        if view is not None:
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"the page does not show the hub's view of its ticket ({path}) within 5 s")


# -- the ticket page -----------------------------------------------------------------------------------------------


async def test_a_ticket_taken_at_the_kiosk_opens_on_a_phone_and_shows_its_call_without_a_reload(
    hall: Hall, open_page: OpenPage, shot: Shot
) -> None:
    for _ in range(3):
        await take_ticket(hall)  # people ahead
    ticket = await take_ticket(hall)
    assert ticket.wait is not None and ticket.wait.people_ahead >= 3
    page = await open_page(viewport=PHONE)
    await followed(page, ticket.status_path)

    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.locator(".number")).to_have_text(ticket.number)
    await expect(page.locator("[data-field=status]")).to_have_text("等候叫号")
    await expect(page.locator("[data-part=matters] li")).to_have_text([MATTER.name_zh])
    view = await shown_view(page, f"{ticket.status_path}.json")
    assert view["people_ahead"] >= 3 and view["people"] == f"前面还有 {view['people_ahead']} 人"
    assert re.fullmatch(r"约 \d+–\d+ 分钟", view["wait"])  # the kiosk's words: a range, in minutes
    materials = page.locator(".materials li")
    await expect(materials).to_have_text(material_lines(PublicTexts(CHINESE), MATTER))
    await expect(materials.first).to_be_visible()
    await expect(page.get_by_role("button", name="到号提醒")).to_be_visible()
    await expect(page.locator("[data-live-state]")).to_have_text("本页自动更新")
    assert await fits_across(page)
    await shot(page, "ticket-page-phone")

    await call_ticket(hall, "w01", ticket.number)

    await expect(page.locator("[data-field=status]")).to_have_text("请到 1 号窗口")
    await expect(page.locator("[data-part=waiting]")).to_be_hidden()
    await expect(page.locator(".ticket")).to_have_class(re.compile(r"\bstate-called\b"))
    assert await still_same_page(page)
    assert await fits_across(page)
    await shot(page, "ticket-page-called-phone")


async def test_the_ticket_page_in_english_follows_its_ticket_too(hall: Hall, open_page: OpenPage) -> None:
    ticket = await take_ticket(hall)
    page = await open_page(viewport=PHONE)
    await followed(page, f"{ticket.status_path}?lang=en")

    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(".caption")).to_have_text("Your number")
    view = await shown_view(page, f"{ticket.status_path}.json?lang=en")
    assert view["status"] == "Waiting for your call"
    assert view["people"] == f"{view['people_ahead']} people ahead of you"
    assert re.fullmatch(r"about \d+(–\d+)? min", view["wait"])
    await expect(page.locator("[data-part=matters] li")).to_have_text([MATTER.name_en])
    await expect(page.locator(".materials li")).to_have_text(material_lines(PublicTexts(ENGLISH), MATTER))
    await expect(page.get_by_role("button", name="Remind me when it is my turn")).to_be_visible()
    await expect(page.get_by_role("link", name="中文")).to_be_visible()
    assert await fits_across(page)

    await call_ticket(hall, "w02", ticket.number)

    await expect(page.locator("[data-field=status]")).to_have_text("Please go to window 2")
    assert await still_same_page(page)


async def test_a_reminder_is_given_at_the_call_once_and_not_again_after_a_reload(
    hall: Hall, open_page: OpenPage, web_hub: HubProcess
) -> None:
    ahead = [await take_ticket(hall) for _ in range(NEAR + 1)]  # not near its turn: the call's is the one reminder
    ticket = await take_ticket(hall)
    assert ticket.wait is not None and ticket.wait.people_ahead >= len(ahead)
    page = await open_page(viewport=PHONE)
    await page.context.add_init_script(NOTIFICATIONS)
    await followed(page, ticket.status_path)
    remind = page.get_by_role("button", name="到号提醒")
    await expect(remind).to_be_visible()  # not asked yet

    await page.context.grant_permissions(["notifications"], origin=url_of(web_hub))  # the citizen allows them
    await remind.click()
    await expect(page.locator("[data-remind-state]")).to_have_text(re.compile(r"^已开启到号提醒"))
    await expect(remind).to_be_hidden()
    assert await page.evaluate("navigator.serviceWorker.getRegistration('/t/').then((found) => !!found)")
    await hall.sign_in(CENTRE, "w03", "zhang03")
    await call_ticket(hall, "w03", ticket.number)

    called = {"route": "worker", "title": f"请 {ticket.number} 号到 3 号窗口"}  # a phone's route: the worker's
    await page.wait_for_function("() => window.__notified.length > 0")
    assert await page.evaluate("window.__notified") == [called]
    await expect(page.locator("[data-field=status]")).to_have_text("请到 3 号窗口")

    await page.reload()
    await expect(page.locator("[data-live-state]")).to_have_attribute("data-live", "live")
    await expect(page.locator("[data-field=status]")).to_have_text("请到 3 号窗口")
    await page.evaluate("navigator.serviceWorker.getRegistration('/t/')")  # after the page's own look-up
    assert await page.evaluate("window.__notified") == []


async def test_a_wrong_link_gets_the_friendly_not_found_page(open_page: OpenPage) -> None:
    page = await open_page(viewport=PHONE)
    response = await page.goto("/t/AAAAAAAAAAAAAAAAAAAA")

    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("未找到该号码")
    await expect(page.get_by_text("请重新扫描号票上的二维码")).to_be_visible()
    await expect(page.get_by_role("link", name="English")).to_be_visible()
    assert await fits_across(page)


# -- the web board -------------------------------------------------------------------------------------------------


async def names_on(page: Page) -> list[str]:
    """The clerks' names and staff ids the page has anywhere (its markup and its text)."""
    markup = await page.content()
    return [word for clerk in CLERKS[CENTRE].items() for word in clerk if word in markup]


async def test_the_web_board_shows_a_call_as_the_newest_without_a_reload(
    hall: Hall, open_page: OpenPage, shot: Shot
) -> None:
    page = await open_page(viewport=TV)
    await followed(page, f"/board/{CENTRE}")
    await expect(page.locator("[data-field=site]")).to_have_text(SITE.name_zh)
    await expect(page.locator("[data-field=clock]")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    before = await page.locator("[data-field=number]").inner_text()
    assert before  # the morning's last call

    ticket = await take_ticket(hall)
    await call_ticket(hall, "w02", ticket.number)

    latest = page.locator("[data-part=latest]")
    await expect(latest.locator("[data-field=number]")).to_have_text(ticket.number)
    await expect(latest.locator("[data-field=window]")).to_have_text("2号窗口")
    await expect(latest.locator("[data-field=announcement]")).to_have_text(f"请 {ticket.number} 号到 2 号窗口")
    await expect(latest).to_have_class(re.compile(r"\blit\b"))
    await expect(latest.locator("[data-field=caption]")).to_have_text("正在呼叫")
    await expect(page.locator("[data-part=recent] .num").first).to_have_text(before)  # the call before, moved on
    window_2 = page.locator("[data-part=windows] li", has=page.get_by_text("2号窗口", exact=True))
    await expect(window_2.locator(".num")).to_have_text(ticket.number)
    assert await still_same_page(page)
    assert await page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    assert await names_on(page) == []
    await shot(page, "web-board-1920")


async def test_a_zone_board_on_a_portrait_tv_shows_only_its_windows_without_scrolling(
    hall: Hall, open_page: OpenPage, shot: Shot
) -> None:
    page = await open_page(viewport=PORTRAIT_TV)
    await followed(page, f"/board/{CENTRE}?zone={ZONE}")
    zone_windows = [f"{window.number}号窗口" for window in SITE.windows if window.zone == ZONE]
    await expect(page.locator("[data-field=zone]")).to_have_text(ZONE)
    await expect(page.locator("[data-part=windows] .win")).to_have_text(zone_windows)

    elsewhere = await take_ticket(hall, "B01")
    await call_ticket(hall, "w07", elsewhere.number)  # 社保医保区
    here = await take_ticket(hall)
    await call_ticket(hall, "w01", here.number)

    await expect(page.locator("[data-field=number]")).to_have_text(here.number)
    await expect(page.locator("[data-field=window]")).to_have_text("1号窗口")
    assert elsewhere.number not in await page.locator("main").inner_text()
    for window in await page.locator("[data-part=recent] .win").all_inner_texts():
        assert window in zone_windows
    await expect(page.locator("[data-part=windows] .win")).to_have_text(zone_windows)
    await expect(page.locator("[data-field=notice]")).to_be_in_viewport(ratio=1)
    assert await page.evaluate(
        "document.documentElement.scrollHeight <= window.innerHeight"
        " && document.documentElement.scrollWidth <= window.innerWidth"
    )
    assert await names_on(page) == []
    await shot(page, "web-board-portrait")

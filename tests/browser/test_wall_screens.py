"""Wall screens in Chromium, against the running hub on a working morning (tests/browser/test_live_pages.py's hub
and devices): an administrator makes a screen in the pages, its link opens in a browser that never signed in (no
cookie at all), a call made over MQTT shows on it without a reload, and revoking it in the pages leaves the TV
saying its link no longer works."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser import test_live_pages as live_pages
from tests.browser.conftest import OpenPage, Shot
from tests.browser.test_live_pages import CENTRE, WALL_SCREEN, XIAOZHAI, Hall, opened_live, still_same_page

hall = live_pages.hall
"""The module's hub on a working morning, with its devices linked (one hub for this module)."""
web_hub = live_pages.web_hub


async def make_screen(page: Page, label: str, shows: str) -> str:
    """Add a wall screen through the form, as a person does; the link the answer shows (once)."""
    await page.goto("/admin/walls")
    form = page.locator("form", has=page.locator("input[name=label]"))
    await form.get_by_label("名称").fill(label)
    await form.get_by_label("显示内容").select_option(label=shows)
    async with page.expect_navigation():
        await form.get_by_role("button", name="新增").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"已新增大屏链接：{label}")
    await expect(page.locator(".qr svg")).to_be_visible()
    return await page.locator("[data-link]").inner_text()


async def test_a_wall_screen_shows_the_district_on_a_tv_nobody_signed_in_to_and_stops_when_revoked(
    hall: Hall, signed_in: OpenPage, open_page: OpenPage, shot: Shot
) -> None:
    admin = await signed_in("root")
    link = await make_screen(admin, "区中心三楼大厅电视", "西安市雁塔区 · 全区大屏")

    tv = await open_page(viewport=WALL_SCREEN)
    state = await opened_live(tv, link)
    assert await tv.context.cookies() == []  # no session, not even the language's (none was chosen)
    await expect(tv.locator(".tile")).to_have_count(6)
    await expect(tv.locator("form, a, header.bar")).to_have_count(0)
    xiaozhai = tv.locator(f".tile[data-site={XIAOZHAI}]")
    waiting = xiaozhai.locator("[data-field=waiting]")
    before = int(await waiting.inner_text())

    await hall.issue(XIAOZHAI, "B01")
    await expect(waiting).to_have_text(str(before + 1))
    called = await hall.call_next(XIAOZHAI, "w1")
    window_1 = xiaozhai.locator(".chip", has=tv.locator("b").get_by_text("1", exact=True))
    await expect(window_1).to_have_text(f"1 {called}")
    assert await still_same_page(tv)
    await shot(tv, "wall-screen")

    await admin.goto("/admin/walls")
    row = admin.locator("tr", has=admin.get_by_role("cell", name="区中心三楼大厅电视"))
    await expect(row).not_to_contain_text("从未打开")  # the TV was seen
    await row.get_by_role("link", name="停用").click()
    async with admin.expect_navigation():
        await admin.get_by_role("button", name="停用").click()
    await expect(admin.locator(".done")).to_have_text("已停用：区中心三楼大厅电视")

    await expect(state).to_have_attribute("data-live", "gone", timeout=15_000)
    await expect(state).to_have_text("该大屏链接已停用，请向大厅管理员索取新的链接")
    assert await still_same_page(tv)
    gone = await (await open_page()).goto(link)
    assert gone is not None and gone.status == 404


async def test_a_managers_screen_shows_the_sites_live_hall_and_follows_a_call(
    hall: Hall, signed_in: OpenPage, open_page: OpenPage
) -> None:
    manager = await signed_in("li")
    link = await make_screen(manager, "中心一楼等候区", "雁塔区政务服务中心 · 大厅实时")

    tv = await open_page()
    await opened_live(tv, link)
    await expect(tv.get_by_role("heading", level=1)).to_contain_text("大厅实时")
    waiting = tv.locator("[data-field=waiting]")
    before = int(await waiting.inner_text())
    await hall.issue(CENTRE, "A02")
    await expect(waiting).to_have_text(str(before + 1))
    assert await still_same_page(tv) and await tv.context.cookies() == []

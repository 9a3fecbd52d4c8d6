"""The admin pages of the first slice in Chromium, against the running hub: sign-in, a manager's site, the refusal of
another site, the district of an administrator, sign-out, English, and the sign-in on a phone."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from hub.district_file import SAMPLE_DISTRICT, load_district
from tests.browser.conftest import PHONE, OpenPage, Shot, sign_in
from tests.web.conftest import PASSWORD

DISTRICT = load_district(SAMPLE_DISTRICT)
CENTRE = next(site for site in DISTRICT.sites if site.id == "centre")


async def test_a_manager_signs_in_and_lands_on_their_site_with_its_windows(page: Page, shot: Shot) -> None:
    await page.goto("/admin/sign-in")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await page.get_by_label("用户名").press_sequentially("li")
    await page.get_by_label("密码").press_sequentially(PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="登录").click()

    assert page.url.endswith("/admin/sites/centre")
    await expect(page.get_by_role("heading", level=1)).to_have_text(CENTRE.name_zh)
    await expect(page.locator(".who")).to_contain_text("李敏")
    windows = page.locator("section", has=page.get_by_role("heading", name="窗口")).locator("tbody tr")
    await expect(windows).to_have_count(len(CENTRE.windows))
    for row, window in zip(await windows.all(), CENTRE.windows, strict=True):
        await expect(row.locator("td").first).to_have_text(window.name_zh)
        await expect(row.locator("td").nth(1)).to_have_text("未开放")  # no caller has opened it
    await shot(page, "admin-site-1366")


async def test_a_manager_opening_another_sites_page_is_refused_in_chinese(signed_in: OpenPage) -> None:
    page = await signed_in("li")
    response = await page.goto("/admin/sites/xiaozhai")

    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("无法完成")
    await expect(page.locator(".problem")).to_have_text("此页面属于其他站点")
    await expect(page.get_by_role("link", name="返回首页")).to_be_visible()


async def test_an_administrator_sees_the_district_with_all_six_sites(signed_in: OpenPage, shot: Shot) -> None:
    page = await signed_in("root")
    await page.goto("/admin/")

    await expect(page.get_by_role("heading", level=1)).to_have_text(DISTRICT.name_zh)
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(6)
    await expect(rows.locator("td:first-child a:first-child")).to_have_text([site.name_zh for site in DISTRICT.sites])
    await shot(page, "admin-district-1366")

    async with page.expect_navigation():
        await page.get_by_role("link", name=CENTRE.name_zh).click()
    assert page.url.endswith("/admin/sites/centre")


async def test_a_wrong_password_shows_the_error_next_to_the_form(page: Page) -> None:
    await sign_in(page, "li", "not the password")

    assert page.url.endswith("/admin/sign-in")
    await expect(page.locator("form").get_by_role("alert")).to_have_text("用户名或密码错误")
    await expect(page.get_by_label("用户名")).to_be_visible()
    await expect(page.get_by_role("button", name="退出")).to_have_count(0)


async def test_signing_out_returns_to_the_sign_in_page(page: Page) -> None:
    await sign_in(page, "wang")
    assert page.url.endswith("/admin/sites/xiaozhai")

    async with page.expect_navigation():
        await page.get_by_role("button", name="退出").click()
    assert page.url.endswith("/admin/sign-in")
    await expect(page.get_by_role("button", name="登录")).to_be_visible()

    await page.goto("/admin/sites/xiaozhai")
    assert "/admin/sign-in" in page.url  # signed out for real: the page sends to the sign-in


async def test_english_with_lang_en_is_kept_on_the_next_pages(page: Page) -> None:
    await page.goto("/admin/sign-in?lang=en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    await sign_in(page, "li")
    await expect(page.get_by_role("heading", level=1)).to_have_text(CENTRE.name_en)
    await expect(page.get_by_role("heading", name="Windows")).to_be_visible()
    await expect(page.get_by_role("link", name="中文")).to_be_visible()


async def test_a_manager_sees_their_sites_sign_ins_in_the_audit(signed_in: OpenPage) -> None:
    page = await signed_in("li")
    await page.goto("/admin/sites/centre")
    async with page.expect_navigation():
        await page.get_by_role("link", name="审计记录").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("审计记录")
    rows = page.locator("tbody tr")
    mine = rows.filter(has=page.get_by_role("cell", name="li", exact=True))
    await expect(mine.filter(has_text="登录").filter(has_text="成功").first).to_be_visible()
    await expect(rows.locator("td:nth-child(5)")).to_have_text(["centre"] * await rows.count())


async def test_the_sign_in_page_fits_a_phone(page: Page, open_page: OpenPage, shot: Shot) -> None:
    await page.goto("/admin/sign-in")
    await shot(page, "admin-sign-in-1366")

    phone = await open_page(viewport=PHONE)
    await phone.goto("/admin/sign-in")
    await expect(phone.get_by_role("button", name="登录")).to_be_in_viewport()
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shot(phone, "admin-sign-in-phone")


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("root", "/admin/"),
        ("li", "/admin/sites/centre"),
        ("li", "/admin/audit"),
        ("zhao", "/admin/sites/centre/windows/w01"),
    ],
)
async def test_every_page_fits_a_phone(signed_in: OpenPage, username: str, path: str) -> None:
    page = await signed_in(username, viewport=PHONE)
    await page.goto(path)
    await expect(page.get_by_role("button", name="退出")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

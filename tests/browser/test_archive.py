"""The archive in a zh-CN browser on a real hub: a kiosk hands in a case over HTTP; the centre's manager finds it,
opens its page images and returns it for correction with a reason; the citizen's status page then shows that
reason. Screenshots: docs/screenshots/archive-*.png."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from hub.accounts import accounts_for
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.store import open_store
from tests.browser.conftest import PHONE, OpenPage, Shot
from tests.hub.test_archive import page_image, sha
from tests.hub.test_archive_kill import BASE, call, multipart
from tests.support.hub_process import HubProcess
from tests.web.conftest import add_accounts

REASON = "户口簿本人页不清晰，请重新拍摄后提交"
HANDED_IN: dict[str, str] = {}


@pytest.fixture(scope="module")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A hub with the web accounts and a kiosk of the centre that has handed in one case of B01 (3 pages)."""
    directory = tmp_path_factory.mktemp("hub")
    hub = HubProcess(directory)
    hub.env |= {"HALL_WEB_SIGN_IN_LIMIT": "1000/minute", "HALL_WEB_ADDRESS_LIMIT": "1000/minute",
                "HALL_ARCHIVE_DIRECTORY": str(directory / "archive")}  # fmt: skip
    store = open_store(hub.db_url)
    try:
        add_accounts(accounts_for(store, load_district(SAMPLE_DISTRICT)))
    finally:
        store.close()
    kiosk = hub.provision("centre", "kiosk")
    hub.start()
    try:
        pages = [(0, 1, page_image(21)), (1, 1, page_image(22)), (1, 2, page_image(23))]
        request = {
            "submission_id": "browser-sub-0001", "matter": "B01",
            "materials": [{"material": 0}, {"material": 1}],
            "pages": [{"material": m, "page": p, "sha256": sha(d), "size": len(d)} for m, p, d in pages],
        }  # fmt: skip
        status, receipt = call(hub, kiosk, "POST", BASE, body=json.dumps(request).encode(), kind="application/json")
        assert status == 201, receipt
        for material, number, data in pages:
            body, kind = multipart(data)
            path = f"{BASE}/{receipt['case_number']}/pages/{material}/{number}"
            assert call(hub, kiosk, "PUT", path, body=body, kind=kind)[0] == 200
        assert call(hub, kiosk, "POST", f"{BASE}/{receipt['case_number']}/submit")[0] == 200
        HANDED_IN.update(number=receipt["case_number"], status_url=receipt["status_url"])
        yield hub
    finally:
        hub.stop()
    assert hub.log_defects() == [], "the hub logged a defect (see hub.log)"


async def test_a_manager_finds_the_case_opens_its_pages_and_returns_it(
    signed_in: OpenPage, open_page: OpenPage, shot: Shot
) -> None:
    number = HANDED_IN["number"]
    page: Page = await signed_in("li")
    await page.goto("/admin/archive")
    await expect(page.get_by_role("heading", name="电子档案")).to_be_visible()
    await page.get_by_label("案卷号").fill(number[-8:])
    await page.get_by_label("状态").select_option("submitted")
    await page.get_by_role("button", name="查询").click()
    row = page.locator(f"tr[data-case='{number}']")
    await expect(row).to_contain_text("社会保障卡申领/补换")
    await expect(row).to_contain_text("待审核")
    await shot(page, "archive-search")

    await row.get_by_role("link", name=number).click()
    await expect(page.locator(".case-number")).to_have_text(number)
    images = page.locator(".pages img")
    await expect(images).to_have_count(3)
    for index in range(3):
        await images.nth(index).scroll_into_view_if_needed()
        await expect(images.nth(index)).to_have_js_property("complete", True)
        assert await images.nth(index).evaluate("image => image.naturalWidth") == 300
    await page.evaluate("window.scrollTo(0, 0)")
    await shot(page, "archive-case")

    await page.get_by_label("原因（退回时告知办事人）").fill(REASON)
    await page.get_by_role("button", name="退回补正").click()
    await expect(page.locator("[data-state]")).to_have_text("退回补正")
    await expect(page.locator(".reason")).to_have_text(REASON)
    await shot(page, "archive-returned")

    citizen = await open_page(viewport=PHONE)
    await citizen.goto(HANDED_IN["status_url"])
    await expect(citizen.locator(".state")).to_have_text("退回补正")
    await expect(citizen.locator(".reason-text")).to_have_text(REASON)
    await expect(citizen.locator(".case-number")).to_have_text(number)
    await shot(citizen, "archive-status-phone")


async def test_another_sites_manager_does_not_find_the_case(signed_in: OpenPage) -> None:
    page = await signed_in("wang")
    await page.goto(f"/admin/archive?number={HANDED_IN['number']}")
    await expect(page.locator("table.archive tbody")).to_contain_text("没有找到案卷")
    answer = await page.goto(f"/admin/archive/{HANDED_IN['number']}/pages/0/1")
    assert answer is not None and answer.status == 404

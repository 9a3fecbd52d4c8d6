"""A site's booking rules in Chromium, against the running hub (the clock at Wednesday 10:00): the centre's manager
types a larger walk-in share, previews it and sees the table under the form change, then saves it and the booking
API offers the smaller slots at once."""

from __future__ import annotations

import json

from playwright.async_api import expect

from tests.browser.conftest import OpenPage, Shot
from tests.support.hub_process import HubProcess

PAGE = "/admin/sites/centre/appointments"


async def test_a_manager_previews_a_larger_walk_in_share_in_the_table_then_saves_it(
    signed_in: OpenPage, shot: Shot, web_hub: HubProcess
) -> None:
    page = await signed_in("li")
    await page.goto(PAGE)
    a02 = page.locator('#outlook tr[data-matter="A02"] td')
    await expect(a02.nth(4)).to_have_text("30")  # kept for walk-ins of A02's 100 a day

    await page.get_by_label("使用区级默认规则").uncheck()
    await page.get_by_label("留给现场取号（%）").fill("60")
    await page.get_by_role("button", name="预览").click()

    await expect(page.get_by_role("heading", name="按上面填写的规则")).to_be_visible()
    await expect(a02.nth(4)).to_have_text("60 (现为 30)")
    await expect(a02.nth(3)).to_have_text("40 (现为 70)")
    await page.locator("#config-form").evaluate("form => form.scrollIntoView()")
    await shot(page, "appointments-settings")

    await page.get_by_label("修改原因").fill("年底现场办件多，多留现场号")
    await page.get_by_role("button", name="保存并推送到设备").click()

    await expect(page.get_by_role("status")).to_contain_text("已保存为第 2 版")
    await expect(a02.nth(4)).to_have_text("60")
    offered = json.loads(web_hub.get("/api/v1/sites/centre/slots?matter=A02&day=2026-11-25") or b"{}")["slots"]
    assert sum(slot["capacity"] for slot in offered) == 40 - 40 * 3 // 15  # the 09:00-10:30 slots have begun

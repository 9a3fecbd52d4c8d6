"""The voice settings page in Chromium: a hall manager sets quiet hours with the time inputs, saves, and sees the
new version and the plain line of what citizens now hear; the settings are in force when the page is opened again."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import OpenPage, Shot

VOICE = "/admin/sites/centre/voice"


async def test_quiet_hours_set_in_the_browser_are_saved_and_said_plainly(signed_in: OpenPage, shot: Shot) -> None:
    page = await signed_in("li")
    await page.goto(VOICE)
    await expect(page.locator("#voice-now")).to_have_text("现在：各大厅屏按各自的设置文件播报")

    await page.locator("input[name=quiet_from]").fill("22:00")
    await page.locator("input[name=quiet_to]").fill("07:00")
    await page.locator("select[name=quiet_mode]").select_option("chime")
    await page.locator("input[name=quiet_volume]").fill("20")
    await page.get_by_label("英语").uncheck()
    await page.locator("input[name=reason]").fill("夜间延时服务，周边居民休息")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存并推送到设备").click()

    await expect(page.get_by_role("status")).to_have_text(re.compile(r"已保存为第 \d+ 版，已推送到设备"))
    await expect(page.locator("#voice-now")).to_have_text("现在：普通话播报2遍，先响提示音，音量 90%")
    await expect(page.locator("#voice-quiet")).to_have_text("静音时段 22:00–07:00：只响提示音，音量 20%")
    await shot(page, "voice")

    await page.goto(VOICE)
    await expect(page.locator("input[name=quiet_from]")).to_have_value("22:00")
    await expect(page.locator("input[name=quiet_to]")).to_have_value("07:00")
    await expect(page.get_by_label("英语")).not_to_be_checked()

"""Service experience officers in Chromium, against the running hub on a working morning (tests/browser/
test_live_pages.py's hub and devices): an administrator enrols an officer in the pages, the officer's code goes with a
ticket taken at the kiosk over MQTT, the ticket is served, the officer writes findings on the ticket's own page
(a browser that never signed in), the district report shows the visit with its journey, findings and their
follow-up, and the centre's manager answers the findings in /admin/follow-ups, never shown the officer."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

import contract as wire
from tests.browser import test_live_pages as live_pages
from tests.browser.conftest import OpenPage, Shot
from tests.browser.test_live_pages import CENTRE, Hall

hall = live_pages.hall
web_hub = live_pages.web_hub
FINDINGS = "取号机上没有找到所办事项的说明，叫号后窗口工作人员解释清楚、态度很好。"


async def enrol(page: Page, name: str, kind: str) -> str:
    """Enrol an officer through the form, as a person does; the code the answer shows (once)."""
    await page.goto("/admin/officers")
    form = page.locator("form", has=page.locator("input[name=name]"))
    await form.get_by_label("姓名").fill(name)
    await form.get_by_label("身份类别").select_option(label=kind)
    await form.get_by_label("手机号").fill("13912345678")
    async with page.expect_navigation():
        await form.get_by_role("button", name="登记").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"已登记体验官：{name[0]}*{name[-1]}")
    await expect(page.locator(".qr svg")).to_be_visible()
    return await page.locator("[data-code]").inner_text()


async def test_an_officers_visit_and_findings_reach_the_district_report(
    hall: Hall, signed_in: OpenPage, open_page: OpenPage, shot: Shot
) -> None:
    admin = await signed_in("root")
    code = await enrol(admin, "周明远", "人大代表")

    taken = await hall.ask(hall.kiosks[CENTRE], wire.Action.ISSUE, matters=["A02"], officer_code=code)
    ticket = taken.ticket
    assert ticket is not None
    await hall.sign_in(CENTRE, "w01", "li01")
    caller = hall.callers[CENTRE, "w01"]
    await hall.ask(caller, wire.Action.CALL_TICKET, window_id="w01", ticket=ticket.number)
    await hall.ask(caller, wire.Action.START, window_id="w01")
    await hall.ask(caller, wire.Action.FINISH, window_id="w01")

    officer = await open_page()
    await officer.goto(ticket.status_path)
    await officer.locator("details.officer-entry summary").click()
    await officer.get_by_label("您的体验码").fill(code)
    async with officer.expect_navigation():
        await officer.get_by_role("button", name="填写体验意见").click()
    await officer.get_by_label("本次体验的意见和建议").fill(FINDINGS)
    async with officer.expect_navigation():
        await officer.get_by_role("button", name="提交体验意见").click()
    await expect(officer.get_by_role("status")).to_have_text("您的体验意见已保存，谢谢！")
    assert await officer.context.cookies() == []

    day = re.search(r"-(\d{4})(\d{2})(\d{2})-", ticket.ticket_id)
    assert day is not None
    iso = "-".join(day.groups())
    await admin.goto(f"/admin/officers/report?start={iso}&end={iso}")
    row = admin.locator(f"tr[data-ticket='{ticket.ticket_id}']")
    await expect(row).to_contain_text("周*远")
    await expect(row).to_contain_text("人大代表")
    await expect(row).to_contain_text("已办结")
    await expect(row.locator(".findings")).to_have_text(FINDINGS)
    await expect(row.locator(".follow-up")).to_have_text("待核实")
    await shot(admin, "officers")

    # the centre's manager answers the findings in the follow-up list, never told who wrote them
    manager = await signed_in("li")
    await manager.goto("/admin/follow-ups?kind=finding")
    item = manager.locator("tr[data-kind=finding]", has_text=FINDINGS)
    await expect(item.locator("[data-field=kind]")).to_have_text("体验官意见")
    await expect(manager.locator("main")).not_to_contain_text("周")
    await expect(manager.locator("main")).not_to_contain_text(ticket.number)
    async with manager.expect_navigation():
        await item.get_by_role("link").click()
    await expect(manager.locator("[data-field=finding]")).to_have_text(FINDINGS)
    await expect(manager.locator("[data-part=no-appeal]")).to_be_visible()
    for step, label in (
        ("verified", "已核实"),
        ("contacted", "已联系"),
        ("put_right", "已整改"),
        ("reported", "已反馈"),
    ):
        await manager.get_by_label("办理情况").fill(f"{label}：取号机已补充事项说明")
        async with manager.expect_navigation():
            await manager.get_by_role("button", name="提交本步骤").click()
        await expect(manager.locator(f"li[data-step={step}] blockquote")).to_have_text(f"{label}：取号机已补充事项说明")
    await expect(manager.locator("[data-field=state]")).to_contain_text("已整改办结")
    await expect(manager.locator("main")).not_to_contain_text("周")
    await admin.goto(f"/admin/officers/report?start={iso}&end={iso}")
    await expect(row.locator(".follow-up")).to_have_text("已整改办结")

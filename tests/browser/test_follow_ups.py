"""Ratings follow-up in Chromium (zh-CN), against a running hub whose morning had three bad ratings at the centre's
window w01: the hub opens their follow-ups by itself; the manager answers one to the end, step by step; the window's
clerk appeals another and a district administrator upholds it; an officer's findings of that morning are listed
beside them (体验官意见, never to the clerk); the list of all items is the screenshot
docs/screenshots/follow-ups.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.async_api import Page, expect

from engine import commands as cmd
from engine.events import TicketIssued
from hub.district_file import SAMPLE_DISTRICT
from hub.main import open_district
from hub.officers import Channel, officers_for
from hub.service import HallService
from hub.store import open_store
from tests.browser.conftest import OpenPage, Shot, running_web_hub
from tests.support.hub_process import HubProcess

DAY = "2026-11-25"
FINDINGS = "取号机上找不到所办事项的说明，导办台无人值守。"


def rated_morning(db_url: str) -> None:
    """Three services rated badly at the centre's w01 (and one well), before the hub starts."""
    store = open_store(db_url)
    try:
        service = HallService(open_district(store, SAMPLE_DISTRICT), store)
        ids = iter(range(1, 1000))

        def run(at: str, kind: type[cmd.Command], **fields: object) -> None:
            when = datetime.fromisoformat(f"{DAY}T{at}:00+08:00")
            outcome = service.execute(kind(command_id=f"m{next(ids)}", site_id="centre", at=when, **fields))
            assert outcome.events, outcome

        run("09:00", cmd.OpenDay)
        run("09:00", cmd.OpenWindow, window_id="w01", staff_id="clerk-li")
        for minute, level in ((10, 2), (20, 5), (30, 1), (40, 2)):
            run(f"09:{minute}", cmd.IssueTicket, matters=("A02",))
            for kind in (cmd.CallNext, cmd.StartService, cmd.FinishService):
                run(f"09:{minute + 1}", kind, window_id="w01")
            run(f"09:{minute + 2}", cmd.RateService, window_id="w01", level=level)
        at = datetime.fromisoformat(f"{DAY}T09:50:00+08:00")
        issued = service.execute(cmd.IssueTicket(command_id="visit", site_id="centre", at=at, matters=("A02",)))
        (visit,) = [event for event in issued.events if isinstance(event, TicketIssued)]
        officers = officers_for(store)
        officer, _code = officers.enrol("周明远", "deputy", "13912345678", "root", at, pepper=b"p" * 32)
        officers.record_visit(visit, officer.officer_id, Channel.KIOSK, at)
        officers.write_findings(visit.ticket_id, officer.officer_id, FINDINGS, at)
    finally:
        store.close()


@pytest.fixture(scope="module")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    directory = tmp_path_factory.mktemp("hub")
    rated_morning(HubProcess(directory).db_url)
    with running_web_hub(directory) as hub:
        yield hub


async def open_item(page: Page, row: int) -> None:
    await page.goto("/admin/follow-ups?kind=rating")
    await expect(page.locator("tr[data-follow-up]")).to_have_count(3)
    async with page.expect_navigation():
        await page.locator("tr[data-follow-up]").nth(row).get_by_role("link").click()


async def test_a_manager_answers_a_bad_rating_to_the_end(signed_in: OpenPage) -> None:
    manager = await signed_in("li")
    await open_item(manager, 2)  # the oldest: 09:12, 不满意
    await expect(manager.locator("[data-field=level]")).to_have_text("不满意")
    for step, label in (
        ("verified", "已核实"),
        ("contacted", "已联系"),
        ("put_right", "已整改"),
        ("reported", "已反馈"),
    ):
        await expect(manager.get_by_role("heading", name=f"办理：{label}")).to_be_visible()
        await manager.get_by_label("办理情况").fill(f"{label}：处理说明")
        async with manager.expect_navigation():
            await manager.get_by_role("button", name="提交本步骤").click()
        await expect(manager.locator(f"li[data-step={step}] blockquote")).to_have_text(f"{label}：处理说明")
    await expect(manager.locator("[data-field=state]")).to_contain_text("已整改办结")
    await expect(manager.get_by_role("button", name="提交本步骤")).to_have_count(0)


async def test_the_clerk_appeals_and_an_administrator_upholds_it(signed_in: OpenPage, shot: Shot) -> None:
    clerk = await signed_in("zhao")
    await clerk.goto("/admin/follow-ups")
    rows = clerk.locator("tr[data-follow-up]")
    await expect(rows.first).to_be_visible()
    await expect(clerk.locator("tr[data-kind=finding]")).to_have_count(0)
    await expect(clerk.locator("main")).not_to_contain_text(FINDINGS)
    key = await rows.first.get_attribute("data-follow-up")
    async with clerk.expect_navigation():
        await rows.first.get_by_role("link").click()
    await clerk.get_by_label("申诉理由").fill("群众误按评价器，当场已说明")
    async with clerk.expect_navigation():
        await clerk.get_by_role("button", name="提交申诉").click()
    await expect(clerk.locator("[data-field=decision]")).to_have_text("待裁定")

    admin = await signed_in("root")
    await admin.goto(f"/admin/follow-ups/{key}")
    await expect(admin.get_by_text("群众误按评价器，当场已说明")).to_be_visible()
    await admin.get_by_label("申诉成立：该评价不计入统计，整改事项办结").check()
    await admin.get_by_label("裁定说明").fill("调取录像核实")
    async with admin.expect_navigation():
        await admin.get_by_role("button", name="提交裁定").click()
    await expect(admin.locator("[data-field=decision]")).to_contain_text("成立（评价不计入）")
    await expect(admin.locator("[data-field=state]")).to_contain_text("申诉成立")
    await admin.screenshot(path="/tmp/fu/item.png")

    await admin.goto(f"/admin/follow-ups/{key}?lang=en")  # English available
    await expect(admin.get_by_role("heading", level=1)).to_contain_text("Rating follow-up")
    await expect(admin.locator("[data-field=decision]")).to_contain_text("Upheld (rating excluded)")
    await admin.goto("/admin/follow-ups?lang=zh")

    await admin.goto("/admin/follow-ups?state=all")
    await expect(admin.locator("tr[data-follow-up]")).to_have_count(4)
    finding = admin.locator("tr[data-kind=finding]")
    await expect(finding.locator("[data-field=kind]")).to_have_text("体验官意见")
    await expect(finding.locator("[data-field=finding]")).to_contain_text("周*远")  # the district sees the officer
    await shot(admin, "follow-ups")

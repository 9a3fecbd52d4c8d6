"""Rating from the phone (好差评 on the ticket page) in Chromium, against a running hub: a ticket taken at the kiosk
and served at window 1 (the devices' HTTP API) shows the rating form on its page; the citizen picks 不满意, the
sub-indicators and two reasons, writes a comment and sends it; the page thanks them and the form is gone. The
form before sending is the screenshot docs/screenshots/ticket-page-rating-phone.png."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.async_api import expect

from hub.devices import Credentials
from tests.browser.conftest import PHONE, OpenPage, Shot, running_web_hub, url_of
from tests.support.hub_process import HubProcess

DEVICES: dict[str, Credentials] = {}
PIN = "2468"


@pytest.fixture(scope="module")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    directory = tmp_path_factory.mktemp("hub")
    before = HubProcess(directory)
    DEVICES.update(kiosk=before.provision("centre", "kiosk"), caller=before.provision("centre", "caller", "w01"))
    before.add_staff("centre", "clerk-li", pin=PIN)
    with running_web_hub(directory) as hub:
        yield hub


def ask(hub: HubProcess, device: str, action: str, **body: Any) -> dict[str, Any]:
    """A device's request over the hub's HTTP API (the same as over MQTT)."""
    credentials = DEVICES[device]
    answered = requests.post(
        f"{url_of(hub)}/api/v1/sites/centre/{action}", json={"v": 1, "id": f"{action}-{len(body)}-{id(body)}", **body},
        auth=(credentials.device_id, credentials.password), timeout=10,
    )  # fmt: skip
    reply: dict[str, Any] = answered.json()
    assert reply["ok"], reply
    return reply


def served(hub: HubProcess) -> str:
    """A ticket taken at the kiosk, called, served and finished at window 1: its page's path."""
    ticket = ask(hub, "kiosk", "issue", matters=["A02"])["ticket"]
    ask(hub, "caller", "open-window", window_id="w01", staff_id="clerk-li", pin=PIN)
    for action in ("call-next", "start", "finish"):
        ask(hub, "caller", action, window_id="w01")
    path: str = ticket["status_path"]
    return path


async def test_a_citizen_rates_the_service_on_the_ticket_page(
    web_hub: HubProcess, open_page: OpenPage, shot: Shot
) -> None:
    path = await asyncio.to_thread(served, web_hub)
    page = await open_page(viewport=PHONE)
    await page.goto(path)
    form = page.locator("form.rating-form")
    await expect(page.get_by_role("heading", name="请您评价本次服务")).to_be_visible()
    reasons = form.locator("fieldset.reasons")
    await form.get_by_text("满意", exact=True).click()
    await expect(reasons).to_be_hidden()  # 满意: no reasons asked
    await form.get_by_text("不满意", exact=True).click()
    await expect(reasons).to_be_visible()
    await form.locator("fieldset.aspect").nth(0).get_by_text("3", exact=True).click()
    await form.locator("fieldset.aspect").nth(2).get_by_text("2", exact=True).click()
    await reasons.get_by_text("等候时间长").click()
    await reasons.get_by_text("未一次性告知").click()
    await form.get_by_label("其他意见").fill("叫号后等了很久才开始办理")
    await page.locator("#rating").evaluate("section => section.scrollIntoView()")
    await shot(page, "ticket-page-rating-phone")
    async with page.expect_navigation():
        await form.get_by_role("button", name="提交评价").click()
    await expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    await expect(page.locator("form.rating-form")).to_have_count(0)
    offer = await asyncio.to_thread(requests.get, f"{url_of(web_hub)}/api/v1{path.replace('/t/', '/tickets/')}/rating")
    assert (offer.json()["state"], offer.json()["level"]) == ("rated", 2)

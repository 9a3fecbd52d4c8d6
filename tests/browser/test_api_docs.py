"""/api/docs in Chromium: Swagger UI, served by the hub itself, draws the hub's operations with the browser cut off
from everything but the hub (every other request is aborted and would fail the test)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Page, Route, expect

from tests.browser.conftest import Shot, url_of
from tests.support.hub_process import HubProcess


async def test_the_api_reference_renders_offline(page: Page, web_hub: HubProcess, shot: Shot) -> None:
    hub = urlsplit(url_of(web_hub)).netloc
    elsewhere: list[str] = []

    async def only_the_hub(route: Route) -> None:
        if urlsplit(route.request.url).netloc == hub:
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.context.route("**/*", only_the_hub)
    await page.goto("/api/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Service hall hub API")
    issue = page.locator(".opblock-post", has_text="/api/v1/sites/{site}/issue")
    await expect(issue).to_be_visible()
    await expect(page.locator(".opblock-get", has_text="/api/v1/sites/{site}/slots")).to_be_visible()
    await expect(page.locator(".opblock-put", has_text="/cases/{case}/pages/{material}/{page}")).to_be_visible()
    assert await page.locator(".opblock").count() >= 40
    await shot(page, "api-docs")

    await issue.locator(".opblock-summary").click()  # an operation opens with its request body's example
    await expect(issue.locator(".opblock-body")).to_contain_text("matters")  # IssueRequest's example
    assert elsewhere == [], f"the page asked for something outside the hub: {elsewhere}"

"""Browser tests: Playwright drives Debian's Chromium (``chromium``, never a browser of Playwright's own: there is no
``playwright install`` here) on the pages of a real hub process, as a person in a ``zh-CN`` browser would.

- ``browser``: one Chromium for the whole test session.
- ``web_hub``: one running hub per module (``HubProcess``: managed Mosquitto, SQLite, the sample district, the
  clock at Wednesday 10:00) with the accounts of tests/web/conftest.py (``root`` administrator, ``li`` manager of
  the centre, ``wang`` manager of Xiaozhai, ``zhao`` staff at the centre's w01; password ``PASSWORD``). Its log must
  stay free of defects. Devices: ``web_hub.provision(...)`` then ``web_hub.link(...)`` (an MQTT device link).
- ``page``: a fresh browser context (its own cookies) at 1366×768 on the hub; ``open_page(viewport=PHONE,
  locale="en-GB")`` for another one; ``signed_in("li")``: a page already signed in as that account.
- ``shot(page, name)``: a screenshot into the test's tmp dir, and into docs/screenshots/ with ``HALL_SCREENSHOTS``
  set (``make screenshots``).

Playwright's async API, on one event loop for the session (``pytest_collection_modifyitems`` below): its sync API
leaves its loop marked as running between calls, which breaks every asyncio test run after it by the same worker."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, StorageState, ViewportSize, async_playwright

from hub.accounts import accounts_for
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.store import open_store
from tests.support.hub_process import REPO, HubProcess
from tests.web.conftest import PASSWORD, add_accounts

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DESKTOP = ViewportSize(width=1366, height=768)
PHONE = ViewportSize(width=390, height=844)
SCREENSHOTS = REPO / "docs" / "screenshots"
HERE = Path(__file__).parent

OpenPage = Callable[..., Awaitable[Page]]


class Shot(Protocol):
    async def __call__(self, page: Page, name: str) -> Path: ...


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run on the session's event loop, the one the browser was started on."""
    on_session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if item.path.is_relative_to(HERE) and pytest_asyncio.is_async_test(item):
            item.add_marker(on_session_loop, append=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    # Playwright passes --headless and --no-sandbox (which root needs) and keeps Chromium off the network.
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        await browser.close()


@contextmanager
def running_web_hub(directory: Path, **options: Any) -> Iterator[HubProcess]:
    """A started hub with the web accounts (``options`` go to ``HubProcess``), stopped afterwards; its log must then
    hold no defect. The sign-in limits are raised: every browser of a module signs in from 127.0.0.1 (the limits
    themselves are tested in tests/web)."""
    hub = HubProcess(directory, **options)
    hub.env |= {"HALL_WEB_SIGN_IN_LIMIT": "1000/minute", "HALL_WEB_ADDRESS_LIMIT": "1000/minute"}
    store = open_store(hub.db_url)
    try:
        add_accounts(accounts_for(store, load_district(SAMPLE_DISTRICT)))
    finally:
        store.close()
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
    assert hub.log_defects() == [], "the hub logged a defect (see hub.log)"


@pytest.fixture(scope="module")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A module that needs another hub (devices provisioned before the start, another clock) defines its own
    ``web_hub`` with ``running_web_hub``."""
    with running_web_hub(tmp_path_factory.mktemp("hub")) as hub:
        yield hub


def url_of(hub: HubProcess) -> str:
    return f"http://127.0.0.1:{hub.http_port}"


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Browser, web_hub: HubProcess) -> AsyncIterator[OpenPage]:
    """``await open_page(viewport=PHONE, locale="en-GB", storage_state=...)``: a page in a browser context of its
    own (cookies and all) on ``web_hub``; relative URLs are the hub's. Closed after the test, which fails if a
    script of a page threw."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    async def opened(viewport: ViewportSize = DESKTOP, locale: str = "zh-CN", **options: Any) -> Page:
        context = await browser.new_context(
            base_url=url_of(web_hub), viewport=viewport, locale=locale, timezone_id="Asia/Shanghai", **options
        )
        context.on("weberror", lambda error: errors.append(str(error.error)))
        contexts.append(context)
        return await context.new_page()

    yield opened
    for context in contexts:
        await context.close()
    assert errors == [], f"a script of the page threw: {errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def page(open_page: OpenPage) -> Page:
    """A fresh page at 1366×768 in a zh-CN browser, signed out."""
    return await open_page()


async def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Type the name and password into the sign-in form and press its button, as a person does (either language);
    returns once the page it leads to (or the form again, with its error) has loaded."""
    await page.goto("/admin/sign-in")
    form = page.locator("form", has=page.locator("input[name=password]"))
    await form.locator("input[name=username]").fill(username)
    await form.locator("input[name=password]").fill(password)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()


@pytest.fixture(scope="module")
def signed_in_states() -> dict[str, StorageState]:
    """Each account's cookies after its first sign-in in the module, so that later pages need not sign in again."""
    return {}


@pytest_asyncio.fixture(loop_scope="session")
async def signed_in(open_page: OpenPage, signed_in_states: dict[str, StorageState]) -> OpenPage:
    """``await signed_in("li", viewport=PHONE)``: a page of its own context, signed in as that account (through the
    form the first time in a module), left on the page the sign-in led to (or a blank one)."""

    async def opened(username: str, **options: Any) -> Page:
        if username in signed_in_states:
            return await open_page(storage_state=signed_in_states[username], **options)
        page = await open_page(**options)
        await sign_in(page, username)
        assert "/sign-in" not in page.url, f"{username} could not sign in"
        signed_in_states[username] = await page.context.storage_state()
        return page

    return opened


@pytest.fixture
def shot(tmp_path: Path) -> Shot:
    """``await shot(page, "admin-site-1366")``: always taken (a page that cannot be drawn fails the test), into the
    test's tmp dir, and into docs/screenshots/ too when ``HALL_SCREENSHOTS`` is set."""

    async def taken(page: Page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        await page.screenshot(path=path, animations="disabled", caret="hide")
        if os.environ.get("HALL_SCREENSHOTS"):
            shutil.copyfile(path, SCREENSHOTS / path.name)
        return path

    return taken

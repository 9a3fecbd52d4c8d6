"""The web pages on a real SQLite store with the sample district, through aiohttp's test client.

Accounts: ``root`` (administrator), ``li`` (manager of the centre), ``wang`` (manager of Xiaozhai), ``zhao`` (staff
at the centre's window w01); every password is ``PASSWORD``. The clock is the test's own (``Clock``)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.accounts import Accounts, Role, accounts_for
from hub.audit import audit_for
from hub.config import WebConfig
from hub.configuration import Configuration
from hub.devices import registry_for
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.gateway import Gateway
from hub.service import HallService
from hub.store import EventStore, open_store
from hub.web_pages import HallReader, Pages, pages_app

Client = TestClient[web.Request, web.Application]
DISTRICT = load_district(SAMPLE_DISTRICT)
PASSWORD = "correct horse battery"
SECRET = b"s" * 32
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def add_accounts(accounts: Accounts) -> None:
    accounts.add("root", PASSWORD)
    accounts.add("li", PASSWORD, Role.MANAGER, name="李敏", site_id="centre")
    accounts.add("wang", PASSWORD, Role.MANAGER, site_id="xiaozhai")
    accounts.add("zhao", PASSWORD, Role.STAFF, site_id="centre", window_id="w01")


@pytest.fixture(scope="module")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    """One store per module: the accounts are only read by the pages (hashing them costs time)."""
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('web') / 'hall.db'}")
    add_accounts(accounts_for(store, DISTRICT))
    yield store
    store.close()


def make_pages(store: EventStore, clock: Clock, settings: WebConfig | None = None) -> Pages:
    """Pages over a gateway without a hub process: its writer is the default executor."""
    gateway = Gateway(HallService(DISTRICT, store), lambda _device_id: None, clock)
    accounts, audit, registry = accounts_for(store, DISTRICT), audit_for(store), registry_for(store, DISTRICT)
    configuration = Configuration(
        store, DISTRICT, executor=None, apply=lambda district, _sites: gateway.apply_district(district),
        states=gateway.service.state, audit=audit, clock=clock, followers=(registry, accounts),
    )  # fmt: skip
    return Pages(
        accounts, audit, HallReader(gateway, None), registry, configuration, settings or WebConfig(), SECRET, clock
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pages(web_store: EventStore, clock: Clock) -> Pages:
    return make_pages(web_store, clock)


@pytest.fixture
async def client(pages: Pages, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    app = web.Application()
    app.add_subapp("/admin", pages_app(pages))
    return await aiohttp_client(app)


async def csrf_of(client: Client, path: str = "/admin/sign-in") -> str:
    response = await client.get(path)
    found = CSRF.search(await response.text())
    assert found, f"no CSRF field on {path}"
    return found.group(1)


async def sign_in(client: Client, username: str, password: str = PASSWORD, **extra: str) -> int:
    token = await csrf_of(client)
    form = {"csrf": token, "username": username, "password": password, **extra}
    response = await client.post("/admin/sign-in", data=form, allow_redirects=False)
    return response.status


@pytest.fixture
def tmp_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"

"""Wall screens: who may make and revoke one, the link shown once (only its hash kept), the link's page and stream
without any session or cookie, the one 404 for a malformed, unknown or revoked token, a revocation ending an open
stream, the page read only (no form, no link), no citizen data, last seen at most once a minute, the audit; on a
real SQLite store with the sample district, tickets issued through the gateway as a kiosk asks."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.commands import OpenDay
from hub.accounts import accounts_for
from hub.audit import Action
from hub.gateway import Gateway
from hub.hall_feed import HallFeed
from hub.service import HallService
from hub.store import EventStore, open_store
from hub.store.schema import wall_screens as wall_table
from hub.wall_screens import ScreenFeeds, wall_screens_for
from hub.web_pages import Pages, add_pages
from hub.web_pages.state import HallReader
from tests.web.conftest import CSRF, DISTRICT, SECRET, Client, Clock, add_accounts, make_pages, sign_in
from tests.web.test_public import CLERK, DEVICES, ID_NUMBER, Hall, next_view, page_of, visible

LINK = re.compile(r"https?://[^/\s<\"]+/wall/([A-Za-z0-9_-]{43})")
ONCE = re.compile(r'name="once" value="([^"]+)"')
MISSING = "未找到该大屏链接"


@pytest.fixture
def writer() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    add_accounts(accounts_for(store, DISTRICT))
    yield store
    store.close()


def pages_on(store: EventStore, clock: Clock, writer: ThreadPoolExecutor) -> Pages:
    """The pages over a gateway on the test's writer thread, the centre's day open (as a hub starts them)."""
    gateway = Gateway(HallService(DISTRICT, store), DEVICES.get, clock, secret=SECRET)
    gateway.service.execute(OpenDay(command_id="open-centre", site_id="centre", at=clock()))
    return replace(make_pages(store, clock), hall=HallReader(gateway, writer))


@pytest.fixture
def pages(store: EventStore, clock: Clock, writer: ThreadPoolExecutor) -> Pages:
    return pages_on(store, clock, writer)


@pytest.fixture
def hall(pages: Pages) -> Hall:
    return Hall(pages)


@pytest.fixture
async def client(pages: Pages, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    app = web.Application()
    add_pages(app, pages)
    return await aiohttp_client(app)


async def form_of(client: Client) -> dict[str, str]:
    """The hidden fields of the list's form (its CSRF token and ``once``)."""
    page = await page_of(client, "/admin/walls")
    csrf, once = CSRF.search(page), ONCE.search(page)
    assert csrf and once
    return {"csrf": csrf.group(1), "once": once.group(1)}


async def create(client: Client, label: str, scope: str, status: int = 200) -> tuple[str, str]:
    """Make a screen through the form; its answer page and the token of its link."""
    response = await client.post("/admin/walls", data={**await form_of(client), "label": label, "scope": scope})
    body = await response.text()
    assert response.status == status, body[:400]
    found = LINK.search(body)
    return body, found.group(1) if found else ""


async def revoke(client: Client, screen_id: str) -> aiohttp.ClientResponse:
    """Revoke a screen through its confirm step's form (the browser is not sent on)."""
    csrf = (await form_of(client))["csrf"]
    return await client.post(f"/admin/walls/{screen_id}/revoke", data={"csrf": csrf}, allow_redirects=False)


def rows(store: EventStore) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:  # type: ignore[attr-defined]
        return [dict(row._mapping) for row in connection.execute(sa.select(wall_table))]


async def fresh_get(client: Client, path: str) -> tuple[int, str, aiohttp.ClientResponse]:
    """GET with a browser of its own: no cookie of the admin's session."""
    async with aiohttp.ClientSession() as browser, browser.get(client.make_url(path)) as response:
        return response.status, await response.text(), response


# -- making one ------------------------------------------------------------------------------------------------


async def test_an_administrator_makes_a_district_screen_whose_link_is_shown_once(
    client: Client, pages: Pages, store: EventStore
) -> None:
    assert await sign_in(client, "root") == 303
    body, token = await create(client, "区政务服务中心三楼大厅", "district")

    assert token and "<svg" in body and "三楼大厅" in body
    [row] = rows(store)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest() and row["site_id"] is None
    assert token not in json.dumps(row, default=str)  # only its hash is kept
    listing = await page_of(client, "/admin/walls")
    assert token not in listing and "三楼大厅" in listing and "root" in listing and "从未打开" in listing
    assert token not in await page_of(client, "/admin/walls.json")
    [entry] = [e for e in pages.audit.entries() if e.action == Action.WALL_SCREEN_CREATED]
    assert entry.actor == "root" and entry.subject == f"wall:{row['screen_id']}" and entry.site_id is None
    assert token not in json.dumps(entry.as_json()) and row["token_hash"] not in json.dumps(entry.as_json())


async def test_the_answer_with_the_link_is_kept_by_no_cache_and_a_second_send_makes_nothing(
    client: Client, store: EventStore
) -> None:
    await sign_in(client, "root")
    fields = {**await form_of(client), "label": "一楼", "scope": "site:centre"}
    first = await client.post("/admin/walls", data=fields)
    assert first.status == 200 and first.headers["Cache-Control"] == "no-store"

    again = await client.post("/admin/walls", data=fields)  # a reload of the answer

    assert again.status == 422 and not LINK.search(await again.text())
    assert len(rows(store)) == 1


@pytest.mark.parametrize("username", ["root", "li"])
async def test_an_administrators_and_a_managers_pages_link_to_the_wall_screens(client: Client, username: str) -> None:
    await sign_in(client, username)
    home = await page_of(client, "/admin/")  # a manager's is their site's page
    site = await page_of(client, "/admin/sites/centre/settings")
    assert all('<a href="/admin/walls">大屏链接</a>' in shown for shown in (home, site))


async def test_a_manager_makes_one_for_their_own_site_only(client: Client, store: EventStore) -> None:
    await sign_in(client, "li")  # the centre's manager
    page = await page_of(client, "/admin/walls")
    assert 'value="site:centre"' in page and 'value="district"' not in page and "site:xiaozhai" not in page

    _, token = await create(client, "中心一楼", "site:centre")
    assert token
    for scope in ("site:xiaozhai", "district", "site:nowhere"):
        _, none = await create(client, "别处", scope, status=403)
        assert not none
    assert [row["site_id"] for row in rows(store)] == ["centre"]


async def test_a_manager_neither_sees_nor_revokes_another_sites_screen(client: Client, store: EventStore) -> None:
    await sign_in(client, "root")
    await create(client, "屏甲", "site:xiaozhai")
    await create(client, "屏乙", "district")
    screens = {row["label"]: row["screen_id"] for row in rows(store)}
    await client.post("/admin/sign-out", data={"csrf": (await form_of(client))["csrf"]})

    await sign_in(client, "li")
    listing = await page_of(client, "/admin/walls")
    assert "屏甲" not in listing and "屏乙" not in listing
    for screen_id in screens.values():
        assert (await client.get(f"/admin/walls/{screen_id}/revoke")).status == 404
        assert (await revoke(client, screen_id)).status == 404
    assert all(row["revoked_at"] is None for row in rows(store))


async def test_staff_and_the_signed_out_are_refused(client: Client, store: EventStore) -> None:
    assert (await client.get("/admin/walls", allow_redirects=False)).status == 303  # to the sign-in
    assert (await client.get("/admin/walls.json")).status == 401
    await sign_in(client, "zhao")
    assert (await client.get("/admin/walls")).status == 403
    token = CSRF.search(await page_of(client, "/admin/sign-in"))
    assert token
    posted = await client.post("/admin/walls", data={"csrf": token.group(1), "label": "x", "scope": "site:centre"})
    assert posted.status == 403 and rows(store) == []


async def test_a_form_without_its_csrf_token_makes_nothing(client: Client, store: EventStore) -> None:
    await sign_in(client, "root")
    fields = await form_of(client)
    for csrf in ("", "wrong"):
        answer = await client.post("/admin/walls", data={**fields, "csrf": csrf, "label": "x", "scope": "district"})
        assert answer.status == 403
    assert rows(store) == []


async def test_a_wrong_label_or_scope_is_said_beside_its_field(client: Client, store: EventStore) -> None:
    await sign_in(client, "root")
    for label, scope, words in (
        ("", "district", "请填写名称"),
        ("x" * 65, "district", "最多 64 个字符"),
        ("一楼\n二楼", "district", "请只填写一行文字"),
        ("一楼", "site:nowhere", "请选择大屏显示的内容"),
    ):
        body, token = await create(client, label, scope, status=422)
        assert words in visible(body) and not token
    assert rows(store) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    label=st.text(max_size=80) | st.sampled_from(["", " ", "一楼大厅"]),
    scope=st.text(max_size=20) | st.sampled_from(["district", "site:centre", "site:", "site:xiaozhai"]),
    once=st.text(max_size=70),
)
async def test_no_create_form_makes_the_page_fail(client: Client, label: str, scope: str, once: str) -> None:
    if not client.session.cookie_jar.filter_cookies(client.make_url("/")).get("hall_session"):
        await sign_in(client, "li")
    fields = await form_of(client)
    answer = await client.post("/admin/walls", data={"csrf": fields["csrf"], "once": once, "label": label,
                                                     "scope": scope})  # fmt: skip
    assert answer.status in (200, 403, 422), (label, scope, answer.status)
    if answer.status == 200:
        assert scope.strip() in ("", "site:centre") and label.strip()  # the form strips what is typed


# -- the link ---------------------------------------------------------------------------------------------------


async def test_the_link_shows_the_wall_to_a_browser_without_any_cookie(hall: Hall, client: Client) -> None:
    await hall.open_window("w01")
    await hall.issue("A02")
    await sign_in(client, "root")
    _, token = await create(client, "全区", "district")

    status, body, response = await fresh_get(client, f"/wall/{token}")

    assert status == 200 and "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    text = visible(body)
    assert "全区大屏" in text and all(site.name_zh in text for site in DISTRICT.sites)
    assert f'data-stream="/wall/{token}/stream?lang=zh"' in body
    status, english, response = await fresh_get(client, f"/wall/{token}?lang=en")
    assert status == 200 and "District wall" in english
    assert [cookie.key for cookie in response.cookies.values()] == ["hall_lang"]  # the language's, and no other
    status, answer, _ = await fresh_get(client, f"/wall/{token}.json")
    assert status == 200 and len(json.loads(answer)["view"]["sites"]) == len(DISTRICT.sites)


async def test_the_page_has_no_form_and_no_link_to_anywhere(hall: Hall, client: Client) -> None:
    await sign_in(client, "root")
    _, district = await create(client, "全区", "district")
    _, centre = await create(client, "中心", "site:centre")

    for token in (district, centre):
        _, body, _ = await fresh_get(client, f"/wall/{token}")
        assert "<form" not in body and "<a " not in body and "sign-in" not in body and "csrf" not in body
        assert {*re.findall(r'(?:href|src)="([^"]+)"', body)} <= {
            "/admin/static/hall.css", "/admin/static/live.css", "/admin/static/live.js"
        }  # fmt: skip


async def test_a_site_screen_shows_its_live_hall_with_clerks_but_no_citizen_data(hall: Hall, client: Client) -> None:
    await hall.open_window("w01")
    ticket = await hall.issue("A02", id_number=ID_NUMBER)
    stored = hall.gateway.service.state("centre").tickets[ticket.ticket_id]
    await hall.call_next("w01")
    await sign_in(client, "li")
    _, token = await create(client, "中心一楼", "site:centre")

    _, page, _ = await fresh_get(client, f"/wall/{token}")
    _, answer, _ = await fresh_get(client, f"/wall/{token}.json")
    async with client.get(f"/wall/{token}/stream") as response:
        view = json.dumps(await next_view(response), ensure_ascii=False)

    assert "A001" in visible(page) and "大厅实时" in visible(page)
    for shown in (page, answer, view):
        assert ID_NUMBER not in shown.upper() and ID_NUMBER[-4:] not in shown
        assert stored.citizen_ref and stored.citizen_ref not in shown and "citizen" not in shown
        assert ticket.ticket_id not in shown and ticket.status_path not in shown and CLERK not in shown


async def test_a_malformed_unknown_or_revoked_token_gets_the_one_404(client: Client, store: EventStore) -> None:
    await sign_in(client, "root")
    _, token = await create(client, "将停用", "district")
    _, kept = await create(client, "保留", "district")
    screen_id = next(row["screen_id"] for row in rows(store) if row["label"] == "将停用")
    assert (await revoke(client, screen_id)).status == 303

    unknown, changed = "A" * 43, token[:-1] + ("A" if token[-1] != "A" else "B")
    wrong = [token, unknown, changed, token[:20], token + "x", "a.b", "%00", "%E4%B8%80"]
    answers = [await fresh_get(client, f"/wall/{guess}") for guess in wrong]

    assert [status for status, _, _ in answers] == [404] * len(wrong)
    assert len({body for _, body, _ in answers}) == 1 and MISSING in answers[0][1]
    assert {response.headers["Cache-Control"] for _, _, response in answers} == {"no-store"}
    for path in (f"/wall/{token}/stream", f"/wall/{token}.json", f"/wall/{unknown}/stream"):
        assert (await fresh_get(client, path))[0] == 404
    assert (await fresh_get(client, f"/wall/{kept}"))[0] == 200


async def test_revoking_ends_an_open_stream_at_once_and_a_restarted_hub_refuses_the_link(
    hall: Hall, client: Client, pages: Pages, store: EventStore
) -> None:
    await sign_in(client, "root")
    _, token = await create(client, "中心一楼", "site:centre")
    screen_id = rows(store)[0]["screen_id"]

    async with aiohttp.ClientSession() as browser, browser.get(client.make_url(f"/wall/{token}/stream")) as stream:
        first = await next_view(stream)
        await hall.issue("A02")
        assert (await next_view(stream))["waiting"] == first["waiting"] + 1  # it follows the hall
        revoked = await revoke(client, screen_id)
        assert revoked.status == 303
        rest = await asyncio.wait_for(stream.content.read(), 3.0)  # the stream ends, within seconds

    assert b"event: view" not in rest and pages.screen_feeds.open == 0
    assert (await fresh_get(client, f"/wall/{token}/stream"))[0] == 404
    assert "已停用：中心一楼" in visible(await page_of(client, revoked.headers["Location"]))
    [entry] = [e for e in pages.audit.entries() if e.action == Action.WALL_SCREEN_REVOKED]
    assert entry.before["revoked"] is False and entry.after["revoked"] is True and entry.actor == "root"
    audit = json.loads(await page_of(client, "/admin/audit.json?action=wall_screen_revoked"))  # a kind to keep
    assert [(e["action"], e["subject"]) for e in audit["entries"]] == [("wall_screen_revoked", f"wall:{screen_id}")]
    restarted = wall_screens_for(store)  # a new hub's, on the same database
    assert await asyncio.to_thread(restarted.visit, token, pages.clock()) is None


async def test_last_seen_is_written_at_most_once_a_minute(client: Client, store: EventStore, clock: Clock) -> None:
    await sign_in(client, "root")
    _, token = await create(client, "全区", "district")

    await fresh_get(client, f"/wall/{token}")
    seen = rows(store)[0]["last_seen_at"]
    clock.advance(seconds=50)
    await fresh_get(client, f"/wall/{token}")
    assert seen is not None and rows(store)[0]["last_seen_at"] == seen
    clock.advance(seconds=20)
    await fresh_get(client, f"/wall/{token}")
    assert rows(store)[0]["last_seen_at"] > seen
    assert "从未打开" not in await page_of(client, "/admin/walls")


async def test_a_screen_revoked_elsewhere_has_its_streams_ended_at_the_next_check() -> None:
    """Another hub on the same database revoked it: this one's check (once a minute; here a tenth of a second)
    finds it and ends its streams."""
    valid = {"wall-1": True}

    async def still(screen_id: str) -> bool:
        return valid[screen_id]

    hub = HallFeed(asyncio.get_running_loop())
    feeds = ScreenFeeds(still, every=timedelta(seconds=0.1))
    async with feeds.feed("wall-1", hub, None) as feed, feed.subscribe(None) as subscription:
        hub.changed("centre")
        assert await asyncio.wait_for(subscription.next(), 1.0) == {"centre"}  # the hub's changes reach it
        valid["wall-1"] = False
        assert await asyncio.wait_for(subscription.next(5.0), 1.0) is None  # ended
    assert feeds.open == 0

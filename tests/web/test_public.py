"""The public pages: the citizen's ticket page (``/t/<token>``) and the web board (``/board/<site>``), on a real
SQLite store with the sample district, tickets issued and called through the gateway as the kiosk and the caller ask
(on one writer thread, the feed told of each change as the hub tells it), and one test against the running hub."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
from aiohttp import ClientResponse, web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contract as wire
from engine.commands import OpenDay
from hub.gateway import Gateway
from hub.service import HallService
from hub.store import open_store
from hub.web_pages import Pages, add_pages
from hub.web_pages.public import PUBLIC, Public
from hub.web_pages.state import HallReader
from hub.web_pages.ticket_index import PAST_DAYS
from tests.support.hub_process import HubProcess
from tests.web.conftest import DISTRICT, SECRET, Client, Clock, make_pages

CENTRE = next(site for site in DISTRICT.sites if site.id == "centre")
ID_NUMBER = "11010519491231002X"
CLERK = "clerk-li"
MISSING = "未找到该号码"


class Device(NamedTuple):
    site_id: str
    kind: str
    window_id: str | None


DEVICES = {
    "kiosk-centre-1": Device("centre", "kiosk", None),
    **{f"caller-centre-{w}": Device("centre", "caller", w) for w in ("w01", "w05", "w07")},
}


class Hall:
    """The gateway on its own writer thread; every change is told to the pages' feed, as the hub does."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.gateway = pages.hall.gateway
        self._ids = 0

    async def ask(self, device: str, action: str, **body: Any) -> wire.Reply:
        self._ids += 1
        payload = json.dumps({"v": 1, "id": f"r{self._ids}", **body}).encode()
        reply, outcome = await self.pages.hall.on_writer(self.gateway.handle, "centre", device, action, payload)
        if outcome is not None and outcome.events:
            self.pages.hall.feed.changed("centre")
        return reply

    async def issue(self, *matters: str, **body: Any) -> wire.TicketInfo:
        reply = await self.ask("kiosk-centre-1", "issue", matters=list(matters), **body)
        assert reply.ok and reply.ticket is not None, reply.error
        return reply.ticket

    async def open_window(self, window: str) -> None:
        assert (await self.ask(f"caller-centre-{window}", "open-window", window_id=window, staff_id=CLERK)).ok

    async def call_next(self, window: str) -> None:
        assert (await self.ask(f"caller-centre-{window}", "call-next", window_id=window)).ok

    async def finish(self, window: str) -> None:
        assert (await self.ask(f"caller-centre-{window}", "start", window_id=window)).ok
        assert (await self.ask(f"caller-centre-{window}", "finish", window_id=window)).ok


@pytest.fixture
def writer() -> Iterator[ThreadPoolExecutor]:
    """The one thread the hall's states are read and changed on (the hub's writer)."""
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown()


@pytest.fixture
def public_pages(tmp_path: Path, clock: Clock, writer: ThreadPoolExecutor) -> Iterator[Pages]:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    gateway = Gateway(HallService(DISTRICT, store), DEVICES.get, clock, secret=SECRET)
    gateway.service.execute(OpenDay(command_id="open-centre", site_id="centre", at=clock()))
    yield replace(make_pages(store, clock), hall=HallReader(gateway, writer))
    store.close()


@pytest.fixture
def hall(public_pages: Pages) -> Hall:
    return Hall(public_pages)


@pytest.fixture
async def client(public_pages: Pages, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    """The hub's app with every page mounted as the hub mounts them (``add_pages``)."""
    app = web.Application()
    add_pages(app, public_pages)
    return await aiohttp_client(app)


async def page_of(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    body = await response.text()
    assert response.status == status, body[:500]
    return body


def visible(html: str) -> str:
    """The page's text, without tags, as one line."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def next_view(response: ClientResponse, timeout: float = 5.0) -> Any:
    """The next view of a stream of server-sent events."""
    while True:
        block = (await asyncio.wait_for(response.content.readuntil(b"\n\n"), timeout)).decode()
        if "event: view" in block:
            return json.loads(block.split("data: ", 1)[1])


# -- the ticket page -----------------------------------------------------------------------------------------------


async def test_the_ticket_page_shows_number_matter_people_ahead_wait_and_materials(hall: Hall, client: Client) -> None:
    await hall.open_window("w01")
    for _ in range(2):
        await hall.issue("A02")
    ticket = await hall.issue("A02")
    assert ticket.status_path == f"/t/{hall.gateway.status_token(ticket.ticket_id)}"

    text = visible(await page_of(client, ticket.status_path))

    assert "A003" in text and "个体工商户设立登记" in text
    assert "前面还有 2 人" in text
    wait = ticket.wait
    assert wait is not None and wait.low is not None and wait.high is not None and round(wait.high) > round(wait.low)
    assert f"约 {max(round(wait.low), 1)}–{round(wait.high)} 分钟" in text  # the kiosk's words and figures
    assert "经营者居民身份证：原件 1 份，复印件 1 份" in text
    assert "经营场所使用证明（房屋产权证明或租赁合同）：复印件 1 份" in text  # no "原件 0 份"
    assert "等候叫号" in text


async def test_the_ticket_page_in_english(hall: Hall, client: Client) -> None:
    await hall.open_window("w01")
    await hall.issue("A02")
    ticket = await hall.issue("A02")

    text = visible(await page_of(client, f"{ticket.status_path}?lang=en"))

    assert "Individual business registration" in text and "1 people ahead of you" in text
    assert "Operator's resident identity card: 1 original(s), 1 cop(ies)" in text
    assert 'lang="en"' in await page_of(client, f"{ticket.status_path}?lang=en")


async def test_a_called_ticket_says_which_window_and_the_stream_follows_it(
    hall: Hall, client: Client, clock: Clock
) -> None:
    await hall.open_window("w01")
    first = await hall.issue("A02")
    second = await hall.issue("A02")

    async with client.get(f"{second.status_path}/stream") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        view = await next_view(response)
        assert view["state"] == "waiting" and view["people_ahead"] == 1 and view["people"] == "前面还有 1 人"
        await hall.call_next("w01")  # A001 called: A002 is next in line
        clock.advance(seconds=2)  # the page is told again a moment after the call: the estimate is then made anew
        while view["people_ahead"] != 0:
            view = await next_view(response)
        await hall.finish("w01")
        await hall.call_next("w01")
        while view["state"] != "called":
            view = await next_view(response)

    assert view["status"] == "请到 1 号窗口" and view["window"] == 1
    assert view["notify"]["called"] == "请 A002 号到 1 号窗口"
    assert "请到 1 号窗口" in visible(await page_of(client, second.status_path))
    assert "已办结" in visible(await page_of(client, first.status_path))


async def test_a_finished_cancelled_or_earlier_days_ticket_shows_how_it_ended(
    hall: Hall, client: Client, clock: Clock
) -> None:
    await hall.open_window("w01")
    done = await hall.issue("A02")
    await hall.call_next("w01")
    await hall.finish("w01")
    left = await hall.issue("A02")
    assert "已办结" in visible(await page_of(client, done.status_path))
    assert (await page_of(client, f"{left.status_path}.json")).count('"final": false') == 1

    clock.advance(days=1)  # the next morning: yesterday's ticket never called
    opened = OpenDay(command_id="open-centre-2", site_id="centre", at=clock())
    await hall.pages.hall.on_writer(hall.gateway.execute, opened)
    hall.pages.hall.feed.changed("centre")
    new = await hall.issue("A02")

    assert new.number == "A001"
    answer = json.loads(await page_of(client, f"{left.status_path}.json"))
    assert answer["ticket"]["state"] == "expired" and answer["ticket"]["final"] is True
    assert "已过期（当日未办理）" in visible(await page_of(client, left.status_path))
    assert "已办结" in visible(await page_of(client, done.status_path))
    assert "等候叫号" in visible(await page_of(client, new.status_path))


async def test_the_links_of_earlier_days_are_kept_for_three_days(hall: Hall, client: Client, clock: Clock) -> None:
    first = await hall.issue("A02")
    kept = []
    for day in range(1, PAST_DAYS + 2):
        clock.advance(days=1)
        while clock().weekday() >= 5:  # the hall opens on working days
            clock.advance(days=1)
        opened = OpenDay(command_id=f"open-centre-{day}", site_id="centre", at=clock())
        await hall.pages.hall.on_writer(hall.gateway.execute, opened)
        hall.pages.hall.feed.changed("centre")
        kept.append(await hall.issue("A02"))
        if day == PAST_DAYS:
            assert "已过期（当日未办理）" in visible(await page_of(client, first.status_path))

    # the index forgets the oldest day when the pages' follower catches up with the last day opened (a moment later)
    for _ in range(100):
        if (await client.get(first.status_path)).status == 404:
            break
        await asyncio.sleep(0.02)
    assert MISSING in await page_of(client, first.status_path, status=404)
    assert "已过期（当日未办理）" in visible(await page_of(client, kept[0].status_path))


def public_of(client: Client) -> Public:
    return next(
        resource.get_info()["app"][PUBLIC]
        for resource in client.app.router.resources()
        if isinstance(resource, web.PrefixedSubAppResource) and resource.canonical == "/t"
    )


async def test_wrong_tokens_do_not_reach_the_writer_while_nothing_changed(
    hall: Hall, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await hall.issue("A02")
    await page_of(client, ticket.status_path)
    index = public_of(client).index
    runs: list[None] = []
    extend = index.extend

    def counted() -> None:
        runs.append(None)
        extend()

    monkeypatch.setattr(index, "extend", counted)  # the real extension, counted

    for n in range(50):
        await page_of(client, f"/t/{n:020d}", status=404)
    assert runs == []
    await hall.issue("A02")
    await asyncio.gather(*(client.get(f"/t/{n:020d}") for n in range(50)))
    assert len(runs) <= 2  # the follower's, and at most one for all the wrong tokens together


def other_secrets_token(ticket_id: str) -> str:
    digest = hmac.new(b"another hub's secret, 32 bytes..", ticket_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:15]).decode()


def one_changed(token: str) -> str:
    return ("B" if token[0] == "A" else "A") + token[1:]


async def test_a_wrong_token_is_the_same_friendly_404_whatever_is_wrong(hall: Hall, client: Client) -> None:
    ticket = await hall.issue("A02")
    token = ticket.status_path.removeprefix("/t/")
    assert len(token) == 20 and len(base64.urlsafe_b64decode(token)) * 8 == 120
    wrong = [
        one_changed(token),
        token[:-1] + ("a" if token[-1] != "a" else "b"),
        other_secrets_token(ticket.ticket_id),
        "A" * 20,
        token[:19],
        token + "x",
        "not-a-token",
        quote("未找到"),
        ticket.ticket_id,
        ticket.number,
    ]

    answers = [await client.get(f"/t/{guess}") for guess in wrong]

    bodies = {await answer.text() for answer in answers}
    assert [answer.status for answer in answers] == [404] * len(wrong)
    assert len(bodies) == 1
    body = bodies.pop()
    assert MISSING in body and token[:6] not in body and "A001" not in body
    assert answers[0].headers["Cache-Control"] == "no-store"
    assert (await client.get(f"/t/{one_changed(token)}/stream")).status == 404
    assert (await client.get(f"/t/{one_changed(token)}.json")).status == 404


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    guess=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
    | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=20, max_size=20)
)
async def test_no_token_string_makes_the_page_fail(client: Client, guess: str) -> None:
    for path in (f"/t/{quote(guess, safe='')}", f"/t/{quote(guess, safe='')}/stream", f"/t/{guess[:20]}"):
        response = await client.get(path) if "\n" not in path else None
        if response is not None:
            assert response.status in (200, 404), (path, response.status)
            response.close()


async def test_the_ticket_page_shows_no_personal_data(hall: Hall, client: Client) -> None:
    await hall.open_window("w01")
    ticket = await hall.issue("A02", id_number=ID_NUMBER)
    stored = hall.gateway.service.state("centre").tickets[ticket.ticket_id]
    assert stored.citizen_ref  # the gateway keeps a keyed digest of the ID number with the ticket

    page = await page_of(client, ticket.status_path)
    answer = await page_of(client, f"{ticket.status_path}.json")
    async with client.get(f"{ticket.status_path}/stream") as response:
        view = json.dumps(await next_view(response), ensure_ascii=False)

    for shown in (page, answer, view):
        assert ID_NUMBER not in shown.upper() and ID_NUMBER[-4:] not in shown
        assert stored.citizen_ref not in shown and "citizen" not in shown
        assert ticket.ticket_id not in shown and CLERK not in shown
    assert "A001" in page


async def test_the_ticket_page_answers_with_no_cache_and_a_strict_policy(hall: Hall, client: Client) -> None:
    ticket = await hall.issue("A02")
    response = await client.get(ticket.status_path)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    assert json.loads(await page_of(client, f"{ticket.status_path}.json"))["stream"].startswith("/t/")
    worker = await client.get("/t/ticket.worker.js")
    assert worker.status == 200 and "javascript" in worker.headers["Content-Type"]
    assert (await client.get("/admin/static/ticket.js")).status == 200


# -- the web board -------------------------------------------------------------------------------------------------


async def test_the_board_shows_calls_windows_and_waiting_numbers_never_names(hall: Hall, client: Client) -> None:
    await hall.open_window("w01")
    await hall.issue("A02", id_number=ID_NUMBER)
    await hall.issue("A02")
    await hall.issue("B01")
    await hall.call_next("w01")

    page = await page_of(client, "/board/centre")
    text = visible(page)

    assert CENTRE.name_zh in text
    assert "A001" in text and "1号窗口" in text and "请 A001 号到 1 号窗口" in text
    assert "个体工商户设立登记 等候 1 人" in text and "共 2 人等候" in text
    assert ID_NUMBER not in page and CLERK not in page
    answer = json.loads(await page_of(client, "/board/centre.json"))
    assert answer["board"]["latest"]["number"] == "A001"
    assert [window["current"] for window in answer["board"]["windows"]][:2] == ["A001", ""]
    assert "李" not in json.dumps(answer, ensure_ascii=False).replace(CENTRE.name_zh, "")


async def test_a_zone_board_shows_only_its_windows_and_matters(hall: Hall, client: Client) -> None:
    await hall.open_window("w05")
    await hall.open_window("w07")
    await hall.issue("A02")
    await hall.issue("B01")
    await hall.call_next("w05")  # 市场准入区
    await hall.call_next("w07")  # 社保医保区

    market = json.loads(await page_of(client, f"/board/centre.json?zone={quote('市场准入区')}"))["board"]
    social = json.loads(await page_of(client, f"/board/centre.json?zone={quote('社保医保区')}"))["board"]
    whole = json.loads(await page_of(client, "/board/centre.json"))["board"]

    assert market["latest"]["number"] == "A001" and market["recent"] == []
    assert {window["window"] for window in market["windows"]} == {"5号窗口", "6号窗口"}
    assert social["latest"]["number"] == "B001"
    assert whole["latest"]["number"] == "B001" and whole["recent"] == [{"number": "A001", "window": "5号窗口"}]
    assert market["zone"] == "市场准入区" and "市场准入区" in await page_of(
        client, f"/board/centre?zone={quote('市场准入区')}"
    )
    assert (await client.get(f"/board/centre?zone={quote('不存在区')}")).status == 404


async def test_the_board_stream_shows_a_call_as_it_happens(hall: Hall, client: Client) -> None:
    await hall.open_window("w01")
    await hall.issue("A02")

    async with client.get("/board/centre/stream?lang=en") as response:
        view = await next_view(response)
        assert view["latest"] is None and view["waiting_total"] == "1 waiting in all"
        await hall.call_next("w01")
        view = await next_view(response)

    assert view["latest"]["number"] == "A001" and view["latest"]["window"] == "Window 1"
    assert view["latest"]["announcement"] == "Ticket A001, please go to window 1"
    assert view["now"]


async def test_boards_of_a_site_share_one_snapshot_per_change(
    hall: Hall, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    snapshot = hall.gateway.snapshot

    def counted(site_id: str) -> wire.Snapshot:
        reads.append(site_id)
        return snapshot(site_id)

    monkeypatch.setattr(hall.gateway, "snapshot", counted)  # the real snapshot, counted
    await hall.open_window("w01")

    pages = await asyncio.gather(*(client.get(f"/board/centre{suffix}") for suffix in ["", "?lang=en"] * 10))

    assert [page.status for page in pages] == [200] * 20
    assert reads == ["centre"]


async def test_an_unknown_board_is_404(client: Client) -> None:
    response = await client.get("/board/nowhere")
    assert response.status == 404 and "未找到该叫号屏" in await response.text()
    assert (await client.get("/board/nowhere/stream")).status == 404


# -- the running hub -----------------------------------------------------------------------------------------------


async def test_the_status_link_of_a_ticket_taken_over_mqtt_opens_on_the_running_hub(hub: HubProcess) -> None:
    kiosk = hub.provision("centre", "kiosk")
    hub.start()
    link = hub.link(kiosk, "centre", wire.DeviceKind.KIOSK)

    reply = await asyncio.to_thread(link.request, wire.Action.ISSUE, {"matters": ["A02"]})

    assert reply.ok and reply.ticket is not None and reply.ticket.status_path.startswith("/t/")
    status, body = await asyncio.to_thread(hub.fetch, reply.ticket.status_path)
    assert status == 200 and body is not None
    assert reply.ticket.number in body.decode() and "个体工商户设立登记" in body.decode()
    status, body = await asyncio.to_thread(hub.fetch, "/board/centre")
    assert status == 200 and body is not None and CENTRE.name_zh in body.decode()

"""The follow-up pages (``/admin/follow-ups``): who sees which items (a manager their own site's, staff their own
window's, never a ticket number), who answers a step (the site's manager, in order), who appeals (the window's staff
or the site's manager, once) and who decides (an administrator); the audit of each change; overdue items on the live
hall. On a real SQLite store with the sample district, ratings made through the hub's service."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from engine import commands as cmd
from engine.commands import RatingAspects, RatingReason, RatingSource
from engine.events import TicketIssued
from hub.accounts import Role, accounts_for
from hub.audit import Action
from hub.gateway import Gateway
from hub.officers import Channel as VisitChannel
from hub.officers import officers_for
from hub.ratings import comments_for
from hub.service import HallService
from hub.store import EventStore, open_store
from hub.web_pages import Pages, add_pages
from hub.web_pages.state import HallReader
from tests.web.conftest import CSRF, DISTRICT, PASSWORD, SECRET, Client, Clock, add_accounts, make_pages, sign_in

JSON = {"Accept": "application/json"}


@pytest.fixture
def writer() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    accounts = accounts_for(store, DISTRICT)
    add_accounts(accounts)
    accounts.add("qian", PASSWORD, Role.STAFF, site_id="centre", window_id="w02")
    yield store
    store.close()


class Ratings:
    """Services at the centre rated on the windows' evaluators, through the hub's service on the writer thread."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.service: HallService = pages.hall.gateway.service
        self._ids = 0
        self.run(cmd.OpenDay)
        for window in ("w01", "w02"):
            self.run(cmd.OpenWindow, window_id=window, staff_id=f"clerk-{window}")

    def run(self, kind: type[cmd.Command], **fields: Any) -> None:
        self._ids += 1
        command = kind(command_id=f"t{self._ids}", site_id="centre", at=self.pages.clock(), **fields)
        assert self.service.execute(command).events

    def rate(self, window: str, level: int) -> None:
        self.run(cmd.IssueTicket, matters=("A02",))
        for kind in (cmd.CallNext, cmd.StartService, cmd.FinishService):
            self.run(kind, window_id=window)
        self.run(cmd.RateService, window_id=window, level=level)


@pytest.fixture
def pages(store: EventStore, clock: Clock, writer: ThreadPoolExecutor) -> Pages:
    gateway = Gateway(HallService(DISTRICT, store), lambda _device: None, clock, secret=SECRET)
    pages = replace(make_pages(store, clock), hall=HallReader(gateway, writer))
    ratings = Ratings(pages)
    ratings.rate("w01", 2)
    ratings.rate("w01", 5)
    ratings.rate("w02", 1)
    return pages


@pytest.fixture
async def client(pages: Pages, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    app = web.Application()
    add_pages(app, pages)
    return await aiohttp_client(app)


async def items(client: Client, state: str = "open") -> list[dict[str, Any]]:
    response = await client.get(f"/admin/follow-ups.json?state={state}")
    assert response.status == 200
    found: list[dict[str, Any]] = (await response.json())["items"]
    return found


async def post(client: Client, path: str, **form: str) -> tuple[int, str]:
    page = await client.get(path.rsplit("/", 1)[0])
    token = CSRF.search(await page.text())
    assert token, path
    response = await client.post(path, data={"csrf": token.group(1), **form}, allow_redirects=False)
    return response.status, await response.text()


def by_window(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["window_id"]: item for item in found}


async def test_a_manager_sees_their_own_sites_items_with_numbers_and_staff_their_windows_without(
    client: Client,
) -> None:
    assert await sign_in(client, "li") == 303
    mine = by_window(await items(client))
    assert set(mine) == {"w01", "w02"} and mine["w01"]["level"] == 2 and mine["w02"]["level"] == 1
    assert re.fullmatch(r"[A-Z]\d{3}", mine["w01"]["number"])
    html = await (await client.get("/admin/follow-ups")).text()
    assert mine["w01"]["number"] in html and "差评整改" in html and "待核实" in html
    assert (await client.get(f"/admin/follow-ups/centre/{2**64}")).status == 404  # not a database error
    w02_page = f"/admin/follow-ups/centre/{mine['w02']['seq']}"
    client.session.cookie_jar.clear()

    assert await sign_in(client, "wang") == 303  # the manager of Xiaozhai
    assert await items(client) == []
    assert (await client.get(w02_page)).status == 403

    client.session.cookie_jar.clear()
    assert await sign_in(client, "zhao") == 303  # staff at the centre's w01
    (own,) = await items(client)
    assert own["window_id"] == "w01" and own["number"] is None and own["rated_at"] is None
    page = await client.get(f"/admin/follow-ups/centre/{own['seq']}")
    text = await page.text()
    assert page.status == 200 and mine["w01"]["number"] not in text
    assert (await client.get(w02_page)).status == 404


async def test_the_sites_manager_answers_the_steps_in_order_and_the_last_closes_the_item(
    client: Client, pages: Pages
) -> None:
    assert await sign_in(client, "li") == 303
    item = by_window(await items(client))["w01"]
    path = f"/admin/follow-ups/centre/{item['seq']}"
    status, text = await post(client, f"{path}/step", step="contacted", note="跳过")
    assert status == 422 and "该步骤已办理" in text
    status, text = await post(client, f"{path}/step", step="verified", note="")
    assert status == 422 and "请填写办理情况" in text
    for step in ("verified", "contacted", "put_right", "reported"):
        status, _text = await post(client, f"{path}/step", step=step, note=f"{step}：已处理")
        assert status == 303
    done = await (await client.get(path + ".json")).json()
    assert done["item"]["closed"] and done["item"]["outcome"] == "done"
    assert [step["note"] for step in done["item"]["steps"]][-1] == "reported：已处理"
    assert len(await items(client, "closed")) == 1
    audit = [entry for entry in pages.audit.entries("centre") if entry.action == Action.FOLLOW_UP_STEP]
    assert len(audit) == 4 and all("已处理" not in str(entry.after) for entry in audit)  # never the note


async def test_staff_and_an_administrator_may_not_answer_a_step(client: Client) -> None:
    assert await sign_in(client, "zhao") == 303
    (own,) = await items(client)
    status, _text = await post(client, f"/admin/follow-ups/centre/{own['seq']}/step", step="verified", note="x")
    assert status == 403
    client.session.cookie_jar.clear()
    assert await sign_in(client, "root") == 303
    status, _text = await post(client, f"/admin/follow-ups/centre/{own['seq']}/step", step="verified", note="x")
    assert status == 403


async def test_staff_appeal_their_own_windows_rating_and_an_administrator_decides(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "root") == 303
    every = by_window(await items(client))
    w01, w02 = (f"/admin/follow-ups/centre/{every[window]['seq']}" for window in ("w01", "w02"))
    client.session.cookie_jar.clear()

    assert await sign_in(client, "zhao") == 303
    assert (await post(client, f"{w02}/appeal", reason="not mine"))[0] == 404  # another window's rating
    status, text = await post(client, f"{w01}/appeal", reason="")
    assert status == 422 and "请填写申诉理由" in text
    assert (await post(client, f"{w01}/appeal", reason="评价器误按"))[0] == 303
    status, text = await post(client, f"{w01}/appeal", reason="again")
    assert status == 422
    assert (await post(client, f"{w01}/decision", decision="upheld"))[0] == 403
    client.session.cookie_jar.clear()

    assert await sign_in(client, "li") == 303  # the manager appeals for w02's clerk
    assert (await post(client, f"{w02}/appeal", reason="当事群众认错窗口"))[0] == 303
    assert (await post(client, f"{w02}/decision", decision="upheld"))[0] == 403
    client.session.cookie_jar.clear()

    assert await sign_in(client, "root") == 303
    page = await (await client.get(w01)).text()
    assert "裁定申诉" in page and "评价器误按" in page
    assert (await post(client, f"{w01}/decision", decision="upheld", note="录像核实"))[0] == 303
    assert (await post(client, f"{w02}/decision", decision="rejected"))[0] == 303
    assert (await post(client, f"{w02}/decision", decision="upheld"))[0] == 422  # decided already
    upheld = (await (await client.get(w01 + ".json")).json())["item"]
    rejected = (await (await client.get(w02 + ".json")).json())["item"]
    assert upheld["closed"] and upheld["outcome"] == "appeal_upheld" and upheld["appeal"]["decided_by"] == "root"
    assert not rejected["closed"] and rejected["appeal"]["decision"] == "rejected"
    actions = [entry.action for entry in pages.audit.entries("centre")]
    assert actions.count(Action.FOLLOW_UP_APPEALED) == 2 and actions.count(Action.FOLLOW_UP_DECIDED) == 2


async def test_overdue_items_count_on_the_live_hall_and_show_red_in_the_list(client: Client, clock: Clock) -> None:
    assert await sign_in(client, "li") == 303
    live = await (await client.get("/admin/sites/centre/live")).text()
    assert "超期整改 0" not in live and "超期整改 2" not in live
    clock.advance(hours=25)  # past the 24 hours to verify (and the session's end: sign in again)
    client.session.cookie_jar.clear()
    assert await sign_in(client, "li") == 303
    live = await (await client.get("/admin/sites/centre/live")).text()
    assert "超期整改 2 件" in live and 'href="/admin/follow-ups?state=overdue"' in live
    listed = await (await client.get("/admin/follow-ups?state=overdue")).text()
    assert listed.count('class="overdue"') == 2
    assert len(await items(client, "overdue")) == 2


FINDING_TEXT = "导办台无人值守，指引牌看不清"


def a_finding(pages: Pages) -> str:
    """An officer's visit at the centre with findings written: the ticket's id."""
    store, now = pages.configuration.store, pages.clock()
    officers = officers_for(store)
    officer, _code = officers.enrol("周明远", "deputy", "13812345678", "root", now, pepper=SECRET)
    issue = cmd.IssueTicket(command_id="visit", site_id="centre", at=now, matters=("A02",))
    (issued,) = [event for event in pages.hall.gateway.service.execute(issue).events if isinstance(event, TicketIssued)]
    officers.record_visit(issued, officer.officer_id, VisitChannel.KIOSK, now)
    officers.write_findings(issued.ticket_id, officer.officer_id, FINDING_TEXT, now)
    return issued.ticket_id


async def test_a_finding_reaches_the_sites_manager_without_the_officer_and_never_staff(
    client: Client, pages: Pages
) -> None:
    ticket_id = a_finding(pages)
    number = ticket_id.rsplit("-", 1)[-1]
    assert await sign_in(client, "li") == 303
    (finding,) = [item for item in await items(client) if item["kind"] == "finding"]
    assert finding["finding"]["text"] == FINDING_TEXT and finding["kind_label"] == "Officer's finding"
    assert finding["number"] is None and finding["rated_at"] is None and finding["window_id"] is None
    assert finding["finding"]["officer"] is None and finding["finding"]["officer_id"] is None
    for path in ("/admin/follow-ups", f"/admin/follow-ups/{finding['key']}", "/admin/follow-ups?kind=finding"):
        html = await (await client.get(path)).text()
        assert "体验官意见" in html and FINDING_TEXT in html
        assert "周明远" not in html and "周*远" not in html and "人大代表" not in html  # the officer stays unknown
    assert f"票号 {number}" not in html and f"<td>{number}</td>" not in html  # and which ticket was the visit
    only = (await (await client.get("/admin/follow-ups.json?kind=finding")).json())["items"]
    assert [item["key"] for item in only] == [finding["key"]]
    item_page = await (await client.get(f"/admin/follow-ups/{finding['key']}")).text()
    assert "不适用申诉" in item_page and 'name="reason"' not in item_page
    status, _text = await post(client, f"/admin/follow-ups/{finding['key']}/appeal", reason="不属实")
    assert status == 422  # no appeal of a finding
    status, _text = await post(client, f"/admin/follow-ups/{finding['key']}/step", step="verified", note="已查看录像")
    assert status == 303
    client.session.cookie_jar.clear()

    assert await sign_in(client, "zhao") == 303  # staff: never a finding, nor its page
    assert all(item["kind"] == "rating" for item in await items(client, "all"))
    assert (await client.get(f"/admin/follow-ups/{finding['key']}")).status == 404
    assert FINDING_TEXT not in await (await client.get("/admin/follow-ups?kind=finding")).text()
    client.session.cookie_jar.clear()

    assert await sign_in(client, "root") == 303  # the district sees the officer (masked) and the ticket
    seen = (await (await client.get(f"/admin/follow-ups/{finding['key']}.json")).json())["item"]
    assert seen["finding"]["officer"] == "周*远" and seen["number"] == number and seen["current"] == "contacted"


async def test_the_item_shows_what_the_citizen_said_and_the_comment_only_to_the_manager(
    client: Client, pages: Pages
) -> None:
    ratings = Ratings(pages)
    service, at = ratings.service, pages.clock()
    issued = service.execute(cmd.IssueTicket(command_id="said-1", site_id="centre", at=at, matters=("A02",))).events
    ticket_id = next(event.ticket_id for event in issued if isinstance(event, TicketIssued))
    for n, kind in enumerate((cmd.CallNext, cmd.StartService, cmd.FinishService)):
        service.execute(kind(command_id=f"said-{n + 2}", site_id="centre", at=at, window_id="w01"))
    (rated,) = service.execute(cmd.RateService(
        command_id="said-9", site_id="centre", at=at, ticket_id=ticket_id, level=1, source=RatingSource.TICKET_PAGE,
        aspects=RatingAspects(attitude=2, efficiency=3), reasons=(RatingReason.LONG_WAIT, RatingReason.ATTITUDE),
    )).events  # fmt: skip
    comments = comments_for(service.store)
    assert comments is not None
    comments.keep("centre", rated.seq, "窗口人员一直在看手机", at)
    path = f"/admin/follow-ups/centre/{rated.seq}"

    assert await sign_in(client, "li") == 303  # the centre's manager
    manager = await (await client.get(path)).text()
    assert "群众评价内容" in manager and "号票页面" in manager and "等候时间长、服务态度差" in manager
    assert 'data-aspect="attitude">不满意' in manager and 'data-aspect="efficiency">基本满意' in manager
    assert "窗口人员一直在看手机" in manager
    client.session.cookie_jar.clear()

    assert await sign_in(client, "zhao") == 303  # staff at w01, whose service it rates: the reasons, not the words
    staff = await (await client.get(path)).text()
    assert "等候时间长、服务态度差" in staff and "窗口人员一直在看手机" not in staff
    client.session.cookie_jar.clear()

    assert await sign_in(client, "root") == 303  # the district administrator: the reasons, not the words either
    district = await (await client.get(path)).text()
    assert "等候时间长、服务态度差" in district and "窗口人员一直在看手机" not in district

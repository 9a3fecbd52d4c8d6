"""A ticket rated by its holder (hub/ticket_ratings.py, docs/ratings.md): ``/api/v1/tickets/{token}/rating`` as the
kiosk uses it and the ticket page's plain form, on real SQLite and PostgreSQL: once per service and only after it;
the comment stays in ``rating_comments``; the reports, the day report and the follow-ups see the rating."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from engine.commands import OpenDay
from engine.events import ServiceRated
from hub.follow_ups import FollowUps
from hub.gateway import Gateway
from hub.ratings import comments_for, ratings_report
from hub.reports.projection import Projector
from hub.service import HallService
from hub.store import EventStore
from hub.store.schema import events, report_ratings
from hub.web_pages import Pages, add_pages
from hub.web_pages.state import HallReader
from tests.web.conftest import DISTRICT, SECRET, Client, Clock, make_pages
from tests.web.test_public import DEVICES, Hall, visible

CENTRE = next(site for site in DISTRICT.sites if site.id == "centre")
COMMENT = "窗口人员态度冷淡，材料一次没说清"


@pytest.fixture
def store(backend_store: EventStore) -> EventStore:
    return backend_store


@pytest.fixture
def pages(store: EventStore, clock: Clock) -> Iterator[Pages]:
    writer = ThreadPoolExecutor(max_workers=1)
    gateway = Gateway(HallService(DISTRICT, store), DEVICES.get, clock, secret=SECRET)
    gateway.service.execute(OpenDay(command_id="open-centre", site_id="centre", at=clock()))
    yield replace(make_pages(store, clock), hall=HallReader(gateway, writer))
    writer.shutdown()


@pytest.fixture
async def client(pages: Pages, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    app = web.Application()
    add_pages(app, pages)
    return await aiohttp_client(app)


async def served_ticket(hall: Hall) -> str:
    """A ticket served and finished at window 1, the next citizen called already: its token."""
    await hall.open_window("w01")
    ticket = await hall.issue("A02")
    await hall.issue("A02")
    await hall.call_next("w01")
    await hall.finish("w01")
    await hall.call_next("w01")
    return ticket.status_path.removeprefix("/t/")


async def answer(client: Client, token: str, method: str = "GET", **body: Any) -> tuple[int, dict[str, Any]]:
    path = f"/api/v1/tickets/{token}/rating"
    response = await (client.post(path, json=body) if method == "POST" else client.get(path))
    found: dict[str, Any] = await response.json()
    return response.status, found


def rated_events(store: EventStore) -> list[ServiceRated]:
    return [event for event in store.events("centre") if isinstance(event, ServiceRated)]


async def test_the_api_rates_a_ticket_once_after_its_service(pages: Pages, client: Client, store: EventStore) -> None:
    hall = Hall(pages)
    await hall.open_window("w01")
    waiting = (await hall.issue("A02")).status_path.removeprefix("/t/")
    not_yet = {"state": "not_yet", "number": "A001", "matter_zh": "个体工商户设立登记",
               "matter_en": "Individual business registration"}  # fmt: skip
    assert await answer(client, waiting) == (200, not_yet)
    status, refused = await answer(client, waiting, "POST", level=5)
    assert (status, refused["code"]) == (409, "nothing_to_rate")
    await hall.issue("A02")
    await hall.call_next("w01")
    await hall.finish("w01")
    await hall.call_next("w01")  # the next citizen is at the window: the holder may still rate

    status, offer = await answer(client, waiting)
    assert (status, offer["state"], offer["window_number"]) == (200, "open", 1)
    assert "staff_id" not in offer and "clerk-li" not in str(offer)
    status, rated = await answer(
        client, waiting, "POST", level=2, aspects={"efficiency": 2, "attitude": 1},
        reasons=["attitude", "not_told_at_once"], comment=COMMENT, source="kiosk",
    )  # fmt: skip
    assert (status, rated["state"], rated["level"]) == (200, "rated", 2)
    status, again = await answer(client, waiting, "POST", level=5)
    assert (status, again["code"]) == (409, "already_rated")

    (event,) = rated_events(store)
    assert (event.level, event.staff_id, event.window_id, str(event.source)) == (2, "clerk-li", "w01", "kiosk")
    assert [str(reason) for reason in event.reasons] == ["attitude", "not_told_at_once"]
    comments = comments_for(store)
    assert comments is not None and comments.of("centre", [event.seq]) == {event.seq: COMMENT}
    with store.engine.connect() as connection:  # type: ignore[attr-defined]
        payloads = connection.execute(sa.select(events.c.payload)).scalars().all()
    assert not any(COMMENT in str(payload) for payload in payloads), "a comment never goes into the log"

    report = ratings_report(CENTRE, date(2026, 11, 25), rated_events(store))
    assert report["aspects"] == {"efficiency": 2.0, "service_level": None, "attitude": 1.0}
    assert report["reasons"]["attitude"] == 1 and report["reasons"]["long_wait"] == 0
    assert COMMENT not in str(report) and waiting not in str(report)


async def test_a_comment_that_cannot_be_kept_leaves_the_rating_made_and_answered(
    pages: Pages, client: Client, store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    token = await served_ticket(Hall(pages))
    with store.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.exec_driver_sql("DROP TABLE rating_comments")  # the comments' table away (a failing disk)

    status, rated = await answer(client, token, "POST", level=1, comment=COMMENT)
    assert (status, rated["state"], rated["level"]) == (200, "rated", 1)
    assert [event.level for event in rated_events(store)] == [1]
    assert "was not kept" in caplog.text and COMMENT not in caplog.text


async def test_the_api_refuses_what_is_no_rating(pages: Pages, client: Client) -> None:
    token = await served_ticket(Hall(pages))
    for body in ({"level": 6}, {"level": 3, "source": "evaluator"}, {"level": 3, "reasons": ["rude"]},
                 {"level": 3, "comment": "长" * 201}):  # fmt: skip
        status, refused = await answer(client, token, "POST", **body)
        assert (status, refused["code"]) == (400, "malformed"), body
    assert (await answer(client, "A" * 20))[0] == 404
    assert (await answer(client, token))[1]["state"] == "open"  # nothing was lost


async def test_the_ticket_page_rates_by_a_plain_form_and_a_bad_rating_is_followed_up(
    pages: Pages, client: Client, store: EventStore, clock: Clock
) -> None:
    token = await served_ticket(Hall(pages))
    text = visible(await (await client.get(f"/t/{token}")).text())
    assert "请您评价本次服务" in text and "非常满意" in text and "办事效率" in text and "等候时间长" in text
    form = [("level", "2"), ("efficiency", "3"), ("attitude", "1"), ("reason", "attitude"), ("reason", "slow"),
            ("comment", COMMENT)]  # fmt: skip
    posted = await client.post(f"/t/{token}/rating", data=form, allow_redirects=False)
    assert (posted.status, posted.headers["Location"]) == (303, f"/t/{token}#rating")
    after = visible(await (await client.get(f"/t/{token}")).text())
    assert "感谢您的评价" in after and "请您评价本次服务" not in after

    again = await client.post(f"/t/{token}/rating", data=form, allow_redirects=False)
    assert again.headers["Location"] == f"/t/{token}?rating=already_rated#rating"
    blank = await client.post(f"/t/{token}/rating", data={"comment": "x"}, allow_redirects=False)
    assert blank.headers["Location"] == f"/t/{token}?rating=malformed#rating"

    follow_ups = FollowUps(store)
    assert follow_ups.sync(DISTRICT, clock()) == 1  # 不满意 from the phone: followed up as from an evaluator
    item = follow_ups.get("centre", rated_events(store)[0].seq)
    assert item is not None and item.level == 2

    Projector(store.engine).project(DISTRICT)  # type: ignore[attr-defined]
    with store.engine.connect() as connection:  # type: ignore[attr-defined]
        row = connection.execute(sa.select(report_ratings)).one()
    assert (row.level, row.efficiency, row.service_level, row.attitude) == (2, 3, None, 1)
    assert (row.reasons, row.source) == ("attitude,slow", "ticket_page")

"""The reports page and its exports: who may read which sites, the query string read into a report's query (and
a wrong one answered 400 with a message saying what is wrong), the page and its JSON, the CSV (UTF-8 with a BOM)
and the workbook read back with the csv module and openpyxl; on a real SQLite store with the sample district, the
figures those of ``hub.reports.figures`` over tickets issued and served through the gateway."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from aiohttp import web

from hub.accounts import Account, Role, accounts_for
from hub.reports import export
from hub.reports.model import (
    Breakdown,
    DayFigures,
    Durations,
    Figures,
    FollowUpFigures,
    HourFigures,
    Period,
    RatingFigures,
    Report,
    ReportQuery,
    Row,
    WaitBucket,
)
from hub.store import EventStore, open_store
from hub.web_pages import Pages, add_pages
from hub.web_pages.views.reports import BadQuery, days_of, parse_query, query_string
from tests.web.conftest import DISTRICT, Client, Clock, add_accounts, sign_in
from tests.web.test_public import Hall
from tests.web.test_wall_screens import pages_on

TODAY = date(2026, 11, 25)  # the tests' clock: Wednesday 25 November 2026, 10:00 in Xi'an
ADMIN = Account(username="root", role=Role.ADMIN, name="root")
MANAGER = Account(username="li", role=Role.MANAGER, name="李敏", site_id="centre")


# -- reading the query -----------------------------------------------------------------------------------------


def parsed(account: Account = ADMIN, *sites: str, **params: str) -> ReportQuery:
    return parse_query(params, list(sites), DISTRICT, account, TODAY)


def test_without_parameters_a_report_is_this_months_by_site_of_every_site() -> None:
    assert parsed() == ReportQuery(start=date(2026, 11, 1), end=date(2026, 11, 30), period=Period.MONTH)


@pytest.mark.parametrize(
    ("period", "day", "start", "end"),
    [
        ("day", "2026-11-25", date(2026, 11, 25), date(2026, 11, 25)),
        ("week", "2026-11-25", date(2026, 11, 23), date(2026, 11, 29)),  # Monday to Sunday
        ("week", "2026-11-29", date(2026, 11, 23), date(2026, 11, 29)),
        ("month", "2026-02-10", date(2026, 2, 1), date(2026, 2, 28)),
        ("month", "2028-02-10", date(2028, 2, 1), date(2028, 2, 29)),
    ],
)
def test_a_day_week_or_month_is_the_one_the_date_is_in(period: str, day: str, start: date, end: date) -> None:
    query = parsed(period=period, date=day, by="matter")
    assert (query.start, query.end, query.period, query.by) == (start, end, Period(period), Breakdown.MATTER)
    assert days_of(Period(period), date.fromisoformat(day)) == (start, end)


def test_a_range_is_its_first_and_last_day_and_sites_are_kept_once_in_order() -> None:
    query = parsed(ADMIN, "xiaozhai", "centre", "xiaozhai", period="range", start="2026-09-01", end="2026-11-30")
    assert query == ReportQuery(
        start=date(2026, 9, 1), end=date(2026, 11, 30), sites=("xiaozhai", "centre"), period=Period.RANGE
    )
    assert parse_query(
        dict(p.split("=") for p in query_string(query).split("&") if not p.startswith("site")),
        ["xiaozhai", "centre"], DISTRICT, ADMIN, TODAY,
    ) == query  # fmt: skip


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"period": "year"}, "period"),
        ({"by": "colour"}, "by"),
        ({"period": "day", "date": "25/11/2026"}, "date"),
        ({"period": "range", "start": "2026-11-01"}, "range"),
        ({"period": "range", "start": "2026-13-01", "end": "2026-11-30"}, "start"),
        ({"period": "range", "start": "2026-11-01", "end": "soon"}, "end"),
        ({"period": "range", "start": "2026-11-30", "end": "2026-11-01"}, "order"),
        ({"period": "range", "start": "2024-01-01", "end": "2026-11-30"}, "long"),
    ],
)
def test_a_query_that_cannot_be_read_says_what_is_wrong(params: dict[str, str], problem: str) -> None:
    with pytest.raises(BadQuery) as raised:
        parsed(ADMIN, **params)
    assert raised.value.problem == problem


def test_an_unknown_site_is_wrong_and_a_managers_sites_are_their_own() -> None:
    with pytest.raises(BadQuery):
        parsed(ADMIN, "atlantis")
    assert parsed(MANAGER).sites == ("centre",)
    assert parsed(MANAGER, "centre").sites == ("centre",)
    with pytest.raises(PermissionError):
        parsed(MANAGER, "xiaozhai")


# -- the exports of a report made by hand -----------------------------------------------------------------------


def figures(issued: int, served: int, wait: float | None, satisfied: float | None) -> Figures:
    return Figures(
        issued=issued, served=served, no_shows=1, transfers=0, parked=0, cancelled=0,
        appointments_booked=2, appointments_kept=1, appointments_missed=1,
        wait=Durations(count=served, mean=wait, median=wait, p95=None if wait is None else wait * 2),
        service=Durations(count=served, mean=300.0, median=240.0, p95=900.0),
        within_target=None if wait is None else 0.875,
        ratings=RatingFigures(count=4, levels={"5": 3, "2": 1}, average=4.25, satisfied=satisfied),
        follow_ups=FollowUpFigures(opened=1, closed=1, on_time=1.0, overdue=0),
    )  # fmt: skip


def made_by_hand() -> Report:
    centre = Row(
        key="centre", label_zh="雁塔区政务服务中心", label_en="Yanta Centre", figures=figures(10, 8, 600.0, 0.75)
    )
    station = Row(key="xiaozhai", label_zh="小寨街道便民服务站", label_en="Xiaozhai", figures=figures(2, 0, None, None))
    return Report(
        query=ReportQuery(start=date(2026, 11, 1), end=date(2026, 11, 30), period=Period.MONTH),
        generated_at=datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
        total=figures(12, 8, 600.0, 0.75),
        rows=(centre, station),
        sites=(centre, station),
        hours=(HourFigures(hour=9, arrivals=7, mean_wait=450.0), HourFigures(hour=10, arrivals=5)),
        peak_hours=(9, 10),
        waits=(WaitBucket(low=0, high=300, count=3), WaitBucket(low=300, high=None, count=5)),
        days=(DayFigures(day=date(2026, 11, 24), issued=12, served=8, mean_wait=600.0, ratings=4, satisfied=0.75),),
    )


def test_the_csv_opens_in_excel_as_utf8_and_reads_back_as_its_three_tables() -> None:
    data = export.to_csv(made_by_hand())

    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["概况"] and lines[1] == ["指标", "数值"]
    summary = dict(line for line in lines[2 : lines.index([])] if len(line) == 2)
    assert summary["统计期间"] == "2026-11-01 – 2026-11-30"
    assert summary["取号"] == "12" and summary["平均等候(分钟)"] == "10.0" and summary["满意率(%)"] == "75.0"
    assert summary["高峰时段"] == "09:00、10:00"
    start = lines.index(["明细"])
    header, centre, station, total = lines[start + 1 : start + 5]
    assert header[:3] == ["站点", "取号", "已办结"]
    assert centre[:3] == ["雁塔区政务服务中心", "10", "8"] and total[:2] == ["合计", "12"]
    assert station[header.index("平均等候(分钟)")] == ""  # nothing counted: an empty cell, not 0
    assert lines[lines.index(["时段"]) + 1 :] == [["时段", "取号", "平均等候(分钟)"], ["09:00", "7", "7.5"],
                                                 ["10:00", "5", ""]]  # fmt: skip


def test_the_workbook_has_a_sheet_per_table_with_numbers_as_numbers_and_english_on_asking() -> None:
    book = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(made_by_hand(), english=True)))

    assert book.sheetnames == ["Summary", "Breakdown", "Hours"]
    rows = list(book["Breakdown"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Site", "Issued", "Served")
    assert rows[1][:3] == ("Yanta Centre", 10, 8) and rows[-1][:2] == ("Total", 12)
    assert rows[1][rows[0].index("Satisfied (%)")] == 75.0
    assert list(book["Hours"].iter_rows(values_only=True)) == [
        ("Hour", "Arrivals", "Mean wait (min)"), ("09:00", 7, 7.5), ("10:00", 5, None)
    ]  # fmt: skip
    summary = dict(book["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["Issued"] == 12 and summary["Called within target (%)"] == 87.5


# -- the pages, on a real store ---------------------------------------------------------------------------------


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


@pytest.fixture
def any_store(backend_store: EventStore) -> EventStore:
    """A store on SQLite, then on PostgreSQL (emptied first), with the sample accounts."""
    add_accounts(accounts_for(backend_store, DISTRICT))
    return backend_store


@pytest.fixture
def pages(store: EventStore, clock: Clock, writer: ThreadPoolExecutor) -> Pages:
    return pages_on(store, clock, writer)


@pytest.fixture
async def client(pages: Pages, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    app = web.Application()
    add_pages(app, pages)
    return await aiohttp_client(app)


async def served_three_issued_four(pages: Pages) -> None:
    """This morning at the centre: four tickets, three of them called and served at window w01."""
    hall = Hall(pages)
    for _ in range(4):
        await hall.issue("A01")
    await hall.open_window("w01")
    for _ in range(3):
        await hall.call_next("w01")
        await hall.finish("w01")


async def json_of(client: Client, path: str, status: int = 200) -> Any:
    response = await client.get(path, headers={"Accept": "application/json"})
    body = await response.text()
    assert response.status == status, body[:400]
    return json.loads(body)


async def test_an_administrator_reads_the_district_with_its_charts_and_figures(client: Client, pages: Pages) -> None:
    await served_three_issued_four(pages)
    await sign_in(client, "root")

    response = await client.get("/admin/reports?period=day&date=2026-11-25")
    page = await response.text()

    assert response.status == 200, page[:400]
    assert "统计报表" in page and page.count('class="chart"') == 4
    assert '<script src="/admin/reports/echarts.min.js" defer></script>' in page
    assert 'data-figure="issued">4<' in page and 'data-figure="served">3<' in page
    report = await json_of(client, "/admin/reports.json?period=day&date=2026-11-25")
    total = report["report"]["total"]
    assert total["issued"] == 4 and total["served"] == 3
    assert len(report["report"]["sites"]) == len(DISTRICT.sites)


async def test_the_charts_script_is_served_by_the_hub_itself(client: Client) -> None:
    await sign_in(client, "li")
    response = await client.get("/admin/reports/echarts.min.js")
    assert response.status == 200 and "javascript" in response.headers["Content-Type"]
    assert b"echarts" in (await response.read())[:4000]


async def test_the_exports_read_back_with_the_same_figures(
    any_store: EventStore, clock: Clock, writer: ThreadPoolExecutor, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    pages = pages_on(any_store, clock, writer)
    app = web.Application()
    add_pages(app, pages)
    client = await aiohttp_client(app)
    await served_three_issued_four(pages)
    await sign_in(client, "root")
    query = "period=range&start=2026-11-20&end=2026-11-25&by=window&site=centre"

    csv_answer = await client.get(f"/admin/reports/export.csv?{query}")
    xlsx_answer = await client.get(f"/admin/reports/export.xlsx?{query}")

    assert csv_answer.status == 200 and csv_answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_answer.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO((await csv_answer.read()).decode("utf-8-sig"))))
    summary = dict(line for line in lines[2 : lines.index([])] if len(line) == 2)
    assert summary["取号"] == "4" and summary["已办结"] == "3" and summary["站点"] == "雁塔区政务服务中心"
    assert lines[lines.index(["明细"]) + 1][0] == "窗口"
    book = openpyxl.load_workbook(io.BytesIO(await xlsx_answer.read()))
    assert dict(book["概况"].iter_rows(min_row=2, values_only=True))["取号"] == 4


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=year", "统计周期只能是"),
        ("period=day&date=2026-11-31", "日期（date）请按 YYYY-MM-DD 填写"),
        ("period=range&start=2026-11-30&end=2026-11-01", "结束日期早于开始日期"),
        ("by=colour", "分组方式只能是"),
        ("site=atlantis", "没有这个站点"),
    ],
)
async def test_a_wrong_parameter_is_answered_400_with_a_clear_message(client: Client, query: str, message: str) -> None:
    await sign_in(client, "root")
    for path in ("/admin/reports", "/admin/reports/export.csv", "/admin/reports/export.xlsx"):
        response = await client.get(f"{path}?{query}")
        assert response.status == 400 and message in await response.text(), path
    answer = await json_of(client, f"/admin/reports.json?{query}", 400)
    assert answer["error"]["code"] == "bad_query"


async def test_english_on_asking(client: Client) -> None:
    await sign_in(client, "root")
    page = await (await client.get("/admin/reports?lang=en")).text()
    assert "Waiting-time distribution" in page and "Export Excel" in page
    problem = await (await client.get("/admin/reports?by=colour")).text()
    assert "The breakdown must be site, matter, window, staff or day" in problem


async def test_a_manager_reads_their_own_site_only(client: Client) -> None:
    await sign_in(client, "li")
    own = await json_of(client, "/admin/reports.json")
    assert own["report"]["query"]["sites"] == ["centre"]
    assert [row["key"] for row in own["report"]["sites"]] == ["centre"]
    for path in ("/admin/reports", "/admin/reports/export.csv", "/admin/reports/export.xlsx"):
        refused = await json_of(client, f"{path}?site=xiaozhai", 403)
        assert refused["error"]["code"] == "wrong_site"
    assert 'name="site"' not in await (await client.get("/admin/reports")).text()  # no sites to choose


@pytest.mark.parametrize("path", ["/admin/reports", "/admin/reports/export.csv", "/admin/reports/echarts.min.js"])
async def test_staff_are_refused_and_nobody_signed_out_reads_a_report(client: Client, path: str) -> None:
    assert (await json_of(client, path, 401))["ok"] is False
    await sign_in(client, "zhao")
    assert (await json_of(client, path, 403))["error"]["code"] == "wrong_role"


async def test_the_nav_links_to_the_reports_and_the_printable_page_drops_the_form(client: Client) -> None:
    await sign_in(client, "root")
    home = await (await client.get("/admin/")).text()
    assert '<a href="/admin/reports">统计报表</a>' in home
    printable = await (await client.get("/admin/reports?period=week&date=2026-11-25&print=1")).text()
    assert 'href="/admin/static/reports.print.css" media="all"' in printable
    assert "2026-11-23 – 2026-11-29" in printable
    normal = await (await client.get("/admin/reports")).text()
    assert 'href="/admin/static/reports.print.css" media="print"' in normal
    assert "/admin/reports/export.csv?period=month&amp;date=2026-11-01&amp;by=site" in normal

"""The officers' pages (district administrators only), the code shown once, the report with each visit's journey and
findings, the officer's findings form on the ticket page; no staff or manager page shows the flag."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from engine.commands import OpenDay
from hub.gateway import Gateway
from hub.officers import officers_for
from hub.service import HallService
from hub.store import open_store
from hub.web_pages import Pages, add_pages
from hub.web_pages.state import HallReader
from tests.web.conftest import DISTRICT, PASSWORD, SECRET, Client, Clock, add_accounts, make_pages, sign_in
from tests.web.test_public import DEVICES, Hall, visible

CODE = re.compile(r"TY(?:-[0-9A-Z]{4}){4}")
ONCE = re.compile(r'name="once" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def writer() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown()


@pytest.fixture
def officer_pages(tmp_path: Path, clock: Clock, writer: ThreadPoolExecutor) -> Iterator[Pages]:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    made = make_pages(store, clock)
    add_accounts(made.accounts)
    gateway = Gateway(HallService(DISTRICT, store), DEVICES.get, clock, secret=SECRET)
    gateway.service.execute(OpenDay(command_id="open-centre", site_id="centre", at=clock()))
    yield replace(made, hall=HallReader(gateway, writer))
    store.close()


@pytest.fixture
async def client(officer_pages: Pages, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    app = web.Application()
    add_pages(app, officer_pages)
    return await aiohttp_client(app)


async def form_of(client: Client, path: str) -> dict[str, str]:
    html = await (await client.get(path)).text()
    csrf, once = CSRF.search(html), ONCE.search(html)
    assert csrf is not None and once is not None, html[:300]
    return {"csrf": csrf.group(1), "once": once.group(1)}


async def enrol(client: Client, name: str = "王建国", kind: str = "journalist") -> str:
    form = {**await form_of(client, "/admin/officers"), "name": name, "kind": kind, "phone": "138 1234 5678"}
    response = await client.post("/admin/officers", data=form)
    html = await response.text()
    assert response.status == 200, html[:500]
    assert response.headers["Cache-Control"] == "no-store"
    found = CODE.search(html)
    assert found is not None and "<svg" in html
    return found.group(0)


async def test_only_district_administrators_reach_the_officers_pages(client: Client) -> None:
    for path in ("/admin/officers", "/admin/officers/report", "/admin/officers.json"):
        assert (await client.get(path, allow_redirects=False)).status in (302, 303, 401)
    for user in ("li", "zhao"):
        client.session.cookie_jar.clear()
        assert await sign_in(client, user, PASSWORD) == 303
        for path in ("/admin/officers", "/admin/officers/report"):
            assert (await client.get(path)).status == 403, (user, path)
        assert (await client.post("/admin/officers", data={"name": "x"})).status in (403, 400)


async def test_enrolment_shows_the_code_once_and_lists_the_officer_masked(client: Client, officer_pages: Pages) -> None:
    assert await sign_in(client, "root") == 303
    code = await enrol(client)

    listed = await (await client.get("/admin/officers")).text()
    assert "王*国" in listed and "138****5678" in listed and "媒体记者" in listed
    assert "王建国" not in listed and "13812345678" not in listed and code not in listed
    assert code not in (await (await client.get("/admin/officers.json")).text())
    entries = officer_pages.audit.entries()
    enrolled = next(entry for entry in entries if entry.action == "officer_enrolled")
    assert enrolled.actor == "root" and "王建国" not in json.dumps(enrolled.as_json(), ensure_ascii=False)
    assert code not in json.dumps(enrolled.as_json()) and "5678" not in json.dumps(enrolled.as_json())

    wrong = {**await form_of(client, "/admin/officers"), "name": "李四", "kind": "deputy", "phone": "12345"}
    response = await client.post("/admin/officers", data=wrong)
    assert response.status == 422 and "11 位" in await response.text()

    (officer,) = officers_for(officer_pages.configuration.store).all()
    revoke = f"/admin/officers/{officer.officer_id}/revoke"
    assert "停用" in await (await client.get(revoke)).text()
    token = CSRF.search(await (await client.get(revoke)).text())
    assert token is not None
    assert (await client.post(revoke, data={"csrf": token.group(1)}, allow_redirects=False)).status == 303
    assert officers_for(officer_pages.configuration.store).verify(code) is None
    assert any(entry.action == "officer_revoked" for entry in officer_pages.audit.entries())


async def no_staff_page_shows_it(
    client: Client, officer_pages: Pages, number: str, status_path: str, code: str
) -> None:
    """The manager's and the clerk's pages, and the public board, show the officer's ticket as any other."""
    officer = officers_for(officer_pages.configuration.store).all()[0]
    marks = ("赵*华", "赵文华", officer.officer_id, "体验", "officer", "人大代表", code)
    pages_seen: list[str] = []
    for user, paths in (
        ("li", ["/admin/sites/centre/live.json", "/admin/sites/centre.json", "/admin/sites/centre/live"]),
        ("zhao", ["/admin/sites/centre/windows/w01.json", "/admin/sites/centre/windows/w01"]),
    ):
        client.session.cookie_jar.clear()
        assert await sign_in(client, user) == 303
        for path in paths:
            response = await client.get(path)
            assert response.status == 200, (user, path)
            pages_seen.append(await response.text())
    pages_seen.append(await (await client.get("/board/centre.json")).text())
    for seen in pages_seen:
        assert not any(mark in seen for mark in marks), [mark for mark in marks if mark in seen]
    # every ticket's page has the officers' entry form; the visit's own says nothing of whose it is
    ticket_seen = await (await client.get(f"{status_path}.json")).text()
    assert not any(mark in ticket_seen for mark in (*marks[:3], code))
    assert any(number in seen for seen in pages_seen[:3])  # the ticket itself is there, as any other


async def test_the_report_lists_the_visit_its_journey_and_the_findings_and_no_staff_page_shows_it(
    client: Client, officer_pages: Pages
) -> None:
    hall = Hall(officer_pages)
    assert await sign_in(client, "root") == 303
    code = await enrol(client, "赵文华", "deputy")
    visit = await hall.issue("A02", officer_code=code)
    other = await hall.issue("A02")
    await hall.open_window("w01")
    await hall.call_next("w01")  # the officer's ticket is at window 1
    await no_staff_page_shows_it(client, officer_pages, visit.number, visit.status_path, code)
    await hall.finish("w01")
    client.session.cookie_jar.clear()
    assert await sign_in(client, "root") == 303

    # the officer writes findings on the ticket's page, after entering their code
    ticket_page = await (await client.get(visit.status_path)).text()
    assert f'action="{visit.status_path}/officer"' in ticket_page
    wrong = await client.post(f"{visit.status_path}/officer", data={"code": "TY-0000-0000-0000-0000"})
    not_theirs = await client.post(f"{other.status_path}/officer", data={"code": code})
    assert wrong.status == not_theirs.status == 403
    assert visible(await wrong.text()) == visible(await not_theirs.text())  # one answer: nothing told
    opened = await client.post(f"{visit.status_path}/officer", data={"code": code})
    assert opened.status == 200 and 'name="findings"' in await opened.text()
    forged = await client.post(f"{other.status_path}/officer/findings", data={"code": code, "findings": "x"})
    assert forged.status == 403
    kept = await client.post(
        f"{visit.status_path}/officer/findings", data={"code": code, "findings": "叫号屏看不清，等了很久"}
    )
    assert kept.status == 200 and "已保存" in await kept.text()
    blank = await client.post(f"{visit.status_path}/officer/findings", data={"code": code, "findings": "  "})
    blank_page = await blank.text()
    assert blank.status == 400 and "请写下本次体验的意见和建议" in blank_page and "叫号屏看不清，等了很久" in blank_page

    report = await (await client.get("/admin/officers/report?start=2026-11-01&end=2026-11-30")).text()
    assert "赵*华" in report and "人大代表" in report and "叫号屏看不清，等了很久" in report
    assert visit.number in report and other.number not in visible(report)
    data = json.loads(await (await client.get("/admin/officers/report.json?start=2026-11-25&end=2026-11-25")).text())
    (row,) = data["visits"]
    assert row["ticket_id"] == visit.ticket_id and row["journey"]["outcome"] == "served"
    assert row["journey"]["calls"] == 1 and len(row["journey"]["services"]) == 1
    follow_up = row["follow_up"]  # the findings opened their follow-up at once, waiting to be verified
    assert follow_up["label"] == "To verify" and not follow_up["closed"] and follow_up["url"] in report
    assert "待核实" in report
    assert (await client.get("/admin/officers/report?start=2026-12-01&end=2026-11-01")).status == 400

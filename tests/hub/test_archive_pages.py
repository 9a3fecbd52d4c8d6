"""The archive's pages (``/admin/archive``) on a real SQLite store: who sees which cases, the page images through
the guarded route, a decision with its reason, and the audit of every view, image and decision."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import contract as wire
from hub.accounts import accounts_for
from hub.appointments.privacy import citizen_ref
from hub.archive.keys import ARCHIVE
from hub.archive.store import Archive, archive_for
from hub.audit import Action
from hub.store import EventStore, open_store
from hub.web_pages import Pages, pages_app
from tests.hub.test_archive import NOW, PAGES, PEPPER, SECRET, sha
from tests.web.conftest import DISTRICT, Clock, add_accounts, csrf_of, make_pages, sign_in

Client = TestClient[web.Request, web.Application]


def hand_in(archive: Archive, site_id: str, submission: str, matter: str = "B01") -> str:
    """A submitted case of two pages at ``site_id``; its number."""
    request = wire.CaseRequest(
        submission_id=submission, matter=matter, materials=(wire.CaseMaterial(material=0),),
        pages=tuple(wire.CasePage(material=0, page=i + 1, sha256=sha(d), size=len(d)) for i, d in enumerate(PAGES[:2])),
    )  # fmt: skip
    case, _created = archive.open_case(site_id, request, NOW)
    for i, data in enumerate(PAGES[:2]):
        archive.put_page(site_id, case.case_number, wire.PageRef(material=0, page=i + 1), sha(data), data, now=NOW)
    return archive.submit(site_id, case.case_number, NOW).case_number


@pytest.fixture
def web_store(tmp_path: Path) -> Iterator[EventStore]:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    add_accounts(accounts_for(store, DISTRICT))
    yield store
    store.close()


@pytest.fixture
def archive(web_store: EventStore, tmp_path: Path) -> Archive:
    return archive_for(web_store, tmp_path / "pages", lambda: DISTRICT, SECRET, lambda n: citizen_ref(PEPPER, n))


@pytest.fixture
def pages(web_store: EventStore) -> Pages:
    clock = Clock()
    clock.now = NOW
    return make_pages(web_store, clock)


@pytest.fixture
async def client(
    pages: Pages, archive: Archive, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    app = web.Application()
    app[ARCHIVE] = archive
    app.add_subapp("/admin", pages_app(pages))
    return await aiohttp_client(app)


async def test_a_manager_finds_reviews_and_returns_a_case_of_their_site(
    client: Client, archive: Archive, pages: Pages
) -> None:
    centre = hand_in(archive, "centre", "pages-sub-0001")
    other = hand_in(archive, "xiaozhai", "pages-sub-0002")
    assert await sign_in(client, "li") == 303
    found = await (await client.get("/admin/archive.json")).json()
    assert [case["case_number"] for case in found["cases"]] == [centre]  # the centre's manager: the centre only
    by_number = await (await client.get(f"/admin/archive.json?number={centre[-6:]}&state=submitted")).json()
    assert by_number["total"] == 1
    assert (await (await client.get("/admin/archive.json?state=accepted")).json())["total"] == 0
    assert (await client.get(f"/admin/archive/{other}")).status == 404
    assert (await client.get(f"/admin/archive/{other}/pages/0/1")).status == 404

    html = await (await client.get(f"/admin/archive/{centre}")).text()
    assert "社会保障卡" in html and f"/admin/archive/{centre}/pages/0/1" in html and "待审核" in html
    image = await client.get(f"/admin/archive/{centre}/pages/0/2")
    assert image.status == 200 and await image.read() == PAGES[1]
    assert image.headers["Content-Type"] == "image/jpeg" and "no-store" in image.headers["Cache-Control"]
    assert (await client.get(f"/admin/archive/{centre}/pages/0/9")).status == 404

    csrf = await csrf_of(client, f"/admin/archive/{centre}")
    empty = await client.post(f"/admin/archive/{centre}/decide", data={"csrf": csrf, "decision": "return"})
    assert empty.status == 422 and "请写明需要补正的内容" in await empty.text()
    no_csrf = await client.post(f"/admin/archive/{centre}/decide", data={"decision": "accept"})
    assert no_csrf.status in (400, 403)
    returned = await client.post(
        f"/admin/archive/{centre}/decide", allow_redirects=False,
        data={"csrf": csrf, "decision": "return", "reason": "户口簿页面模糊，请重新拍摄"},
    )  # fmt: skip
    assert returned.status == 303
    case = archive.get(centre)
    assert case is not None and case.state == wire.CaseState.RETURNED and case.decided_by == "li"
    assert case.reason == "户口簿页面模糊，请重新拍摄"

    entries = pages.audit.entries("centre")
    actions = [(entry.action, entry.subject, entry.actor) for entry in entries]
    assert (Action.ARCHIVE_CASE_VIEWED, f"case:{centre}", "li") in actions
    assert (Action.ARCHIVE_PAGE_VIEWED, f"case:{centre}/0/2", "li") in actions
    assert (Action.ARCHIVE_CASE_RETURNED, f"case:{centre}", "li") in actions
    assert not any(entry.subject == f"case:{other}" for entry in pages.audit.entries())


async def test_a_page_its_store_cannot_read_now_is_answered_503_and_stays_in_the_case(
    client: Client, archive: Archive, tmp_path: Path
) -> None:
    centre = hand_in(archive, "centre", "pages-sub-0005")
    kept = tmp_path / "pages" / sha(PAGES[0])[:2] / sha(PAGES[0])[2:4] / sha(PAGES[0])
    kept.unlink()
    kept.mkdir()  # the file's place unreadable (a failing disk, a volume gone), not empty
    assert await sign_in(client, "li") == 303

    away = await client.get(f"/admin/archive/{centre}/pages/0/1")
    assert away.status == 503 and "材料存储暂时无法访问" in await away.text()
    kept.rmdir()
    kept.write_bytes(PAGES[0])
    back = await client.get(f"/admin/archive/{centre}/pages/0/1")
    assert back.status == 200 and await back.read() == PAGES[0]


async def test_the_administrator_sees_every_site_and_staff_their_own(client: Client, archive: Archive) -> None:
    hand_in(archive, "centre", "pages-sub-0003")
    hand_in(archive, "xiaozhai", "pages-sub-0004")
    assert await sign_in(client, "root") == 303
    every = await (await client.get("/admin/archive.json")).json()
    assert {case["site_id"] for case in every["cases"]} == {"centre", "xiaozhai"}
    xiaozhai = await (await client.get("/admin/archive.json?site=xiaozhai")).json()
    assert {case["site_id"] for case in xiaozhai["cases"]} == {"xiaozhai"}
    await client.post("/admin/sign-out", data={"csrf": await csrf_of(client, "/admin/")})
    assert await sign_in(client, "zhao") == 303
    staff = await (await client.get("/admin/archive.json?site=xiaozhai")).json()
    assert {case["site_id"] for case in staff["cases"]} == {"centre"}


async def test_nobody_signed_in_sees_nothing(client: Client, archive: Archive) -> None:
    number = hand_in(archive, "centre", "pages-sub-0005")
    for path in ("/admin/archive", f"/admin/archive/{number}", f"/admin/archive/{number}/pages/0/1"):
        answer = await client.get(path, allow_redirects=False)
        assert answer.status in (302, 303, 401), path

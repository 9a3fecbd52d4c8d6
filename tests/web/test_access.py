"""Who may open which page: unauthenticated, wrong role, wrong site, wrong window; every route declares access."""

from __future__ import annotations

import pytest

from hub.web_pages import pages_app
from hub.web_pages.state import Pages
from tests.web.conftest import DISTRICT, Client, sign_in

PAGES = ["/admin/", "/admin/sites/centre", "/admin/sites/centre/windows/w01", "/admin/audit"]


def json_twin(path: str) -> str:
    return path + "index.json" if path.endswith("/") else path + ".json"


@pytest.mark.parametrize("path", PAGES)
async def test_signed_out_pages_send_to_the_sign_in(client: Client, path: str) -> None:
    response = await client.get(path, allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == f"/admin/sign-in?next={path}"


@pytest.mark.parametrize("path", PAGES)
async def test_signed_out_json_is_401(client: Client, path: str) -> None:
    for response in (
        await client.get(json_twin(path)),
        await client.get(path, headers={"Accept": "application/json"}),
    ):
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "signed_out"


async def test_the_administrator_sees_every_site(client: Client) -> None:
    assert await sign_in(client, "root") == 303

    answer = await (await client.get("/admin/index.json")).json()

    assert [site["site_id"] for site in answer["sites"]] == [
        "centre", "xiaozhai", "dianzicheng", "jixiangcun", "dianzizhengjie", "cuihualu",
    ]  # fmt: skip
    centre = answer["sites"][0]
    assert centre["name_zh"] == DISTRICT.sites[0].name_zh
    assert centre["windows"] == len(DISTRICT.sites[0].windows) and centre["waiting"] == 0
    for site in answer["sites"]:
        assert (await client.get(f"/admin/sites/{site['site_id']}.json")).status == 200
    html = await (await client.get("/admin/")).text()
    assert 'href="/admin/sites/xiaozhai"' in html


async def test_a_manager_sees_only_their_own_site(client: Client) -> None:
    assert await sign_in(client, "li") == 303

    home = await client.get("/admin/", allow_redirects=False)
    own = await client.get("/admin/sites/centre.json")
    other = await client.get("/admin/sites/xiaozhai.json")
    other_window = await client.get("/admin/sites/xiaozhai/windows/w1")

    assert home.status == 303 and home.headers["Location"] == "/admin/sites/centre"
    assert own.status == 200
    answer = await own.json()
    assert [window["window_id"] for window in answer["windows"]] == [window.id for window in DISTRICT.sites[0].windows]
    assert {matter["code"] for matter in answer["matters"]} >= {"A01", "A02"}
    assert other.status == 403 and (await other.json())["error"]["code"] == "wrong_site"
    assert other_window.status == 403
    assert "此页面属于其他站点" in await other_window.text()


async def test_staff_see_only_their_own_window(client: Client) -> None:
    assert await sign_in(client, "zhao") == 303

    home = await client.get("/admin/", allow_redirects=False)
    own = await client.get("/admin/sites/centre/windows/w01.json")
    neighbour = await client.get("/admin/sites/centre/windows/w02.json")
    site = await client.get("/admin/sites/centre.json")
    audit = await client.get("/admin/audit.json")

    assert home.headers["Location"] == "/admin/sites/centre/windows/w01"
    assert own.status == 200 and (await own.json())["window"]["window_id"] == "w01"
    assert neighbour.status == 403 and (await neighbour.json())["error"]["code"] == "wrong_window"
    assert site.status == 403 and (await site.json())["error"]["code"] == "wrong_role"
    assert audit.status == 403


async def test_unknown_site_and_window_are_404(client: Client) -> None:
    assert await sign_in(client, "root") == 303

    assert (await client.get("/admin/sites/atlantis.json")).status == 404
    assert (await client.get("/admin/sites/centre/windows/w99.json")).status == 404
    assert (await client.get("/admin/no-such-page")).status == 404


def test_every_route_declares_its_access(pages: Pages) -> None:
    app = pages_app(pages)
    undeclared = [
        route.resource.canonical
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical != "/static"
        and getattr(route.handler, "access", None) is None
    ]
    assert undeclared == []
    assert len(list(app.router.routes())) >= 10


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("username", "paths"), [
    ("root", PAGES), ("li", PAGES[1:]), ("zhao", ["/admin/sites/centre/windows/w01"]),
])  # fmt: skip
async def test_every_page_renders_for_its_roles(client: Client, username: str, paths: list[str], lang: str) -> None:
    assert await sign_in(client, username) == 303
    for path in paths:
        response = await client.get(f"{path}?lang={lang}")
        html = await response.text()
        assert response.status == 200, html
        assert ("退出" if lang == "zh" else "Sign out") in html
        assert 'name="csrf"' in html  # the sign-out form carries the token


async def test_the_audit_page_shows_a_manager_only_their_site(client: Client) -> None:
    assert await sign_in(client, "wang", "wrong password!") == 401  # no site: the district's entry
    assert await sign_in(client, "wang") == 303  # xiaozhai
    assert await sign_in(client, "li") == 303

    managers = await (await client.get("/admin/audit.json")).json()
    assert await sign_in(client, "root") == 303
    administrators = await (await client.get("/admin/audit.json")).json()

    assert managers["site_id"] == "centre"
    assert managers["entries"] and {entry["site_id"] for entry in managers["entries"]} == {"centre"}
    sites = {entry["site_id"] for entry in administrators["entries"]}
    assert {None, "centre", "xiaozhai"} <= sites

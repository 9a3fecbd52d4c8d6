"""The counter staff of a site and the web accounts: who may change whom, the forms (PINs and passwords typed twice,
each message next to its field), what a change does (a clerk signs in with the new PIN, a new password ends the
account's sessions), and the audit of every change with its before and after, never a secret in it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.accounts import AccountError, Role, check_password
from hub.staff import SignInRefused, StaffDirectory
from hub.store import EventStore
from hub.web_pages import pages_app, texts
from hub.web_pages.state import Pages
from hub.web_pages.views.audit import changes
from tests.web.changes_support import (
    audit_rows,
    changes_of,
    hidden_fields,
    own_store,
    pages_with_staff,
    post_raw,
    problems,
)
from tests.web.conftest import PASSWORD, Client, Clock, sign_in

__all__ = ["own_store"]  # the fixture, used by name

STAFF = "/admin/sites/centre/staff"
ACCOUNTS = "/admin/accounts"
PIN, NEW_PIN = "482913", "735102"
NEW_PASSWORD = "a new password, long enough"
ClientFor = Callable[[Pages], Awaitable[Client]]


@pytest.fixture
def pages(own_store: EventStore, clock: Clock) -> Pages:
    return pages_with_staff(own_store, clock)


@pytest.fixture
def staff(pages: Pages) -> StaffDirectory:
    directory = pages.hall.gateway.staff
    assert directory is not None
    return directory


@pytest.fixture
def client_for(aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> ClientFor:
    async def started(pages: Pages) -> Client:
        app = web.Application()
        app.add_subapp("/admin", pages_app(pages))
        return await aiohttp_client(app)

    return started


def signs_in(staff: StaffDirectory, site_id: str, staff_id: str, pin: str) -> bool:
    try:
        staff.sign_in(site_id, staff_id, pin)
    except SignInRefused:
        return False
    return True


async def post_form(client: Client, form_page: str, path: str, **form: str) -> tuple[int, str]:
    response = await client.post(path, data=await hidden_fields(client, form_page) | form, allow_redirects=False)
    return response.status, await response.text()


# --- counter staff: who may ------------------------------------------------------------------------------------------

STAFF_ROUTES = [
    ("GET", STAFF), ("GET", f"{STAFF}.json"), ("POST", STAFF), ("GET", f"{STAFF}/li01/pin"),
    ("POST", f"{STAFF}/li01/pin"), ("GET", f"{STAFF}/li01/remove"), ("POST", f"{STAFF}/li01/remove"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), STAFF_ROUTES)
@pytest.mark.parametrize("refused", [("zhao", "wrong_role"), ("wang", "wrong_site")])
async def test_staff_and_another_site_s_manager_may_not_change_the_clerks(
    client: Client, staff: StaffDirectory, method: str, path: str, refused: tuple[str, str]
) -> None:
    username, code = refused
    staff.add("centre", "li01", "李敏", PIN)
    assert await sign_in(client, username) == 303
    token = (await hidden_fields(client, "/admin/audit" if username == "wang" else "/admin/"))["csrf"]
    form = {"csrf": token, "staff_id": "x1", "name": "某人", "pin": NEW_PIN, "pin_again": NEW_PIN}

    response = await client.request(method, path, data=form, headers={"Accept": "application/json"})

    assert response.status == 403 and (await response.json())["error"]["code"] == code
    assert [m.staff_id for m in staff.all()] == ["li01"] and signs_in(staff, "centre", "li01", PIN)


@pytest.mark.parametrize(("method", "path"), STAFF_ROUTES)
async def test_signed_out_nobody_sees_or_changes_the_clerks(client: Client, method: str, path: str) -> None:
    token = (await hidden_fields(client, "/admin/sign-in"))["csrf"]

    response = await client.request(method, path, data={"csrf": token}, allow_redirects=False)

    assert response.status == (303 if method == "GET" and not path.endswith(".json") else 401)


async def test_a_clerk_change_without_the_form_s_token_is_refused_and_changes_nothing(
    client: Client, staff: StaffDirectory, own_store: EventStore
) -> None:
    staff.add("centre", "li01", "李敏", PIN)
    assert await sign_in(client, "li") == 303
    before = audit_rows(own_store)
    pins = {"pin": NEW_PIN, "pin_again": NEW_PIN}

    answers = [
        await client.post(STAFF, data={"staff_id": "wu02", "name": "吴芳"} | pins),
        await client.post(f"{STAFF}/li01/pin", data={"csrf": "forged"} | pins),
        await client.post(f"{STAFF}/li01/remove", data={}),
    ]

    assert [answer.status for answer in answers] == [403, 403, 403]
    assert [m.staff_id for m in staff.all()] == ["li01"] and signs_in(staff, "centre", "li01", PIN)
    assert audit_rows(own_store) == before


# --- counter staff: the changes --------------------------------------------------------------------------------------


async def test_a_clerk_added_signs_in_with_the_pin_and_the_audit_has_no_pin(
    client: Client, staff: StaffDirectory, own_store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert await sign_in(client, "li") == 303

    status, _page = await post_form(client, STAFF, STAFF, staff_id="li01", name=" 李敏 ", pin=PIN, pin_again=PIN)

    assert status == 303
    assert signs_in(staff, "centre", "li01", PIN)
    listed = await (await client.get(f"{STAFF}?done=staff_added&subject=li01")).text()
    assert "已完成：添加窗口人员 · li01" in listed and "李敏" in listed
    [entry] = changes_of(own_store)
    assert (entry["action"], entry["actor"], entry["site_id"], entry["subject"]) == ("staff_added", "li", "centre",
                                                                                   "staff:li01")  # fmt: skip
    assert entry["before"] is None and entry["after"] == {"staff_id": "li01", "name": "李敏"}
    assert PIN not in repr(audit_rows(own_store)) and PIN not in caplog.text


async def test_a_new_pin_refuses_the_old_one(client: Client, staff: StaffDirectory, own_store: EventStore) -> None:
    staff.add("centre", "li01", "李敏", PIN)
    assert await sign_in(client, "li") == 303
    form_page = f"{STAFF}/li01/pin"
    assert "为 李敏（li01）重置密码" in await (await client.get(form_page)).text()

    status, _page = await post_form(client, form_page, form_page, pin=NEW_PIN, pin_again=NEW_PIN)

    assert status == 303
    assert signs_in(staff, "centre", "li01", NEW_PIN) and not signs_in(staff, "centre", "li01", PIN)
    [entry] = changes_of(own_store)
    assert entry["action"] == "staff_pin_reset" and entry["before"] == entry["after"] == {"staff_id": "li01",
                                                                                         "name": "李敏"}  # fmt: skip
    stored = repr(audit_rows(own_store))
    assert PIN not in stored and NEW_PIN not in stored


async def test_a_removed_clerk_signs_in_no_more(client: Client, staff: StaffDirectory, own_store: EventStore) -> None:
    staff.add("centre", "li01", "李敏", PIN)
    assert await sign_in(client, "li") == 303
    path = f"{STAFF}/li01/remove"
    assert "确定删除 李敏 (li01) 吗" in await (await client.get(path)).text()

    status, _page = await post_form(client, path, path)

    assert status == 303 and staff.all() == []
    assert not signs_in(staff, "centre", "li01", PIN)
    [entry] = changes_of(own_store)
    assert entry["action"] == "staff_removed" and entry["before"] == {"staff_id": "li01", "name": "李敏"}
    assert entry["after"] is None


async def test_another_site_s_clerk_is_neither_listed_nor_changed_nor_replaced(
    client: Client, staff: StaffDirectory, own_store: EventStore
) -> None:
    staff.add("xiaozhai", "wu02", "吴芳", PIN)
    assert await sign_in(client, "li") == 303

    listed = await (await client.get(f"{STAFF}.json")).json()
    pin_page = await client.get(f"{STAFF}/wu02/pin")
    status, page = await post_form(client, STAFF, STAFF, staff_id="wu02", name="冒名", pin=NEW_PIN, pin_again=NEW_PIN)

    assert listed["staff"] == [] and pin_page.status == 404
    assert status == 422 and problems(page) == {"staff_id": "这个工号已被使用：请换一个"}
    assert signs_in(staff, "xiaozhai", "wu02", PIN) and [m.name for m in staff.all()] == ["吴芳"]
    assert changes_of(own_store) == []


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"staff_id": "li 01", "name": "李敏", "pin": PIN, "pin_again": PIN},
         {"staff_id": "工号为 1 至 32 位字母、数字、_ 或 -"}),
        ({"staff_id": "li01", "name": "  ", "pin": PIN, "pin_again": PIN}, {"name": "请填写姓名（呼叫器上显示）"}),
        ({"staff_id": "li01", "name": "李" * 65, "pin": PIN, "pin_again": PIN}, {"name": "最多 64 个字符"}),
        ({"staff_id": "li01", "name": "李敏", "pin": "12", "pin_again": "12"}, {"pin": "密码为 4 至 12 位数字"}),
        ({"staff_id": "li01", "name": "李敏", "pin": "abcd", "pin_again": "abcd"}, {"pin": "密码为 4 至 12 位数字"}),
        ({"staff_id": "li01", "name": "李敏", "pin": PIN, "pin_again": NEW_PIN},
         {"pin_again": "两次输入的密码不一致：请输入相同的密码"}),
        ({"staff_id": "li01", "name": "李敏"}, {"pin": "密码为 4 至 12 位数字"}),
    ],
)  # fmt: skip
async def test_a_wrong_clerk_form_says_why_by_the_field_keeps_the_words_but_not_the_pin(
    client: Client, staff: StaffDirectory, own_store: EventStore, form: dict[str, str], expected: dict[str, str]
) -> None:
    assert await sign_in(client, "li") == 303

    status, page = await post_form(client, STAFF, STAFF, **form)

    assert status == 422 and problems(page) == expected
    assert f'value="{form["staff_id"]}"' in page
    assert f'value="{PIN}"' not in page and f'value="{NEW_PIN}"' not in page
    assert staff.all() == [] and changes_of(own_store) == []


# --- web accounts: who may -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("victim", ["root", "li", "zhao", "wang"])  # an administrator, another site's manager and
@pytest.mark.parametrize("method", ["GET", "POST"])  # staff, and the manager himself
@pytest.mark.parametrize("step", ["password", "remove"])
async def test_a_manager_may_not_touch_an_administrator_a_manager_or_another_site_s_account(
    client: Client, pages: Pages, victim: str, method: str, step: str
) -> None:
    assert await sign_in(client, "wang") == 303
    token = (await hidden_fields(client, ACCOUNTS))["csrf"]
    form = {"csrf": token, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}

    response = await client.request(method, f"{ACCOUNTS}/{victim}/{step}", data=form,
                                    headers={"Accept": "application/json"})  # fmt: skip

    assert response.status == 403 and (await response.json())["error"]["code"] == "not_yours"
    assert pages.accounts.verify(victim, PASSWORD) is not None


async def test_a_manager_changes_only_the_staff_accounts_of_their_own_site(client: Client, pages: Pages) -> None:
    pages.accounts.add("sun", PASSWORD, Role.STAFF, site_id="xiaozhai", window_id="w1")
    assert await sign_in(client, "wang") == 303

    listed = await (await client.get(f"{ACCOUNTS}.json")).json()
    nobody = await client.get(f"{ACCOUNTS}/nobody/password.json")
    status, _page = await post_form(client, ACCOUNTS, f"{ACCOUNTS}/sun/password", password=NEW_PASSWORD,
                                    password_again=NEW_PASSWORD)  # fmt: skip

    assert [account["username"] for account in listed["accounts"]] == ["sun"]
    assert listed["roles"] == ["staff"] and [site["site_id"] for site in listed["sites"]] == ["xiaozhai"]
    assert nobody.status == 403, "an unknown name looks like another's: no probing for names"
    assert status == 303 and pages.accounts.verify("sun", NEW_PASSWORD) is not None


@pytest.mark.parametrize("asked", [{"role": "admin"}, {"role": "manager"}, {"site": "centre"}])
async def test_a_manager_adds_no_administrator_manager_or_another_site_s_account(
    client: Client, pages: Pages, asked: dict[str, str]
) -> None:
    assert await sign_in(client, "wang") == 303
    form = {"username": "new1", "window": "w1", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD} | asked

    status, _page = await post_form(client, ACCOUNTS, ACCOUNTS, **form)

    assert status == 403 and pages.accounts.find("new1") is None


async def test_a_manager_adds_a_staff_account_of_their_own_site(
    client: Client, pages: Pages, own_store: EventStore
) -> None:
    assert await sign_in(client, "wang") == 303
    form = {"username": "new1", "name": "新同事", "window": "w1", "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD}  # fmt: skip

    status, _page = await post_form(client, ACCOUNTS, ACCOUNTS, **form)

    assert status == 303
    account = pages.accounts.verify("new1", NEW_PASSWORD)
    assert account is not None and (account.role, account.site_id, account.window_id) == (Role.STAFF, "xiaozhai",
                                                                                          "w1")  # fmt: skip
    [entry] = changes_of(own_store)
    assert (entry["action"], entry["actor"], entry["site_id"]) == ("account_added", "wang", "xiaozhai")
    assert entry["after"] == {"username": "new1", "name": "新同事", "role": "staff", "site_id": "xiaozhai",
                              "window_id": "w1"}  # fmt: skip
    assert NEW_PASSWORD not in repr(audit_rows(own_store))


async def test_staff_may_not_open_the_accounts(client: Client) -> None:
    assert await sign_in(client, "zhao") == 303

    response = await client.get(f"{ACCOUNTS}.json")

    assert response.status == 403 and (await response.json())["error"]["code"] == "wrong_role"


# --- web accounts: the changes ---------------------------------------------------------------------------------------


async def test_a_new_password_ends_the_account_s_sessions(
    pages: Pages, own_store: EventStore, client_for: ClientFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin, clerk = await client_for(pages), await client_for(pages)
    assert await sign_in(admin, "root") == 303 and await sign_in(clerk, "zhao") == 303
    assert (await clerk.get("/admin/sites/centre/windows/w01.json")).status == 200
    form_page = f"{ACCOUNTS}/zhao/password"

    status, _page = await post_form(admin, form_page, form_page, password=NEW_PASSWORD, password_again=NEW_PASSWORD)

    assert status == 303
    assert (await clerk.get("/admin/sites/centre/windows/w01.json")).status == 401
    assert await sign_in(clerk, "zhao") == 401 and await sign_in(clerk, "zhao", NEW_PASSWORD) == 303
    entry = next(row for row in changes_of(own_store) if row["action"] == "account_password_set")
    assert entry["subject"] == "account:zhao" and entry["site_id"] == "centre"
    assert NEW_PASSWORD not in repr(audit_rows(own_store)) and NEW_PASSWORD not in caplog.text


async def test_a_removed_account_is_out_at_its_next_click(
    pages: Pages, own_store: EventStore, client_for: ClientFor
) -> None:
    admin, manager = await client_for(pages), await client_for(pages)
    assert await sign_in(admin, "root") == 303 and await sign_in(manager, "li") == 303
    path = f"{ACCOUNTS}/li/remove"
    assert "确定删除账号 li 吗" in await (await admin.get(path)).text()

    status, _page = await post_form(admin, path, path)

    assert status == 303 and pages.accounts.find("li") is None
    assert (await manager.get("/admin/sites/centre.json")).status == 401
    [entry] = changes_of(own_store)
    assert entry["action"] == "account_removed" and entry["after"] is None
    assert entry["before"] == {"username": "li", "name": "李敏", "role": "manager", "site_id": "centre",
                               "window_id": None}  # fmt: skip


async def test_nobody_removes_their_own_account(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "root") == 303
    path = f"{ACCOUNTS}/root/remove"

    confirm = await (await client.get(path)).text()
    status, _page = await post_form(client, ACCOUNTS, path)

    assert "是您自己的账号" in confirm and 'type="submit" class="danger"' not in confirm
    assert status == 403 and pages.accounts.find("root") is not None


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"username": "new one", "role": "admin"}, {"username": "用户名为 1 至 32 位字母、数字、“.”、“_” 或 “-”"}),
        ({"username": "li", "role": "admin"}, {"username": "这个用户名已被使用：请换一个"}),
        ({"username": "new1"}, {"role": "请选择账号的角色"}),
        ({"username": "new1", "role": "admin", "site": "centre"}, {"site": "区级管理员可查看全部站点：请不要选择站点"}),
        ({"username": "new1", "role": "manager"}, {"site": "请选择该账号所在的站点"}),
        ({"username": "new1", "role": "manager", "site": "nowhere"}, {"site": "请选择该账号所在的站点"}),
        ({"username": "new1", "role": "manager", "site": "centre", "window": "w01"},
         {"window": "大厅管理员可查看整个站点：请选择“不属于窗口”"}),
        ({"username": "new1", "role": "staff", "site": "centre", "window": "w1"},
         {"window": "请选择该账号所在站点的窗口"}),
        ({"username": "new1", "role": "admin", "password": "short", "password_again": "short"},
         {"password": "密码为 10 至 256 个字符"}),
        ({"username": "new1", "role": "admin", "password": f" {NEW_PASSWORD}", "password_again": f" {NEW_PASSWORD}"},
         {"password": "密码的开头和结尾不能是空格"}),
        ({"username": "new1", "role": "admin", "password_again": "another one, long enough"},
         {"password_again": "两次输入的密码不一致：请输入相同的密码"}),
    ],
)  # fmt: skip
async def test_a_wrong_account_form_says_why_by_the_field_and_adds_nothing(
    client: Client, pages: Pages, own_store: EventStore, form: dict[str, str], expected: dict[str, str]
) -> None:
    assert await sign_in(client, "root") == 303
    before = [account.username for account in pages.accounts.all()]
    form = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD} | form

    status, page = await post_form(client, ACCOUNTS, ACCOUNTS, **form)

    assert status == 422 and problems(page) == expected
    assert f'value="{form["username"]}"' in page and form["password"] not in page
    assert [account.username for account in pages.accounts.all()] == before and changes_of(own_store) == []


def test_every_password_rule_is_said_in_chinese() -> None:
    translate = texts.translator(texts.CHINESE)
    for password in ("short", " starts with a space", "x" * 257):
        with pytest.raises(AccountError) as refused:
            check_password(password)
        assert translate(str(refused.value)) != str(refused.value), refused.value


# --- bad bodies ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"staff_id=%ff%fe&name=\xff", "application/x-www-form-urlencoded"),
        (b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\n', "multipart/form-data; boundary=x"),
        (b"name=" + b"n" * 2_000_000, "application/x-www-form-urlencoded"),
    ],
)
async def test_unreadable_bodies_are_refused_never_a_500(
    client: Client, pages: Pages, own_store: EventStore, body: bytes, content_type: str
) -> None:
    staff = pages.hall.gateway.staff
    assert staff is not None
    staff.add("centre", "li01", "李敏", PIN)
    assert await sign_in(client, "root") == 303
    token = (await hidden_fields(client, STAFF))["csrf"]
    paths = [STAFF, f"{STAFF}/li01/pin", f"{STAFF}/li01/remove", ACCOUNTS, f"{ACCOUNTS}/zhao/password",
             f"{ACCOUNTS}/zhao/remove"]  # fmt: skip

    for path in paths:
        assert await post_raw(client, path, body, content_type, token) in (400, 413), path
    assert signs_in(staff, "centre", "li01", PIN) and pages.accounts.find("zhao") is not None
    assert changes_of(own_store) == []


TEXT = st.one_of(st.sampled_from(["", "li01", "centre", "w01", "staff", "admin", PIN, NEW_PASSWORD]),
                 st.text(max_size=300))  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from([STAFF, f"{STAFF}/li01/pin", ACCOUNTS, f"{ACCOUNTS}/zhao/password"]),
    username=st.sampled_from(["root", "li"]),
    fields=st.dictionaries(
        st.sampled_from(["staff_id", "name", "pin", "pin_again", "username", "role", "site", "window", "password",
                         "password_again"]),
        TEXT,
        max_size=10,
    ),
)  # fmt: skip
def test_any_clerk_or_account_form_gets_an_answer_never_a_500(
    own_store: EventStore, path: str, username: str, fields: dict[str, str]
) -> None:
    async def attempt() -> int:
        pages = pages_with_staff(own_store, Clock())
        app = web.Application()
        app.add_subapp("/admin", pages_app(pages))
        async with TestClient(TestServer(app)) as client:
            assert await sign_in(client, username) == 303
            token = (await hidden_fields(client, ACCOUNTS))["csrf"]
            body = urlencode(fields | {"csrf": token}).encode()
            return await post_raw(client, path, body, "application/x-www-form-urlencoded", None)

    assert asyncio.run(attempt()) in (303, 403, 404, 422)


# --- the audit page --------------------------------------------------------------------------------------------------


def test_the_audit_shows_the_keys_that_changed() -> None:
    assert changes({"name": "李敏", "revoked": False}, {"name": "李敏", "revoked": True}) == [
        {"key": "revoked", "before": "false", "after": "true"}
    ]
    assert changes(None, {"staff_id": "li01"}) == [{"key": "staff_id", "before": None, "after": "li01"}]
    assert changes({"staff_id": "li01"}, None) == [{"key": "staff_id", "before": "li01", "after": None}]
    assert changes({"a": 1}, {"a": 1}) == []
    assert changes([1, 2], [1, 3]) == [{"key": "", "before": "[1, 2]", "after": "[1, 3]"}]
    assert changes({"notice": "x" * 500}, {"notice": ""})[0]["before"].endswith("…")  # type: ignore[union-attr]


async def test_the_audit_is_filtered_by_kind_and_site(
    client_for: ClientFor, pages: Pages, own_store: EventStore
) -> None:
    admin, manager = await client_for(pages), await client_for(pages)
    assert await sign_in(admin, "root") == 303 and await sign_in(manager, "wang") == 303
    await post_form(admin, STAFF, STAFF, staff_id="li01", name="李敏", pin=PIN, pin_again=PIN)
    await post_form(manager, ACCOUNTS, ACCOUNTS, username="sun", window="w1", password=NEW_PASSWORD,
                    password_again=NEW_PASSWORD)  # fmt: skip

    added = await (await admin.get("/admin/audit.json?action=staff_added")).json()
    xiaozhai = await (await admin.get("/admin/audit.json?site=xiaozhai")).json()
    district = await (await admin.get("/admin/audit.json?site=-")).json()
    own = await (await manager.get("/admin/audit.json?site=centre")).json()
    page = await (await admin.get("/admin/audit?action=staff_added")).text()

    assert [(e["action"], e["subject"]) for e in added["entries"]] == [("staff_added", "staff:li01")]
    assert added["entries"][0]["changes"] == [{"key": "staff_id", "before": None, "after": "li01"},
                                              {"key": "name", "before": None, "after": "李敏"}]  # fmt: skip
    assert {e["site_id"] for e in xiaozhai["entries"]} == {"xiaozhai"}
    assert "account_added" in {e["action"] for e in xiaozhai["entries"]}
    assert district["entries"] and {e["site_id"] for e in district["entries"]} == {None}
    assert {e["site_id"] for e in own["entries"]} == {"xiaozhai"}, "a manager sees their own site's only"
    assert "staff:li01" in page and "<ins>李敏</ins>" in page and 'value="staff_added" selected' in page
    assert PIN not in page and NEW_PASSWORD not in repr(audit_rows(own_store))


def test_a_grid_change_reads_as_the_cell_that_changed() -> None:
    before = {"id": "centre", "windows": [{"id": "w11", "weights": {"F01": 3}}, {"id": "w12", "weights": {"G01": 3}}]}
    after = {"id": "centre", "windows": [{"id": "w11", "weights": {"F01": 3, "B01": 1}}, {"id": "w12", "weights": {}}]}

    assert changes(before, after) == [
        {"key": "windows.w12.weights.G01", "before": "3", "after": None},
        {"key": "windows.w11.weights.B01", "before": None, "after": "1"},
        {"key": "windows.w12.weights", "before": None, "after": "{}"},
    ]

"""Sign-in, sign-out, CSRF, throttling, expiry and the audit trail of sign-ins."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.accounts import accounts_for
from hub.config import WebConfig
from hub.store import EventStore, open_store
from hub.web_pages import pages_app
from hub.web_pages.state import Pages
from tests.web.conftest import DISTRICT, PASSWORD, Client, Clock, csrf_of, make_pages, sign_in

ClientFor = Callable[[Pages], Awaitable[Client]]


@pytest.fixture
def client_for(aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> ClientFor:
    async def started(pages: Pages) -> Client:
        app = web.Application()
        app.add_subapp("/admin", pages_app(pages))
        return await aiohttp_client(app)

    return started


def newest(pages: Pages, count: int = 1) -> list[dict[str, object]]:
    return [entry.as_json() for entry in pages.audit.entries(limit=count)]


async def test_signing_in_sets_a_strict_http_only_cookie_and_is_recorded(client: Client, pages: Pages) -> None:
    token = await csrf_of(client)
    form = {"csrf": token, "username": "li", "password": PASSWORD, "next": "/admin/audit"}

    response = await client.post("/admin/sign-in", data=form, allow_redirects=False)

    assert response.status == 303 and response.headers["Location"] == "/admin/audit"
    cookie = response.cookies["hall_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert cookie.value.startswith("gAAAAA") and "user" not in cookie.value  # a Fernet token: encrypted
    entry = newest(pages)[0]
    assert (entry["action"], entry["result"], entry["actor"], entry["site_id"]) == ("sign_in", "ok", "li", "centre")
    assert entry["address"] == "127.0.0.1"


async def test_a_secure_cookie_behind_tls(web_store: EventStore, client_for: ClientFor) -> None:
    client = await client_for(make_pages(web_store, Clock(), WebConfig(secure_cookies=True)))

    response = await client.get("/admin/sign-in")

    cookie = response.cookies["hall_session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"


async def test_a_foreign_next_is_ignored(client: Client) -> None:
    for target in ("https://evil.example/", "//evil.example/admin/", "/elsewhere", "/admin/\\evil.example"):
        token = await csrf_of(client)  # a sign-in makes a new session, with a new token
        form = {"csrf": token, "username": "root", "password": PASSWORD, "next": target}
        response = await client.post("/admin/sign-in", data=form, allow_redirects=False)
        assert response.headers["Location"] == "/admin/"


async def test_a_wrong_password_is_refused_and_recorded(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li", "not the password") == 401
    assert await sign_in(client, "nobody", "not the password") == 401
    assert await sign_in(client, "' OR 1=1 --", "x" * 12) == 401
    assert await sign_in(client, "Tr0ub4dor.and.3", "x" * 12) == 401  # a password typed into the name field

    entries = newest(pages, 4)
    assert [(entry["actor"], entry["result"]) for entry in entries] == [
        ("(unknown)", "bad_credentials"), ("(unknown)", "bad_credentials"), ("(unknown)", "bad_credentials"),
        ("li", "bad_credentials"),
    ]  # fmt: skip
    assert all("not the password" not in str(entry) and "Tr0ub4dor" not in str(entry) for entry in entries)
    assert (await client.get("/admin/audit.json")).status == 401


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_sign_in_needs_the_form_s_csrf_token(client: Client, token: str | None) -> None:
    await csrf_of(client)  # the session exists; its token is not sent
    form = {"username": "root", "password": PASSWORD} | ({} if token is None else {"csrf": token})

    response = await client.post("/admin/sign-in", data=form)

    assert response.status == 403
    assert "表单已过期" in await response.text()


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "root") == 303

    forged = await client.post("/admin/sign-out", data={"csrf": "forged"}, allow_redirects=False)
    still_in = await client.get("/admin/index.json")
    token = await csrf_of(client, "/admin/")
    by_header = await client.post("/admin/sign-out", headers={"X-CSRF-Token": token}, allow_redirects=False)
    after = await client.get("/admin/index.json")

    assert forged.status == 403 and still_in.status == 200
    assert by_header.status == 303 and by_header.headers["Location"] == "/admin/sign-in"
    assert after.status == 401
    assert newest(pages)[0] | {"at": None} == newest(pages)[0] | {"at": None, "action": "sign_out", "actor": "root"}


async def test_a_signed_out_post_is_401_with_a_valid_token(client: Client) -> None:
    token = await csrf_of(client)

    response = await client.post("/admin/sign-out", data={"csrf": token}, headers={"Accept": "application/json"})

    assert response.status == 401


async def test_failed_sign_ins_are_slowed(web_store: EventStore, client_for: ClientFor) -> None:
    pages = make_pages(web_store, Clock(), WebConfig(sign_in_limit="3/minute", address_limit="100/minute"))
    client = await client_for(pages)
    statuses = [await sign_in(client, "wang", "wrong password!") for _ in range(3)]

    held = await sign_in(client, "wang")  # the right password, but too soon
    other = await sign_in(client, "li")  # another username from the same address

    assert statuses == [401, 401, 401]
    assert held == 429
    assert other == 303
    entries = newest(pages, 2)
    assert [entry["result"] for entry in entries] == ["ok", "throttled"]


async def test_guesses_sent_at_once_do_not_slip_past_the_limit(web_store: EventStore, client_for: ClientFor) -> None:
    client = await client_for(make_pages(web_store, Clock(), WebConfig(sign_in_limit="3/minute")))
    await csrf_of(client)

    statuses = await asyncio.gather(*(sign_in(client, "wang", f"wrong password {n}") for n in range(10)))

    assert sorted(statuses) == [401] * 3 + [429] * 7


async def test_failures_from_one_address_are_slowed_across_usernames(
    web_store: EventStore, client_for: ClientFor
) -> None:
    client = await client_for(make_pages(web_store, Clock(), WebConfig(address_limit="2/minute")))
    assert [await sign_in(client, name, "wrong password!") for name in ("a1", "a2")] == [401, 401]

    response_status = await sign_in(client, "root")

    assert response_status == 429


async def test_an_idle_session_expires(client: Client, clock: Clock, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    clock.advance(minutes=29)
    assert (await client.get("/admin/sites/centre.json")).status == 200
    clock.advance(minutes=29)
    assert (await client.get("/admin/sites/centre.json")).status == 200

    clock.advance(minutes=31)
    response = await client.get("/admin/sites/centre", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"].startswith("/admin/sign-in")
    entry = newest(pages)[0]
    assert (entry["action"], entry["result"], entry["actor"]) == ("session_expired", "idle", "li")


async def test_a_session_ends_after_its_absolute_lifetime(client: Client, clock: Clock) -> None:
    assert await sign_in(client, "li") == 303
    for _ in range(int(12 * 60 / 25)):
        clock.advance(minutes=25)
        assert (await client.get("/admin/sites/centre.json")).status == 200

    clock.advance(minutes=25)

    assert (await client.get("/admin/sites/centre.json")).status == 401


async def test_a_new_password_ends_the_account_s_sessions(
    tmp_path_factory: pytest.TempPathFactory, client_for: ClientFor
) -> None:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('passwd') / 'hall.db'}")
    try:
        accounts = accounts_for(store, DISTRICT)
        accounts.add("root", PASSWORD)
        client = await client_for(make_pages(store, Clock()))
        assert await sign_in(client, "root") == 303
        assert (await client.get("/admin/index.json")).status == 200

        accounts.set_password("root", "another good password")

        assert (await client.get("/admin/index.json")).status == 401
        assert await sign_in(client, "root", "another good password") == 303
        accounts.remove("root")
        assert (await client.get("/admin/index.json")).status == 401
    finally:
        store.close()


async def test_a_cookie_from_another_key_is_no_session(web_store: EventStore, client_for: ClientFor) -> None:
    first = await client_for(make_pages(web_store, Clock()))
    assert await sign_in(first, "root") == 303
    cookie = first.session.cookie_jar.filter_cookies(first.make_url("/admin/"))["hall_session"].value
    other_pages = make_pages(web_store, Clock())
    other_pages.secret = b"t" * 32
    second = await client_for(other_pages)

    response = await second.get("/admin/index.json", cookies={"hall_session": cookie})

    assert response.status == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"username": "root", "password": "x"}', "application/json"),
        (b'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n', "multipart/form-data; boundary=x"),
        (b"%ff%fe=%00&&&===", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
        (b"a=" + b"x" * 70_000, "application/x-www-form-urlencoded"),
        (b"username=root&password=x", "application/x-www-form-urlencoded; charset=no-such-charset"),
    ],
)
@pytest.mark.parametrize("token_in_header", [False, True])
async def test_malformed_bodies_are_refused_never_a_500(
    client: Client, body: bytes, content_type: str, token_in_header: bool
) -> None:
    token = await csrf_of(client)
    headers = {"Content-Type": content_type} | ({"X-CSRF-Token": token} if token_in_header else {})

    response = await client.post("/admin/sign-in", data=body, headers=headers)

    assert 400 <= response.status < 500, await response.text()


async def test_the_pages_speak_chinese_first_and_english_when_asked(client: Client) -> None:
    chinese = await (await client.get("/admin/sign-in")).text()
    english = await client.get("/admin/sign-in?lang=en")
    kept = await (await client.get("/admin/sign-in")).text()
    browser = await (await client.get("/admin/sign-in?lang=zh", headers={"Accept-Language": "en-GB,en"})).text()

    assert "<h1>登录</h1>" in chinese and 'lang="zh-CN"' in chinese
    assert "<h1>Sign in</h1>" in await english.text()
    assert english.cookies["hall_lang"].value == "en"
    assert "<h1>Sign in</h1>" in kept
    assert "<h1>登录</h1>" in browser


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    username=st.text(max_size=300),
    password=st.text(max_size=300),
    target=st.text(max_size=100),
    extra=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
)
def test_any_sign_in_form_gets_an_answer_never_a_500(
    web_store: EventStore, username: str, password: str, target: str, extra: dict[str, str]
) -> None:
    settings_ = WebConfig(sign_in_limit="1000/minute", address_limit="1000/minute")

    async def attempt() -> int:
        app = web.Application()
        app.add_subapp("/admin", pages_app(make_pages(web_store, Clock(), settings_)))
        async with TestClient(TestServer(app)) as client:
            token = await csrf_of(client)
            form = extra | {"csrf": token, "username": username, "password": password, "next": target}
            body = urlencode(form).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            response = await client.post("/admin/sign-in", data=body, headers=headers, allow_redirects=False)
            return response.status

    assert asyncio.run(attempt()) in (303, 401, 429)

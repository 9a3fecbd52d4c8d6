"""The devices page of a site: who may use it, the list with each device's connection, provisioning (the password
shown once, with settings each device app reads and a QR code of them), a new password, revocation, every change
audited without its secret, and bad forms answered without a 500."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import cv2
import msgspec
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contract as wire
from caller.config import load_config as load_caller
from caller.keypads_app import load_keypads
from devicekit.settings import load_settings
from display.config import load_config as load_board
from display.window_screen_app import WindowScreenSettings
from hub.devices import Credentials
from hub.store import EventStore
from hub.web_pages import pages_app
from hub.web_pages.state import Pages
from kiosk.config import load_config as load_kiosk
from tests.support.hub_process import REPO, HubProcess
from tests.web.changes_support import (
    audit_rows,
    changes_of,
    hidden_fields,
    own_store,
    post_raw,
    problems,
)
from tests.web.conftest import CSRF, PASSWORD, Client, Clock, make_pages, sign_in

__all__ = ["own_store"]  # the fixture, used by name

DEVICES = "/admin/sites/centre/devices"
SETTINGS = re.compile(r'<pre class="settings">(.*?)</pre>', re.DOTALL)
SECRET = re.compile(r'<code class="secret">([^<]+)</code>')


@pytest.fixture
def pages(own_store: EventStore, clock: Clock) -> Pages:
    return replace(make_pages(own_store, clock), broker_port=28831)  # a broker elsewhere than the apps' default


async def provision(client: Client, **form: str) -> tuple[str, str]:
    """Provision through the form: the device id and the password the answer shows."""
    response = await client.post(DEVICES, data=await hidden_fields(client, DEVICES) | form)
    page = await response.text()
    assert response.status == 200, page
    password = SECRET.search(page)
    device_id = re.search(r'<dd class="id">([^<]+)</dd>', page)
    assert password is not None and device_id is not None
    return device_id.group(1), password.group(1)


async def rotate(client: Client, device_id: str) -> tuple[int, str]:
    path = f"{DEVICES}/{device_id}/rotate"
    response = await client.post(path, data=await hidden_fields(client, path))
    found = SECRET.search(page := await response.text())
    return response.status, found.group(1) if found else page


# --- who may ---------------------------------------------------------------------------------------------------------

ROUTES = [
    ("GET", DEVICES), ("GET", f"{DEVICES}.json"), ("POST", DEVICES),
    ("GET", f"{DEVICES}/kiosk-centre-1/rotate"), ("POST", f"{DEVICES}/kiosk-centre-1/rotate"),
    ("GET", f"{DEVICES}/kiosk-centre-1/revoke"), ("POST", f"{DEVICES}/kiosk-centre-1/revoke"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("refused", [("zhao", "wrong_role"), ("wang", "wrong_site")])
async def test_staff_and_another_site_s_manager_are_refused_everywhere(
    client: Client, pages: Pages, method: str, path: str, refused: tuple[str, str]
) -> None:
    username, code = refused
    kiosk = pages.devices.provision("centre", "kiosk")
    assert await sign_in(client, username) == 303
    token = (await hidden_fields(client, "/admin/audit" if username == "wang" else "/admin/"))["csrf"]

    response = await client.request(method, path, data={"csrf": token, "kind": "board"},
                                    headers={"Accept": "application/json"})  # fmt: skip

    assert response.status == 403
    assert (await response.json())["error"]["code"] == code
    assert [d.device_id for d in pages.devices.all()] == [kiosk.device_id]
    assert pages.devices.verify(kiosk.device_id, kiosk.password)


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_signed_out_is_sent_to_sign_in_or_refused(client: Client, method: str, path: str) -> None:
    token = (await hidden_fields(client, "/admin/sign-in"))["csrf"]

    response = await client.request(method, path, data={"csrf": token}, allow_redirects=False)

    assert response.status == (303 if method == "GET" and not path.endswith(".json") else 401)


@pytest.mark.parametrize("token", [None, "", "forged"])
async def test_a_change_without_the_form_s_token_is_refused_and_changes_nothing(
    client: Client, pages: Pages, own_store: EventStore, token: str | None
) -> None:
    kiosk = pages.devices.provision("centre", "kiosk")
    assert await sign_in(client, "li") == 303
    before = audit_rows(own_store)
    form = {} if token is None else {"csrf": token}

    answers = [
        await client.post(DEVICES, data=form | {"kind": "board"}),
        await client.post(f"{DEVICES}/{kiosk.device_id}/rotate", data=form),
        await client.post(f"{DEVICES}/{kiosk.device_id}/revoke", data=form),
    ]

    assert [answer.status for answer in answers] == [403, 403, 403]
    assert [d.device_id for d in pages.devices.all()] == [kiosk.device_id]
    assert pages.devices.verify(kiosk.device_id, kiosk.password)
    assert audit_rows(own_store) == before


async def test_another_site_s_device_is_no_device_of_this_one(client: Client, pages: Pages) -> None:
    elsewhere = pages.devices.provision("xiaozhai", "kiosk")
    assert await sign_in(client, "li") == 303
    path = f"{DEVICES}/{elsewhere.device_id}/revoke"

    assert (await client.get(path)).status == 404
    assert (await client.post(path, data=await hidden_fields(client, DEVICES))).status == 404
    assert pages.devices.verify(elsewhere.device_id, elsewhere.password)


# --- the list --------------------------------------------------------------------------------------------------------


def report(device_id: str, kind: str, online: bool, **detail: str) -> wire.DeviceStatus:
    body = {"v": 1, "device_id": device_id, "kind": kind, "online": online, "at": "2026-11-25T10:00:00+08:00",
            "detail": detail}  # fmt: skip
    return wire.decode_as(wire.DeviceStatus, msgspec.json.encode(body))


async def test_the_list_shows_each_device_with_its_connection_and_printer(client: Client, pages: Pages) -> None:
    kiosk = pages.devices.provision("centre", "kiosk")
    caller = pages.devices.provision("centre", "caller", window_id="w02")
    board = pages.devices.provision("centre", "board")
    gone = pages.devices.provision("centre", "board")
    pages.devices.revoke(gone.device_id)
    pages.devices.provision("xiaozhai", "kiosk")
    pages.hall.statuses = {
        kiosk.device_id: report(kiosk.device_id, "kiosk", True, printer="paper_low"),
        caller.device_id: report(caller.device_id, "caller", False),
    }
    assert await sign_in(client, "li") == 303

    answer = await (await client.get(f"{DEVICES}.json")).json()
    page = await (await client.get(DEVICES)).text()

    rows = {row["device_id"]: row for row in answer["devices"]}
    assert list(rows) == [board.device_id, caller.device_id, kiosk.device_id, gone.device_id]  # revoked last
    assert rows[kiosk.device_id]["online"] is True and rows[kiosk.device_id]["printer"] == "paper_low"
    assert rows[caller.device_id]["online"] is False and rows[caller.device_id]["window_id"] == "w02"
    assert rows[board.device_id]["online"] is None
    assert rows[gone.device_id]["revoked"] and rows[gone.device_id]["revoked_at"].endswith("+08:00")
    assert rows[kiosk.device_id]["provisioned_at"].endswith("+08:00")
    assert "打印机 纸将用完" in page and "离线" in page and "未上报" in page and "2号综合窗口" in page
    assert "kiosk-xiaozhai" not in page


# --- provisioning, a new password, revocation ------------------------------------------------------------------------


async def test_a_provisioned_device_s_password_is_shown_once_and_verifies(
    client: Client, pages: Pages, own_store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert await sign_in(client, "li") == 303
    form = await hidden_fields(client, DEVICES) | {"kind": "caller", "window": "w02"}

    response = await client.post(DEVICES, data=form)
    page = await response.text()

    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    password = SECRET.search(page)
    assert password is not None
    device_id = "caller-centre-1"
    assert pages.devices.verify(device_id, password.group(1))
    assert "只显示这一次" in page
    listed = await (await client.get(DEVICES)).text()
    assert device_id in listed and password.group(1) not in listed
    [entry] = changes_of(own_store)
    assert entry["action"] == "device_provisioned" and entry["actor"] == "li" and entry["site_id"] == "centre"
    assert entry["subject"] == f"device:{device_id}" and entry["before"] is None
    assert entry["after"] == {"device_id": device_id, "kind": "caller", "window_id": "w02", "revoked": False}
    assert password.group(1) not in repr(audit_rows(own_store))
    assert password.group(1) not in caplog.text
    assert password.group(1) not in str(response.url) and "password" not in str(response.url)


async def test_the_same_form_sent_twice_makes_one_device(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await hidden_fields(client, DEVICES) | {"kind": "board"}

    first = await client.post(DEVICES, data=form)
    again = await client.post(DEVICES, data=form)

    assert first.status == 200
    assert again.status == 422 and "此表单已经提交过" in await again.text()
    assert [device.device_id for device in pages.devices.all()] == ["board-centre-1"]


async def test_a_new_password_refuses_the_old_one(
    client: Client, pages: Pages, own_store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert await sign_in(client, "li") == 303
    device_id, old = await provision(client, kind="kiosk")
    confirm = await client.get(f"{DEVICES}/{device_id}/rotate")
    assert confirm.status == 200 and "生成新密码" in await confirm.text()

    status, new = await rotate(client, device_id)

    assert status == 200 and new != old
    assert pages.devices.verify(device_id, new) and not pages.devices.verify(device_id, old)
    rotated = changes_of(own_store)[-1]
    assert rotated["action"] == "device_rotated" and rotated["subject"] == f"device:{device_id}"
    assert rotated["before"] == rotated["after"] == {"device_id": device_id, "kind": "kiosk", "window_id": None,
                                                     "revoked": False}  # fmt: skip
    stored = repr(audit_rows(own_store))
    assert old not in stored and new not in stored
    assert old not in caplog.text and new not in caplog.text
    audit = await (await client.get("/admin/audit")).text()
    assert "密码已更换（不记录密码）" in audit and new not in audit and old not in audit


async def test_a_revoked_device_no_longer_verifies_and_gets_no_new_password(
    client: Client, pages: Pages, own_store: EventStore
) -> None:
    assert await sign_in(client, "li") == 303
    device_id, password = await provision(client, kind="board")
    confirm = await client.get(f"{DEVICES}/{device_id}/revoke")
    assert confirm.status == 200 and "永久停用" in await confirm.text()
    path = f"{DEVICES}/{device_id}/revoke"

    response = await client.post(path, data=await hidden_fields(client, path), allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == f"{DEVICES}?done=device_revoked&subject={device_id}"
    assert not pages.devices.verify(device_id, password)
    listed = await (await client.get(response.headers["Location"])).text()
    assert "已完成：停用设备 · " + device_id in listed
    revoked = changes_of(own_store)[-1]
    assert revoked["action"] == "device_revoked"
    assert (revoked["before"]["revoked"], revoked["after"]["revoked"]) == (False, True)
    assert "已停用" in await (await client.get(f"{DEVICES}/{device_id}/rotate")).text()
    status, page = await rotate(client, device_id)
    assert status == 422 and "已停用：请添加一台新设备" in page
    assert len(changes_of(own_store)) == 2  # provisioned, revoked: nothing for the refused rotation


# --- what the device is given ----------------------------------------------------------------------------------------


def qr_text(svg: str) -> str:
    """The text of an SVG QR code of ``qrcode``'s path image (one square per dark module), read by OpenCV as an
    installer's phone would: drawn at a few sizes with a quiet zone, since OpenCV misses some codes at one size."""
    size = re.search(r'viewBox="0 0 (\d+) \d+"', svg)
    assert size is not None
    modules = [(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", svg)]
    for scale in (8, 6, 10, 5):
        picture = np.full(((int(size.group(1)) + 8) * scale,) * 2, 255, np.uint8)
        for x, y in modules:
            picture[(y + 4) * scale : (y + 5) * scale, (x + 4) * scale : (x + 5) * scale] = 0
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            text, _points, _straight = detector.detectAndDecode(picture)
            if text:
                return str(text)
    return ""


@pytest.mark.parametrize(
    ("kind", "window"),
    [("kiosk", ""), ("caller", "w03"), ("board", ""), ("window_screen", "w04"), ("evaluator", "w05")],
)
async def test_the_settings_and_their_qr_code_start_the_device_s_app(
    client: Client, pages: Pages, tmp_path: Path, kind: str, window: str
) -> None:
    assert await sign_in(client, "li") == 303
    response = await client.post(DEVICES, data=await hidden_fields(client, DEVICES) | {"kind": kind, "window": window})
    page = await response.text()
    shown = SETTINGS.search(page)
    svg = re.search(r"<svg.*?</svg>", page, re.DOTALL)
    assert shown is not None and svg is not None
    settings_text = html.unescape(shown.group(1))

    assert qr_text(svg.group(0)) == settings_text
    path = tmp_path / "device.toml"
    path.write_text(settings_text.replace("address = 0", "address = 31"))
    password = html.unescape(SECRET.search(page).group(1))  # type: ignore[union-attr]
    if kind == "evaluator":
        [device] = load_keypads(path).evaluators
        site = load_keypads(path).site
    else:
        loader = {"kiosk": load_kiosk, "caller": load_caller, "board": load_board}.get(kind)
        device = loader(path, environ={}) if loader else load_settings(WindowScreenSettings, "SCREEN", path, {})
        site = device.site
    assert pages.devices.verify(device.device_id, device.password) and device.password == password
    assert site == "centre"
    assert (load_keypads(path) if kind == "evaluator" else device).port == 28831  # the broker the hub is on
    assert getattr(device, "window", window or None) == (window or None)
    if kind == "kiosk":
        assert device.public_url == str(client.make_url("")).rstrip("/")


# --- bad forms -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({}, {"kind": "请选择设备类型"}),
        ({"kind": "toaster"}, {"kind": "请选择设备类型"}),
        ({"kind": "caller"}, {"window": "这类设备属于某个窗口：请选择窗口"}),
        ({"kind": "kiosk", "window": "w01"}, {"window": "这类设备不属于窗口：请选择“不属于窗口”"}),
        ({"kind": "caller", "window": "w99"}, {"window": "本站点没有这个窗口"}),
        ({"kind": "caller", "window": "w" * 5000}, {"window": "最多 64 个字符"}),
    ],
)
async def test_a_wrong_form_says_why_next_to_the_field_and_adds_nothing(
    client: Client, pages: Pages, own_store: EventStore, form: dict[str, str], expected: dict[str, str]
) -> None:
    assert await sign_in(client, "li") == 303

    response = await client.post(DEVICES, data=await hidden_fields(client, DEVICES) | form)

    page = await response.text()
    assert response.status == 422
    assert problems(page) == expected
    if form.get("kind") == "caller" and len(form.get("window", "")) < 64:
        assert '<option value="caller" selected>' in page  # what was chosen is kept
    assert pages.devices.all() == [] and changes_of(own_store) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"kind=%ff%fe&window=\xff", "application/x-www-form-urlencoded"),
        (b'--x\r\nContent-Disposition: form-data; name="kind"\r\n\r\n', "multipart/form-data; boundary=x"),
        (b"kind=" + b"k" * 2_000_000, "application/x-www-form-urlencoded"),
    ],
)
async def test_unreadable_bodies_are_refused_never_a_500(
    client: Client, pages: Pages, own_store: EventStore, body: bytes, content_type: str
) -> None:
    assert await sign_in(client, "li") == 303
    token = (await hidden_fields(client, DEVICES))["csrf"]
    kiosk = pages.devices.provision("centre", "kiosk")

    for path in (DEVICES, f"{DEVICES}/{kiosk.device_id}/rotate", f"{DEVICES}/{kiosk.device_id}/revoke"):
        assert await post_raw(client, path, body, content_type, token) in (400, 413)
    assert pages.devices.verify(kiosk.device_id, kiosk.password)
    assert [d.device_id for d in pages.devices.all()] == [kiosk.device_id] and changes_of(own_store) == []


async def test_a_json_body_is_no_form_of_fields(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    token = (await hidden_fields(client, DEVICES))["csrf"]

    status = await post_raw(client, DEVICES, b'{"kind": "kiosk"}', "application/json", token)

    assert status == 422 and pages.devices.all() == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(
        st.sampled_from(["kind", "window", "once", "device", "csrf2"]),
        st.one_of(st.sampled_from(["kiosk", "caller", "board", "w01", "w99", ""]), st.text(max_size=300)),
        max_size=5,
    )
)
def test_any_provisioning_form_gets_an_answer_never_a_500(own_store: EventStore, fields: dict[str, str]) -> None:
    async def attempt() -> int:
        app = web.Application()
        app.add_subapp("/admin", pages_app(make_pages(own_store, Clock())))
        async with TestClient(TestServer(app)) as client:
            assert await sign_in(client, "li") == 303
            token = (await hidden_fields(client, DEVICES))["csrf"]
            body = urlencode(fields | {"csrf": token}).encode()
            return await post_raw(client, DEVICES, body, "application/x-www-form-urlencoded", None)

    assert asyncio.run(attempt()) in (200, 422)


# --- in the running hub ----------------------------------------------------------------------------------------------


def wait_for(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


async def test_in_the_running_hub_a_rotated_password_is_refused_by_the_hub_and_its_broker(hub: HubProcess) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "hub.cli", "admin", "add", "root"], input=PASSWORD, text=True, cwd=REPO, env=hub.env,
        capture_output=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    hub.start()

    base = f"http://127.0.0.1:{hub.http_port}"
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:

        async def token_of(path: str) -> str:
            found = CSRF.search(await (await browser.get(path)).text())
            assert found is not None, path
            return found.group(1)

        async def credentials_from(form_page: str, path: str, **form: str) -> Credentials:
            answer = await (await browser.post(path, data={"csrf": await token_of(form_page)} | form)).text()
            device_id, password = re.search(r'<dd class="id">([^<]+)</dd>', answer), SECRET.search(answer)
            assert device_id is not None and password is not None, answer
            return Credentials(device_id.group(1), password.group(1))

        signed = {"csrf": await token_of("/admin/sign-in"), "username": "root", "password": PASSWORD}
        assert (await browser.post("/admin/sign-in", data=signed)).status == 200
        first = await credentials_from(DEVICES, DEVICES, kind="kiosk")
        assert wait_for(lambda: hub.fetch("/api/v1/devices", first)[0] == 200), "the hub admits the new device"
        online = hub.link(first, "centre", wire.DeviceKind.KIOSK)

        rotate_page = f"{DEVICES}/{first.device_id}/rotate"
        second = await credentials_from(rotate_page, rotate_page)

    assert wait_for(lambda: hub.fetch("/api/v1/devices", first)[0] == 401), "the old password is refused"
    assert hub.fetch("/api/v1/devices", second)[0] == 200
    assert wait_for(lambda: not online.connected.is_set()), "the broker closed the old password's connection"
    hub.link(second, "centre", wire.DeviceKind.KIOSK)
    log = hub.log_path.read_text(errors="replace")
    assert first.password not in log and second.password not in log

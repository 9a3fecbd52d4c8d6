"""A site's voice settings and quiet hours page (``/admin/sites/{site}/voice``) over HTTP: who may open and save it,
CSRF, a stale form refused, problems beside their fields in Chinese, the plain line of what a citizen hears, the
boards' own settings again; no form makes it fail; and in the running hub, a save reaching a subscriber of a
board's retained config topic."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contract as wire
from engine.district import VoicePolicy
from hub.device_settings import voice_settings
from hub.web_pages import Pages
from hub.web_pages.views.voice import voice_values
from tests.support.hub_process import HubProcess
from tests.web.conftest import CSRF, DISTRICT, PASSWORD, Client, csrf_of, sign_in
from tests.web.test_configure import (
    JSON,
    add_manager,
    form_of,
    in_force,
    opened,
    pages,
    post,
    prepared,
    problem_at,
    store,
)

__all__ = ["pages", "prepared", "store"]  # the configuration pages' fixtures: this test's own store and gateway

VOICE = "/admin/sites/centre/voice"
OTHER = "/admin/sites/xiaozhai/voice"
QUIET = {"quiet_from": "22:00", "quiet_to": "07:00", "quiet_mode": "chime", "reason": "夜间延时服务"}


# --- who may -----------------------------------------------------------------------------------------------


async def test_signed_out_the_page_sends_to_the_sign_in_and_a_save_is_refused(client: Client) -> None:
    page = await client.get(VOICE, allow_redirects=False)
    saved = await post(client, VOICE, {"csrf": await csrf_of(client)})

    assert page.status == 303 and page.headers["Location"] == f"/admin/sign-in?next={VOICE}"
    assert saved.status == 401


@pytest.mark.parametrize(
    ("username", "path", "code"),
    [("zhao", VOICE, "wrong_role"), ("wang", VOICE, "wrong_site"), ("li", OTHER, "wrong_site")],
)
async def test_staff_and_another_site_s_manager_are_refused(
    client: Client, username: str, path: str, code: str
) -> None:
    assert await sign_in(client, username) == 303
    token = await csrf_of(client, "/admin/")

    for answer in (await client.get(f"{path}.json"), await post(client, path, {"csrf": token, "base": "x"}, JSON)):
        assert answer.status == 403 and (await answer.json())["error"]["code"] == code


async def test_a_save_without_the_form_s_token_is_refused_and_changes_nothing(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, VOICE)

    without = {name: value for name, value in form.items() if name != "csrf"} | QUIET
    for sent in (without, without | {"csrf": "forged"}):
        assert (await post(client, VOICE, sent)).status == 403
    assert pages.configuration.version == 1 and in_force(pages).voice is None


# --- the page ----------------------------------------------------------------------------------------------


async def test_a_site_without_a_policy_shows_the_boards_own_settings_and_the_defaults(client: Client) -> None:
    assert await sign_in(client, "li") == 303
    html = await (await client.get(VOICE)).text()
    answer = await (await client.get(f"{VOICE}.json")).json()

    assert "现在：各大厅屏按各自的设置文件播报" in html and 'href="/admin/sites/centre/voice"' in html
    drawn = {name: value for name, value in form_of(html).items() if name not in ("csrf", "base", "reason")}
    assert drawn == voice_values(DISTRICT.sites[0]) and DISTRICT.sites[0].id == "centre"
    assert answer["policy"] is None and answer["values"]["repeat"] == "2"


async def test_saved_quiet_hours_are_a_new_version_in_force_and_said_plainly(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, VOICE)

    saved = await post(client, VOICE, form | QUIET | {"repeat": "3", "volume": "80", "quiet_volume": "25"})

    assert saved.status == 303 and saved.headers["Location"] == f"{VOICE}?saved=2"
    assert in_force(pages).voice == VoicePolicy(repeat=3, volume=0.8, quiet_hours="22:00-07:00", quiet_volume=0.25)
    assert in_force(pages, "xiaozhai").voice is None
    html = await (await client.get(saved.headers["Location"])).text()
    assert "已保存为第 2 版" in html
    assert "现在：普通话+英语各播报3遍，先响提示音，音量 80%" in html
    assert "静音时段 22:00–07:00：只响提示音，音量 25%" in html
    english = await (await client.get(f"{VOICE}?lang=en")).text()
    assert "Now: Mandarin+English, each spoken 3 times, after a chime, at 80% volume" in english


async def test_english_only_and_silent_quiet_hours_are_said_so(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "root") == 303
    form = {k: v for k, v in (await opened(client, VOICE)).items() if k not in ("lang.zh", "chime")}

    assert (await post(client, VOICE, form | QUIET | {"repeat": "1", "quiet_mode": "silent"})).status == 303

    voice = in_force(pages).voice
    assert voice is not None and voice.languages == ("en",) and not voice.chime and voice.quiet_mode == "silent"
    html = await (await client.get(VOICE)).text()
    assert "现在：英语播报1遍，音量 90%" in html and "静音时段 22:00–07:00：不播报" in html


async def test_bad_values_stand_beside_their_fields_in_chinese_and_nothing_is_saved(
    client: Client, pages: Pages
) -> None:
    assert await sign_in(client, "li") == 303
    form = {k: v for k, v in (await opened(client, VOICE)).items() if not k.startswith("lang.")}

    bad = {"volume": "120", "quiet_volume": "loud", "quiet_from": "22:00", "quiet_to": "", "repeat": "9"}
    response = await post(client, VOICE, form | bad)

    html = await response.text()
    assert response.status == 422
    assert problem_at(html, "languages") == "请至少选择一种播报语言"
    assert "0 至 100" in problem_at(html, "volume") and "120" in problem_at(html, "volume")
    assert "loud" in problem_at(html, "quiet_volume")
    assert problem_at(html, "quiet_from") == "请同时填写静音时段的开始和结束时间（都留空表示没有静音时段）"
    assert "1 至 5" in problem_at(html, "repeat")
    assert 'value="120"' in html  # as typed
    assert pages.configuration.version == 1 and in_force(pages).voice is None


async def test_the_same_start_and_end_is_the_engine_s_problem_beside_the_times(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, VOICE)

    response = await post(client, VOICE, form | {"quiet_from": "07:00", "quiet_to": "07:00"}, JSON)

    body = await response.json()
    assert response.status == 422
    assert [p["field"] for p in body["problems"]["at"]["quiet_from"]] == ["sites.centre.voice.quiet_hours"]
    assert pages.configuration.version == 1


async def test_a_form_older_than_a_colleague_s_save_is_refused_and_theirs_kept(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    mine, colleague = await opened(client, VOICE), await opened(client, VOICE)
    assert (await post(client, VOICE, colleague | QUIET)).status == 303

    response = await post(client, VOICE, mine | {"repeat": "5"})

    assert response.status == 409 and "已有其他人保存了这部分配置" in await response.text()
    voice = in_force(pages).voice
    assert voice is not None and voice.repeat == 2 and voice.quiet_hours == "22:00-07:00"


async def test_the_boards_own_settings_again_and_an_unchanged_form_saves_nothing(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    assert (await post(client, VOICE, await opened(client, VOICE) | QUIET)).status == 303
    form = await opened(client, VOICE)
    again = await post(client, VOICE, form)
    assert again.status == 200 and "没有改动，未保存新版本" in await again.text()

    cleared = await post(client, VOICE, form | {"use_boards": "1", "volume": "garbage", "reason": "恢复默认"})

    assert cleared.status == 303 and in_force(pages).voice is None and pages.configuration.version == 3
    assert "改用大厅屏自己的设置" not in await (await client.get(VOICE)).text()


TYPED = st.text(max_size=12) | st.sampled_from(["", "0", "100", "100.5", "-1", "５０", "22:00", "7:5", "x" * 20000])
FIELDS = [*sorted(voice_values(DISTRICT.sites[0])), "use_boards", "reason"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_no_form_makes_the_page_fail(client: Client, data: st.DataObject) -> None:
    changes = data.draw(st.dictionaries(st.sampled_from(FIELDS), TYPED, max_size=6))
    dropped = data.draw(st.sets(st.sampled_from(FIELDS), max_size=2))
    extra = data.draw(st.dictionaries(st.text(max_size=12), TYPED, max_size=2))
    if (await client.get(VOICE, allow_redirects=False)).status != 200:
        assert await sign_in(client, "root") == 303
    form = {k: v for k, v in (await opened(client, VOICE)).items() if k not in dropped}

    response = await post(client, VOICE, form | changes | extra)

    assert response.status in (200, 303, 400, 409, 422), response.status


# --- the running hub ----------------------------------------------------------------------------------------


async def test_saved_quiet_hours_reach_a_board_s_retained_config_within_a_second(hub: HubProcess) -> None:
    board = hub.provision("centre", "board")
    add_manager(hub)
    hub.start()
    link = hub.link(board, "centre", wire.DeviceKind.BOARD)
    deadline = time.monotonic() + 10
    while link.config is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert link.config is not None and link.config.settings == {}
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{hub.http_port}", cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        async with session.get("/admin/sign-in") as response:
            found = CSRF.search(await response.text())
        assert found is not None
        sign_in_form = {"csrf": found.group(1), "username": "li", "password": PASSWORD}
        async with session.post("/admin/sign-in", data=sign_in_form):
            pass
        async with session.get(VOICE) as response:
            form = form_of(await response.text())
        async with session.post(VOICE, data=form | QUIET, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            saved_at = time.monotonic()

    wanted = voice_settings(VoicePolicy(quiet_hours="22:00-07:00"))
    while time.monotonic() < saved_at + 1 and (link.config is None or link.config.settings != wanted):
        await asyncio.sleep(0.01)
    assert link.config is not None and link.config.settings == wanted, "the board's config did not follow"

"""A site's booking rules on /admin/sites/{site}/appointments over HTTP, with the booking API beside it on a desk in
the same SQLite database: who may open and save the page, CSRF, a stale form, problems beside their fields in the
engine's words, the reason needed, the defaults, the preview table with the places booked; a save in force at once,
so the booking API offers slots of the new length and capacity; no form makes the page fail; and in the running hub
the desk follows the saved configuration."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.district import AppointmentPolicy
from hub.appointments import AppointmentSecrets, Keyring, desk_for
from hub.appointments.web import add_routes
from hub.store import EventStore, open_store
from hub.web_pages import Pages, pages_app
from hub.web_pages.views.appointment_settings import values
from tests.support.hub_process import HubProcess
from tests.web.conftest import CSRF, DISTRICT, PASSWORD, Client, Clock, csrf_of, make_pages, sign_in
from tests.web.test_configure import JSON, add_manager, form_of, opened, post, prepared, problem_at, store

__all__ = ["prepared", "store"]  # the configuration pages' fixtures: this test's own store

PAGE = "/admin/sites/centre/appointments"
SECRETS = AppointmentSecrets(Keyring({"k1": b"k" * 32}, "k1"), pepper=b"p" * 32)
TODAY = "2026-11-25"
"""The test clock's day (a Wednesday, 10:00 in Xi'an): the centre opens 09:00-17:00, issuing stops at 16:30."""
HOUR_SLOTS = {"slot_minutes": "60", "walk_in_percent": "50", "days_ahead": "3"}
TAG = re.compile(r"<[^>]+>")


@pytest.fixture
def pages(store: EventStore, clock: Clock) -> Pages:
    """The conftest's pages, their gateway with an appointment desk in the same database (as ``hub.main`` wires)."""
    made = make_pages(store, clock)
    made.hall.gateway.appointments = desk_for(store, DISTRICT, SECRETS)
    return made


@pytest.fixture
async def client(pages: Pages, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    """The pages and the booking API on one app."""
    app = web.Application()
    app.add_subapp("/admin", pages_app(pages))
    desk = pages.hall.gateway.appointments
    assert desk is not None
    add_routes(app, desk, clock=pages.clock, may_list=lambda _request: False)
    return await aiohttp_client(app)


def policy(pages: Pages, site_id: str = "centre") -> AppointmentPolicy | None:
    """The site's booking rules as the gateway (and so the desk) has them now."""
    site = pages.hall.gateway.district.site(site_id)
    assert site is not None
    return site.appointments


async def slots(client: Client, matter: str = "A02", day: str = TODAY) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/sites/centre/slots?matter={matter}&day={day}")
    assert response.status == 200, await response.text()
    listed: list[dict[str, Any]] = (await response.json())["slots"]
    return listed


def row(html: str, code: str) -> list[str]:
    """The cells of a matter's row in the table under the form, as text."""
    start = html.index(f'<tr data-matter="{code}">')
    cells = html[start : html.index("</tr>", start)].split("<td")[2:]  # the figures, after the matter's name
    return [" ".join(TAG.sub("", "<td" + cell).split()) for cell in cells]


# --- who may -----------------------------------------------------------------------------------------------


async def test_signed_out_the_page_sends_to_the_sign_in_and_a_save_is_refused(client: Client) -> None:
    page = await client.get(PAGE, allow_redirects=False)
    saved = await post(client, PAGE, {"csrf": await csrf_of(client)})

    assert page.status == 303 and page.headers["Location"] == f"/admin/sign-in?next={PAGE}"
    assert saved.status == 401


@pytest.mark.parametrize(("username", "path", "code"), [
    ("zhao", PAGE, "wrong_role"),
    ("wang", PAGE, "wrong_site"),
    ("li", "/admin/sites/xiaozhai/appointments", "wrong_site"),
])  # fmt: skip
async def test_staff_and_another_site_s_manager_are_refused_the_page_and_its_save(
    client: Client, pages: Pages, username: str, path: str, code: str
) -> None:
    assert await sign_in(client, username) == 303
    token = await csrf_of(client, "/admin/")

    answers = [
        await client.get(f"{path}.json"),
        await post(client, path, {"csrf": token, "base": "x", **HOUR_SLOTS, "reason": "试试"}, JSON),
    ]

    for answer in answers:
        assert answer.status == 403 and (await answer.json())["error"]["code"] == code
    assert pages.configuration.version == 1


async def test_an_administrator_opens_any_site_s_page_and_an_unknown_site_is_404(client: Client) -> None:
    assert await sign_in(client, "root") == 303

    xiaozhai = await client.get("/admin/sites/xiaozhai/appointments")
    nowhere = await client.get("/admin/sites/nowhere/appointments.json")

    assert xiaozhai.status == 200 and "预约规则" in await xiaozhai.text()
    assert nowhere.status == 404 and (await nowhere.json())["error"]["code"] == "no_site"


async def test_a_hub_without_an_appointment_desk_says_so(client: Client, pages: Pages) -> None:
    pages.hall.gateway.appointments = None
    assert await sign_in(client, "li") == 303

    answer = await client.get(PAGE)

    assert answer.status == 404 and "本中心未开通预约" in await answer.text()


async def test_a_save_without_the_form_s_token_is_refused_and_changes_nothing(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, PAGE)

    without = {name: value for name, value in form.items() if name != "csrf"} | HOUR_SLOTS | {"reason": "试行"}
    for sent in (without, without | {"csrf": "forged"}):
        response = await post(client, PAGE, sent)
        assert response.status == 403 and "表单已过期，请刷新页面后重试" in await response.text()
    assert pages.configuration.version == 1 and policy(pages) is None


# --- the form ----------------------------------------------------------------------------------------------


async def test_the_page_shows_the_district_s_defaults_ticked_and_the_next_open_day(client: Client) -> None:
    assert await sign_in(client, "li") == 303

    html = await (await client.get(PAGE)).text()
    form = form_of(html)

    assert form["use_defaults"] == "on"
    assert (form["slot_minutes"], form["walk_in_percent"], form["days_ahead"]) == ("30", "30", "7")
    assert "区级默认：每个预约时段 30 分钟，每个事项每日限额的 30% 留给现场取号，可提前 7 天预约。" in html
    assert f"下一个办公日：{TODAY}；每个时段 30 分钟；30% 留给现场取号；可预约至 2026-12-02" in html
    # A02: limit 100, 30 kept; 09:00-16:30 gives 15 half-hour slots sharing 70 places
    assert row(html, "A02") == ["15", "4–5", "70", "30", "0"]
    assert 'data-matter="F02"' not in html  # F02 may not be booked
    assert 'href="/admin/sites/centre/appointments"' in html  # the site's navigation links the page


async def test_a_save_is_a_new_version_and_the_booking_api_offers_the_new_slots_at_once(
    client: Client, pages: Pages, store: EventStore
) -> None:
    assert await sign_in(client, "li") == 303
    before = await slots(client)
    assert before[0]["label"] == "10:30-11:00" and sum(s["capacity"] for s in before) == 70 - 14  # 09:00-10:30 begun
    form = await opened(client, PAGE)
    del form["use_defaults"]

    response = await post(client, PAGE, form | HOUR_SLOTS | {"reason": "试行一小时一档"})

    assert response.status == 303 and response.headers["Location"] == f"{PAGE}?saved=2"
    assert policy(pages) == AppointmentPolicy(slot_minutes=60, walk_in_share=0.5, days_ahead=3)
    after = await slots(client)
    # 7 hour slots 09:00-16:00 share 50 places (7,7,7,7,7,7,8); those from 11:00 are still to come
    assert [s["label"] for s in after] == ["11:00-12:00", "12:00-13:00", "13:00-14:00", "14:00-15:00", "15:00-16:00"]
    assert [s["capacity"] for s in after] == [7, 7, 7, 7, 8]
    assert await slots(client, day="2026-11-30") == []  # beyond the 3 days ahead
    newest = store.district_versions()[0]
    assert (newest.version, newest.author, newest.reason) == (2, "li", "试行一小时一档")
    shown = await (await client.get(response.headers["Location"])).text()
    assert "已保存为第 2 版，已推送到设备" in shown and "use_defaults" not in form_of(shown)
    assert row(shown, "A02") == ["7", "7–8", "50", "50", "0"]


async def test_bad_values_stand_beside_their_fields_and_nothing_is_saved(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, PAGE)
    del form["use_defaults"]
    typed = {"slot_minutes": "500", "walk_in_percent": "三成", "days_ahead": "31", "reason": ""}

    response = await post(client, PAGE, form | typed)

    html = await response.text()
    assert response.status == 422
    assert problem_at(html, "slot_minutes") == "预约时段长度须在 5 至 240 分钟之间，现为 500"
    assert problem_at(html, "walk_in_percent") == "留给现场取号的比例须为 0 至 100 之间的百分数（如 30），现为“三成”"
    assert problem_at(html, "days_ahead") == "可提前预约的天数须在 0 至 30 之间，现为 31"
    assert problem_at(html, "reason") == "请填写修改原因"
    again = form_of(html)
    assert (again["slot_minutes"], again["walk_in_percent"], again["days_ahead"]) == ("500", "三成", "31")
    assert pages.configuration.version == 1 and policy(pages) is None
    english = await post(client, f"{PAGE}?lang=en", form | typed | {"slot_minutes": "4"})
    text = await english.text()
    assert english.status == 422 and "An appointment slot is 5 to 240 minutes long; it is 4" in text
    assert "Please give the reason for the change" in text


async def test_the_json_form_answers_its_problems_by_field(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    answer = await (await client.get(f"{PAGE}.json")).json()
    form = {"csrf": await csrf_of(client, PAGE), "base": answer["base"], **answer["values"]}
    del form["use_defaults"]

    refused = await post(client, PAGE, form | {"walk_in_percent": "101", "reason": "多留"}, JSON)

    assert answer["base"] == pages.configuration.digest("site:centre") and answer["version"] == 1
    assert answer["outlook"]["day"] == TODAY and answer["preview"] is None
    assert next(m for m in answer["outlook"]["matters"] if m["code"] == "A02")["walk_ins"] == 30
    body = await refused.json()
    assert refused.status == 422 and body["error"]["code"] == "invalid"
    assert [p["field"] for p in body["problems"]["at"]["walk_in_percent"]] == [
        "sites.centre.appointments.walk_in_share"
    ]


async def test_ticking_the_defaults_ignores_the_values_and_gives_the_site_the_hub_s_rules_again(
    client: Client, pages: Pages
) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, PAGE)
    del form["use_defaults"]
    assert (await post(client, PAGE, form | HOUR_SLOTS | {"reason": "试行"})).status == 303
    form = await opened(client, PAGE)
    assert "use_defaults" not in form and form["slot_minutes"] == "60"

    response = await post(client, PAGE, form | {"use_defaults": "on", "slot_minutes": "x", "reason": "恢复默认"})

    assert response.status == 303 and policy(pages) is None and pages.configuration.version == 3
    assert (await slots(client))[0]["label"] == "10:30-11:00"


async def test_a_form_older_than_a_colleague_s_save_is_refused_and_theirs_kept(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    mine = await opened(client, PAGE)
    settings_form = await opened(client, "/admin/sites/centre/settings")
    colleague = await post(client, "/admin/sites/centre/settings", settings_form | {"notice": "下午停电检修"})
    assert colleague.status == 303
    del mine["use_defaults"]

    response = await post(client, PAGE, mine | HOUR_SLOTS | {"reason": "试行"})

    assert response.status == 409 and "已有其他人保存了这部分配置" in await response.text()
    assert policy(pages) is None and pages.configuration.version == 2


async def test_the_form_saved_as_it_was_drawn_makes_no_new_version(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, PAGE)

    response = await post(client, PAGE, form | {"reason": "看看"})

    assert response.status == 200 and "没有改动，未保存新版本" in await response.text()
    assert pages.configuration.version == 1


# --- the table under the form ------------------------------------------------------------------------------


async def test_the_preview_shows_the_typed_rules_beside_those_in_force_and_saves_nothing(
    client: Client, pages: Pages
) -> None:
    assert await sign_in(client, "li") == 303
    booking = {"matter": "A02", "slot": "2026-11-25T14:00:00+08:00", "phone": "13812345678"}
    assert (await client.post("/api/v1/sites/centre/appointments", json=booking)).status == 201
    form = await opened(client, PAGE)
    assert row(await (await client.get(PAGE)).text(), "A02")[-1] == "1"  # booked, from the desk's store
    del form["use_defaults"]

    response = await post(client, PAGE, form | {"walk_in_percent": "60", "preview": "1"})

    html = await response.text()
    assert response.status == 200 and "按上面填写的规则" in html and "尚未保存" in html
    # 40 of 100 bookable over the same 15 slots: 2-3 a slot; the booking made stays counted
    assert row(html, "A02") == ["15", "2–3 (现为 4–5)", "40 (现为 70)", "60 (现为 30)", "1"]
    assert form_of(html)["walk_in_percent"] == "60"
    assert pages.configuration.version == 1 and policy(pages) is None
    bad = await post(client, PAGE, form | {"walk_in_percent": "-5", "preview": "1"})
    assert bad.status == 422 and "现为“-5”" in problem_at(await bad.text(), "walk_in_percent")


def test_the_form_s_values_show_a_site_s_own_rules_as_percentages() -> None:
    site = msgspec.structs.replace(
        DISTRICT.sites[0], appointments=AppointmentPolicy(slot_minutes=20, walk_in_share=0.125, days_ahead=0)
    )
    desk = desk_for(open_store("memory://"), DISTRICT, SECRETS)

    assert values(site, desk.rules) == {"slot_minutes": "20", "walk_in_percent": "12.5", "days_ahead": "0"}


# --- forms no page drew -------------------------------------------------------------------------------------


async def test_a_form_that_is_not_the_page_s_is_400_and_changes_nothing(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, PAGE)

    answers = [
        await post(client, PAGE, {k: v for k, v in form.items() if k != "days_ahead"}),
        await post(client, PAGE, form | {"colour": "red"}),
        await post(client, PAGE, {k: v for k, v in form.items() if k != "base"} | {"preview": "1"}),
    ]

    assert [answer.status for answer in answers] == [400] * len(answers)
    assert pages.configuration.version == 1


TYPED = st.text(max_size=12) | st.sampled_from(
    ["", "0", "5", "240", "241", "100", "100.5", "３０", "30%", "-1", "x" * 20000]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_no_form_makes_the_page_fail(client: Client, data: st.DataObject) -> None:
    changes = data.draw(st.dictionaries(st.sampled_from(["slot_minutes", "walk_in_percent", "days_ahead", "reason"]),
                                        TYPED, max_size=4))  # fmt: skip
    ticks = data.draw(st.sets(st.sampled_from(["use_defaults", "preview"])))
    extra = data.draw(st.dictionaries(st.text(max_size=12), TYPED, max_size=1))
    if (await client.get(PAGE, allow_redirects=False)).status != 200:
        assert await sign_in(client, "root") == 303
    form = {k: v for k, v in (await opened(client, PAGE)).items() if k != "use_defaults"}

    response = await post(client, PAGE, form | changes | dict.fromkeys(ticks, "on") | extra)

    assert response.status in (200, 303, 400, 409, 422), response.status


# --- the running hub ----------------------------------------------------------------------------------------


async def test_in_the_running_hub_a_save_reaches_the_booking_api(hub: HubProcess) -> None:
    add_manager(hub)
    hub.start()
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{hub.http_port}", cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        async with session.get("/admin/sign-in") as response:
            found = CSRF.search(await response.text())
        assert found is not None
        async with session.post("/admin/sign-in", data={"csrf": found[1], "username": "li", "password": PASSWORD}):
            pass
        async with session.get(PAGE) as response:
            form = {k: v for k, v in form_of(await response.text()).items() if k != "use_defaults"}
        async with session.post(PAGE, data=form | HOUR_SLOTS | {"reason": "试行"}, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
        async with session.get(f"/api/v1/sites/centre/slots?matter=A02&day={TODAY}") as response:
            offered = (await response.json())["slots"]

    assert [(s["label"], s["capacity"]) for s in offered][:2] == [("11:00-12:00", 7), ("12:00-13:00", 7)]

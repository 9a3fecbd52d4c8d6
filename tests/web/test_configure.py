"""The configuration pages over HTTP: who may open and save them, CSRF, a saved grid in force in the gateway at
once, problems beside their cells (422) with the typed values kept, a stale form refused (409), the board notice
reaching the boards' snapshot, the catalogue, the calendar and the versions; no form makes a page fail; and in the
running hub, a manager's saved grid reaching a subscriber of the site's retained info within a second."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contract as wire
from engine import commands as cmd
from engine.district import Matter, Site, Window
from hub.accounts import accounts_for
from hub.audit import Action
from hub.site_info import site_info
from hub.store import EventStore, open_store
from hub.web_pages import Pages
from hub.web_pages import config_forms as forms
from tests.support.hub_process import REPO, HubProcess
from tests.web.conftest import (
    CSRF,
    DISTRICT,
    PASSWORD,
    START,
    Client,
    Clock,
    add_accounts,
    csrf_of,
    make_pages,
    sign_in,
)

GRID = "/admin/sites/centre/matrix"
SETTINGS = "/admin/sites/centre/settings"
SITE_PAGES = [GRID, SETTINGS, "/admin/sites/xiaozhai/matrix", "/admin/sites/xiaozhai/settings"]
DISTRICT_PAGES = ["/admin/catalogue", "/admin/catalogue/A01", "/admin/calendar"]
ROUTES = [*SITE_PAGES, *DISTRICT_PAGES, "/admin/config/versions"]
POSTS = [*SITE_PAGES, *DISTRICT_PAGES]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the accounts and the sample district as version 1, copied for each test (its changes are its
    own; hashing the accounts' passwords once)."""
    folder = tmp_path_factory.mktemp("configure")
    store = open_store(f"sqlite:///{folder / 'hall.db'}")
    add_accounts(accounts_for(store, DISTRICT))
    store.save_district(msgspec.json.encode(DISTRICT))
    store.close()
    return folder


@pytest.fixture
def store(prepared: Path, tmp_path: Path) -> Iterator[EventStore]:
    for file in prepared.glob("hall.db*"):
        shutil.copy(file, tmp_path / file.name)
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    yield store
    store.close()


@pytest.fixture
def pages(store: EventStore, clock: Clock) -> Pages:
    """The conftest's ``client`` serves these pages: this test's own store and gateway."""
    return make_pages(store, clock)


class FormFields(HTMLParser):
    """The fields of a page's configuration form (``id="config-form"``) as a browser sends them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._inside = False
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        name = given.get("name")
        if tag == "form":
            self._inside = given.get("id") == "config-form"
        elif not self._inside or (name is None and tag != "option"):
            return
        elif tag == "input" and name is not None:
            if given.get("type") != "checkbox":
                self.fields[name] = given.get("value") or ""
            elif "checked" in given:
                self.fields[name] = given.get("value") or "on"
        elif tag == "textarea" and name is not None:
            self._textarea, self.fields[name] = name, ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select is not None and "selected" in given:
            self.fields[self._select] = given.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        self._textarea = None if tag == "textarea" else self._textarea
        self._select = None if tag == "select" else self._select

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def form_of(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    assert parser.fields, "the page has no configuration form"
    return parser.fields


async def opened(client: Client, path: str) -> dict[str, str]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return form_of(await response.text())


JSON = {"Accept": "application/json"}


async def post(
    client: Client, path: str, form: dict[str, str], headers: dict[str, str] | None = None
) -> aiohttp.ClientResponse:
    """A form sent as a browser sends it (URL-encoded, UTF-8)."""
    kind = {"Content-Type": "application/x-www-form-urlencoded"}
    return await client.post(path, data=urlencode(form), headers=kind | (headers or {}), allow_redirects=False)


def problem_at(html: str, field: str) -> str:
    """The words shown beside a form field (its first problem)."""
    start = html.index(f'id="problem-{field}"')
    return html[html.index(">", start) + 1 : html.index("</span>", start)]


def in_force(pages: Pages, site_id: str = "centre") -> Site:
    """The site as the gateway has it now."""
    site = pages.hall.gateway.district.site(site_id)
    assert site is not None
    return site


def window(pages: Pages, window_id: str) -> Window:
    found = in_force(pages).window(window_id)
    assert found is not None, window_id
    return found


def matter(pages: Pages, code: str) -> Matter:
    found = pages.hall.gateway.district.matter(code)
    assert found is not None, code
    return found


# --- who may -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ROUTES)
async def test_signed_out_pages_send_to_the_sign_in_and_saves_are_refused(client: Client, path: str) -> None:
    page = await client.get(path, allow_redirects=False)
    saved = await post(client, path, {"csrf": await csrf_of(client)})

    assert page.status == 303 and page.headers["Location"] == f"/admin/sign-in?next={path}"
    assert saved.status == (401 if path in POSTS else 405)


@pytest.mark.parametrize(("username", "paths", "code"), [
    ("zhao", ROUTES, "wrong_role"),
    ("wang", [GRID, SETTINGS], "wrong_site"),
    ("li", ["/admin/sites/xiaozhai/matrix", "/admin/sites/xiaozhai/settings"], "wrong_site"),
])  # fmt: skip
async def test_staff_and_another_site_s_manager_are_refused_every_page_and_save(
    client: Client, username: str, paths: list[str], code: str
) -> None:
    assert await sign_in(client, username) == 303
    token = await csrf_of(client, "/admin/")

    for path in paths:
        answers = [await client.get(f"{path}.json")]
        if path in POSTS:
            answers.append(await post(client, path, {"csrf": token, "base": "x", "tier": "station"}, JSON))
        for answer in answers:
            assert answer.status == 403, (path, answer.status)
            assert (await answer.json())["error"]["code"] == code


async def test_an_unknown_site_or_matter_is_404_after_the_scope_check(client: Client) -> None:
    assert await sign_in(client, "root") == 303

    site = await client.get("/admin/sites/nowhere/matrix")
    matter = await client.get("/admin/catalogue/Z99.json")

    assert site.status == 404 and "没有这个站点" in await site.text()
    assert matter.status == 404 and (await matter.json())["error"]["code"] == "no_matter"


async def test_the_grid_answers_json_too(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303

    answer = await (await client.get(f"{GRID}.json")).json()
    refused = await post(client, GRID, form_of(await (await client.get(GRID)).text()) | {"w.w01.A01": "0"}, JSON)

    assert answer["base"] == pages.configuration.digest("site:centre") and answer["version"] == 1
    assert [w["window_id"] for w in answer["windows"]][:2] == ["w01", "w02"] and answer["values"]["w.w01.A01"] == "3"
    assert [g["prefix"] for g in answer["groups"]] == ["A", "B", "C", "D", "E", "F", "G"]
    body = await refused.json()
    assert refused.status == 422 and body["ok"] is False and body["error"]["code"] == "invalid"
    assert [p["field"] for p in body["problems"]["at"]["w.w01.A01"]] == ["sites.centre.windows.w01.weights.A01"]


async def test_a_manager_reads_the_catalogue_and_calendar_but_may_not_save_them(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    token = await csrf_of(client, "/admin/catalogue")
    version = pages.configuration.version

    for path in DISTRICT_PAGES:
        html = await (await client.get(path)).text()
        assert "保存并推送到设备" not in html, path
        response = await post(client, path, {"csrf": token, "base": pages.configuration.digest("calendar")})
        assert response.status == 403 and "您的角色无权打开此页面" in await response.text()
    assert "仅区级管理员可修改" in await (await client.get("/admin/catalogue/A01")).text()
    assert (await client.get("/admin/config/versions")).status == 200
    assert pages.configuration.version == version


async def test_a_save_without_the_form_s_token_is_refused_and_changes_nothing(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, GRID)

    without = {name: value for name, value in form.items() if name != "csrf"} | {"w.w11.B01": "2"}
    for sent in (without, without | {"csrf": "forged"}):
        response = await post(client, GRID, sent)
        assert response.status == 403 and "表单已过期，请刷新页面后重试" in await response.text()
    assert pages.configuration.version == 1 and not window(pages, "w11").serves("B01")


# --- the grid ------------------------------------------------------------------------------------------------


async def test_a_saved_grid_is_a_new_version_in_force_in_the_gateway_at_once(
    client: Client, pages: Pages, store: EventStore
) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, GRID)
    assert form["w.w01.A01"] == "3" and form["w.w11.B01"] == "" and form["zone.w01"] == "综合受理区"

    response = await post(client, GRID, form | {"w.w11.B01": "2", "w.w05.A03": "", "reason": "11 号窗口增办社保卡"})

    assert response.status == 303 and response.headers["Location"] == f"{GRID}?saved=2"
    w11 = window(pages, "w11")
    assert w11.weights == {"F01": 3, "F02": 3, "B01": 2} and not window(pages, "w05").serves("A03")
    info = {m.code: m.windows for m in site_info(pages.hall.gateway.district, in_force(pages)).matters}
    assert 11 in info["B01"] and 5 not in info["A03"]
    newest = store.district_versions()[0]
    assert (newest.version, newest.author, newest.reason) == (2, "li", "11 号窗口增办社保卡")
    (entry,) = [e for e in pages.audit.entries("centre") if e.action == Action.CONFIG_CHANGED]
    assert (entry.actor, entry.subject) == ("li", "site:centre")
    shown = await (await client.get(response.headers["Location"])).text()
    assert "已保存为第 2 版，已推送到设备" in shown and form_of(shown)["w.w11.B01"] == "2"


async def test_a_weight_that_cannot_be_is_shown_beside_its_cell_in_chinese_and_nothing_is_saved(
    client: Client, pages: Pages
) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, GRID)

    response = await post(client, GRID, form | {"w.w01.A01": "12", "w.w11.B01": "2", "zone.w02": "二区"})

    html = await response.text()
    assert response.status == 422
    assert "1 号窗口对 A01 的权重须为 1 至 9 的整数（留空表示不办理），现为“12”" in problem_at(html, "w.w01.A01")
    again = form_of(html)
    assert (again["w.w01.A01"], again["w.w11.B01"], again["zone.w02"]) == ("12", "2", "二区")
    assert 'name="w.w01.A01" value="12"' in html and 'aria-invalid="true"' in html
    assert pages.configuration.version == 1 and not window(pages, "w11").serves("B01")
    english = await post(client, f"{GRID}?lang=en", form | {"w.w01.A01": "x"})
    assert english.status == 422 and "the weight of A01 must be a whole number from 1 to 9" in await english.text()


async def test_the_engine_s_and_the_hall_s_problems_stand_beside_columns_rows_and_at_the_top(
    client: Client, pages: Pages
) -> None:
    assert await sign_in(client, "root") == 303
    form = await opened(client, GRID)
    for command in (cmd.OpenDay(command_id="day", site_id="centre", at=START),
                    cmd.OpenWindow(command_id="w05", site_id="centre", at=START, window_id="w05")):  # fmt: skip
        outcome = await pages.hall.on_writer(pages.hall.gateway.execute, command)
        assert outcome.rejection is None

    nothing_for_g = await post(client, GRID, form | {"w.w12.G01": "", "w.w12.G02": "", "w.w12.A01": ""})
    w05_removed = await post(client, GRID, form | {"remove.w05": "on"})
    every_window = await post(client, GRID, form | {f"remove.{w.id}": "on" for w in in_force(pages).windows})

    html = await nothing_for_g.text()
    assert nothing_for_g.status == 422 and problem_at(html, "col.G01") == "!"  # a mark on the column's head
    assert '<a href="#problem-col.G01">本站点没有窗口办理' in html
    assert problem_at(html, "row.w12") == "12 号窗口还没有办理任何事项"
    removed = await w05_removed.text()
    assert w05_removed.status == 422 and "5 号窗口正在开放" in problem_at(removed, "row.w05")
    top = (await every_window.text()).split('class="problems-box"')[1].split("</div>")[0]
    assert every_window.status == 422 and "<li>本站点还没有窗口</li>" in top
    assert pages.configuration.version == 1


async def test_a_window_is_added_and_removed_on_the_grid(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, GRID)
    new = {"new.id": "w13", "new.number": "13", "zone._new": "综合受理区", "w._new.A02": "2", "w._new.B01": "1"}

    added = await post(client, GRID, form | new | {"remove.w06": "on"})
    again = await opened(client, GRID)

    assert added.status == 303
    w13 = window(pages, "w13")
    assert (w13.number, w13.name_zh, w13.weights) == (13, "13号窗口", {"A02": 2, "B01": 1})
    assert in_force(pages).window("w06") is None
    assert again["w.w13.A02"] == "2" and "zone.w06" not in again and again["new.id"] == ""


async def test_a_form_older_than_a_colleague_s_save_is_refused_and_theirs_kept(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    mine = await opened(client, GRID)
    colleague = await opened(client, GRID)
    assert (await post(client, GRID, colleague | {"w.w11.B01": "1"})).status == 303

    response = await post(client, GRID, mine | {"w.w09.D02": ""})

    html = await response.text()
    assert response.status == 409 and "已有其他人保存了这部分配置" in html and f'href="{GRID}"' in html
    assert window(pages, "w11").serves("B01") and window(pages, "w09").serves("D02")
    assert pages.configuration.version == 2


async def test_a_form_saved_as_it_was_drawn_makes_no_new_version(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, GRID)

    response = await post(client, GRID, form)

    assert response.status == 200 and "没有改动，未保存新版本" in await response.text()
    assert pages.configuration.version == 1


# --- settings -----------------------------------------------------------------------------------------------


async def test_the_board_notice_reaches_the_boards_snapshot_at_once(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, SETTINGS)
    assert "tier" not in form

    too_long = await post(client, SETTINGS, form | {"notice": "通" * 81})
    saved = await post(client, SETTINGS, form | {"notice": "今日下午系统升级，请提前取号", "reason": "系统升级"})

    assert too_long.status == 422 and "大厅屏通知过长：81 个字符，最多 80 个" in problem_at(
        await too_long.text(), "notice"
    )
    assert saved.status == 303 and saved.headers["Location"] == f"{SETTINGS}?saved=2"
    assert (await pages.hall.snapshot("centre")).notice == "今日下午系统升级，请提前取号"
    assert (await pages.hall.snapshot("xiaozhai")).notice == ""


async def test_hours_that_cannot_be_read_are_shown_beside_their_day(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, SETTINGS)

    unreadable = await post(client, SETTINGS, form | {"hours.1": "08:30-12:00, 13:30"})
    overlapping = await post(client, SETTINGS, form | {"hours.2": "08:30-12:00, 11:00-17:00"})
    good = await post(client, SETTINGS, form | {"hours.6": "", "hours.1": "08:30-12:00, 13:30-17:30"})

    assert unreadable.status == 422 and "周一：无法识别“13:30”" in problem_at(await unreadable.text(), "hours.1")
    assert overlapping.status == 422 and "结束之前就开始了" in problem_at(await overlapping.text(), "hours.2")
    assert good.status == 303 and 6 not in in_force(pages).hours and len(in_force(pages).hours[1]) == 2


async def test_only_an_administrator_changes_the_tier(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, SETTINGS)
    refused = await post(client, SETTINGS, form | {"tier": "station"})
    assert refused.status == 403 and "只有区级管理员可以修改站点层级" in await refused.text()

    assert await sign_in(client, "root") == 303
    admin = await opened(client, SETTINGS)
    assert admin["tier"] == "centre"
    saved = await post(client, SETTINGS, admin | {"tier": "station"})
    assert saved.status == 303 and in_force(pages).tier == "station"


async def test_a_matter_is_offered_with_its_windows_and_one_people_wait_for_cannot_be_dropped(
    client: Client, pages: Pages
) -> None:
    assert await sign_in(client, "root") == 303
    path = "/admin/sites/xiaozhai/settings"
    form = await opened(client, path)
    assert "enable.B03" not in form and form["enable.E03"] == "on"

    offered = await post(client, path, form | {"enable.B03": "on", "serve.B03": "1, 3", "limit.B03": "20"})

    assert offered.status == 303
    site = in_force(pages, "xiaozhai")
    assert site.matters["B03"] == 20 and [w.number for w in site.windows if w.serves("B03")] == [1, 3]


# --- the catalogue, the calendar, the versions --------------------------------------------------------------


async def test_an_administrator_edits_a_matter_and_its_materials(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "root") == 303
    path = "/admin/catalogue/A01"
    form = await opened(client, path)
    row = {"material.5.name_zh": "授权委托书", "material.5.name_en": "Power of attorney"}

    over = await post(client, path, form | {"daily_limit": "1000"})
    saved = await post(client, path, form | row | {"material.0.remove": "on", "daily_limit": "60"})

    assert over.status == 422 and "每日限额须在 1 至 999 之间" in problem_at(await over.text(), "daily_limit")
    assert saved.status == 303
    a01 = matter(pages, "A01")
    assert a01.daily_limit == 60 and a01.materials[-1].name_zh == "授权委托书" and len(a01.materials) == 5


async def test_an_administrator_adds_a_matter(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "root") == 303
    form = await opened(client, "/admin/catalogue")
    new = {"code": "H01", "name_zh": "退役军人优待证申领", "name_en": "Veteran's card", "category": "civil_affairs",
           "prefix": "H", "daily_limit": "30", "material.0.name_zh": "身份证",
           "material.0.name_en": "ID card"}  # fmt: skip

    taken = await post(client, "/admin/catalogue", form | new | {"code": "A01"})
    added = await post(client, "/admin/catalogue", form | new)

    assert taken.status == 422 and "A01 已被" in problem_at(await taken.text(), "code")
    assert added.status == 303 and added.headers["Location"] == "/admin/catalogue/H01?saved=2"
    h01 = matter(pages, "H01")
    assert h01.prefix == "H" and len(h01.materials) == 1
    assert "已保存为第 2 版" in await (await client.get(added.headers["Location"])).text()


async def test_the_calendar_is_saved_and_a_weekday_make_up_day_is_refused_beside_its_box(
    client: Client, pages: Pages
) -> None:
    assert await sign_in(client, "root") == 303
    form = await opened(client, "/admin/calendar")

    weekday = await post(client, "/admin/calendar", form | {"makeup": form["makeup"] + "\n2026-12-29"})
    saved = await post(client, "/admin/calendar", form | {"holidays": form["holidays"] + "\n2026-12-31 至 2027-01-02"})

    assert weekday.status == 422 and "2026-12-29 是周二" in problem_at(await weekday.text(), "makeup")
    assert saved.status == 303
    assert {date(2026, 12, 31), date(2027, 1, 2)} <= pages.hall.gateway.district.calendar.holidays


async def test_the_versions_show_who_saved_what_and_why(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, GRID)
    await post(client, GRID, form | {"w.w11.B01": "1", "reason": "11 号窗口增办社保卡"})

    answer = await (await client.get("/admin/config/versions.json")).json()
    html = await (await client.get("/admin/config/versions")).text()

    assert [(v["version"], v["author"], v["reason"]) for v in answer["versions"]] == [
        (2, "li", "11 号窗口增办社保卡"), (1, None, None)]  # fmt: skip
    assert "11 号窗口增办社保卡" in html and "从区配置文件导入" in html


# --- forms no page drew -------------------------------------------------------------------------------------


async def test_a_form_that_is_not_the_page_s_is_400_and_changes_nothing(client: Client, pages: Pages) -> None:
    assert await sign_in(client, "li") == 303
    form = await opened(client, GRID)
    token = form["csrf"]
    missing = {k: v for k, v in form.items() if k != "w.w03.A01"}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token}

    answers = [
        await post(client, GRID, missing),
        await post(client, GRID, form | {"w.w99.A01": "1"}),
        await client.post(GRID, data=[*form.items(), ("w.w01.A01", "2")], allow_redirects=False),
        await client.post(GRID, data=b"zone.w01=\xff\xfe", headers=headers),
        await client.post(GRID, data=b"zone.w01=%C3", headers=headers),
    ]

    assert [answer.status for answer in answers] == [400] * len(answers)
    assert pages.configuration.version == 1


TYPED = st.text(max_size=20) | st.sampled_from(["", "1", "9", "0", "10", "-1", "１", "x" * 20000, "\x00", "08:30"])
FIELDS = {
    GRID: sorted(forms.grid_values(DISTRICT.sites[0])),
    SETTINGS: sorted(forms.settings_values(DISTRICT.sites[0], DISTRICT)),
    "/admin/catalogue": sorted(forms.matter_values(None)),
    "/admin/catalogue/A01": sorted(forms.matter_values(DISTRICT.catalogue[0])),
    "/admin/calendar": ["holidays", "makeup"],
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_no_form_makes_a_page_fail(client: Client, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(sorted(FIELDS)))
    changes = data.draw(st.dictionaries(st.sampled_from(FIELDS[path]), TYPED, max_size=6))
    extra = data.draw(st.dictionaries(st.text(max_size=12), TYPED, max_size=2))
    if (await client.get(GRID, allow_redirects=False)).status != 200:
        assert await sign_in(client, "root") == 303
    form = await opened(client, path)

    response = await post(client, path, form | changes | extra)

    assert response.status in (200, 303, 400, 409, 422), (path, response.status)


# --- the running hub ----------------------------------------------------------------------------------------


def add_manager(hub: HubProcess) -> None:
    """The centre's manager ``li`` (password ``PASSWORD``), added to the hub's database by its own command line."""
    made = subprocess.run(
        [sys.executable, "-m", "hub.cli", "admin", "add", "li", "--role", "manager", "--site", "centre"],
        input=PASSWORD, text=True, cwd=REPO, env=hub.env, capture_output=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr


async def test_a_grid_saved_in_the_running_hub_reaches_the_site_s_info_within_a_second(hub: HubProcess) -> None:
    kiosk = hub.provision("centre", "kiosk")
    add_manager(hub)
    hub.start()
    infos: list[tuple[float, wire.SiteInfo]] = []
    link = hub.link(kiosk, "centre", wire.DeviceKind.KIOSK)
    link.follow_retained(wire.info_topic("centre"), wire.SiteInfo, lambda info: infos.append((time.monotonic(), info)))

    def windows(info: wire.SiteInfo, code: str) -> tuple[int, ...]:
        return next(matter.windows for matter in info.matters if matter.code == code)

    deadline = time.monotonic() + 10
    while not infos and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert infos and 11 not in windows(infos[-1][1], "B01")
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{hub.http_port}", cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        async with session.get("/admin/sign-in") as response:
            found = CSRF.search(await response.text())
        assert found is not None
        async with session.post(
            "/admin/sign-in", data={"csrf": found.group(1), "username": "li", "password": PASSWORD}
        ):
            pass
        async with session.get(GRID) as response:
            form = form_of(await response.text())
        async with session.post(GRID, data=form | {"w.w11.B01": "1"}, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            saved_at = time.monotonic()

    while time.monotonic() < saved_at + 1 and not any(11 in windows(info, "B01") for _, info in infos):
        await asyncio.sleep(0.01)
    arrived = [at for at, info in infos if 11 in windows(info, "B01")]
    assert arrived and arrived[0] - saved_at < 1.0, f"the info did not follow within a second ({arrived})"

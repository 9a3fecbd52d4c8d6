"""The configuration forms read without HTTP: each form as drawn reads back to the district unchanged; what a person
types wrong becomes a problem at its field (in Chinese and English), placed beside its form field; a form these
pages did not draw is ``Malformed``; no value of any field makes the reading fail otherwise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.district import District, Period, Site
from engine.district_check import Problem
from hub.configuration import digest
from hub.web_pages import config_forms as forms
from tests.web.conftest import DISTRICT

SITES = [site.id for site in DISTRICT.sites]
CENTRE = "centre"


def site(district: District, site_id: str = CENTRE) -> Site:
    found = district.site(site_id)
    assert found is not None
    return found


def drawn(values: dict[str, str], subject: str) -> dict[str, str]:
    """A form's fields as a browser sends them: the values, the hidden fields and an empty reason."""
    return {**values, "csrf": "token", "base": digest(DISTRICT, subject), "reason": ""}


def grid_form(site_id: str = CENTRE, **changes: str) -> dict[str, str]:
    return drawn(forms.grid_values(site(DISTRICT, site_id)), f"site:{site_id}") | changes


def settings_form(site_id: str = CENTRE, **changes: str) -> dict[str, str]:
    """A hall manager's settings form (an administrator's has the ``tier`` too)."""
    values = forms.settings_values(site(DISTRICT, site_id), DISTRICT)
    del values["tier"]
    return drawn(values, f"site:{site_id}") | changes


def fields_at(parsed: forms.Parsed) -> dict[str, list[str]]:
    """Form field -> the Chinese words of its problems (the form's own and the engine's)."""
    shown = forms.placed(forms.all_problems(parsed, DISTRICT), parsed.locate)
    assert shown["general"] == [], shown["general"]
    return {field: [problem["zh"] for problem in found] for field, found in shown["at"].items()}


# --- each form as drawn reads back to what is in force --------------------------------------------------------


@pytest.mark.parametrize("site_id", SITES)
def test_a_drawn_grid_and_settings_read_back_to_the_site_unchanged(site_id: str) -> None:
    grid = forms.parse_grid(grid_form(site_id), DISTRICT, site_id)
    own = forms.parse_settings(settings_form(site_id, tier=site(DISTRICT, site_id).tier.value), DISTRICT, site_id,
                               may_set_tier=True)  # fmt: skip

    for parsed in (grid, own):
        assert parsed.problems == [] and parsed.subject == f"site:{site_id}"
        assert parsed.edit(DISTRICT) == DISTRICT
        assert digest(parsed.edit(DISTRICT), parsed.subject) == parsed.base


def test_every_matter_and_the_calendar_read_back_unchanged() -> None:
    for matter in DISTRICT.catalogue:
        values = drawn(forms.matter_values(matter), f"matter:{matter.code}")
        parsed = forms.parse_matter(values, DISTRICT, matter.code)
        assert parsed.problems == [] and parsed.edit(DISTRICT) == DISTRICT, matter.code
    for english in (False, True):
        values = drawn(forms.calendar_values(DISTRICT.calendar, english=english), "calendar")
        parsed = forms.parse_calendar(values, DISTRICT)
        assert parsed.problems == [] and parsed.edit(DISTRICT) == DISTRICT


# --- the grid -----------------------------------------------------------------------------------------------


def test_a_cell_sets_the_weight_and_a_blank_cell_stops_the_window_serving() -> None:
    parsed = forms.parse_grid(grid_form(**{"w.w11.B01": "２", "w.w01.A01": " ", "zone.w11": " 综合区 "}), DISTRICT,
                              CENTRE)  # fmt: skip

    after = site(parsed.edit(DISTRICT))
    w11, w01 = after.window("w11"), after.window("w01")
    assert w11 is not None and w01 is not None
    assert w11.weights == {"B01": 2, "F01": 3, "F02": 3} and w11.zone == "综合区"
    assert "A01" not in w01.weights and w01.weights["A02"] == 3
    assert list(w11.weights) == ["F01", "F02", "B01"]  # the window's own order kept, a new matter after it


@pytest.mark.parametrize("typed", ["0", "10", "x", "-1", "1.5", "一", "9" * 5000])
def test_a_weight_out_of_1_to_9_is_a_problem_beside_its_cell_and_the_old_weight_stays(typed: str) -> None:
    parsed = forms.parse_grid(grid_form(**{"w.w01.A01": typed}), DISTRICT, CENTRE)

    (problem,) = parsed.problems
    assert problem.field == "sites.centre.windows.w01.weights.A01"
    assert "1 号窗口对 A01 的权重须为 1 至 9 的整数" in problem.zh and "1 to 9" in problem.en
    assert fields_at(parsed) == {"w.w01.A01": [problem.zh]}
    assert site(parsed.edit(DISTRICT)).window("w01").weights["A01"] == 3  # type: ignore[union-attr]


def test_the_engine_s_problems_of_the_grid_are_placed_by_column_and_row() -> None:
    parsed = forms.parse_grid(grid_form(**{"w.w12.G01": "", "w.w12.G02": "", "w.w12.A01": ""}), DISTRICT, CENTRE)
    open_window = Problem("sites.centre.windows.w05", "5 号窗口正在开放", "Window 5 is open")  # as the core says

    found = forms.placed([*forms.all_problems(parsed, DISTRICT), open_window], parsed.locate)

    assert parsed.problems == [] and found["general"] == []
    at = {field: [p["zh"] for p in problems] for field, problems in found["at"].items()}
    assert set(at) == {"col.G01", "col.G02", "row.w12", "row.w05"}
    assert all("本站点没有窗口办理" in at[f"col.{code}"][0] and code in at[f"col.{code}"][0] for code in ("G01", "G02"))
    assert at["row.w12"] == ["12 号窗口还没有办理任何事项"] and at["row.w05"] == ["5 号窗口正在开放"]


def test_a_window_is_added_from_the_last_row_and_removed_by_its_box() -> None:
    parsed = forms.parse_grid(
        grid_form(**{"new.id": "w13", "new.number": "13", "zone._new": "综合受理区", "w._new.A01": "2",
                     "w._new.B01": "1", "remove.w06": "on"}), DISTRICT, CENTRE,
    )  # fmt: skip

    assert parsed.problems == []
    after = site(parsed.edit(DISTRICT))
    new = after.window("w13")
    assert new is not None and (new.number, new.name_zh, new.name_en) == (13, "13号窗口", "Window 13")
    assert new.weights == {"A01": 2, "B01": 1} and new.zone == "综合受理区"
    assert after.window("w06") is None and len(after.windows) == len(site(DISTRICT).windows)


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ({"new.id": "", "new.number": "13", "w._new.A01": "1"}, "new.id", "请填写新窗口的代码"),
        ({"new.id": "W 13", "new.number": "13", "w._new.A01": "1"}, "new.id", "只能由小写字母"),
        ({"new.id": "w05", "new.number": "13", "w._new.A01": "1"}, "new.id", "已被 5 号窗口使用"),
        ({"new.id": "w13", "new.number": "十三", "w._new.A01": "1"}, "new.number", "须为整数"),
        ({"new.id": "w13", "new.number": "", "w._new.A01": "1"}, "new.number", "请填写新窗口的窗口号"),
        ({"new.id": "w13", "new.number": "13", "w._new.A01": "x"}, "w._new.A01", "新窗口对 A01 的权重"),
        ({"new.id": "w13", "new.number": "5", "w._new.A01": "1"}, "new.number", "已被窗口 w05 使用"),
        ({"new.id": "w13", "new.number": "13"}, "row._new", "13 号窗口还没有办理任何事项"),
    ],
)
def test_a_new_window_s_problems_stand_in_its_row(row: dict[str, str], field: str, words: str) -> None:
    parsed = forms.parse_grid(grid_form(**row), DISTRICT, CENTRE)

    at = fields_at(parsed)
    assert list(at) == [field] and words in at[field][0]


# --- a site's settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "periods"),
    [
        ("08:30-12:00, 13:30-17:30", (Period(time(8, 30), time(12)), Period(time(13, 30), time(17, 30)))),
        ("8:30 – 12:00，13:30～17:30", (Period(time(8, 30), time(12)), Period(time(13, 30), time(17, 30)))),
        ("０９：００至１７：００", (Period(time(9), time(17)),)),
        ("", None),
    ],
)
def test_weekly_hours_are_read_in_the_ways_people_type_them(typed: str, periods: tuple[Period, ...] | None) -> None:
    parsed = forms.parse_settings(settings_form(**{"hours.1": typed}), DISTRICT, CENTRE, may_set_tier=False)

    assert parsed.problems == []
    assert site(parsed.edit(DISTRICT)).hours.get(1) == periods


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("08:30-12:00, 13:30", "周一：无法识别“13:30”"),
        ("8.30-12.00", "周一：“8.30”不是时间"),
        ("08:30-24:00", "周一：“24:00”不是时间"),
        ("08:30-12:00, 12:30-13:00, 13:30-14:00, 15:00-16:00, 16:30-17:00", "周一最多 4 个时段"),
        ("12:00-08:30", "结束时间 08:30 不晚于开始时间 12:00"),
        ("08:30-12:00, 11:00-17:00", "在上一时段 08:30-12:00 结束之前就开始了"),
    ],
)
def test_hours_that_cannot_be_read_or_make_no_sense_are_a_problem_beside_the_day(typed: str, words: str) -> None:
    parsed = forms.parse_settings(settings_form(**{"hours.1": typed}), DISTRICT, CENTRE, may_set_tier=False)

    at = fields_at(parsed)
    assert list(at) == ["hours.1"] and words in at["hours.1"][0], at


def test_site_values_are_checked_beside_their_fields() -> None:
    form = settings_form(latitude="北纬34", longitude="200", name_zh="", notice="通" * 81, target_wait="0",
                         **{"limit.A01": "1000", "window.w02.number": "1"})  # fmt: skip
    parsed = forms.parse_settings(form, DISTRICT, CENTRE, may_set_tier=False)

    at = fields_at(parsed)
    assert set(at) == {"latitude", "longitude", "name_zh", "notice", "target_wait", "limit.A01", "window.w02.number"}
    assert "纬度须为数字" in at["latitude"][0] and "经度须在 -180 至 180 之间" in at["longitude"][0]
    assert "请填写中文名称" in at["name_zh"][0] and "大厅屏通知过长：81 个字符，最多 80 个" in at["notice"][0]
    assert "须在 1 至 480 之间" in at["target_wait"][0] and "每日限额须在 0 至 999 之间" in at["limit.A01"][0]
    assert "窗口号 1 已被窗口 w01 使用" in at["window.w02.number"][0]


def test_a_notice_and_a_target_wait_are_saved_into_the_site() -> None:
    form = settings_form(notice=" 今天下午 3 点起暂停办理不动产业务 ", target_wait="20", name_en="Yanta Centre")
    parsed = forms.parse_settings(form, DISTRICT, CENTRE, may_set_tier=False)

    after = site(parsed.edit(DISTRICT))
    assert (after.notice, after.rules.target_wait_minutes, after.name_en) == ("今天下午 3 点起暂停办理不动产业务", 20,
                                                                             "Yanta Centre")  # fmt: skip
    assert after.rules.max_calls == site(DISTRICT).rules.max_calls


def test_a_matter_unticked_leaves_every_window_and_one_ticked_is_served_by_the_windows_given() -> None:
    form = settings_form("xiaozhai", **{"serve.B03": "1, 3", "enable.B03": "on"})
    del form["enable.E03"]
    parsed = forms.parse_settings(form, DISTRICT, "xiaozhai", may_set_tier=False)

    assert parsed.problems == []
    after = site(parsed.edit(DISTRICT), "xiaozhai")
    assert "E03" not in after.matters and not any(w.serves("E03") for w in after.windows)
    assert after.matters["B03"] == 0 and list(after.matters)[-1] == "B03"
    assert [w.number for w in after.windows if w.serves("B03")] == [1, 3]
    assert after.window("w1").weights["B03"] == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"enable.B03": "on"}, "limit.B03", "本站点没有窗口办理"),
        ({"serve.B03": "1"}, "serve.B03", "请勾选“启用”"),
        ({"enable.B03": "on", "serve.B03": "1, 9"}, "serve.B03", "本站点没有 9 号窗口"),
    ],
)
def test_a_matter_ticked_without_its_windows_is_a_problem_beside_it(
    changes: dict[str, str], field: str, words: str
) -> None:
    parsed = forms.parse_settings(settings_form("xiaozhai", **changes), DISTRICT, "xiaozhai", may_set_tier=False)

    at = fields_at(parsed)
    assert list(at) == [field] and words in at[field][0], at


def test_only_an_administrator_s_form_reads_the_tier() -> None:
    admin = forms.parse_settings(settings_form(tier="station"), DISTRICT, CENTRE, may_set_tier=True)
    wrong = forms.parse_settings(settings_form(tier="capital"), DISTRICT, CENTRE, may_set_tier=True)

    assert site(admin.edit(DISTRICT)).tier == "station"
    assert [p.zh for p in wrong.problems] == ["请选择站点层级"]
    with pytest.raises(forms.Malformed):
        forms.parse_settings(settings_form(tier="station"), DISTRICT, CENTRE, may_set_tier=False)


# --- the catalogue ------------------------------------------------------------------------------------------


def matter_form(matter_code: str | None, **changes: str) -> dict[str, str]:
    matter = DISTRICT.matter(matter_code) if matter_code else None
    return drawn(forms.matter_values(matter), f"matter:{matter_code}") | changes


def test_materials_are_rows_empty_ones_ignored_ticked_ones_removed() -> None:
    a01 = DISTRICT.matter("A01")
    assert a01 is not None and len(a01.materials) == 5
    new_row = {"material.6.name_zh": "授权委托书", "material.6.name_en": "Power of attorney", "material.6.copies": "1"}
    parsed = forms.parse_matter(matter_form("A01", **new_row, **{"material.0.remove": "on"}), DISTRICT, "A01")

    assert parsed.problems == []
    after = parsed.edit(DISTRICT).matter("A01")
    assert after is not None
    assert [m.name_zh for m in after.materials] == [*(m.name_zh for m in a01.materials[1:]), "授权委托书"]
    assert (after.materials[-1].originals, after.materials[-1].copies) == (1, 1)


def test_a_ticked_commitment_box_lets_a_signed_commitment_replace_that_material_and_unticking_takes_it_back() -> None:
    d01 = DISTRICT.matter("D01")
    assert d01 is not None and any(m.commitment_allowed for m in d01.materials)  # the sample flags two of them
    ticked = forms.parse_matter(matter_form("A01", **{"material.2.commitment_allowed": "on"}), DISTRICT, "A01")
    values = matter_form("D01")
    unticked = {key: value for key, value in values.items() if not key.endswith(".commitment_allowed")}
    cleared = forms.parse_matter(unticked, DISTRICT, "D01")

    a01, d01_after = ticked.edit(DISTRICT).matter("A01"), cleared.edit(DISTRICT).matter("D01")
    assert a01 is not None and [m.commitment_allowed for m in a01.materials] == [False, False, True, False, False]
    assert d01_after is not None and not any(m.commitment_allowed for m in d01_after.materials)


def test_a_material_s_problem_is_placed_on_its_form_row_not_its_place_in_the_list() -> None:
    row = {"material.7.name_zh": "营业执照", "material.7.originals": "0", "material.7.copies": "0"}
    parsed = forms.parse_matter(matter_form("A01", **row, **{"material.1.remove": "on"}), DISTRICT, "A01")

    at = fields_at(parsed)
    assert set(at) == {"material.7", "material.7.name_en"}
    assert "既不要原件也不要复印件" in at["material.7"][0] and "请填写英文名称" in at["material.7.name_en"][0]


def test_a_matter_is_added_and_its_problems_stand_beside_its_fields() -> None:
    good = {"code": "H01", "name_zh": "退役军人优待证申领", "name_en": "Veteran's card", "category": "civil_affairs",
            "prefix": "h", "daily_limit": "30"}  # fmt: skip
    added = forms.parse_matter(matter_form(None, **good), DISTRICT, None)
    taken = forms.parse_matter(matter_form(None, **good | {"code": "A01"}), DISTRICT, None)
    bad = forms.parse_matter(matter_form(None, **good | {"prefix": "H1", "daily_limit": "多"}), DISTRICT, None)

    matter = added.edit(DISTRICT).matter("H01")
    assert added.problems == [] and matter is not None and (matter.prefix, matter.daily_limit) == ("H", 30)
    assert added.subject == "matter:H01" and added.base == digest(DISTRICT, "matter:H01")
    assert "已被“企业开办（设立登记）”使用" in fields_at(taken)["code"][0]
    at = fields_at(bad)
    assert "须为一至两个大写字母" in at["prefix"][0] and "每日限额须为整数" in at["daily_limit"][0]


# --- the calendar -------------------------------------------------------------------------------------------


def test_holidays_are_runs_of_days_and_make_up_days_single_dates() -> None:
    form = drawn({"holidays": "2027-01-01 至 2027-01-03\n\n2027/2/10 ~ 2027/2/12\n2027-10-01 to 2027-10-02",
                  "makeup": "２０２７-０１-０９\n2027-02-20"}, "calendar")  # fmt: skip
    parsed = forms.parse_calendar(form, DISTRICT)

    assert parsed.problems == []
    calendar = parsed.edit(DISTRICT).calendar
    runs = [(1, (1, 2, 3)), (2, (10, 11, 12)), (10, (1, 2))]
    assert sorted(calendar.holidays) == [date(2027, month, day) for month, days in runs for day in days]
    assert calendar.makeup_workdays == {date(2027, 1, 9), date(2027, 2, 20)}


@pytest.mark.parametrize(
    ("field", "typed", "words"),
    [
        ("holidays", "2027-13-01", "第 1 行：“2027-13-01”不是有效日期"),
        ("holidays", "2027-01-05 至 2027-01-01", "结束日期须在开始日期当天或之后"),
        ("holidays", "2027-01-01 至 2027-06-01", "一段最长 62 天"),
        ("holidays", "元旦", "第 1 行“元旦”无法识别"),
        ("makeup", "2027-01-09 至 2027-01-10", "无法识别"),
        ("makeup", "2027-01-05", "是周二；调休上班日应为周六或周日"),
        ("makeup", "2026-10-03", "既是放假日又是调休上班日"),
    ],
)
def test_a_date_that_cannot_be_or_breaks_a_rule_is_a_problem_beside_its_box(field: str, typed: str, words: str) -> None:
    values = forms.calendar_values(DISTRICT.calendar, english=False) | {field: typed}
    parsed = forms.parse_calendar(drawn(values, "calendar"), DISTRICT)

    at = fields_at(parsed)
    assert list(at) == [field] and words in at[field][0], at


# --- forms these pages did not draw -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        lambda form: form.pop("w.w01.A01"),
        lambda form: form.pop("zone.w03"),
        lambda form: form.pop("base"),
        lambda form: form.update({"w.w99.A01": "1"}),
        lambda form: form.update({"w.w01.Z99": "1"}),
        lambda form: form.update({"tier": "centre"}),
    ],
)
def test_a_grid_form_with_a_field_missing_or_unknown_is_malformed(broken: Callable[[dict[str, str]], object]) -> None:
    form = grid_form()
    broken(form)

    with pytest.raises(forms.Malformed):
        forms.parse_grid(form, DISTRICT, CENTRE)


def test_only_text_fields_each_once_and_of_a_sane_size_make_a_form() -> None:
    assert forms.fields_of([("a", "1"), ("b", "")]) == {"a": "1", "b": ""}
    for pairs in ([("a", "1"), ("a", "2")], [("a", b"1")], [("a", "x" * (forms.MAX_VALUE + 1))],
                  [(f"f{n}", "") for n in range(forms.MAX_FIELDS + 1)]):  # fmt: skip
        with pytest.raises(forms.Malformed):
            forms.fields_of(pairs)


# --- any value of any field ---------------------------------------------------------------------------------

TYPED = (
    st.text(max_size=30)
    | st.sampled_from(["", " ", "1", "9", "０", "10", "-5", "1e3", "nan", "inf", "08:30-12:00", "2026-10-01", "1, 2"])
    | st.integers(-(10**30), 10**30).map(str)
)


def _some_values(values: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    names = sorted(values)
    return st.dictionaries(st.sampled_from(names), TYPED, max_size=12).map(lambda typed: values | typed)


@settings(max_examples=150, deadline=None)
@given(values=_some_values(forms.grid_values(site(DISTRICT))), extra=st.dictionaries(st.sampled_from(
    ["remove.w01", "remove.w12", "new.id"]), TYPED, max_size=2))  # fmt: skip
def test_no_value_of_any_grid_field_makes_reading_fail(values: dict[str, str], extra: dict[str, str]) -> None:
    parsed = forms.parse_grid(drawn(values | extra, "site:centre"), DISTRICT, CENTRE)

    shown = forms.placed(forms.all_problems(parsed, DISTRICT), parsed.locate)
    assert all(problem["zh"] and problem["en"] for found in shown["at"].values() for problem in found)


@settings(max_examples=150, deadline=None)
@given(values=_some_values(forms.settings_values(site(DISTRICT, "xiaozhai"), DISTRICT)), admin=st.booleans())
def test_no_value_of_any_settings_field_makes_reading_fail(values: dict[str, str], admin: bool) -> None:
    form = drawn(values, "site:xiaozhai")
    if not admin:
        form.pop("tier")
    parsed = forms.parse_settings(form, DISTRICT, "xiaozhai", may_set_tier=admin)

    forms.placed(forms.all_problems(parsed, DISTRICT), parsed.locate)


@settings(max_examples=100, deadline=None)
@given(matter=_some_values(forms.matter_values(DISTRICT.matter("E02"))),
       calendar=_some_values(forms.calendar_values(DISTRICT.calendar, english=False)))  # fmt: skip
def test_no_value_of_a_matter_or_calendar_field_makes_reading_fail(
    matter: dict[str, str], calendar: dict[str, str]
) -> None:
    for parsed in (forms.parse_matter(drawn(matter, "matter:E02"), DISTRICT, "E02"),
                   forms.parse_calendar(drawn(calendar, "calendar"), DISTRICT)):  # fmt: skip
        forms.placed(forms.all_problems(parsed, DISTRICT), parsed.locate)

"""The configuration checker (engine/district_check.py): the sample is sound, and each rule names the value at fault."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.district import District, Matter, Period, Site, Window
from engine.district_check import Problem, calendar_problems, catalogue_problems, problems
from hub.district_file import SAMPLE_DISTRICT, DistrictFileError, load_district

SAMPLE = load_district(SAMPLE_DISTRICT)
ROOM = "cuihualu"
"""A community room of the sample: windows w1 (number 1, all seven matters) and w2 (number 2: B01, B02, C01, E01)."""
replace = msgspec.structs.replace
Edit = Callable[[District], District]


def site(district: District, site_id: str = ROOM, **changes: Any) -> District:
    sites = tuple(replace(s, **changes) if s.id == site_id else s for s in district.sites)
    return replace(district, sites=sites)


def room(**changes: Any) -> Edit:
    return lambda district: site(district, **changes)


def window(window_id: str, site_id: str = ROOM, **changes: Any) -> Edit:
    def edit(district: District) -> District:
        found = district.site(site_id)
        assert found is not None
        windows = tuple(replace(w, **changes) if w.id == window_id else w for w in found.windows)
        return site(district, site_id, windows=windows)

    return edit


def weights(window_id: str, **weights: int) -> Edit:
    def edit(district: District) -> District:
        found = district.site(ROOM)
        assert found is not None
        old = found.window(window_id)
        assert old is not None
        return window(window_id, weights={**old.weights, **weights})(district)

    return edit


def enabled(site_id: str = ROOM, **limits: int) -> Edit:
    def edit(district: District) -> District:
        found = district.site(site_id)
        assert found is not None
        return site(district, site_id, matters={**found.matters, **limits})

    return edit


def hours(day: int, *periods: tuple[int, int]) -> Edit:
    def edit(district: District) -> District:
        found = district.site(ROOM)
        assert found is not None
        return site(district, hours={**found.hours, day: _periods(*periods)})

    return edit


def _periods(*periods: tuple[int, int]) -> tuple[Period, ...]:
    return tuple(Period(time(start // 100, start % 100), time(end // 100, end % 100)) for start, end in periods)


def matter(code: str, **changes: Any) -> Edit:
    return lambda d: replace(d, catalogue=tuple(replace(m, **changes) if m.code == code else m for m in d.catalogue))


def material(code: str, **changes: Any) -> Edit:
    def edit(district: District) -> District:
        found = district.matter(code)
        assert found is not None
        return matter(code, materials=(replace(found.materials[0], **changes), *found.materials[1:]))(district)

    return edit


def extra_matter(**changes: Any) -> Edit:
    """A matter added to the catalogue that no site enables."""
    new = Matter(code="Z01", name_zh="测试事项", name_en="Test matter", category="test", prefix="Z", daily_limit=10)
    return lambda d: replace(d, catalogue=(*d.catalogue, replace(new, **changes)))


def rules(**changes: Any) -> Edit:
    def edit(district: District) -> District:
        found = district.site(ROOM)
        assert found is not None
        return site(district, rules=replace(found.rules, **changes))

    return edit


def makeup_workday(day: date) -> Edit:
    return lambda d: replace(d, calendar=replace(d.calendar, makeup_workdays=d.calendar.makeup_workdays | {day}))


LONG = "长" * 101
R = f"sites.{ROOM}"
W1, W2 = f"{R}.windows.w1", f"{R}.windows.w2"

RULES: list[Any] = [
    # the district
    pytest.param(lambda d: replace(d, id=" "), ["id"], id="district-id-empty"),
    pytest.param(lambda d: replace(d, name_zh=""), ["name_zh"], id="district-name-empty"),
    pytest.param(lambda d: replace(d, name_en="x" * 101), ["name_en"], id="district-name-too-long"),
    pytest.param(lambda d: replace(d, sites=()), ["sites"], id="no-sites"),
    pytest.param(lambda d: replace(d, sites=(*d.sites, d.sites[0])), ["sites.centre"], id="site-id-twice"),
    pytest.param(room(id="Cuihua Lu"), ["sites.Cuihua Lu.id"], id="site-id-not-a-name"),
    pytest.param(room(id="-cuihualu"), ["sites.-cuihualu.id"], id="site-id-starts-with-a-dash"),
    # the catalogue
    pytest.param(
        lambda d: replace(d, catalogue=(*d.catalogue, d.catalogue[0])), ["catalogue.A01.code"], id="code-twice"
    ),
    pytest.param(extra_matter(code="Z 01"), ["catalogue.Z 01.code"], id="code-with-a-space"),
    pytest.param(extra_matter(code=".Z01"), ["catalogue..Z01.code"], id="code-starts-with-a-dot"),
    pytest.param(matter("A01", prefix="a"), ["catalogue.A01.prefix"], id="prefix-lower-case"),
    pytest.param(matter("A01", prefix="ABC"), ["catalogue.A01.prefix"], id="prefix-three-letters"),
    pytest.param(matter("A01", prefix=""), ["catalogue.A01.prefix"], id="prefix-empty"),
    pytest.param(matter("A01", prefix="Ä"), ["catalogue.A01.prefix"], id="prefix-not-a-z"),
    pytest.param(matter("A01", name_zh=" "), ["catalogue.A01.name_zh"], id="matter-name-empty"),
    pytest.param(matter("A01", name_en="x" * 101), ["catalogue.A01.name_en"], id="matter-name-too-long"),
    pytest.param(matter("A01", category=""), ["catalogue.A01.category"], id="category-empty"),
    pytest.param(matter("A01", daily_limit=0), ["catalogue.A01.daily_limit"], id="catalogue-limit-zero"),
    pytest.param(extra_matter(daily_limit=1000), ["catalogue.Z01.daily_limit"], id="catalogue-limit-past-999"),
    pytest.param(material("A01", name_en=""), ["catalogue.A01.materials.0.name_en"], id="material-name-empty"),
    pytest.param(material("A01", name_zh="长" * 201), ["catalogue.A01.materials.0.name_zh"], id="material-too-long"),
    pytest.param(material("A01", originals=-1), ["catalogue.A01.materials.0.originals"], id="originals-negative"),
    pytest.param(material("A01", copies=-2), ["catalogue.A01.materials.0.copies"], id="copies-negative"),
    pytest.param(material("A01", originals=0, copies=0), ["catalogue.A01.materials.0"], id="material-asks-nothing"),
    # the calendar
    pytest.param(makeup_workday(date(2026, 3, 11)), ["calendar.makeup_workdays.2026-03-11"], id="make-up-weekday"),
    pytest.param(makeup_workday(date(2026, 10, 3)), ["calendar.makeup_workdays.2026-10-03"], id="make-up-holiday"),
    # a site's names and place
    pytest.param(room(name_zh=""), [f"{R}.name_zh"], id="site-name-empty"),
    pytest.param(room(name_en=LONG), [f"{R}.name_en"], id="site-name-too-long"),
    pytest.param(room(address_en="  "), [f"{R}.address_en"], id="address-empty"),
    pytest.param(room(address_zh="长" * 201), [f"{R}.address_zh"], id="address-too-long"),
    pytest.param(room(latitude=91.0), [f"{R}.latitude"], id="latitude-past-90"),
    pytest.param(room(latitude=float("nan")), [f"{R}.latitude"], id="latitude-not-a-number"),
    pytest.param(room(longitude=-180.5), [f"{R}.longitude"], id="longitude-past-180"),
    pytest.param(room(timezone="Asia/Xian"), [f"{R}.timezone"], id="unknown-time-zone"),
    pytest.param(room(timezone="../../etc/passwd"), [f"{R}.timezone"], id="time-zone-a-path"),
    # opening hours
    pytest.param(room(hours={}), [f"{R}.hours"], id="never-opens"),
    pytest.param(hours(8, (900, 1200)), [f"{R}.hours.8"], id="weekday-8"),
    pytest.param(hours(0, (900, 1200)), [f"{R}.hours.0"], id="weekday-0"),
    pytest.param(hours(3), [f"{R}.hours.3"], id="weekday-without-periods"),
    pytest.param(hours(3, (900, 1200), (1400, 1300)), [f"{R}.hours.3.1"], id="period-ends-before-it-starts"),
    pytest.param(hours(3, (900, 900)), [f"{R}.hours.3.0"], id="period-of-no-time"),
    pytest.param(hours(3, (900, 1200), (1130, 1700)), [f"{R}.hours.3.1"], id="periods-overlap"),
    pytest.param(hours(3, (1400, 1700), (900, 1200)), [f"{R}.hours.3.1"], id="periods-out-of-order"),
    pytest.param(
        room(makeup_day_hours=_periods((900, 1200), (1000, 1100))), [f"{R}.makeup_day_hours.1"], id="make-up-overlap"
    ),
    # enabled matters and numbering
    pytest.param(
        room(matters={}),
        [f"{R}.matters"]
        + [f"{W1}.weights.{c}" for c in ("B01", "B02", "C01", "D01", "E01", "E02", "E03")]
        + [f"{W2}.weights.{c}" for c in ("B01", "B02", "C01", "E01")],
        id="offers-no-matters",
    ),
    pytest.param(enabled(X99=5), [f"{R}.matters.X99"], id="enabled-matter-not-in-catalogue"),
    pytest.param(enabled(B02=-1), [f"{R}.matters.B02"], id="site-limit-negative"),
    pytest.param(enabled(B02=1000), [f"{R}.matters.B02"], id="site-limit-past-999"),
    pytest.param(enabled(F01=10), [f"{R}.matters.F01"], id="enabled-matter-no-window-serves"),
    pytest.param(enabled("centre", B01=900), ["sites.centre.matters"], id="prefix-numbers-shared-past-999"),
    pytest.param(matter("B01", daily_limit=900), ["sites.centre.matters"], id="catalogue-limit-shared-past-999"),
    # windows
    pytest.param(
        room(windows=()),
        [f"{R}.matters.{c}" for c in ("B01", "B02", "C01", "D01", "E01", "E02", "E03")] + [f"{R}.windows"],
        id="no-windows",
    ),
    pytest.param(window("w2", id=""), [f"{R}.windows..id"], id="window-id-empty"),
    pytest.param(window("w2", id="w1"), [f"{W1}.id"], id="window-id-twice"),
    pytest.param(window("w2", number=0), [f"{W2}.number"], id="window-number-zero"),
    pytest.param(window("w2", number=1), [f"{W2}.number"], id="window-number-twice"),
    pytest.param(window("w1", name_en=""), [f"{W1}.name_en"], id="window-name-empty"),
    pytest.param(window("w1", name_zh=LONG), [f"{W1}.name_zh"], id="window-name-too-long"),
    pytest.param(window("w2", weights={}), [f"{W2}.weights"], id="window-serves-nothing"),
    pytest.param(weights("w2", X99=1), [f"{W2}.weights.X99"], id="window-matter-not-in-catalogue"),
    pytest.param(weights("w2", F01=1), [f"{W2}.weights.F01"], id="window-matter-not-offered"),
    pytest.param(weights("w2", B01=0), [f"{W2}.weights.B01"], id="weight-zero"),
    pytest.param(weights("w2", B01=-1), [f"{W2}.weights.B01"], id="weight-negative"),
    # queue rules
    pytest.param(rules(max_calls=0), [f"{R}.rules.max_calls"], id="max-calls-zero"),
    pytest.param(rules(reactivate_after=-1), [f"{R}.rules.reactivate_after"], id="reactivate-after-negative"),
    pytest.param(rules(max_overtakes=0), [f"{R}.rules.max_overtakes"], id="max-overtakes-zero"),
    pytest.param(rules(stop_issuing_minutes=-5), [f"{R}.rules.stop_issuing_minutes"], id="stop-issuing-negative"),
    pytest.param(rules(target_wait_minutes=0), [f"{R}.rules.target_wait_minutes"], id="target-wait-zero"),
    pytest.param(rules(priority_minutes={"vip": 5}), [f"{R}.rules.priority_minutes.vip"], id="unknown-class"),
    pytest.param(rules(priority_minutes={"elderly": -1}), [f"{R}.rules.priority_minutes.elderly"], id="head-start-<0"),
    pytest.param(rules(stop_issuing_minutes=180), [f"{R}.rules.stop_issuing_minutes"], id="stop-issuing-all-day"),
    pytest.param(
        room(makeup_day_hours=_periods((900, 910))), [f"{R}.rules.stop_issuing_minutes"], id="stop-issuing-make-up-day"
    ),
]


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def test_the_sample_district_has_no_problems() -> None:
    assert problems(SAMPLE) == []


@pytest.mark.parametrize(("edit", "fields"), RULES)
def test_each_rule_names_the_value_at_fault_in_chinese_and_english(edit: Edit, fields: list[str]) -> None:
    found = problems(edit(SAMPLE))
    assert [problem.field for problem in found] == fields
    for problem in found:
        assert problem.zh.strip() and problem.en.strip() and problem.zh != problem.en
        assert is_chinese(problem.zh) and not is_chinese(problem.en), problem


def test_a_window_serving_a_matter_the_site_does_not_offer_says_which_in_the_halls_words() -> None:
    (problem,) = problems(weights("w2", F01=1)(SAMPLE))
    assert problem == Problem(
        field="sites.cuihualu.windows.w2.weights.F01",
        zh="2 号窗口办理的事项“住房公积金提取”（F01）未在本站点启用",
        en='Window 2 handles F01 "Housing provident fund withdrawal", which this site does not offer',
    )


@pytest.mark.parametrize(
    ("edit", "value"),
    [
        pytest.param(enabled(B02=1000), "1000", id="limit"),
        pytest.param(hours(3, (900, 1200), (1130, 1700)), "11:30", id="period"),
        pytest.param(room(latitude=91.5), "91.5", id="latitude"),
        pytest.param(makeup_workday(date(2026, 3, 11)), "2026-03-11", id="day"),
        pytest.param(matter("A01", prefix="a"), '"a"', id="prefix"),
        pytest.param(enabled("centre", B01=900), "1020", id="shared-numbers"),
    ],
)
def test_a_problem_shows_the_offending_value_in_both_languages(edit: Edit, value: str) -> None:
    (problem,) = problems(edit(SAMPLE))
    assert value.strip('"') in problem.zh and value in problem.en


def test_the_parts_can_be_checked_alone() -> None:
    assert [p.field for p in catalogue_problems(())] == ["catalogue"]
    assert catalogue_problems(SAMPLE.catalogue) == []
    assert calendar_problems(SAMPLE.calendar) == []


def test_the_loader_reports_the_checkers_problem_under_its_file_and_key(tmp_path: Path) -> None:
    folder = tmp_path / "yanta"
    shutil.copytree(SAMPLE_DISTRICT, folder)
    path = folder / "sites" / "cuihualu.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("E01 = 1 }", "E01 = 1, F01 = 1 }"), encoding="utf-8")
    with pytest.raises(DistrictFileError) as caught:
        load_district(folder)
    (problem,) = problems(weights("w2", F01=1)(SAMPLE))
    assert caught.value.problems == (f"sites/cuihualu.toml: windows[1].weights.F01: {problem.en}",)


# --- random edits ------------------------------------------------------------------------------------------------

CODES = [matter.code for matter in SAMPLE.catalogue] + ["X99"]
SITES = st.integers(0, len(SAMPLE.sites) - 1)
EDITS = st.one_of(
    st.tuples(st.just("weight"), SITES, st.integers(0, 11), st.sampled_from(CODES), st.integers(-2, 5)),
    st.tuples(st.just("site_limit"), SITES, st.sampled_from(CODES), st.integers(-5, 1200)),
    st.tuples(st.just("limit"), st.sampled_from(CODES[:-1]), st.integers(-5, 1200)),
    st.tuples(st.just("prefix"), st.sampled_from(CODES[:-1]), st.text(alphabet="ABGZaz1 Ä", max_size=3)),
    st.tuples(st.just("drop_matter"), st.sampled_from(CODES[:-1])),
    st.tuples(st.just("drop_enabled"), SITES, st.sampled_from(CODES)),
    st.tuples(st.just("drop_weight"), SITES, st.integers(0, 11), st.sampled_from(CODES)),
)


def _site_at(district: District, index: int) -> Site:
    return district.sites[index % len(district.sites)]


def _window_at(place: Site, index: int) -> Window:
    return place.windows[index % len(place.windows)]


def apply(district: District, edit: tuple[Any, ...]) -> District:
    kind, *args = edit
    if kind in ("weight", "drop_weight"):
        place = _site_at(district, args[0])
        target = _window_at(place, args[1])
        new = {**target.weights, args[2]: args[3]} if kind == "weight" else dict(target.weights)
        if kind == "drop_weight":
            new.pop(args[2], None)
        return window(target.id, place.id, weights=new)(district)
    if kind == "site_limit":
        return enabled(_site_at(district, args[0]).id, **{args[1]: args[2]})(district)
    if kind == "limit":
        return matter(args[0], daily_limit=args[1])(district)
    if kind == "prefix":
        return matter(args[0], prefix=args[1])(district)
    if kind == "drop_matter":
        return replace(district, catalogue=tuple(m for m in district.catalogue if m.code != args[0]))
    place = _site_at(district, args[0])
    return site(district, place.id, matters={c: n for c, n in place.matters.items() if c != args[1]})


@settings(max_examples=150, deadline=None)
@given(st.lists(EDITS, max_size=6))
def test_random_edits_give_problems_never_an_error(edits: list[tuple[Any, ...]]) -> None:
    district = SAMPLE
    for edit in edits:
        district = apply(district, edit)
    found = problems(district)
    assert all(isinstance(p, Problem) and p.field and p.zh and p.en for p in found)
    if not found:
        decoded = msgspec.json.decode(msgspec.json.encode(district), type=District)
        assert decoded == district
        assert problems(decoded) == []


def test_the_sample_survives_a_json_round_trip() -> None:
    decoded = msgspec.json.decode(msgspec.json.encode(SAMPLE), type=District)
    assert decoded == SAMPLE and problems(decoded) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda site: msgspec.structs.replace(site, notice="请注意\n午休"), "sites.centre.notice"),
        (lambda site: msgspec.structs.replace(site, notice="通" * 81), "sites.centre.notice"),
        (
            lambda site: msgspec.structs.replace(
                site, windows=(msgspec.structs.replace(site.windows[0], zone="区" * 41), *site.windows[1:])
            ),
            "sites.centre.windows.w01.zone",
        ),
        (
            lambda site: msgspec.structs.replace(
                site, windows=(msgspec.structs.replace(site.windows[0], id="W 01"), *site.windows[1:])
            ),
            "sites.centre.windows.W 01.id",
        ),
    ],
    ids=["notice-two-lines", "notice-too-long", "zone-too-long", "window-id-format"],
)
def test_lines_the_boards_show_and_window_ids_are_checked(change: Any, field: str) -> None:
    centre = SAMPLE.sites[0]
    broken = msgspec.structs.replace(SAMPLE, sites=(change(centre), *SAMPLE.sites[1:]))

    found = problems(broken)

    assert [problem.field for problem in found] == [field], found
    assert found[0].zh != found[0].en

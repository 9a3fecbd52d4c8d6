"""The sample district (Yanta, Xi'an) as data, and the loader that checks it: hub/district_file.py."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine import Rejection, SiteState, handle
from engine.calendar import next_opening, open_period
from engine.commands import Channel, IssueTicket, OpenDay, Priority
from engine.district import District, Site, Tier
from engine.events import TicketIssued
from hub.district_file import SAMPLE_DISTRICT, DistrictFileError, load_district

XIAN = ZoneInfo("Asia/Shanghai")
WEDNESDAY = (2026, 3, 11)  # an ordinary Wednesday, no holiday near it


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=XIAN)


@pytest.fixture(scope="module")
def district() -> District:
    return load_district(SAMPLE_DISTRICT)


def site_ids() -> list[str]:
    return [site.id for site in load_district(SAMPLE_DISTRICT).sites]


# --- the sample loads and looks like a district's 15-minute service circle ------------------------------------


def test_sample_district_loads_with_one_centre_two_stations_three_community_rooms(district: District) -> None:
    assert district.id == "yanta"
    assert district.name_zh == "西安市雁塔区"
    assert len(district.sites) == 6
    tiers = Counter(site.tier for site in district.sites)
    assert tiers == {Tier.CENTRE: 1, Tier.STATION: 2, Tier.COMMUNITY: 3}
    assert 15 <= len(district.catalogue) <= 20


def test_sample_path_is_absolute_and_found_from_any_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert SAMPLE_DISTRICT.is_absolute()
    assert load_district(SAMPLE_DISTRICT).id == "yanta"


def test_the_catalogue_holds_the_everyday_matters_of_a_chinese_hall(district: District) -> None:
    names = {matter.name_zh for matter in district.catalogue}
    for wanted in (
        "个体工商户设立登记",
        "食品经营许可",
        "社会保障卡申领/补换",
        "城乡居民医疗保险参保登记",
        "居住证办理",
        "住房公积金提取",
        "高龄津贴申请",
        "残疾人证办理",
    ):
        assert wanted in names
    assert len({matter.code for matter in district.catalogue}) == len(district.catalogue)
    assert len({matter.prefix for matter in district.catalogue}) <= 8
    green = [matter for matter in district.catalogue if matter.green_channel]
    assert 1 <= len(green) <= 2


def test_every_matter_has_bilingual_materials(district: District) -> None:
    for matter in district.catalogue:
        assert matter.name_zh and matter.name_en and matter.category
        assert matter.materials, matter.code
        for material in matter.materials:
            assert material.name_zh and material.name_en
            assert material.originals + material.copies >= 1


def test_sites_have_distinct_addresses_and_coordinates_inside_yanta(district: District) -> None:
    places = {(site.latitude, site.longitude) for site in district.sites}
    assert len(places) == len(district.sites)
    for site in district.sites:
        assert 34.19 <= site.latitude <= 34.24, site.id
        assert 108.92 <= site.longitude <= 108.98, site.id
        assert "雁塔区" in site.address_zh and "Yanta District" in site.address_en
    assert len({site.address_zh for site in district.sites}) == len(district.sites)


def test_tiers_differ_in_matters_and_windows(district: District) -> None:
    for site in district.sites:
        if site.tier == Tier.CENTRE:
            assert set(site.matters) == {matter.code for matter in district.catalogue}
            assert 10 <= len(site.windows) <= 12
            comprehensive = [window for window in site.windows if len(window.weights) >= 10]
            assert len(comprehensive) >= 3
            assert site.rules.stop_issuing_minutes == 30
        elif site.tier == Tier.STATION:
            assert 10 <= len(site.matters) <= 12
            assert 3 <= len(site.windows) <= 4
            assert site.rules.stop_issuing_minutes == 15
        else:
            assert 5 <= len(site.matters) <= 7
            assert 1 <= len(site.windows) <= 2
            assert site.rules.stop_issuing_minutes == 15
        green = [matter.code for matter in district.catalogue if matter.green_channel]
        assert bool(set(green) & set(site.matters)) == (site.tier == Tier.CENTRE), "green channel at the centre only"


def test_every_enabled_matter_is_served_and_no_window_serves_a_disabled_one(district: District) -> None:
    for site in district.sites:
        for code in site.matters:
            assert district.matter(code) is not None
            assert any(window.serves(code) for window in site.windows), f"{site.id}: {code}"
        for window in site.windows:
            assert set(window.weights) <= set(site.matters), f"{site.id}: {window.id}"
            assert all(1 <= weight <= 3 for weight in window.weights.values())
        assert len({window.number for window in site.windows}) == len(site.windows)


# --- opening hours and the official calendar ----------------------------------------------------------------


@pytest.mark.parametrize("site_id", site_ids())
def test_a_site_is_open_on_a_wednesday_morning_and_closed_at_lunch_if_it_breaks(
    district: District, site_id: str
) -> None:
    site = district.site(site_id)
    assert site is not None
    assert open_period(site, district.calendar, at(*WEDNESDAY, 10)) is not None
    wednesday = site.hours[3]
    has_break = len(wednesday) > 1
    at_lunch = open_period(site, district.calendar, at(*WEDNESDAY, 12, 30))
    assert (at_lunch is None) == has_break
    if has_break:
        afternoon = wednesday[1].start
        expected = at(*WEDNESDAY, afternoon.hour, afternoon.minute)
        assert next_opening(site, district.calendar, at(*WEDNESDAY, 12, 30)) == expected


def test_the_same_instant_in_utc_gives_the_same_answer(district: District) -> None:
    site = district.sites[1]
    utc_ten = datetime(*WEDNESDAY, 2, 0, tzinfo=UTC)  # 10:00 in Xi'an
    assert open_period(site, district.calendar, utc_ten) == open_period(site, district.calendar, at(*WEDNESDAY, 10))
    assert open_period(site, district.calendar, utc_ten) is not None


@pytest.mark.parametrize("site_id", site_ids())
def test_national_day_is_closed_and_the_make_up_saturday_is_open(district: District, site_id: str) -> None:
    site = district.site(site_id)
    assert site is not None
    assert open_period(site, district.calendar, at(2026, 10, 1, 10)) is None
    assert open_period(site, district.calendar, at(2026, 10, 7, 10)) is None
    assert next_opening(site, district.calendar, at(2026, 10, 1, 10)) == at(2026, 10, 8, 9)
    assert at(2026, 10, 10, 10).isoweekday() == 6
    assert open_period(site, district.calendar, at(2026, 10, 10, 10)) is not None
    assert open_period(site, district.calendar, at(2026, 10, 11, 10)) is None  # an ordinary Sunday


def test_the_calendar_follows_the_state_council_notice_for_2026(district: District) -> None:
    calendar = district.calendar
    days_off = {
        "元旦": ("2026-01-01", "2026-01-03"),
        "春节": ("2026-02-15", "2026-02-23"),
        "清明节": ("2026-04-04", "2026-04-06"),
        "劳动节": ("2026-05-01", "2026-05-05"),
        "端午节": ("2026-06-19", "2026-06-21"),
        "中秋节": ("2026-09-25", "2026-09-27"),
        "国庆节": ("2026-10-01", "2026-10-07"),
    }
    total = 0
    for first, last in days_off.values():
        start, end = datetime.fromisoformat(first).date(), datetime.fromisoformat(last).date()
        span = (end - start).days + 1
        total += span
        assert all(start.fromordinal(start.toordinal() + i) in calendar.holidays for i in range(span))
    assert len(calendar.holidays) == total == 33
    assert {day.isoformat() for day in calendar.makeup_workdays} == {
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    }
    assert all(day.isoweekday() >= 6 for day in calendar.makeup_workdays)


def test_the_centre_opens_saturday_mornings_but_not_on_a_holiday_saturday(district: District) -> None:
    centre = next(site for site in district.sites if site.tier == Tier.CENTRE)
    assert open_period(centre, district.calendar, at(2026, 3, 14, 10)) is not None
    assert open_period(centre, district.calendar, at(2026, 3, 14, 13)) is None
    assert open_period(centre, district.calendar, at(2026, 4, 4, 10)) is None  # 清明节, a Saturday
    assert open_period(centre, district.calendar, at(2026, 3, 11, 12, 30)) is not None  # no lunch break


# --- the engine can work with every site ---------------------------------------------------------------------


def issue_every_matter(district: District, site: Site) -> list[TicketIssued]:
    state = SiteState(site_id=site.id)
    opened = handle(district, state, OpenDay(command_id="open", site_id=site.id, at=at(*WEDNESDAY, 8, 45)))
    assert not isinstance(opened, Rejection), opened
    issued: list[TicketIssued] = []
    for index, code in enumerate(site.matters):
        command = IssueTicket(
            command_id=f"issue-{index}",
            site_id=site.id,
            at=at(*WEDNESDAY, 10, index),
            matters=(code,),
            channel=Channel.KIOSK,
        )
        result = handle(district, state, command)
        assert not isinstance(result, Rejection), f"{site.id} {code}: {result}"
        issued.extend(event for event in result if isinstance(event, TicketIssued))
    return issued


@pytest.mark.parametrize("site_id", site_ids())
def test_the_engine_issues_a_ticket_for_every_enabled_matter(district: District, site_id: str) -> None:
    site = district.site(site_id)
    assert site is not None
    issued = issue_every_matter(district, site)
    assert [ticket.matters[0] for ticket in issued] == list(site.matters)
    serials: Counter[str] = Counter()
    for ticket in issued:
        matter = district.matter(ticket.matters[0])
        assert matter is not None
        serials[matter.prefix] += 1
        assert ticket.number == f"{matter.prefix}{serials[matter.prefix]:03d}"
        assert (ticket.priority == Priority.GREEN) == matter.green_channel


# --- broken copies of the data are refused with the file and the key --------------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "yanta"
    shutil.copytree(SAMPLE_DISTRICT, target)
    return target


def edit(folder: Path, file: str, old: str, new: str) -> None:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(folder: Path) -> str:
    with pytest.raises(DistrictFileError) as caught:
        load_district(folder)
    return str(caught.value)


BROKEN = [
    pytest.param(
        "sites/xiaozhai.toml",
        "weights = { B01 = 3, B02 = 3, C01 = 3, C02 = 3 }",
        "weights = { B01 = 3, B02 = 3, C01 = 3, C02 = 3, X99 = 1 }",
        "sites/xiaozhai.toml: windows[2].weights.X99: Window 3 handles X99, which is not in the catalogue",
        id="window-serves-unknown-matter",
    ),
    pytest.param(
        "sites/jixiangcun.toml",
        "weights = { B01 = 3, C01 = 3, E01 = 1 }",
        "weights = { B01 = 3, C01 = 3, E01 = 1, G01 = 1 }",
        'sites/jixiangcun.toml: windows[1].weights.G01: Window 2 handles G01 "Enterprise investment project filing", '
        "which this site does not offer",
        id="window-serves-matter-site-does-not-enable",
    ),
    pytest.param(
        "sites/dianzizhengjie.toml",
        "E04 = 20\n",
        "E04 = 20\nF01 = 10\n",
        "sites/dianzizhengjie.toml: matters.F01: No window of this site handles F01 "
        '"Housing provident fund withdrawal"',
        id="enabled-matter-no-window-serves",
    ),
    pytest.param(
        "sites/jixiangcun.toml",
        "weights = { B01 = 3, C01 = 3, E01 = 1 }",
        "weights = { B01 = 3, C01 = 0, E01 = 1 }",
        "sites/jixiangcun.toml: windows[1].weights.C01: Window 2 gives C01 a weight of 0; a weight is 1 or more",
        id="weight-zero",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        "E03 = 5\n",
        "E03 = 5\nX99 = 5\n",
        "sites/cuihualu.toml: matters.X99: There is no matter X99 in the catalogue",
        id="site-enables-unknown-matter",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        'id = "w2"',
        'id = "w1"',
        'sites/cuihualu.toml: windows[1].id: Window 2 has the id "w1", which window 1 already has',
        id="duplicate-window-id",
    ),
    pytest.param(
        "sites/centre.toml",
        "number = 12",
        "number = 3",
        "sites/centre.toml: windows[11].number: Window w12 has number 3, which window w03 already has",
        id="duplicate-window-number",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        'periods = [["09:00", "12:00"], ["14:00", "17:00"]]',
        'periods = [["09:00", "12:00"], ["14:00", "13:00"]]',
        "sites/cuihualu.toml: hours[0].periods[1]: This period ends at 13:00, not after it starts at 14:00",
        id="period-ends-before-it-starts",
    ),
    pytest.param(
        "sites/xiaozhai.toml",
        'periods = [["09:00", "12:00"], ["14:00", "17:30"]]',
        'periods = [["09:00", "12:00"], ["11:00", "17:30"]]',
        "sites/xiaozhai.toml: hours[0].periods[1]: This period starts at 11:00, "
        "before the previous one (09:00-12:00) ends",
        id="periods-overlap",
    ),
    pytest.param(
        "sites/dianzicheng.toml",
        'makeup_day_hours = [["09:00", "12:00"]',
        'makeup_day_hours = [["9am", "12:00"]',
        'sites/dianzicheng.toml: makeup_day_hours[0]: "9am" is not a time of day like "09:00"',
        id="bad-time",
    ),
    pytest.param(
        "sites/jixiangcun.toml",
        "days = [1, 2, 3, 4, 5]",
        "days = [1, 2, 3, 4, 8]",
        "sites/jixiangcun.toml: hours[0]: 8 is not a weekday number (1 = Monday ... 7 = Sunday)",
        id="unknown-weekday",
    ),
    pytest.param(
        "sites/centre.toml",
        "days = [6]",
        "days = [5]",
        "sites/centre.toml: hours[1].days: weekday 5 already has hours in hours[0]",
        id="weekday-twice",
    ),
    pytest.param(
        "sites/centre.toml",
        "B01 = 0",
        "B01 = 900",
        "sites/centre.toml: matters: The matters with prefix B (B01, B02, B03) have daily limits adding up to 1020, "
        "more than its 999 numbers a day (B001-B999)",
        id="prefix-numbers-exhausted",
    ),
    pytest.param(
        "sites/xiaozhai.toml",
        "number = 2",
        'number = "2"',
        "sites/xiaozhai.toml: windows[1].number: expected int, got str",
        id="wrong-type",
    ),
    pytest.param(
        "sites/dianzicheng.toml",
        'tier = "station"',
        'tier = "street"',
        'sites/dianzicheng.toml: tier: "street" is not one of: centre, station, community',
        id="unknown-tier",
    ),
    pytest.param(
        "sites/centre.toml",
        'id = "centre"',
        'id = "center"',
        'sites/centre.toml: id: "center" does not match the file name "centre"',
        id="site-id-not-file-name",
    ),
    pytest.param(
        "sites/centre.toml",
        'periods = [["09:00", "12:00"]]',
        'periods = [["09:00", "09:20"]]',
        "sites/centre.toml: rules.stop_issuing_minutes: 30 minutes leave no self-service issuing "
        "in the Saturday period 09:00-09:20",
        id="stop-issuing-swallows-a-period",
    ),
    pytest.param(
        "sites/xiaozhai.toml",
        "green = 30 }",
        "green = 30, vip = 60 }",
        'sites/xiaozhai.toml: rules.priority_minutes.vip: "vip" is not a priority class',
        id="unknown-priority-class",
    ),
    pytest.param(
        "sites/xiaozhai.toml",
        "max_calls = 3",
        "max_call = 3",
        "sites/xiaozhai.toml: rules.max_call: unknown key",
        id="unknown-key-in-rules",
    ),
    pytest.param(
        "catalogue.toml",
        'code = "A02"',
        'code = "A01"',
        'catalogue.toml: matters[1].code: The code A01 is already used by "Starting a company',
        id="duplicate-matter-code",
    ),
    pytest.param(
        "catalogue.toml",
        'prefix = "G"',
        'prefix = "g"',
        'catalogue.toml: matters[17].prefix: The prefix "g" must be one or two capital letters A-Z',
        id="bad-prefix",
    ),
    pytest.param(
        "catalogue.toml",
        "daily_limit = 80",
        "daly_limit = 80",
        "catalogue.toml: matters[0].daly_limit: unknown key",
        id="misspelt-key",
    ),
    pytest.param(
        "catalogue.toml",
        "originals = 1, copies = 0 }",
        "originals = 0, copies = 0 }",
        'catalogue.toml: matters[0].materials[0]: "Company registration (filing) application form" asks for neither '
        "an original nor a copy",
        id="material-asks-for-nothing",
    ),
    pytest.param(
        "catalogue.toml",
        'name_zh = "个体工商户设立登记"\n',
        "",
        "catalogue.toml: matters[1].name_zh: is missing",
        id="missing-key",
    ),
    pytest.param(
        "calendar.toml",
        'makeup_workdays = ["2026-05-09"]',
        'makeup_workdays = ["2026-05-08"]',
        "calendar.toml: holidays[3].makeup_workdays[0]: 2026-05-08 is a weekday",
        id="make-up-day-on-a-weekday",
    ),
    pytest.param(
        "calendar.toml",
        'last = "2026-10-07"',
        'last = "2026-09-07"',
        "calendar.toml: holidays[6].last: 2026-09-07 is before first 2026-10-01",
        id="holiday-ends-before-it-starts",
    ),
    pytest.param(
        "calendar.toml",
        'last = "2026-02-23"',
        'last = "2026-02-30"',
        "calendar.toml: holidays[1].last: invalid",
        id="impossible-date",
    ),
    pytest.param(
        "calendar.toml",
        'first = "2026-06-19"',
        'first = "2026-06-19x"',
        "calendar.toml: holidays[4].first: invalid",
        id="not-a-date",
    ),
    pytest.param(
        "district.toml",
        '"cuihualu",        # 翠华路社区便民服务室',
        '"cuihualu",\n    "centre",',
        'district.toml: sites[6]: Two sites have the id "centre"',
        id="site-listed-twice",
    ),
    pytest.param(
        "district.toml",
        '"cuihualu",        # 翠华路社区便民服务室',
        '"cuihualu",\n    "../catalogue",',
        'district.toml: sites[6]: The site id "../catalogue" may use only lower-case letters',
        id="site-id-not-a-name",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        'periods = [["09:00", "12:00"], ["14:00", "17:00"]]',
        "periods = []",
        "sites/cuihualu.toml: hours[0]: No opening periods on this day (leave a closed day out)",
        id="weekday-without-periods",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        "latitude = 34.2262",
        "latitude = 342.262",
        "sites/cuihualu.toml: latitude: The latitude must be between -90 and 90 (it is 342.262)",
        id="latitude-out-of-range",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        'timezone = "Asia/Shanghai"',
        'timezone = "Asia/Xian"',
        'sites/cuihualu.toml: timezone: "Asia/Xian" is not a known time zone',
        id="unknown-time-zone",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        'name_en = "Cuihua Road Community Service Room"',
        'name_en = "  "',
        "sites/cuihualu.toml: name_en: The English name is empty",
        id="empty-name",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        "max_calls = 3",
        "max_calls = 0",
        "sites/cuihualu.toml: rules.max_calls: The number of calls before a no-show must be 1 or more; it is 0",
        id="rule-out-of-range",
    ),
    pytest.param(
        "sites/cuihualu.toml",
        "B02 = 15",
        "B02 = 1000",
        "sites/cuihualu.toml: matters.B02: The daily limit of B02",
        id="site-daily-limit-out-of-range",
    ),
    pytest.param(
        "catalogue.toml",
        "daily_limit = 80",
        "daily_limit = 0",
        "catalogue.toml: matters[0].daily_limit: The daily limit must be between 1 and 999",
        id="catalogue-daily-limit-out-of-range",
    ),
    pytest.param(
        "catalogue.toml",
        "originals = 1, copies = 0 }",
        "originals = 1, copies = -1 }",
        "catalogue.toml: matters[0].materials[0].copies: The number of copies cannot be negative (it is -1)",
        id="negative-copies",
    ),
    pytest.param(
        "calendar.toml",
        'makeup_workdays = ["2026-01-04"]',
        'makeup_workdays = ["2026-01-03"]',
        "calendar.toml: holidays[0].makeup_workdays[0]: 2026-01-03 is both a holiday and a make-up working day",
        id="make-up-day-is-a-holiday",
    ),
    pytest.param(
        "catalogue.toml",
        '[[matters]]\ncode = "A01"',
        '[[matters]\ncode = "A01"',
        "catalogue.toml: not valid TOML",
        id="toml-syntax",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), BROKEN)
def test_a_broken_copy_is_refused_naming_the_file_and_key(
    copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(copy, file, old, new)
    assert expected in problems_of(copy)


def test_a_missing_site_file_and_a_stray_one_are_reported(copy: Path) -> None:
    (copy / "sites" / "cuihualu.toml").rename(copy / "sites" / "qujiang.toml")
    message = problems_of(copy)
    assert "sites/cuihualu.toml: file not found" in message
    assert 'sites/qujiang.toml: not listed in district.toml "sites"' in message


def test_a_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DistrictFileError, match="is not a folder"):
        load_district(tmp_path / "nowhere")


def test_every_problem_is_collected_into_one_error(copy: Path) -> None:
    edit(copy, "sites/xiaozhai.toml", "C02 = 3 }", "C02 = 3, X99 = 1 }")
    edit(copy, "sites/cuihualu.toml", "days = [1, 2, 3, 4, 5]", "days = [0, 1, 2, 3, 4, 5]")
    edit(copy, "calendar.toml", 'makeup_workdays = ["2026-01-04"]', 'makeup_workdays = ["2026-01-05"]')
    edit(copy, "catalogue.toml", "daily_limit = 100", 'daily_limit = "many"')
    with pytest.raises(DistrictFileError) as caught:
        load_district(copy)
    error = caught.value
    assert error.folder == copy
    files = {problem.split(":")[0] for problem in error.problems}
    assert files == {"sites/xiaozhai.toml", "sites/cuihualu.toml", "calendar.toml", "catalogue.toml"}
    assert len(error.problems) == 4
    assert str(error).startswith(f"district folder {copy}: 4 problems:")
    assert all(problem in str(error) for problem in error.problems)

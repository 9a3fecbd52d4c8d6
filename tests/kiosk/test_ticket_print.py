"""The kiosk's ticket as a printer reads it: built for every shipped profile from the sample district, then decoded
byte by byte (tests/support/escpos_reader.py), never compared with a stored copy of itself."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest

import contract as wire
from engine.district import Material
from hub.district_file import SAMPLE_DISTRICT, load_district
from kiosk.printer_profile import (
    PROFILE_DIR,
    PrinterProfile,
    PrinterProfileError,
    load_profile,
    profile_named,
    shipped_profiles,
)
from kiosk.ticket_print import MatterNames, build_ticket, escpos_profile, status_url, wrap
from tests.support.escpos_reader import Document, QrCode, read

T = TypeVar("T")


def required(found: T | None) -> T:
    assert found is not None
    return found


DISTRICT = load_district(SAMPLE_DISTRICT)
SITE = required(DISTRICT.site("centre"))
MATTER = required(DISTRICT.matter("A02"))
STATUS_URL = "https://hall.example.cn/t/8F3K2"
TICKET = wire.TicketInfo(
    ticket_id="centre-20261125-A004",
    number="A004",
    matters=("A02",),
    windows=(1, 2, 5),
    wait=wire.WaitEstimate(people_ahead=3, minutes=14.0, low=9.0, high=21.0),
    issued_at=datetime(2026, 11, 25, 2, 5, tzinfo=UTC),  # 10:05 in Xi'an
)
PROFILES = shipped_profiles()


def read_ticket(
    profile: PrinterProfile, ticket: wire.TicketInfo = TICKET, matter: MatterNames = MATTER, language: str = "zh_CN"
) -> Document:
    data = build_ticket(profile, SITE, [matter], ticket, STATUS_URL, language=language, timezone=SITE.timezone)
    return read(data, chinese_at_start=profile.chinese_mode == "native")


# --- profiles ----------------------------------------------------------------------------------------------------


def test_the_shipped_profiles_load_and_name_a_python_escpos_profile() -> None:
    assert {"pos58", "epson-tm-t88v"} <= set(PROFILES)
    for profile_id, profile in PROFILES.items():
        assert profile.id == profile_id and profile_named(profile_id) == profile
        assert escpos_profile(profile).supports("qrCode") is profile.qr
    pos58, epson = PROFILES["pos58"], PROFILES["epson-tm-t88v"]
    assert (pos58.dots, pos58.columns, pos58.chinese_mode, pos58.cutter) == (384, 32, "native", "none")
    assert (epson.dots, epson.columns, epson.chinese_mode, epson.cutter) == (512, 42, "fs-ampersand", "full")


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (("columns = 32", "columns = 80"), "columns", "<= 64"),
        (("columns = 32", "columns = 40"), "columns", "need 480 dots"),
        (('cutter = "none"', 'cutter = "guillotine"'), "cutter", "guillotine"),
        (('cutter = "none"', ""), "cutter", "missing required field"),
        (("status = true", "status = true\ncolour = 2"), "colour", "unknown field"),
        (("qr = true", "qr = yes"), "", "Invalid value"),
    ],
)
def test_a_broken_profile_is_refused_naming_its_file_and_key(
    tmp_path: Path, change: tuple[str, str], key: str, problem: str
) -> None:
    text = (PROFILE_DIR / "pos58.toml").read_text(encoding="utf-8")
    assert change[0] in text
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    with pytest.raises(PrinterProfileError) as raised:
        load_profile(broken)
    assert (raised.value.source, raised.value.key) == (str(broken), key)
    assert problem in str(raised.value) and str(raised.value).startswith(f"{broken}: ")


def test_an_unknown_python_escpos_profile_is_refused_when_first_used() -> None:
    unknown = msgspec.structs.replace(PROFILES["pos58"], escpos_profile="POS-9999")
    with pytest.raises(PrinterProfileError, match=r"pos58\.toml: escpos_profile: .*POS-9999"):
        build_ticket(unknown, SITE, [MATTER], TICKET, STATUS_URL)


# --- the ticket --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_the_ticket_reads_back_as_the_citizen_should_see_it(profile: PrinterProfile) -> None:
    ticket = read_ticket(profile)
    texts = ticket.texts
    assert texts[0] == "雁塔区政务服务中心" and ticket.lines[0].style.bold
    assert texts[1].startswith("Yanta District") and ticket.lines[1].style.font == "B"
    assert "个体工商户设立登记" in texts
    assert "前面还有 3 人 · 约 9–21 分钟" in texts
    assert "请留意 1、2、5 号窗口" in texts
    assert "2026-11-25 10:05" in texts
    assert [t for t in texts if t.startswith("· ")][:2] == ["· 个体工商户登记（备案）申请书", "· 经营者居民身份证"]
    assert not any("委托书" in text for text in texts)  # the hint shows the first three documents only


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_the_number_is_printed_as_large_as_the_profile_allows(profile: PrinterProfile) -> None:
    ticket = read_ticket(profile)
    number = ticket.line_with("A004")
    expected = min(profile.number_magnification, profile.columns // len("A004"))
    assert number.text == "A004" and number.style.bold
    assert (number.style.width, number.style.height) == (expected, expected) and expected >= 4
    assert f"GS ! {(expected - 1) * 0x11:#04x} (size {expected}x{expected})" in ticket.commands
    after = ticket.lines[ticket.lines.index(number) + 1]
    assert (after.style.width, after.style.height) == (1, 1)


def test_a_long_number_shrinks_to_fit_the_line() -> None:
    roomy = msgspec.structs.replace(PROFILES["pos58"], number_magnification=8)
    number = read_ticket(roomy, msgspec.structs.replace(TICKET, number="AB123")).line_with("AB123")
    assert number.style.width == 32 // 5 and number.columns <= 32


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_the_qr_code_carries_the_status_url(profile: PrinterProfile) -> None:
    ticket = read_ticket(profile)
    assert ticket.qr_codes == [QrCode(STATUS_URL, profile.qr_module_dots, "M")]
    assert STATUS_URL not in ticket.texts


def test_a_printer_without_native_qr_prints_the_url_instead() -> None:
    ticket = read_ticket(msgspec.structs.replace(PROFILES["pos58"], qr=False))
    assert ticket.qr_codes == [] and STATUS_URL in ticket.texts


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
@pytest.mark.parametrize(("cutter", "cuts"), [("full", ["full"]), ("partial", ["partial"]), ("none", [])])
def test_the_ticket_is_fed_and_cut_as_the_printer_can(profile: PrinterProfile, cutter: str, cuts: list[str]) -> None:
    ticket = read_ticket(msgspec.structs.replace(profile, cutter=cutter))
    assert ticket.cuts == cuts and ticket.feeds >= 3
    if cuts:
        assert ticket.commands[-1].startswith("GS V")


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_chinese_is_printed_in_chinese_mode_and_only_epson_style_printers_get_fs_ampersand(
    profile: PrinterProfile,
) -> None:
    ticket = read_ticket(profile)
    runs = [run for line in ticket.lines for run in line.runs]
    assert all(run.style.chinese for run in runs if not run.text.isascii())
    switches = [command for command in ticket.commands if command.startswith(("FS &", "FS ."))]
    if profile.chinese_mode == "fs-ampersand":
        assert switches and switches == ["FS & (Chinese mode on)", "FS . (Chinese mode off)"] * (len(switches) // 2)
        assert not any(run.style.chinese for run in runs if run.text.isascii() and run.text.strip())
    else:
        assert switches == []


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_line_fits_the_paper(profile: PrinterProfile, language: str) -> None:
    ticket = read_ticket(profile, language=language)
    assert ticket.lines and all(line.columns <= profile.columns for line in ticket.lines), [
        (line.columns, line.text) for line in ticket.lines
    ]


def test_an_english_ticket_folds_punctuation_to_ascii_instead_of_question_marks() -> None:
    ticket = read_ticket(PROFILES["epson-tm-t88v"], language="en")
    texts = ticket.texts
    assert texts[0] == "雁塔区政务服务中心" and "Individual business registration" in texts
    assert "3 people ahead of you - about 9-21 min" in texts
    assert "Please watch windows 1, 2, 5" in texts
    assert not any("?" in text for text in texts)


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_chinese_punctuation_without_an_ideograph_is_mapped_not_sent_through_a_code_page(
    profile: PrinterProfile,
) -> None:
    ideographs = (profile.columns - len("· ") * 2) // 2  # "· 证证…证" fills the line; "（）" wraps on its own
    materials = (Material(name_zh="——（、）", name_en="-"), Material(name_zh="证" * ideographs + "（）", name_en="-"))
    texts = read_ticket(profile, matter=msgspec.structs.replace(MATTER, materials=materials)).texts
    assert "- --(,)" in texts and "· " + "证" * ideographs in texts and "()" in texts
    assert not any("?" in text for text in texts)


def test_a_gb2312_printer_gets_ascii_for_what_its_font_lacks() -> None:
    texts = read_ticket(msgspec.structs.replace(PROFILES["pos58"], encoding="GB2312")).texts
    assert "前面还有 3 人 - 约 9-21 分钟" in texts and "请留意 1、2、5 号窗口" in texts


def test_wrapping_breaks_chinese_anywhere_and_english_at_spaces() -> None:
    chinese = "经营场所使用证明（房屋产权证明或租赁合同）"
    assert all(len(line) * 2 <= 10 for line in wrap(chinese, 10)) and "".join(wrap(chinese, 10)) == chinese
    assert wrap("Yanta District Government Service Centre", 32) == ["Yanta District Government", "Service Centre"]
    assert wrap("https://example.cn/a-very-long-path", 10)[0] == "https://ex"


@pytest.mark.parametrize("half_written_pickle", [False, True])
def test_building_a_ticket_contains_python_escpos_import_side_effects(
    tmp_path: Path, half_written_pickle: bool
) -> None:
    """Importing the module imports no escpos; the first build leaves the root logger alone and one pickle in one
    cache directory (no temporary directory per process), also after a crash left the pickle half-written."""
    cache = tmp_path / "servicehall-escpos"
    if half_written_pickle:
        cache.mkdir()
        (cache / f"{platform.python_version()}.capabilities.pickle").write_bytes(b"\x80\x02}q")
    script = """
import logging, sys
import kiosk.ticket_print as tp
assert "escpos" not in sys.modules
from tests.kiosk.test_ticket_print import PROFILES, SITE, MATTER, TICKET, STATUS_URL
tp.build_ticket(PROFILES["pos58"], SITE, [MATTER], TICKET, STATUS_URL)
assert "escpos" in sys.modules and logging.root.handlers == [], logging.root.handlers
"""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert [path.name for path in tmp_path.iterdir()] == [cache.name]
    [pickled] = cache.iterdir()
    assert pickled.suffix == ".pickle" and pickled.stat().st_size > 10_000


# --- the status link and the appointment ------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_the_qr_code_is_the_public_address_and_the_tickets_status_path(profile: PrinterProfile) -> None:
    ticket = msgspec.structs.replace(TICKET, status_path="/t/Q7J2MZK4", appointment="10:00-10:30")
    for base in ("http://192.168.10.5:8080", "http://192.168.10.5:8080/"):
        url = status_url(base, ticket)
        assert url == "http://192.168.10.5:8080/t/Q7J2MZK4"
        data = build_ticket(profile, SITE, [MATTER], ticket, url, timezone=SITE.timezone)
        document = read(data, chinese_at_start=profile.chinese_mode == "native")
        assert document.qr_codes == [QrCode(url, profile.qr_module_dots, "M")]
        appointment = document.line_with("预约时段")
        assert appointment.text == "预约时段 10:00-10:30" and appointment.style.bold
        assert all(run.style.chinese for run in appointment.runs if not run.text.isascii())
        assert document.texts.index("A004") < document.texts.index("预约时段 10:00-10:30")
        assert document.cuts == (["full"] if profile.cutter == "full" else [])
        assert document.feeds >= 3


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_without_a_status_path_no_qr_code_and_no_url_is_printed(profile: PrinterProfile) -> None:
    assert status_url("http://127.0.0.1:8080", TICKET) == ""
    for qr in (True, False):
        data = build_ticket(msgspec.structs.replace(profile, qr=qr), SITE, [MATTER], TICKET, "")
        document = read(data, chinese_at_start=profile.chinese_mode == "native")
        assert document.qr_codes == [] and not any("http" in text for text in document.texts)
        assert "A004" in document.texts and not any("预约" in text for text in document.texts)


def test_the_raw_bytes_carry_gb18030_chinese_the_qr_command_and_the_cut() -> None:
    """The same checks without the reader: the bytes a printer gets, looked for directly."""
    profile = PROFILES["epson-tm-t88v"]
    ticket = msgspec.structs.replace(TICKET, status_path="/t/Q7J2MZK4")
    url = status_url("http://hall.example.cn", ticket)
    data = build_ticket(profile, SITE, [MATTER], ticket, url)
    assert "\x1c&雁塔区政务服务中心\x1c.".encode("gb18030") in data
    payload = url.encode()
    store = b"\x1d(k" + (len(payload) + 3).to_bytes(2, "little") + b"1P0" + payload
    assert store in data and b"\x1d(k\x03\x001Q0" in data  # store the data, then print the symbol
    assert data.endswith(b"\x1bd\x06\x1dV\x00")  # feed six lines past the cutter, full cut

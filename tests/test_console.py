"""The command-line hall: console lines become engine commands and readable bilingual answers."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.console import Console, ConsoleError
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.service import HallService
from hub.store.memory import MemoryStore

WEDNESDAY_10AM = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
NATIONAL_DAY = datetime.fromisoformat("2026-10-01T10:00:00+08:00")


def console_at(moment: datetime) -> Console:
    return Console(HallService(load_district(SAMPLE_DISTRICT), MemoryStore()), lambda: moment)


def test_a_morning_at_the_centre() -> None:
    console = console_at(WEDNESDAY_10AM)
    assert "centre: ✓ DayOpened" in console.execute_line("open-day all")
    console.execute_line("open-window centre w01 clerk-li")
    assert console.execute_line("issue centre A02").startswith("✓ 取号 A001  个体工商户设立登记")
    assert "B001" in console.execute_line("issue centre B01 elderly")
    called = console.execute_line("call centre w01")
    assert "📣 请 B001 号到 1 号窗口办理" in called  # elderly head start beats two seconds of waiting
    assert console.execute_line("start centre w01") == "✓ ServiceStarted"
    assert "A001" in console.execute_line("call centre w01")
    status = console.execute_line("status centre")
    assert "window w01: open, current A001" in status


def test_refusals_are_shown_in_both_languages() -> None:
    console = console_at(WEDNESDAY_10AM)
    answer = console.execute_line("issue centre A02")
    assert answer == "✗ 今日尚未开始取号 / Today's ticketing has not started"
    console.execute_line("open-day jixiangcun")
    assert "本站点不办理" in console.execute_line("issue jixiangcun A01")


def test_a_holiday_kiosk_issues_nothing_but_says_when_it_opens() -> None:
    console = console_at(NATIONAL_DAY)
    console.execute_line("open-day centre")
    answer = console.execute_line("issue centre A02")
    assert answer.startswith("✗ 当前不在办理时间，下次取号时间：10-08 09:00")


def test_bad_lines_raise_a_clear_error() -> None:
    console = console_at(WEDNESDAY_10AM)
    with pytest.raises(ConsoleError, match="unknown command"):
        console.execute_line("fly centre")
    with pytest.raises(ConsoleError, match="needs 2 argument"):
        console.execute_line("call centre")
    with pytest.raises(ConsoleError, match="unknown option"):
        console.execute_line("issue centre A02 sideways")
    assert console.execute_line("   ") == ""

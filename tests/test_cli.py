"""The hub's command line on a real SQLite file: load the district, open the day, issue and call, restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

AT = "2026-11-25T10:00:00+08:00"


def hall_hub(db: Path, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--db", f"sqlite:///{db}", "--at", AT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_init_loads_the_sample_district_into_a_fresh_database(tmp_path: Path) -> None:
    out = hall_hub(tmp_path / "hall.db", "init")
    assert "雁塔区: 6 sites, 19 matters" in out


def test_run_reads_console_commands_and_a_restart_continues_the_numbering(tmp_path: Path) -> None:
    db = tmp_path / "hall.db"
    session = "open-window centre w01 clerk-li\nissue centre A02\nissue centre A02\ncall centre w01\nbogus\nquit\n"
    out = hall_hub(db, "run", stdin=session)
    assert "centre: ✓ DayOpened" in out and "cuihualu: ✓ DayOpened" in out
    assert "✓ 取号 A001" in out and "✓ 取号 A002" in out
    assert "📣 请 A001 号到 1 号窗口办理" in out
    assert "✗ unknown command 'bogus'" in out

    # a second process on the same database: the district comes from the database, numbering goes on
    assert "✓ 取号 A003" in hall_hub(db, "do", "issue", "centre", "A02")
    assert "current A001" in hall_hub(db, "do", "status", "centre")

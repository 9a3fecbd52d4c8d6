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


def test_staff_are_added_listed_and_removed_and_only_a_hash_of_the_pin_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "hall.db"
    assert "li (李敏) may sign in at centre" in hall_hub(
        db, "staff", "add", "--site", "centre", "--id", "li", "--name", "李敏", stdin="8642\n"
    )
    listed = hall_hub(db, "staff", "list")
    assert "li" in listed and "李敏" in listed and "8642" not in listed
    assert b"8642" not in db.read_bytes()
    too_short = ["staff", "add", "--site", "centre", "--id", "x", "--name", "X", "--pin", "12"]
    command = [sys.executable, "-m", "hub.cli", "--db", f"sqlite:///{db}", *too_short]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 1 and "4-12 digits" in refused.stderr
    assert "li removed" in hall_hub(db, "staff", "remove", "li")
    assert "李敏" not in hall_hub(db, "staff", "list")

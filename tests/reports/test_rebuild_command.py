"""``hall-hub reports rebuild`` on a real SQLite file: the read models come back from the log after being emptied."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from hub.reports.projection import Projector
from hub.store import open_store
from hub.store.schema import report_tickets
from hub.store.sql import SqlStore
from tests.reports.scenario import DISTRICT, fixed_day


def _tickets(store: SqlStore) -> list[tuple[object, ...]]:
    with store.engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(sa.select(report_tickets)))


def test_rebuild_command_projects_the_whole_log_again(tmp_path: Path) -> None:
    db = tmp_path / "hall.db"
    store = open_store(f"sqlite:///{db}")
    assert isinstance(store, SqlStore)
    fixed_day(store)
    Projector(store.engine).project(DISTRICT)
    kept = _tickets(store)
    Projector(store.engine).clear()
    assert _tickets(store) == []

    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--db", f"sqlite:///{db}", "reports", "rebuild"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip

    assert "read models rebuilt: 30 events of 6 sites" in result.stdout
    assert _tickets(store) == kept and len(kept) == 6
    store.close()

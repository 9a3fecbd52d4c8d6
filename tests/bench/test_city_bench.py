"""The city benchmark on a small scale, so it keeps working: a hub with 20 sites answers every issue and call, and
30 boards on a 3-node NATS cluster all connect and every one sees every call of its site (no timing is checked:
the figures are for a quiet machine)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.city_district import city_district, day_of_history
from engine.commands import IssueTicket
from engine.district import Tier
from tests.support.hub_process import REPO
from tests.support.nats_cluster import NATS_SERVER


def run_bench(*arguments: str) -> str:
    """The bench's table (what follows the command line it prints), after checking it ended well."""
    run = subprocess.run(
        [sys.executable, "-m", "bench.city_bench", *arguments], cwd=REPO, capture_output=True, text=True,
        timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    table = run.stdout.partition("$ python -m bench.city_bench")[2]
    assert re.search(r"hub log: defects +0 +0 +yes", table), run.stdout
    return table


def test_the_city_district_repeats_the_sample_shapes_and_its_history_fills_the_busy_sites() -> None:
    district = city_district(20, busy=2)
    assert [site.id for site in district.sites[:3]] == ["c0001", "c0002", "c0003"]
    assert [site.tier for site in district.sites[:2]] == [Tier.CENTRE, Tier.CENTRE]
    assert {site.tier for site in district.sites[2:]} == {Tier.STATION, Tier.COMMUNITY}
    issued = [
        c.site_id for c in day_of_history(district, 2, busy_tickets=50, small_tickets=5) if isinstance(c, IssueTicket)
    ]
    assert issued.count("c0001") == 50 and issued.count("c0020") == 5
    with pytest.raises(ValueError, match="busy sites"):
        city_district(3, busy=4)


def test_the_sites_part_answers_every_issue_and_call() -> None:
    small = ["--sites", "20", "--busy", "2", "--busy-tickets", "50", "--small-tickets", "5"]
    table = run_bench("sites", *small, "--commands", "40", "--command-sites", "10", "--idle-seconds", "1")
    assert re.search(r"district: 20 sites, 2 busy +[\d,]+ events", table), table
    assert re.search(r"hub start until every site's day is open +[\d.]+ s .*c0020", table), table
    assert re.search(r"issue over MQTT, 40 at 10 sites +median [\d.]+ ms", table), table
    assert "40 of 40 calls answered with a call" in table, table


@pytest.mark.skipif(not Path(NATS_SERVER).exists(), reason="nats-server is not installed")
def test_the_devices_part_holds_every_board_and_each_sees_every_call() -> None:
    table = run_bench("devices", "--sites", "3", "--step", "15", "--max-boards", "30", "--calls", "9")
    assert re.search(r"boards 1-15 connected and synced +[\d.]+ s .* yes", table), table
    assert re.search(r"boards held +30 +of 30 tried", table), table
    assert "90 of 90 receipts (9 calls" in table, table  # each call reaches the 10 boards of its site

"""The day's ratings report through the real hub: ratings from a window's evaluator, read by a caller device of the
site over HTTP; others are turned away."""

from __future__ import annotations

import json
from typing import Any

import contract as wire
from hub.devices import Credentials
from tests.support.hub_process import HubProcess

Kind = wire.DeviceKind


def get(hub: HubProcess, path: str, account: Credentials | None) -> tuple[int, Any]:
    status, body = hub.fetch(path, account)
    return status, json.loads(body) if status == 200 and body else None


def test_a_days_ratings_by_window_clerk_and_matter_with_every_bad_one_listed(hub: HubProcess) -> None:
    kiosk_account = hub.provision("centre", "kiosk")
    caller_account = hub.provision("centre", "caller", "w01")
    evaluator_account = hub.provision("centre", "evaluator", "w01")
    other_site = hub.provision("xiaozhai", "caller", "w1")
    hub.add_staff("centre", "li")
    hub.start()
    kiosk = hub.link(kiosk_account, "centre", Kind.KIOSK)
    caller = hub.link(caller_account, "centre", Kind.CALLER)
    evaluator = hub.link(evaluator_account, "centre", Kind.EVALUATOR)
    numbers = [kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]}).ticket.number for _ in range(3)]  # type: ignore[union-attr]
    assert caller.request(wire.Action.OPEN_WINDOW, {"window_id": "w01", "staff_id": "li", "pin": "2468"}).ok
    for level in (5, 1, 4):
        for action in (wire.Action.CALL_NEXT, wire.Action.START, wire.Action.FINISH):
            assert caller.request(action, {"window_id": "w01"}).ok
        assert evaluator.request(wire.Action.RATE, {"window_id": "w01", "level": level}).ok

    status, report = get(hub, "/api/v1/sites/centre/ratings?day=2026-11-25", caller_account)
    assert status == 200
    assert (report["count"], report["levels"], report["satisfied"]) == (
        3, {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1}, 0.667,
    )  # fmt: skip
    assert report["by_staff"]["li"]["count"] == 3 and report["by_window"]["w01"]["average"] == 3.33
    assert report["by_matter"]["A02"]["count"] == 3
    (bad,) = report["bad"]
    assert (bad["number"], bad["window_id"], bad["staff_id"], bad["level"]) == (numbers[1], "w01", "li", 1)

    assert get(hub, "/api/v1/sites/centre/ratings?day=2026-11-24", caller_account)[1]["count"] == 0
    assert get(hub, "/api/v1/sites/centre/ratings?day=2026-11-25", None)[0] == 401
    assert get(hub, "/api/v1/sites/centre/ratings?day=2026-11-25", other_site)[0] == 401  # another site's caller
    assert get(hub, "/api/v1/sites/centre/ratings?day=2026-11-25", evaluator_account)[0] == 401  # not staff
    assert get(hub, "/api/v1/sites/centre/ratings", caller_account)[0] == 400
    assert get(hub, "/api/v1/sites/nowhere/ratings?day=2026-11-25", caller_account)[0] == 404

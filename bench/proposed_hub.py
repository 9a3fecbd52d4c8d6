"""The hub with changes proposed by the hub benchmark, applied as patches at start, to measure them before anyone
edits the hub: ``python -m bench.hub_bench --proposed gc-freeze``.

python -m bench.proposed_hub [gc-freeze] [gc-log] [estimate-off] [switch=SECONDS] -- then runs ``hall-hub serve``.

(``broker-nodelay`` and ``group-commit`` were measured here first and have landed in hub/broker.py, hub/service.py
and hub/gateway.py.)

- ``estimate-off`` (to attribute costs, not a proposal): the kiosk's wait estimate answers at once, without the
  estimator (which still observes every event).
- ``gc-freeze``: ``gc.freeze()`` once the hub has loaded its sites (hub/server.py ``Hub.start``).
- ``gc-log`` (diagnosis): the hub logs each garbage collection that takes over 5 ms.
- ``switch=SECONDS``: ``sys.setswitchinterval`` (the GIL hand-over interval, 0.005 by default).
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

import hub.server


def _log_slow_collections() -> None:
    began: list[float] = []

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[:] = [time.perf_counter()]
        elif began and (took := time.perf_counter() - began[0]) > 0.005:
            hub.server.log.warning("gc of generation %d took %.1f ms", info["generation"], 1000 * took)

    gc.callbacks.append(timed)


_START = hub.server.Hub.start


async def _frozen_start(self: hub.server.Hub, bridge: Any) -> None:
    await _START(self, bridge)
    gc.collect()
    gc.freeze()  # what the hub loaded at start is never collected again: full collections look at less


def main() -> None:
    flags = sys.argv[1:]
    for flag in flags:
        if flag == "estimate-off":  # attribution only, not a proposal: what the kiosk's wait estimate costs
            from engine import estimate  # noqa: PLC0415

            estimate.WaitEstimator.estimate = lambda self, *_: estimate.WaitEstimate(people_ahead=0)  # type: ignore[method-assign]
        elif flag == "gc-freeze":
            hub.server.Hub.start = _frozen_start  # type: ignore[method-assign]
        elif flag == "gc-log":  # diagnosis: log every garbage collection of the oldest generation that takes > 5 ms
            _log_slow_collections()
        elif flag.startswith("switch="):
            sys.setswitchinterval(float(flag.partition("=")[2]))
        else:
            raise SystemExit(f"unknown change {flag!r}")
    from hub.cli import main as serve  # noqa: PLC0415  (after the patches)

    sys.exit(serve(["serve"]))


if __name__ == "__main__":
    main()

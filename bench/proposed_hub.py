"""The hub with changes proposed by the hub benchmark, applied as patches at start, to measure them before anyone
edits the hub, or to look inside it: ``python -m bench.hub_bench --proposed snapshot-interval=1 slow-log``.

python -m bench.proposed_hub [CHANGE ...] then runs ``hall-hub serve``.

(``broker-nodelay``, ``group-commit``, ``gc-freeze`` and ``snapshot-interval`` were measured here first and have
landed in hub/broker.py, hub/service.py, hub/gateway.py, hub/main.py and hub/server.py.)

- ``estimate-off`` (to attribute costs, not a proposal): the kiosk's wait estimate answers at once, without the
  estimator (which still observes every event).
- ``gc-log`` (diagnosis): the hub logs each garbage collection that takes over 5 ms.
- ``gc-census`` (diagnosis): the hub logs the most numerous kinds of objects the garbage collector tracks, every
  5 s.
- ``slow-log`` (diagnosis): the hub logs every job and batch of its writer thread that takes over 5 ms.
- ``snapshot-interval=SECONDS``: the least time between two retained snapshots of a site (``SNAPSHOT_INTERVAL``).
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


def _log_slow_writer_work() -> None:
    from hub import writer  # noqa: PLC0415

    def timed(work: Any, *args: Any) -> Any:
        began = time.perf_counter()
        try:
            return safely(work, *args)
        finally:
            if (took := time.perf_counter() - began) > 0.005:
                name = getattr(work, "__qualname__", "work")
                hub.server.log.warning("writer: %s took %.1f ms", name, 1000 * took)

    def submit(self: writer.Writer, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        def job() -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if (took := time.perf_counter() - began) > 0.005:
                    name = getattr(fn, "__qualname__", "job")
                    hub.server.log.warning("writer: job %s took %.1f ms", name, 1000 * took)

        return original_submit(self, job)

    safely, original_submit = writer.Writer._safely, writer.Writer.submit
    writer.Writer._safely = staticmethod(timed)  # type: ignore[method-assign]
    writer.Writer.submit = submit  # type: ignore[method-assign]


def _census() -> None:
    import collections  # noqa: PLC0415
    import threading  # noqa: PLC0415

    def count() -> None:
        while True:
            time.sleep(5)
            kinds = collections.Counter(type(thing).__qualname__ for thing in gc.get_objects())
            hub.server.log.warning("gc census: %d tracked, %s", sum(kinds.values()), kinds.most_common(12))

    threading.Thread(target=count, daemon=True).start()


def main() -> None:
    flags = sys.argv[1:]
    for flag in flags:
        if flag == "estimate-off":  # attribution only, not a proposal: what the kiosk's wait estimate costs
            from engine import estimate  # noqa: PLC0415

            estimate.WaitEstimator.estimate = lambda self, *_: estimate.WaitEstimate(people_ahead=0)  # type: ignore[method-assign]
        elif flag == "gc-log":  # diagnosis: log every garbage collection of the oldest generation that takes > 5 ms
            _log_slow_collections()
        elif flag == "gc-census":
            _census()
        elif flag == "slow-log":
            _log_slow_writer_work()
        elif flag.startswith("snapshot-interval="):
            hub.server.SNAPSHOT_INTERVAL = float(flag.partition("=")[2])
        elif flag.startswith("switch="):
            sys.setswitchinterval(float(flag.partition("=")[2]))
        else:
            raise SystemExit(f"unknown change {flag!r}")
    from hub.cli import main as serve  # noqa: PLC0415  (after the patches)

    sys.exit(serve(["serve"]))


if __name__ == "__main__":
    main()

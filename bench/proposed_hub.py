"""The hub with changes proposed by the hub benchmark, applied as patches at start, to measure them before anyone
edits the hub: ``python -m bench.hub_bench --proposed broker-nodelay group-commit``.

python -m bench.proposed_hub [broker-nodelay] [group-commit] [switch=SECONDS] -- then runs ``hall-hub serve``.

- ``broker-nodelay``: the managed Mosquitto's configuration gets ``set_tcp_nodelay true`` (hub/broker.py). Without
  it Mosquitto leaves Nagle's algorithm on: its reply to a device waits for the device's delayed ACK of the PUBACK
  it sent just before (~40 ms on Linux), so a device gets at most ~25 answers a second.
- ``group-commit``: the writer decides a whole batch of requests and stores all their entries in one transaction
  (``HallService.execute_many`` and ``Gateway.handle_batch`` below, written as they would go into hub/service.py
  and hub/gateway.py; hub/server.py's ``Hub._handle_batch`` calls it). A batch that fails to store is forgotten
  (the sites' states reload) and its commands run again one by one: nothing of it was answered yet.
- ``group-commit+lookup``: the same, and the batch's stored outcomes are looked up in one query
  (``WHERE command_id IN (...)``, what a ``SqlStore.outcomes`` would do) instead of one query per command.
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

import sqlalchemy as sa

import contract as wire
import hub.broker
import hub.gateway
import hub.server
from engine.commands import Command
from hub.gateway import Gateway, error_reply
from hub.service import HallService, Outcome, _decode_outcome, _encode
from hub.store.base import Entry
from hub.store.schema import commands
from hub.store.sql import SqlStore

BATCHED_LOOKUP = False


def _outcomes(store: Any, command_ids: list[str]) -> dict[str, bytes]:
    """The stored outcomes of many command ids in one query (what ``SqlStore.outcomes`` would do)."""
    if not isinstance(store, SqlStore):
        return {command_id: found for command_id in command_ids if (found := store.outcome(command_id)) is not None}
    with store.engine.connect() as connection:
        rows = connection.execute(_SELECT_OUTCOMES, {"ids": command_ids})
        return {row.command_id: bytes(row.outcome) for row in rows}


_SELECT_OUTCOMES = sa.select(commands.c.command_id, commands.c.outcome).where(
    commands.c.command_id.in_(sa.bindparam("ids", expanding=True))
)


def execute_many(self: HallService, commands: list[Command]) -> list[Outcome]:
    """Decide the commands in turn and store all their entries in one transaction; a command id seen before (in the
    store or earlier in the batch) gets the first answer."""
    sites = sorted({command.site_id for command in commands})
    locks = [self._lock(site) for site in sites]
    for lock in locks:
        lock.acquire()
    stored_ok = True
    outcomes: list[Outcome | None] = [None] * len(commands)
    first: dict[str, int] = {}
    try:
        before = {site: self.state(site).seq for site in sites}
        entries = []
        known = _outcomes(self.store, [command.command_id for command in commands]) if BATCHED_LOOKUP else None
        try:
            for n, command in enumerate(commands):
                if command.command_id in first:
                    continue
                first[command.command_id] = n
                stored = known.get(command.command_id) if known is not None else self.store.outcome(command.command_id)
                if stored is not None:
                    outcomes[n] = _decode_outcome(stored)
                    continue
                outcome = self._decide(self.state(command.site_id), command)
                entries.append(Entry(command.site_id, command.command_id, outcome.events, _encode(outcome)))
                outcomes[n] = outcome
            self.store.append(entries)
        except Exception:
            for site in sites:  # the states may hold events that were never stored
                self._states.pop(site, None)
            stored_ok = False
        if stored_ok:
            for site in sites:
                state = self.state(site)
                if state.seq // self.snapshot_every != before[site] // self.snapshot_every:
                    self._snapshot(state)
    finally:
        for lock in locks:
            lock.release()
    if not stored_ok:
        return [self.execute(command) for command in commands]
    answers = [outcomes[n] or outcomes[first[command.command_id]] for n, command in enumerate(commands)]
    return [answer for answer in answers if answer is not None]


def handle_batch(self: Gateway, requests: list[tuple[str, str, str, bytes]]) -> list[tuple[wire.Reply, Any]]:
    """``handle`` for many requests: their commands are decided and stored together, then answered in order."""
    answers: list[tuple[wire.Reply, Any] | None] = [None] * len(requests)
    todo: list[tuple[int, str, wire.Request, Command | None]] = []
    for n, (site_id, device_id, action, payload) in enumerate(requests):
        try:
            request = wire.decode_request(action, payload)
        except wire.ProtocolError as error:
            answers[n] = (error_reply(wire.request_id_of(payload), error.code, error.detail[:200]), None)
            continue
        problem = self._authorise(site_id, device_id, wire.Action(action), request)
        if problem:
            answers[n] = (error_reply(request.id, wire.ErrorCode.UNAUTHORISED, problem), None)
        elif isinstance(request, wire.SnapshotRequest):
            todo.append((n, site_id, request, None))
        else:
            todo.append((n, site_id, request, self._command(site_id, device_id, wire.Action(action), request)))
    commands = [command for *_, command in todo if command is not None]
    outcomes = iter(execute_many(self.service, commands) if commands else [])
    for n, site_id, request, command in todo:
        if command is None:
            answers[n] = (wire.Reply(id=request.id, ok=True, snapshot=self.snapshot(site_id)), None)
            continue
        outcome = next(outcomes)
        self._observe(site_id, outcome)
        answers[n] = (self._reply(request.id, site_id, outcome), outcome)
    return [answer for answer in answers if answer is not None]


def _handle_batch(self: hub.server.Hub, requests: list[tuple[str, str, str, bytes]]) -> list[tuple[wire.Reply, Any]]:
    try:
        return handle_batch(self.gateway, requests)
    except Exception:
        hub.server.log.exception("a batch of %d requests failed", len(requests))
        return [(hub.server._unavailable(request[3]), None) for request in requests]


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


_CONFIG = hub.broker.ManagedMosquitto._config


def _config_without_nagle(self: hub.broker.ManagedMosquitto) -> str:
    return _CONFIG(self) + "set_tcp_nodelay true\n"


def main() -> None:
    flags = sys.argv[1:]
    for flag in flags:
        if flag == "broker-nodelay":
            hub.broker.ManagedMosquitto._config = _config_without_nagle  # type: ignore[method-assign]
        elif flag in ("group-commit", "group-commit+lookup"):
            hub.server.Hub._handle_batch = _handle_batch  # type: ignore[method-assign]
            global BATCHED_LOOKUP  # noqa: PLW0603
            BATCHED_LOOKUP = flag.endswith("+lookup")
        elif flag == "estimate-off":  # attribution only, not a proposal: what the kiosk's wait estimate costs
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

"""Read models kept incrementally, while the log grows and in batches split at random points, equal the read models
rebuilt from the whole log in one go (hypothesis), and projecting again adds nothing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import StaticPool

from engine import commands as cmd
from hub.reports.projection import READ_MODELS, Projector, store_reader
from hub.service import HallService
from hub.store.memory import MemoryStore
from hub.store.schema import metadata
from hub.store.sql import SqlStore
from tests.reports.scenario import DISTRICT, fixed_day, local

CENTRE = DISTRICT.site("centre")
assert CENTRE is not None
WINDOWS = ("w01", "w02", "w03")
MATTERS = ("A01", "A02", "B01", "C01")
KINDS = (
    "issue",
    "issue",
    "serve",
    "serve",
    "call",
    "start",
    "finish",
    "rate",
    "no_show",
    "park",
    "transfer",
    "cancel",
    "reopen",
)

operation = st.tuples(
    st.sampled_from(KINDS), st.sampled_from(WINDOWS), st.sampled_from(MATTERS), st.integers(1, 5), st.integers(0, 20)
)


class RandomHall:
    """Commands from hypothesis through the hub's service on a memory store; refusals simply add nothing."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.service = HallService(DISTRICT, self.store)
        self.now = local(9)
        self.ids = itertools.count(1)
        self.tickets: list[str] = []
        self.do(cmd.OpenDay)
        for number, window in enumerate(WINDOWS):
            self.do(cmd.OpenWindow, window_id=window, staff_id=f"clerk-{number}")

    def do(self, kind: type[cmd.Command], **fields: Any) -> None:
        command = kind(command_id=f"c{next(self.ids)}", site_id="centre", at=self.now, **fields)
        for event in self.service.execute(command).events:
            if kind is cmd.IssueTicket:
                self.tickets.append(event.ticket_id)  # type: ignore[attr-defined]

    def play(self, op: tuple[str, str, str, int, int]) -> None:
        kind, window, matter, level, minutes = op
        self.now += timedelta(minutes=minutes)
        steps: dict[str, tuple[type[cmd.Command], dict[str, Any]]] = {
            "issue": (cmd.IssueTicket, {"matters": (matter,)}),
            "call": (cmd.CallNext, {"window_id": window}),
            "start": (cmd.StartService, {"window_id": window}),
            "finish": (cmd.FinishService, {"window_id": window}),
            "rate": (cmd.RateService, {"window_id": window, "level": level}),
            "no_show": (cmd.MarkNoShow, {"window_id": window}),
            "park": (cmd.Park, {"window_id": window}),
            "transfer": (cmd.Transfer, {"window_id": window, "to_matter": matter}),
        }
        if kind == "serve":
            for step in ("call", "start", "finish", "rate"):
                command, fields = steps[step]
                self.do(command, **fields)
                self.now += timedelta(minutes=level)
        elif kind == "cancel":
            if self.tickets:
                self.do(cmd.CancelTicket, ticket_id=self.tickets[level % len(self.tickets)])
        elif kind == "reopen":
            self.do(cmd.CloseWindow, window_id=window)
            self.do(cmd.OpenWindow, window_id=window, staff_id=f"clerk-{level}")
        else:
            command, fields = steps[kind]
            self.do(command, **fields)


def _models_engine() -> sa.Engine:
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    metadata.create_all(engine, tables=list(READ_MODELS))
    return engine


def _contents(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {table.name: sorted(tuple(row) for row in connection.execute(sa.select(table))) for table in READ_MODELS}


def _cuts(ops: list[Any], points: list[int]) -> Iterator[list[Any]]:
    start = 0
    for point in [*sorted({point % (len(ops) + 1) for point in points}), len(ops)]:
        yield ops[start:point]
        start = point


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(operation, min_size=1, max_size=60),
    growth=st.lists(st.integers(0, 60), max_size=4),
    limits=st.lists(st.integers(1, 7), min_size=1, max_size=5),
    batch=st.integers(1, 9),
)
def test_kept_incrementally_equals_rebuilt(
    ops: list[tuple[str, str, str, int, int]], growth: list[int], limits: list[int], batch: int
) -> None:
    hall = RandomHall()
    live_engine, rebuilt_engine = _models_engine(), _models_engine()
    live = Projector(live_engine, store_reader(hall.store), batch=batch)
    limit = itertools.cycle(limits)
    for part in _cuts(ops, growth):  # the log grows; the projector follows in pieces of random sizes
        for op in part:
            hall.play(op)
        while live.project_site(CENTRE, limit=next(limit)):
            pass

    assert live.project(DISTRICT) == 0  # caught up (and the other, empty, sites get their checkpoints)
    rebuilt = Projector(rebuilt_engine, store_reader(hall.store))
    rebuilt.rebuild(DISTRICT)

    assert _contents(live_engine) == _contents(rebuilt_engine)
    assert live.checkpoint("centre") == hall.store.last_seq("centre")


def test_rebuild_on_the_store_equals_live_and_projecting_again_adds_nothing(store: SqlStore) -> None:
    fixed_day(store)
    projector = Projector(store.engine, batch=4)
    assert projector.project(DISTRICT) == 30
    kept = _contents(store.engine)
    assert projector.project(DISTRICT) == 0
    assert Projector(store.engine).rebuild(DISTRICT) == 30
    assert _contents(store.engine) == kept
    assert Projector(store.engine).checkpoint("centre") == 30

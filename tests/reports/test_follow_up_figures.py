"""The report's follow-up figures (hub.follow_ups.follow_up_figures in ``Report.total``) against values worked out by
hand, on SQLite and PostgreSQL: bad ratings opened, closed, the share closed with every step on time, and the open
ones past a deadline at the report's moment."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from engine import commands as cmd
from hub.follow_ups import STEPS, follow_ups_for
from hub.reports.figures import report
from hub.reports.model import FollowUpFigures, ReportQuery
from hub.reports.projection import Projector
from hub.store.sql import SqlStore
from tests.reports.scenario import DISTRICT, Hall, fixed_day, local

DAY = date(2026, 11, 25)


def _rated_badly(store: SqlStore, levels: tuple[int, ...]) -> None:
    """Services at xiaozhai's window w1 rated ``levels``, after the centre's fixed day (one 不满意 there)."""
    hall = Hall(store, "xiaozhai")
    hall.at(9).do(cmd.OpenDay)
    hall.do(cmd.OpenWindow, window_id="w1", staff_id="clerk-zhou")
    for level in levels:
        hall.issue("A02")
        for kind in (cmd.CallNext, cmd.StartService, cmd.FinishService):
            hall.do(kind, window_id="w1")
        hall.do(cmd.RateService, window_id="w1", level=level)


def _answer_all(store: SqlStore, site_id: str, seq: int, at: datetime) -> None:
    follow_ups = follow_ups_for(store)
    for step in STEPS:
        follow_ups.answer(DISTRICT, site_id, seq, step=step, note="已处理", by="manager", now=at)


def test_follow_up_and_on_time_rates_are_the_hand_worked_figures(store: SqlStore) -> None:
    fixed_day(store)  # the centre: one rating of 2 (w02, 09:17)
    _rated_badly(store, (1, 5, 2))  # xiaozhai: two bad ones, one good one
    Projector(store.engine).project(DISTRICT)
    follow_ups = follow_ups_for(store)
    assert follow_ups.sync(DISTRICT, local(12)) == 3
    centre = follow_ups.find(["centre"], state="all")
    first, second = sorted(follow_ups.find(["xiaozhai"], state="all"), key=lambda item: item.seq)
    _answer_all(store, "centre", centre[0].seq, local(15))  # every step the same afternoon: on time
    _answer_all(store, "xiaozhai", first.seq, local(9) + timedelta(days=2))  # verified after its 24 hours: late
    now = local(12) + timedelta(days=3)  # the third item is still open, past its 24 hours to verify

    whole = report(store.engine, DISTRICT, ReportQuery(start=DAY, end=DAY), now=now).total.follow_ups
    centre_only = report(store.engine, DISTRICT, ReportQuery(start=DAY, end=DAY, sites=("centre",)), now=now)
    next_day = report(store.engine, DISTRICT, ReportQuery(start=DAY + timedelta(days=1), end=DAY + timedelta(days=1)),
                      now=now)  # fmt: skip

    assert second.level == 2
    assert whole == FollowUpFigures(opened=3, closed=2, on_time=0.5, overdue=1)
    assert centre_only.total.follow_ups == FollowUpFigures(opened=1, closed=1, on_time=1.0, overdue=0)
    assert next_day.total.follow_ups == FollowUpFigures(opened=0, closed=0, on_time=None, overdue=0)


def test_before_any_deadline_nothing_is_overdue_and_no_rate_is_given(store: SqlStore) -> None:
    fixed_day(store)
    follow_ups_for(store).sync(DISTRICT, local(12))
    found = report(store.engine, DISTRICT, ReportQuery(start=DAY, end=DAY), now=local(13)).total.follow_ups
    assert found == FollowUpFigures(opened=1, closed=0, on_time=None, overdue=0)

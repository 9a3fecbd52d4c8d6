"""Follow-up of bad ratings (hub.follow_ups): opened from the event log once only, however often and on however many
hubs the sync runs; deadlines in hours and in working days of the district's calendar, measured with the test's
clock; the steps in order; appeals upheld and rejected; the report's figures; an officer's findings followed up the
same way, once, without an appeal. On real SQLite and PostgreSQL stores
with the sample district, ratings made through the hub's service as a window's evaluator makes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine import commands as cmd
from engine.events import TicketIssued
from hub.config import ConfigError, load_config
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.follow_ups import (
    FINDING,
    RATING,
    REJECT,
    UPHOLD,
    FollowUpError,
    FollowUpRules,
    FollowUps,
    add_working_days,
    excluded_ratings,
    follow_up_figures,
)
from hub.officers import Channel as VisitChannel
from hub.officers import OfficerError, Officers, officers_for
from hub.service import HallService
from hub.store import EventStore, open_store

DISTRICT = load_district(SAMPLE_DISTRICT)
CENTRE = DISTRICT.sites[0]
assert CENTRE.id == "centre"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 25 November 2026, 10:00 in Xi'an
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


class Hall:
    """The centre's day through the hub's service: tickets issued, served at w01 and rated."""

    def __init__(self, store: EventStore) -> None:
        self.service = HallService(DISTRICT, store)
        self.now = MORNING
        self._ids = 0
        self.do(cmd.OpenDay)
        self.do(cmd.OpenWindow, window_id="w01", staff_id="clerk-li")

    def do(self, kind: type[cmd.Command], **fields: object) -> None:
        self._ids += 1
        outcome = self.service.execute(kind(command_id=f"c{self._ids}", site_id="centre", at=self.now, **fields))
        assert outcome.events, outcome

    def serve_and_rate(self, level: int) -> None:
        self.do(cmd.IssueTicket, matters=("A02",))
        self.now += timedelta(minutes=5)
        self.do(cmd.CallNext, window_id="w01")
        self.do(cmd.StartService, window_id="w01")
        self.do(cmd.FinishService, window_id="w01")
        self.do(cmd.RateService, window_id="w01", level=level)


@pytest.fixture
def store(backend_store: EventStore) -> EventStore:
    return backend_store


def test_a_bad_rating_opens_one_item_however_often_and_wherever_the_sync_runs(store: EventStore) -> None:
    hall = Hall(store)
    for level in (5, 2, 3, 1, 4):
        hall.serve_and_rate(level)
    one, other = FollowUps(store), FollowUps(store)  # two hubs on one database

    assert one.sync(DISTRICT, hall.now) == 2
    assert other.sync(DISTRICT, hall.now) == 0
    assert one.sync(DISTRICT, hall.now) == 0
    items = one.find(state="all")
    assert len(items) == 2 and sorted(item.level for item in items if item.level is not None) == [1, 2]
    assert {item.window_id for item in items} == {"w01"} and {item.staff_id for item in items} == {"clerk-li"}

    hall.serve_and_rate(2)  # a later bad rating: only it is new
    assert other.sync(DISTRICT, hall.now) == 1
    assert one.sync(DISTRICT, hall.now) == 0
    assert len(one.find(state="all")) == 3


def test_memory_store_follow_ups_work_the_same() -> None:
    store = open_store("memory://")
    hall = Hall(store)
    hall.serve_and_rate(1)
    follow_ups = FollowUps(store)
    assert follow_ups.sync(DISTRICT, hall.now) == 1
    assert follow_ups.sync(DISTRICT, hall.now) == 0


def test_working_days_skip_weekends_and_holidays_and_count_make_up_days() -> None:
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI)
    # Friday + 1 working day = Monday, ending at Tuesday's local midnight
    assert add_working_days(CENTRE, DISTRICT.calendar, friday, 1) == datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
    # 30 September 2026 (Wed): 1-7 October are holidays, Saturday 10 October is a make-up working day
    eve = datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI)
    assert DISTRICT.calendar.makeup_workdays >= {date(2026, 10, 10)}
    assert add_working_days(CENTRE, DISTRICT.calendar, eve, 1) == datetime(2026, 10, 9, 0, 0, tzinfo=SHANGHAI)
    assert add_working_days(CENTRE, DISTRICT.calendar, eve, 3) == datetime(2026, 10, 11, 0, 0, tzinfo=SHANGHAI)


def test_deadlines_follow_the_rules_and_the_clock_makes_an_item_overdue(store: EventStore) -> None:
    hall = Hall(store)
    hall.serve_and_rate(2)
    rules = FollowUpRules(verified_hours=4, contacted_hours=24, put_right_working_days=2, reported_working_days=1)
    follow_ups = FollowUps(store, rules)
    follow_ups.sync(DISTRICT, hall.now)
    (item,) = follow_ups.find()
    verified, contacted, put_right, reported = item.steps
    assert verified.due_at == item.rated_at + timedelta(hours=4)
    assert contacted.due_at == item.rated_at + timedelta(hours=24)
    # rated Wednesday 25 November: two working days on, Friday 27th ends at Saturday's midnight
    assert put_right.due_at == datetime(2026, 11, 28, 0, 0, tzinfo=SHANGHAI)
    assert reported.due_at is None  # counted from the answer that puts it right

    now = hall.now + timedelta(hours=3)
    assert not item.overdue(now) and follow_ups.overdue_count(None, now) == 0
    now = hall.now + timedelta(hours=5)
    assert item.overdue(now) and follow_ups.overdue_count(["centre"], now) == 1
    assert [i.seq for i in follow_ups.find(state="overdue", now=now)] == [item.seq]
    assert follow_ups.overdue_count(["xiaozhai"], now) == 0

    item = follow_ups.answer(DISTRICT, "centre", item.seq, step="verified", note="查看了录像", by="li", now=now)
    assert item.steps[0].on_time is False and item.late
    assert not item.overdue(now)  # the next step's deadline is later
    item = follow_ups.answer(DISTRICT, "centre", item.seq, step="contacted", note="已电话联系", by="li", now=now)
    friday = datetime(2026, 11, 27, 11, 0, tzinfo=SHANGHAI).astimezone(UTC)
    item = follow_ups.answer(DISTRICT, "centre", item.seq, step="put_right", note="已培训", by="li", now=friday)
    assert item.steps[3].due_at == datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)  # the next working day: Monday
    assert not item.overdue(datetime(2026, 11, 30, 23, 0, tzinfo=SHANGHAI))
    assert item.overdue(datetime(2026, 12, 1, 0, 1, tzinfo=SHANGHAI))


def test_steps_go_in_order_each_with_a_note_and_the_last_closes_the_item(store: EventStore) -> None:
    hall = Hall(store)
    hall.serve_and_rate(1)
    follow_ups = FollowUps(store)
    follow_ups.sync(DISTRICT, hall.now)
    (item,) = follow_ups.find()
    with pytest.raises(FollowUpError) as refused:
        follow_ups.answer(DISTRICT, "centre", item.seq, step="contacted", note="跳过核实", by="li", now=hall.now)
    assert refused.value.code == "step"
    with pytest.raises(FollowUpError) as refused:
        follow_ups.answer(DISTRICT, "centre", item.seq, step="verified", note="  ", by="li", now=hall.now)
    assert refused.value.code == "note"
    now = hall.now.astimezone(SHANGHAI)  # a clock in local time (as a hub's [clock] start gives): the same instants
    for step in ("verified", "contacted", "put_right", "reported"):
        now += timedelta(hours=1)
        item = follow_ups.answer(DISTRICT, "centre", item.seq, step=step, note=f"{step} 说明", by="li", now=now)
    assert item.closed and item.outcome == "done" and not item.late
    assert item.closed_at == now and item.steps[0].answered_at == hall.now + timedelta(hours=1)
    assert (item.steps[0].note, item.steps[0].answered_by) == ("verified 说明", "li")
    assert follow_ups.find() == [] and len(follow_ups.find(state="closed")) == 1
    with pytest.raises(FollowUpError) as refused:
        follow_ups.answer(DISTRICT, "centre", item.seq, step="reported", note="again", by="li", now=now)
    assert refused.value.code == "closed"


def test_an_upheld_appeal_closes_the_item_and_takes_the_rating_out_of_the_figures(store: EventStore) -> None:
    hall = Hall(store)
    hall.serve_and_rate(1)
    hall.serve_and_rate(2)
    follow_ups = FollowUps(store)
    follow_ups.sync(DISTRICT, hall.now)
    falsely, fairly = sorted(follow_ups.find(), key=lambda item: item.seq)

    with pytest.raises(FollowUpError) as refused:
        follow_ups.decide("centre", falsely.seq, decision=UPHOLD, note="", by="root", now=hall.now)
    assert refused.value.code == "no_appeal"
    item = follow_ups.appeal("centre", falsely.seq, reason="评价器按错，群众当场说明", by="zhao", now=hall.now)
    assert item.appeal is not None and item.appeal.decision is None and not item.closed
    with pytest.raises(FollowUpError) as refused:
        follow_ups.appeal("centre", falsely.seq, reason="again", by="li", now=hall.now)
    assert refused.value.code == "appealed"
    item = follow_ups.decide("centre", falsely.seq, decision=UPHOLD, note="录像核实属实", by="root", now=hall.now)
    assert item.closed and item.outcome == "appeal_upheld" and item.appeal and item.appeal.decided_by == "root"
    assert excluded_ratings(follow_ups.engine, "centre") == {falsely.seq}

    follow_ups.appeal("centre", fairly.seq, reason="不认可", by="li", now=hall.now)
    item = follow_ups.decide("centre", fairly.seq, decision=REJECT, note="", by="root", now=hall.now)
    assert not item.closed and item.appeal and item.appeal.decision == REJECT
    item = follow_ups.answer(
        DISTRICT, "centre", fairly.seq, step="verified", note="核实", by="li", now=hall.now
    )  # it goes on
    assert item.current is not None and item.current.name == "contacted"
    assert [i.seq for i in follow_ups.find()] == [fairly.seq]


def test_figures_count_opened_closed_on_time_and_overdue(store: EventStore) -> None:
    hall = Hall(store)
    for level in (1, 2, 2, 1, 5):
        hall.serve_and_rate(level)
    follow_ups = FollowUps(store, FollowUpRules(verified_hours=2))
    follow_ups.sync(DISTRICT, hall.now)
    quick, slow, appealed, waiting = sorted(follow_ups.find(), key=lambda item: item.seq)
    now = hall.now
    for step in ("verified", "contacted", "put_right", "reported"):
        now += timedelta(minutes=30)
        follow_ups.answer(DISTRICT, "centre", quick.seq, step=step, note="ok", by="li", now=now)
    late = hall.now + timedelta(hours=3)  # after the 2 hours to verify
    for step in ("verified", "contacted", "put_right", "reported"):
        follow_ups.answer(DISTRICT, "centre", slow.seq, step=step, note="ok", by="li", now=late)
    follow_ups.appeal("centre", appealed.seq, reason="误评", by="zhao", now=hall.now)
    follow_ups.decide("centre", appealed.seq, decision=UPHOLD, note="", by="root", now=hall.now)

    day = date(2026, 11, 25)
    sites = [site for site in DISTRICT.sites]
    figures = follow_up_figures(follow_ups.engine, sites, day, day, now=late)
    assert (figures.opened, figures.closed, figures.on_time, figures.overdue) == (3, 2, 0.5, 1)
    assert waiting.seq not in {quick.seq, slow.seq}
    before = follow_up_figures(follow_ups.engine, sites, day, day, now=hall.now)
    assert before.overdue == 0
    other_days = follow_up_figures(follow_ups.engine, sites, date(2026, 11, 26), date(2026, 11, 30), now=late)
    assert (other_days.opened, other_days.closed, other_days.on_time, other_days.overdue) == (0, 0, None, 0)


def test_rules_need_a_deadline_for_every_step() -> None:
    with pytest.raises(ValueError, match="verified"):
        FollowUpRules(verified_hours=0)


def test_a_step_answered_meanwhile_elsewhere_is_refused_not_doubled(store: EventStore) -> None:
    hall = Hall(store)
    hall.serve_and_rate(2)
    here, there = FollowUps(store), FollowUps(store)
    here.sync(DISTRICT, hall.now)
    (item,) = here.find()
    there.answer(DISTRICT, "centre", item.seq, step="verified", note="在另一个页面", by="li", now=hall.now)
    with pytest.raises(FollowUpError) as refused:
        here.answer(DISTRICT, "centre", item.seq, step="verified", note="同时", by="li", now=hall.now)
    assert refused.value.code == "step"
    (again,) = here.find()
    assert again.steps[0].note == "在另一个页面" and again.current is not None and again.current.name == "contacted"


def test_the_deadlines_come_from_the_hubs_configuration(tmp_path: Path) -> None:
    toml = tmp_path / "hub.toml"
    toml.write_text("[follow_ups]\ncontacted_hours = 8\nput_right_working_days = 10\n")
    rules = load_config(toml, environ={}).follow_ups
    assert (rules.contacted_hours, rules.put_right_working_days, rules.reported_working_days) == (8, 10, 5)
    toml.write_text("[follow_ups]\nverified_hours = 0\n")
    with pytest.raises(ConfigError, match="verified"):
        load_config(toml, environ={})


# --- officers' findings (体验官意见) ---------------------------------------------------------------------------------


def officer_visit(hall: Hall, officers: Officers) -> tuple[str, TicketIssued]:
    """A ticket issued with an officer's code: the officer and the visit's ``TicketIssued``."""
    officer, _code = officers.enrol("周明远", "deputy", "13812345678", "root", hall.now, pepper=b"p" * 32)
    hall._ids += 1
    issue = cmd.IssueTicket(command_id=f"c{hall._ids}", site_id="centre", at=hall.now, matters=("A02",))
    (issued,) = [event for event in hall.service.execute(issue).events if isinstance(event, TicketIssued)]
    assert officers.record_visit(issued, officer.officer_id, VisitChannel.KIOSK, hall.now)
    return officer.officer_id, issued


def test_a_finding_opens_one_item_written_twice_and_on_two_hubs_with_the_steps_to_the_end(store: EventStore) -> None:
    hall = Hall(store)
    hall.serve_and_rate(1)
    officers = officers_for(store)
    officer_id, issued = officer_visit(hall, officers)
    one, other = FollowUps(store), FollowUps(store)  # two hubs on one database
    assert one.sync(DISTRICT, hall.now) == 1  # the rating; the visit has no findings yet

    written = hall.now + timedelta(minutes=40)
    officers.write_findings(issued.ticket_id, officer_id, "导办台无人值守", written)
    assert [other.sync(DISTRICT, written), one.sync(DISTRICT, written), other.sync(DISTRICT, written)] == [1, 0, 0]
    amended = "导办台无人值守，指引牌看不清"
    officers.write_findings(issued.ticket_id, officer_id, amended, written + timedelta(minutes=5))  # written again
    assert one.sync(DISTRICT, written) == other.sync(DISTRICT, written) == 0
    (item,) = one.find(kind=FINDING)
    assert (item.key, item.ticket_id, item.matter) == (f"centre/{issued.seq}", issued.ticket_id, "A02")
    assert item.window_id is None and item.level is None and item.staff_id is None and item.rated_at == written
    assert item.finding is not None and item.finding.text == amended
    assert item.finding.officer_id == officer_id and item.finding.written_at is not None
    assert item.finding.written_at > item.rated_at  # amended after it opened: the item says so
    assert [i.kind for i in one.find(state="all")] == [FINDING, RATING]
    assert one.find(window_id="w01", kind=FINDING) == []  # a window's list never holds a finding

    with pytest.raises(FollowUpError) as refused:
        one.appeal("centre", item.seq, reason="不属实", by="li", now=written)
    assert refused.value.code == "finding"
    with pytest.raises(OfficerError):  # blank findings are refused: the followed-up text stays
        officers.write_findings(issued.ticket_id, officer_id, "   ", written)

    now = written
    for step in ("verified", "contacted", "put_right", "reported"):
        now += timedelta(hours=1)
        item = one.answer(DISTRICT, "centre", item.seq, step=step, note=f"{step} 已办", by="li", now=now)
    assert item.closed and item.outcome == "done" and not item.late
    assert one.sync(DISTRICT, now) == 0 and len(one.find(kind=FINDING, state="closed")) == 1


def test_a_findings_deadlines_run_from_its_writing_by_the_clock_and_count_as_overdue(store: EventStore) -> None:
    hall = Hall(store)
    officers = officers_for(store)
    officer_id, issued = officer_visit(hall, officers)
    written = hall.now + timedelta(hours=1)
    officers.write_findings(issued.ticket_id, officer_id, "叫号屏不显示窗口号", written)
    follow_ups = FollowUps(store, FollowUpRules(verified_hours=4, put_right_working_days=2))
    follow_ups.sync(DISTRICT, written + timedelta(days=3))  # read late: the deadlines still count from the writing
    (item,) = follow_ups.find(kind=FINDING)
    assert item.rated_at == item.opened_at == written
    assert item.steps[0].due_at == written + timedelta(hours=4)
    assert item.steps[2].due_at == datetime(2026, 11, 28, 0, 0, tzinfo=SHANGHAI)
    before, after = written + timedelta(hours=3), written + timedelta(hours=5)
    assert follow_ups.overdue_count(["centre"], before) == 0
    assert follow_ups.overdue_count(["centre"], after) == follow_ups.overdue_count(["centre"], after, kind=FINDING) == 1
    assert follow_ups.overdue_count(["centre"], after, kind=RATING) == 0

    day = date(2026, 11, 25)
    figures = follow_up_figures(follow_ups.engine, list(DISTRICT.sites), day, day, now=after)
    assert (figures.opened, figures.closed, figures.overdue) == (1, 0, 1)  # findings count with the ratings


def test_memory_store_findings_are_followed_up_too() -> None:
    store = open_store("memory://")
    hall = Hall(store)
    officers = officers_for(store)
    officer_id, issued = officer_visit(hall, officers)
    officers.write_findings(issued.ticket_id, officer_id, "等候区座位不够", hall.now)
    follow_ups = FollowUps(store)
    assert follow_ups.sync(DISTRICT, hall.now) == 1 and follow_ups.sync(DISTRICT, hall.now) == 0
    assert follow_ups.of_visits([issued.ticket_id])[issued.ticket_id].kind == FINDING

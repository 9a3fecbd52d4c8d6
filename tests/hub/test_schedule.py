"""The schedule opens working days, skips holidays and closes each day after its last period."""

from __future__ import annotations

from datetime import datetime

from engine import commands as cmd
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.schedule import due_commands
from hub.service import HallService
from hub.store.memory import MemoryStore

DISTRICT = load_district(SAMPLE_DISTRICT)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def run_schedule(service: HallService, now: datetime) -> list[cmd.Command]:
    states = {site.id: service.state(site.id) for site in DISTRICT.sites}
    due = due_commands(DISTRICT, states, now)
    for command in due:
        assert service.execute(command).accepted
    return due


def test_a_working_day_opens_once_and_closes_in_the_evening() -> None:
    service = HallService(DISTRICT, MemoryStore())
    opened = run_schedule(service, at("2026-11-25T07:00:00+08:00"))
    assert {type(c) for c in opened} == {cmd.OpenDay} and len(opened) == len(DISTRICT.sites)
    assert run_schedule(service, at("2026-11-25T07:01:00+08:00")) == []
    closed = run_schedule(service, at("2026-11-25T18:30:00+08:00"))
    assert {type(c) for c in closed} == {cmd.CloseDay} and len(closed) == len(DISTRICT.sites)
    assert run_schedule(service, at("2026-11-25T19:00:00+08:00")) == []


def test_holidays_stay_closed_and_saturday_opens_only_where_there_are_hours() -> None:
    service = HallService(DISTRICT, MemoryStore())
    assert run_schedule(service, at("2026-10-01T09:00:00+08:00")) == []
    saturday = run_schedule(service, at("2026-11-28T09:00:00+08:00"))
    assert [c.site_id for c in saturday] == ["centre"]


def test_a_retried_schedule_command_is_not_applied_twice() -> None:
    service = HallService(DISTRICT, MemoryStore())
    (first, *_) = run_schedule(service, at("2026-11-25T08:00:00+08:00"))
    seq = service.state(first.site_id).seq
    assert service.execute(first).accepted
    assert service.state(first.site_id).seq == seq

"""The slot planner: opening hours cut into slots, the walk-in share kept, holidays closed."""

from __future__ import annotations

from datetime import date, time

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.district import QueueRules
from hub.appointments import AppointmentRules, AppointmentsConfig
from hub.appointments.planner import appointment_capacity, day_slots, find_slot, open_slots
from tests.appointments.conftest import DAY, DISTRICT, RULES, SITE_ID, local


def site(site_id: str = SITE_ID):  # type: ignore[no-untyped-def]
    found = DISTRICT.site(site_id)
    assert found is not None
    return found


def test_a_working_day_is_cut_into_half_hour_slots_over_the_opening_periods() -> None:
    slots = day_slots(DISTRICT, site(), "A", DAY, RULES)

    labels = [slot.label for slot in slots]
    assert labels[:6] == ["09:00-09:30", "09:30-10:00", "10:00-10:30", "10:30-11:00", "11:00-11:30", "11:30-12:00"]
    assert labels[6:] == [f"{h:02d}:{m:02d}-{h + (m + 30) // 60:02d}:{(m + 30) % 60:02d}" for h in range(13, 17)
                          for m in (0, 30)]  # fmt: skip
    assert slots[0].start == local(DAY, 9) and slots[0].start.utcoffset() is not None


def test_the_walk_in_share_is_kept_and_the_rest_spread_evenly() -> None:
    slots = day_slots(DISTRICT, site(), "A", DAY, RULES)

    assert appointment_capacity(40, 0.3) == 28
    assert sum(slot.capacity for slot in slots) == 28
    assert {slot.capacity for slot in slots} == {2}


def test_a_bigger_walk_in_share_leaves_fewer_places_and_some_slots_without_any() -> None:
    rules = AppointmentRules(walk_in_share=0.8)
    slots = day_slots(DISTRICT, site(), "A", DAY, rules)

    assert sum(slot.capacity for slot in slots) == 8
    assert len(slots) == 8  # 8 places over 14 slots: slots without a place are not offered
    assert {slot.capacity for slot in slots} == {1}
    assert day_slots(DISTRICT, site(), "A", DAY, AppointmentRules(walk_in_share=1.0)) == []


@given(limit=st.integers(1, 2000), share=st.floats(0.0, 1.0), slot_minutes=st.sampled_from([10, 15, 20, 30, 60]))
def test_places_are_never_lost_or_made_up(limit: int, share: float, slot_minutes: int) -> None:
    rules = AppointmentRules(walk_in_share=share, slot_minutes=slot_minutes)
    the_site = msgspec.structs.replace(site(), matters={"A": limit})
    slots = day_slots(DISTRICT, the_site, "A", DAY, rules)

    bookable = appointment_capacity(limit, share)
    assert limit - bookable >= limit * share - 1e-6  # walk-ins keep at least their share ...
    assert limit - bookable < limit * share + 1  # ... and less than one place more
    assert sum(slot.capacity for slot in slots) == bookable
    capacities = [slot.capacity for slot in slots]
    assert not capacities or max(capacities) - min(capacities) <= 1


def test_no_slots_on_a_holiday_a_weekend_or_for_a_matter_that_cannot_be_booked() -> None:
    assert day_slots(DISTRICT, site(), "A", date(2026, 10, 1), RULES) == []  # National Day
    assert day_slots(DISTRICT, site(), "A", date(2026, 11, 28), RULES) == []  # a Saturday
    assert day_slots(DISTRICT, site(), "B", DAY, RULES) == []  # appointment_allowed = false
    assert day_slots(DISTRICT, site(), "Z", DAY, RULES) == []  # not in the catalogue


def test_a_make_up_working_day_has_the_make_up_hours() -> None:
    slots = day_slots(DISTRICT, site(), "A", date(2026, 10, 10), RULES)

    assert slots[0].label == "09:00-09:30"
    assert slots[-1].end.time() == time(12)


def test_slots_end_when_self_service_issuing_stops() -> None:
    stopping = msgspec.structs.replace(site(), rules=QueueRules(stop_issuing_minutes=20))
    slots = day_slots(DISTRICT, stopping, "A", DAY, RULES)

    assert (
        slots[4].label == "11:00-11:30" and slots[5].label == "13:00-13:30"
    )  # 11:30-12:00 would end after issuing stops at 11:40
    assert slots[-1].label == "16:00-16:30"


def test_a_slot_is_found_by_its_start_in_any_timezone() -> None:
    start = local(DAY, 10, 30)

    found = find_slot(DISTRICT, site(), "A", start.astimezone(local(DAY, 0).tzinfo), RULES)
    assert found is not None and found.label == "10:30-11:00"
    assert find_slot(DISTRICT, site(), "A", start.replace(minute=40), RULES) is None
    assert find_slot(DISTRICT, site(), "A", local(DAY, 12, 30), RULES) is None  # lunch break


def test_open_slots_leave_out_begun_slots_and_count_places_taken() -> None:
    slots = day_slots(DISTRICT, site(), "A", DAY, RULES)

    offered = open_slots(slots, {local(DAY, 10): 1, local(DAY, 10, 30): 5}, now=local(DAY, 9, 45))

    assert offered[0].slot.label == "10:00-10:30" and offered[0].remaining == 1
    assert offered[1].remaining == 0


@pytest.mark.parametrize("bad", [{"walk_in_share": 1.5}, {"slot_minutes": 0}, {"no_show_limit": 0}])
def test_nonsense_rules_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(bad, AppointmentRules)


def test_the_hub_config_section_carries_the_rules_and_the_keys_file() -> None:
    config = msgspec.convert(
        {"keys_file": "/etc/hall/keys.toml", "walk_in_share": "0.2"}, AppointmentsConfig, strict=False
    )

    assert config.keys_file == "/etc/hall/keys.toml"
    assert config.rules() == AppointmentRules(walk_in_share=0.2)

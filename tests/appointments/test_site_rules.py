"""A site's own booking rules over the hub's: slot length, walk-in share and how far ahead, on every backend; a
booking made before a change keeps its slot, its code and its place; the desk follows a new district."""

from __future__ import annotations

from datetime import date, timedelta

import msgspec
import pytest

from engine.district import AppointmentPolicy, District
from hub.appointments import AppointmentDesk, AppointmentRules, BookingReason, BookingRefused
from hub.appointments.planner import next_open_day
from tests.appointments.conftest import DAY, DISTRICT, NOW, OTHER_PHONE, OTHER_SITE, PHONE, RULES, SITE_ID, local

HOUR_SLOTS = AppointmentPolicy(slot_minutes=60, walk_in_share=0.5, days_ahead=2)


def with_policy(policy: AppointmentPolicy | None, site_id: str = SITE_ID, district: District = DISTRICT) -> District:
    sites = tuple(
        msgspec.structs.replace(site, appointments=policy) if site.id == site_id else site for site in district.sites
    )
    return msgspec.structs.replace(district, sites=sites)


def site_of(district: District, site_id: str = SITE_ID):  # type: ignore[no-untyped-def]
    found = district.site(site_id)
    assert found is not None
    return found


def test_a_site_s_policy_replaces_three_rules_and_keeps_the_hub_s_others() -> None:
    hub = AppointmentRules(late_minutes=20, client_limit="5/minute")

    own = hub.for_site(site_of(with_policy(HOUR_SLOTS)))

    assert (own.slot_minutes, own.walk_in_share, own.days_ahead) == (60, 0.5, 2)
    assert (own.late_minutes, own.client_limit, own.no_show_limit) == (20, "5/minute", hub.no_show_limit)
    assert hub.for_site(site_of(DISTRICT)) is hub  # no policy: the hub's rules as they are


def test_the_site_s_slots_have_its_length_and_capacity_and_the_other_site_keeps_the_hub_s(
    desk: AppointmentDesk,
) -> None:
    desk.district = with_policy(HOUR_SLOTS)

    mine = desk.slots(SITE_ID, "A", DAY, NOW)
    other = desk.slots(OTHER_SITE, "A", DAY, NOW)

    # 09-12 and 13-17 in hours: 7 slots; 40 places less half for walk-ins: 20, spread 3,3,3,3,3,3,2
    assert [s.slot.label for s in mine][:3] == ["09:00-10:00", "10:00-11:00", "11:00-12:00"] and len(mine) == 7
    assert sum(s.slot.capacity for s in mine) == 20 and {s.slot.capacity for s in mine} == {2, 3}
    assert len(other) == 14 and sum(s.slot.capacity for s in other) == 28
    booked = desk.book(SITE_ID, "A", local(DAY, 10), PHONE, NOW)
    assert booked.booking.slot_label == "10:00-11:00"
    assert desk.slots(SITE_ID, "A", DAY + timedelta(days=3), NOW) == []  # beyond days_ahead = 2
    with pytest.raises(BookingRefused) as refused:
        desk.book(SITE_ID, "A", local(DAY + timedelta(days=5), 9), OTHER_PHONE, NOW)
    assert refused.value.reason == BookingReason.TOO_FAR_AHEAD


def test_a_booking_made_before_the_slot_length_changed_keeps_its_slot_code_and_place(desk: AppointmentDesk) -> None:
    half_hour = desk.book(SITE_ID, "A", local(DAY, 10, 30), PHONE, NOW)
    desk.district = with_policy(AppointmentPolicy(slot_minutes=60, walk_in_share=0.3, days_ahead=7))

    hour = {s.slot.label: s for s in desk.slots(SITE_ID, "A", DAY, NOW)}
    check_in = desk.check_in(SITE_ID, half_hour.code, local(DAY, 10, 20), command_id="c1")

    assert hour["10:00-11:00"].booked == 1  # its 10:30 start lies within the new 10:00-11:00 slot
    assert hour["09:00-10:00"].booked == 0
    assert (check_in.slot_label, check_in.slot_start) == ("10:30-11:00", local(DAY, 10, 30))
    listed = desk.bookings(SITE_ID, DAY)
    assert [(b.slot_label, b.status) for b in listed] == [("10:30-11:00", "checked_in")]


def test_old_bookings_within_a_longer_slot_fill_it(desk: AppointmentDesk) -> None:
    phones = iter(f"1381234{n:04d}" for n in range(100))
    for start in (local(DAY, 10), local(DAY, 10, 30)):
        for _ in range(2):  # each half hour full: 2 places
            desk.book(SITE_ID, "A", start, next(phones), NOW)
    desk.district = with_policy(AppointmentPolicy(slot_minutes=60, walk_in_share=0.3, days_ahead=7))
    ten = next(s for s in desk.slots(SITE_ID, "A", DAY, NOW) if s.slot.label == "10:00-11:00")
    assert (ten.slot.capacity, ten.booked, ten.remaining) == (4, 4, 0)

    with pytest.raises(BookingRefused) as refused:
        desk.book(SITE_ID, "A", local(DAY, 10), next(phones), NOW)

    assert refused.value.reason == BookingReason.SLOT_FULL


def test_a_cancelled_old_booking_gives_its_place_back_to_the_new_slot(desk: AppointmentDesk) -> None:
    old = desk.book(SITE_ID, "A", local(DAY, 10, 30), PHONE, NOW)
    desk.district = with_policy(AppointmentPolicy(slot_minutes=60, walk_in_share=0.3, days_ahead=7))

    desk.cancel(old.booking.booking_id, PHONE, NOW)

    ten = next(s for s in desk.slots(SITE_ID, "A", DAY, NOW) if s.slot.label == "10:00-11:00")
    assert ten.booked == 0


def test_the_outlook_shows_the_next_open_day_under_the_rules_given(sqlite_desk: AppointmentDesk) -> None:
    sqlite_desk.book(SITE_ID, "A", local(DAY, 10), PHONE, NOW)
    sqlite_desk.book(SITE_ID, "A", local(DAY, 14), OTHER_PHONE, NOW)

    now = sqlite_desk.outlook(site_of(DISTRICT), NOW)
    changed = sqlite_desk.outlook(site_of(with_policy(HOUR_SLOTS)), NOW)

    assert (now.day, now.last_day) == (DAY, DAY + timedelta(days=7))
    (a,) = now.matters  # B may not be booked
    assert (a.matter, a.slots, a.fewest, a.most, a.bookable, a.walk_ins, a.booked) == ("A", 14, 2, 2, 28, 12, 2)
    (a,) = changed.matters
    assert (a.slots, a.fewest, a.most, a.bookable, a.walk_ins, a.booked) == (7, 2, 3, 20, 20, 2)
    assert changed.last_day == DAY + timedelta(days=2) and changed.rules.slot_minutes == 60


def test_the_next_open_day_skips_closed_days_and_a_day_whose_slots_have_begun() -> None:
    site = site_of(DISTRICT)

    assert next_open_day(DISTRICT, site, NOW, RULES) == DAY
    assert next_open_day(DISTRICT, site, local(DAY, 16, 29), RULES) == DAY  # 16:30-17:00 still to come
    assert next_open_day(DISTRICT, site, local(DAY, 16, 30), RULES) == DAY + timedelta(days=1)  # last slot begun
    assert next_open_day(DISTRICT, site, local(date(2026, 11, 27), 17), RULES) == date(2026, 11, 30)  # Fri -> Mon
    assert next_open_day(DISTRICT, site, local(date(2026, 9, 30), 18), RULES) == date(2026, 10, 8)  # National Day
    closed = msgspec.structs.replace(site, hours={})
    assert next_open_day(DISTRICT, closed, NOW, RULES) is None

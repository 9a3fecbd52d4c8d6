"""Bookable slots: pure arithmetic over the district's opening hours, holiday calendar and daily limits (no I/O).

A matter's bookable capacity for a day is its daily limit at the site minus the walk-in share (rounded up in the
walk-ins' favour). The capacity is spread evenly over the day's slots: each opening period is cut into slots of
``slot_minutes``, ending ``stop_issuing_minutes`` before the period closes (when self-service issuing stops, so a
check-in in the last slot still gets a ticket). A slot that would have no place is not offered.

The rules are the site's (``AppointmentRules.for_site``). A booking counts against the slot its start falls in, so
after a site's slot length changed, bookings made in slots of the old length still take places of the new slots
that contain their starts (docs/appointments.md, "Per-site rules").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.calendar import local_day, periods_on
from engine.district import District, Matter, Site
from hub.appointments.rules import AppointmentRules


@dataclass(frozen=True, slots=True)
class Slot:
    site_id: str
    matter: str
    start: datetime
    """Timezone-aware, in the site's local time."""
    end: datetime
    capacity: int

    @property
    def label(self) -> str:
        """``10:00-10:30``, as printed and spoken."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class OpenSlot:
    """A slot as offered for booking: its places left."""

    slot: Slot
    booked: int

    @property
    def remaining(self) -> int:
        return max(0, self.slot.capacity - self.booked)


def appointment_capacity(daily_limit: int, walk_in_share: float) -> int:
    """Places bookable in a day: the daily limit less the walk-ins' share, which is rounded up."""
    kept = math.ceil(round(daily_limit * walk_in_share, 9))
    return max(0, daily_limit - kept)


def bookable_matter(district: District, site: Site, code: str) -> Matter | None:
    """The matter if the site offers it and it may be booked at all."""
    matter = district.matter(code)
    if matter is None or code not in site.matters or not matter.appointment_allowed:
        return None
    return matter


def slot_starts(district: District, site: Site, day: date, rules: AppointmentRules) -> list[datetime]:
    """Where the day's slots start: each opening period cut into slots of ``slot_minutes`` that end by
    ``stop_issuing_minutes`` before it closes."""
    zone = ZoneInfo(site.timezone)
    margin = timedelta(minutes=site.rules.stop_issuing_minutes)
    starts: list[datetime] = []
    for period in periods_on(site, district.calendar, day):
        start = datetime.combine(day, period.start, zone)
        close = datetime.combine(day, period.end, zone) - margin
        while start + rules.slot <= close:
            starts.append(start)
            start += rules.slot
    return starts


def day_slots(district: District, site: Site, code: str, day: date, rules: AppointmentRules) -> list[Slot]:
    """Every slot with at least one place for a matter at a site on a day; none on holidays and closed days."""
    matter = bookable_matter(district, site, code)
    if matter is None:
        return []
    starts = slot_starts(district, site, day, rules)
    if not starts:
        return []
    total = appointment_capacity(district.daily_limit(site, matter), rules.walk_in_share)
    count = len(starts)
    slots = []
    for index, start in enumerate(starts):
        capacity = (index + 1) * total // count - index * total // count  # evenly spread, no remainder lost
        if capacity > 0:
            slots.append(Slot(site.id, code, start, start + rules.slot, capacity))
    return slots


def find_slot(district: District, site: Site, code: str, start: datetime, rules: AppointmentRules) -> Slot | None:
    """The offered slot starting at ``start`` (any timezone), or None."""
    local_start = start.astimezone(ZoneInfo(site.timezone))
    for slot in day_slots(district, site, code, local_start.date(), rules):
        if slot.start == local_start:
            return slot
    return None


def booking_days(site: Site, now: datetime, rules: AppointmentRules) -> tuple[date, date]:
    """The first and last local day a booking made at ``now`` may be for."""
    today = local_day(site, now)
    return today, today + timedelta(days=rules.days_ahead)


def taken_in(slot: Slot, booked: Mapping[datetime, int]) -> int:
    """Places of ``slot`` taken: the bookings (by their slot start, any timezone) that start within it."""
    return sum(count for start, count in booked.items() if slot.start <= start < slot.end)


def open_slots(slots: list[Slot], booked: Mapping[datetime, int], now: datetime) -> list[OpenSlot]:
    """The slots not yet started at ``now``, with places taken (``booked`` by slot start, any timezone)."""
    return [OpenSlot(slot, taken_in(slot, booked)) for slot in slots if slot.start > now]


LOOK_AHEAD_DAYS = 31
"""How far ``next_open_day`` looks: past the longest run of official holidays."""


def next_open_day(district: District, site: Site, now: datetime, rules: AppointmentRules) -> date | None:
    """The first local day from today with a slot of the site's hours not yet begun at ``now`` (None: closed for
    ``LOOK_AHEAD_DAYS``)."""
    today = local_day(site, now)
    for offset in range(LOOK_AHEAD_DAYS):
        day = today + timedelta(days=offset)
        if any(start > now for start in slot_starts(district, site, day, rules)):
            return day
    return None


@dataclass(frozen=True, slots=True)
class MatterDay:
    """A matter's appointments on one day at a site, as a manager weighs the rules: what the rules give and what is
    booked."""

    matter: str
    slots: int
    fewest: int
    """Places in the slot with the fewest (slots with none are not offered)."""
    most: int
    bookable: int
    """Places bookable in the day (the daily limit less the walk-ins' share)."""
    walk_ins: int
    """Places of the daily limit kept for walk-ins."""
    booked: int
    """Places booked that day (in slots of any length)."""


def matter_day(
    district: District, site: Site, matter: Matter, day: date, rules: AppointmentRules, *,
    booked: Mapping[datetime, int],
) -> MatterDay:  # fmt: skip
    """``booked``: places taken by slot start on that day (``AppointmentStore.places_taken``)."""
    slots = day_slots(district, site, matter.code, day, rules)
    limit = district.daily_limit(site, matter)
    bookable = sum(slot.capacity for slot in slots)
    places = [slot.capacity for slot in slots] or [0]
    return MatterDay(
        matter=matter.code,
        slots=len(slots),
        fewest=min(places),
        most=max(places),
        bookable=bookable,
        walk_ins=limit - appointment_capacity(limit, rules.walk_in_share),
        booked=sum(booked.values()),
    )

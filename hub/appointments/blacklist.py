"""The no-show rule (预约失信): ``no_show_limit`` missed appointments within ``no_show_window_days`` days block new
bookings for ``block_days`` days, counted from the missed slot that reached the limit. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from hub.appointments.rules import AppointmentRules


def blocked_until(missed: Iterable[datetime], rules: AppointmentRules) -> datetime | None:
    """When the latest block ends, given the slot starts of a phone's no-shows; None if none was ever reached."""
    times = sorted(missed)
    window = timedelta(days=rules.no_show_window_days)
    block = timedelta(days=rules.block_days)
    limit = rules.no_show_limit
    until: datetime | None = None
    for last in range(limit - 1, len(times)):
        if times[last] - times[last - limit + 1] < window:
            end = times[last] + block
            until = end if until is None else max(until, end)
    return until


def lookback(rules: AppointmentRules) -> timedelta:
    """How far back no-shows can still matter for a block in force now."""
    return timedelta(days=rules.no_show_window_days + rules.block_days)

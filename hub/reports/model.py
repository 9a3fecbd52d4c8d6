"""What a report is, as the pages, the exports and the JSON API see it: plain msgspec structs, no queries here.

A report covers whole local days ``start``..``end`` (both included) of some sites, and breaks its figures down by
one dimension (``Breakdown``). Times are seconds; shares are fractions 0..1 (None where nothing was counted).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import msgspec


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    """Monday to Sunday."""
    MONTH = "month"
    RANGE = "range"
    """Any days the reader chooses."""


class Breakdown(enum.StrEnum):
    SITE = "site"
    MATTER = "matter"
    WINDOW = "window"
    STAFF = "staff"
    DAY = "day"


class ReportQuery(msgspec.Struct, frozen=True, kw_only=True):
    start: date
    end: date
    """Included."""
    sites: tuple[str, ...] = ()
    """The sites reported on; empty: every site the reader may see (a hall manager: their own)."""
    by: Breakdown = Breakdown.SITE
    period: Period = Period.RANGE


class Durations(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    mean: float | None = None
    median: float | None = None
    p95: float | None = None


class RatingFigures(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    levels: dict[str, int]
    """"1" 非常不满意 ... "5" 非常满意: how many of each."""
    average: float | None = None
    satisfied: float | None = None
    """The share rated 满意 or 非常满意 (4 or 5)."""


class FollowUpFigures(msgspec.Struct, frozen=True, kw_only=True):
    """Bad ratings and officers' findings followed up (hub.follow_ups)."""

    opened: int
    closed: int
    on_time: float | None = None
    """The share of closed items closed by their deadline."""
    overdue: int = 0
    """Open items past a deadline now."""


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    issued: int
    served: int
    no_shows: int
    transfers: int
    parked: int
    cancelled: int
    appointments_booked: int
    appointments_kept: int
    appointments_missed: int
    wait: Durations
    """From the ticket's issue (or check-in) to its first call."""
    service: Durations
    """From the start of service to its end, per service."""
    within_target: float | None
    """The share of called tickets called within their site's target wait (``QueueRules.target_wait_minutes``)."""
    ratings: RatingFigures
    follow_ups: FollowUpFigures | None = None


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the breakdown: a site, matter, window, clerk or day."""

    key: str
    label_zh: str
    label_en: str
    figures: Figures


class HourFigures(msgspec.Struct, frozen=True, kw_only=True):
    hour: int
    """Local hour of the day, 0..23."""
    arrivals: int
    mean_wait: float | None = None


class WaitBucket(msgspec.Struct, frozen=True, kw_only=True):
    """Tickets whose wait was at least ``low`` and below ``high`` seconds (``high`` None: the last, open bucket)."""

    low: int
    high: int | None
    count: int


class DayFigures(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    issued: int
    served: int
    mean_wait: float | None
    ratings: int
    satisfied: float | None


class Report(msgspec.Struct, frozen=True, kw_only=True):
    query: ReportQuery
    generated_at: datetime
    total: Figures
    rows: tuple[Row, ...]
    """The breakdown the query asked for."""
    sites: tuple[Row, ...]
    """Every site side by side (the chart of sites), whatever the breakdown."""
    hours: tuple[HourFigures, ...]
    """Arrivals and waits by local hour (the chart of the day's shape)."""
    peak_hours: tuple[int, ...]
    """The busiest hours by arrivals, busiest first (at most three)."""
    waits: tuple[WaitBucket, ...]
    """The waiting-time distribution."""
    days: tuple[DayFigures, ...]
    """Day by day (ratings over time)."""

"""Opening hours and the holiday calendar: is a site open at an instant, and when does it open next?"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from engine.district import HolidayCalendar, Period, Site


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(site: Site, at: datetime) -> datetime:
    return at.astimezone(_zone(site.timezone))


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    """A local day of the site as the instants [start, end) (23 or 25 hours where clocks change)."""
    zone = _zone(site.timezone)
    return datetime.combine(day, time(0), zone), datetime.combine(day + timedelta(days=1), time(0), zone)


def local_day(site: Site, at: datetime) -> date:
    """The site's business day of an instant: numbering resets at the site's local midnight."""
    return local_time(site, at).date()


def periods_on(site: Site, calendar: HolidayCalendar, day: date) -> tuple[Period, ...]:
    if day in calendar.holidays:
        return ()
    if day in calendar.makeup_workdays and day.isoweekday() >= 6:
        return site.makeup_day_hours or site.hours.get(1, ())
    return site.hours.get(day.isoweekday(), ())


def open_period(site: Site, calendar: HolidayCalendar, at: datetime, margin_minutes: int = 0) -> Period | None:
    """The opening period containing ``at`` (ending ``margin_minutes`` early), or None when closed."""
    local = local_time(site, at)
    margin = timedelta(minutes=margin_minutes)
    for period in periods_on(site, calendar, local.date()):
        start = datetime.combine(local.date(), period.start, local.tzinfo)
        end = datetime.combine(local.date(), period.end, local.tzinfo) - margin
        if start <= local < end:
            return period
    return None


def next_opening(site: Site, calendar: HolidayCalendar, at: datetime, horizon_days: int = 60) -> datetime | None:
    """The next local start of an opening period after ``at``, looking ``horizon_days`` ahead."""
    local = local_time(site, at)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        for period in periods_on(site, calendar, day):
            start = datetime.combine(day, period.start, local.tzinfo)
            if start > local:
                return start
    return None

"""The hall's daily rhythm, decided from the calendar: open each site's day on its working days and close it after
its last opening period. Command ids are derived from site and date, so the schedule may run any number of times
(and on any number of hub processes) without opening a day twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import commands as cmd
from engine.calendar import local_time, periods_on
from engine.district import District
from engine.state import SiteState

CLOSE_AFTER = timedelta(minutes=30)
"""The day closes this long after the last opening period ends (time to serve those still waiting)."""


def due_commands(district: District, states: dict[str, SiteState], now: datetime) -> list[cmd.Command]:
    """For the sites ``states`` has (those this hub decides for)."""
    due: list[cmd.Command] = []
    for site in district.sites:
        state = states.get(site.id)
        if state is None:
            continue
        local = local_time(site, now)
        periods = periods_on(site, district.calendar, local.date())
        if not periods:
            continue
        closing = datetime.combine(local.date(), periods[-1].end, local.tzinfo) + CLOSE_AFTER
        stamp = f"{site.id}:{local.date().isoformat()}"
        if local < closing and state.day != local.date():
            due.append(cmd.OpenDay(command_id=f"schedule:open:{stamp}", site_id=site.id, at=now))
        elif local >= closing and state.day == local.date() and state.day_open:
            due.append(cmd.CloseDay(command_id=f"schedule:close:{stamp}", site_id=site.id, at=now))
    return due

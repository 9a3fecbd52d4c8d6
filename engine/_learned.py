"""What the waiting-time estimator learns from a site's events: durations, staff pace, arrival rates, the rota.

Package-internal to ``engine.estimate``; pure like the rest of the engine (time comes in with every call).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Mapping
from datetime import datetime

from engine.calendar import local_time
from engine.commands import Priority
from engine.district import Site


def minutes_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60.0


class Durations:
    """The most recent durations of one kind: a robust mean shrunk toward a prior, and the expected rest."""

    def __init__(self, size: int) -> None:
        self.values: deque[float] = deque(maxlen=size)

    def add(self, minutes: float) -> None:
        self.values.append(max(minutes, 0.0))

    def mean(self, prior: float, weight: float) -> float:
        """Mean with values above four medians capped (a ticket left open over lunch), shrunk toward ``prior``."""
        if not self.values:
            return prior
        cap = 4.0 * statistics.median(self.values)
        total = sum(min(value, cap) for value in self.values)
        return (total + prior * weight) / (len(self.values) + weight)

    def rest(self, age: float, mean: float) -> float:
        """Expected remaining minutes of a duration that has lasted ``age`` so far (mean residual life)."""
        longer = [value - age for value in self.values if value > age]
        if len(longer) >= 3:
            return statistics.fmean(longer)
        return max(mean - age, mean / 4.0)


class Pace:
    """How fast one member of staff works: their minutes per call ÷ today's means for the same matters.

    Compared with the current means (not those of the moment), so that staff who alone serve a matter do not
    count twice as slow; shrunk toward 1 by ``weight`` minutes of work at average pace.
    """

    def __init__(self, size: int) -> None:
        self.calls: deque[tuple[float, str]] = deque(maxlen=size)

    def factor(self, means: Mapping[str, float], weight: float) -> float:
        observed = sum(minutes for minutes, _ in self.calls)
        expected = sum(means.get(matter, minutes) for minutes, matter in self.calls)
        return (observed + weight) / (expected + weight)


class Arrivals:
    """Arrivals per minute of each (matter, priority class) today: exponentially decayed counts."""

    def __init__(self, tau: float) -> None:
        self.tau = tau
        self.opened: datetime | None = None
        self.levels: dict[tuple[str, Priority], tuple[float, datetime]] = {}

    def reset(self, at: datetime) -> None:
        self.opened = at
        self.levels = {}

    def add(self, group: tuple[str, Priority], at: datetime) -> None:
        level, last = self.levels.get(group, (0.0, at))
        self.levels[group] = (level * math.exp(-minutes_between(at, last) / self.tau) + 1.0, at)

    def rates(self, now: datetime) -> dict[tuple[str, Priority], float]:
        if self.opened is None:
            return {}
        # The first minutes of the day see too few arrivals to tell a rate; count them over at least ten.
        elapsed = max(minutes_between(now, self.opened), 10.0)
        exposure = self.tau * (1.0 - math.exp(-elapsed / self.tau))
        return {
            group: level * math.exp(-max(minutes_between(now, last), 0.0) / self.tau) / exposure
            for group, (level, last) in self.levels.items()
        }


class Rota:
    """When each window usually opens and closes, by minute of the local day, learned from the last few days.

    A window counts as usually open at a minute when it was open then on most of the days kept. Only the edges of
    that profile are used, and only from the live state on: a window late today still opens at its usual time
    only if one is still ahead, and closings at or after the end of opening hours (staff serving the last
    people) are no edges.
    """

    def __init__(self, days: int) -> None:
        self.days: deque[dict[str, list[tuple[float, float]]]] = deque(maxlen=days)
        self.today: dict[str, list[tuple[float, float]]] = {}
        self.since: dict[str, float] = {}
        self.edges: dict[str, list[tuple[float, bool]]] = {}
        """Per window: (minute of day, opens) where the usual state changes."""

    def opened(self, window_id: str, minute: float) -> None:
        self.since.setdefault(window_id, minute)

    def closed(self, window_id: str, minute: float) -> None:
        start = self.since.pop(window_id, None)
        if start is not None:
            self.today.setdefault(window_id, []).append((start, minute))

    def end_day(self, minute: float) -> None:
        for window_id in list(self.since):
            self.closed(window_id, minute)
        if self.today:
            self.days.append(self.today)
            self.today = {}
            self.edges = {window_id: self._edges(window_id) for window_id in {w for day in self.days for w in day}}

    def _edges(self, window_id: str) -> list[tuple[float, bool]]:
        edges, was_open = [], False
        for minute in range(24 * 60):
            days_open = sum(any(a <= minute < b for a, b in day.get(window_id, ())) for day in self.days)
            if (days_open > len(self.days) / 2) != was_open:
                was_open = not was_open
                edges.append((float(minute), was_open))
        return edges

    def forecast(
        self, window_id: str, is_open: bool, minute: float, closing: float
    ) -> tuple[float | None, list[tuple[float, float]]]:
        """When the window opens (0 when open now, None when not today) and its closed periods, in minutes from
        now, from the usual edges between ``minute`` (now) and ``closing`` (end of today's opening hours)."""
        opens_at: float | None = 0.0 if is_open else None
        away: list[tuple[float, float]] = []
        for edge, opens in self.edges.get(window_id, ()):
            if not minute < edge < closing or opens == is_open:
                continue
            is_open = opens
            if not opens:
                away.append((edge - minute, math.inf))
            elif opens_at is None:
                opens_at = edge - minute
            else:
                away[-1] = (away[-1][0], edge - minute)
        return opens_at, away


def minute_of_day(site: Site, at: datetime) -> float:
    local = local_time(site, at)
    return local.hour * 60.0 + local.minute + local.second / 60.0


def closing_minute(site: Site, at: datetime) -> float:
    """The minute of day the site's current opening period ends (now, when it is closed)."""
    minute = minute_of_day(site, at)
    for period in site.hours.get(local_time(site, at).isoweekday(), ()):
        start, end = (t.hour * 60.0 + t.minute for t in (period.start, period.end))
        if start <= minute < end:
            return end
    return minute

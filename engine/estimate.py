"""Waiting-time estimates: how long until a ticket is called, learned from the hall's own events.

Pure like the rest of the engine: no I/O, no clock, no randomness; time comes in with every call.

The estimate replays the live queue forward (docs/waiting-time.md). Every open window first finishes what it is
doing now (the expected rest of its current call, or of its pause), then calls by the real ordering rules (weight ×
(minutes waited + head start), the overtake bound), each call holding the window for the recently observed time
per call of that matter at that member of staff's pace. Expected arrivals of every matter and priority class join
the replay at their recent rates, so the priority tickets that will overtake are counted. The replay's raw minutes
are then corrected, and given an ~80 % range, by the estimator's own recent errors at a similar horizon.
"""

from __future__ import annotations

import heapq
import itertools
import math
import statistics
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from engine import events as ev
from engine.calendar import local_time
from engine.commands import Priority
from engine.district import Site, Window
from engine.state import SiteState, Ticket, TicketStatus, WindowState

_NEW = ""
"""Replay id of the not yet issued ticket of ``estimate_new``."""
_OFFSET = 1.0
"""Minutes added to actual and predicted waits before taking their log-ratio, so that zero waits have one."""


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60.0


class WaitEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """How long a ticket will probably wait until it is called, in minutes from the moment asked.

    ``minutes``, ``low`` and ``high`` are None when no open window can call the ticket now.
    """

    people_ahead: int
    """Waiting tickets that the windows serving its matter will call before it, by the ordering rules."""
    minutes: float | None = None
    low: float | None = None
    high: float | None = None
    """``low``–``high`` holds about 80 % of actual waits (calibrated on the estimator's own recent errors)."""


class EstimatorConfig(msgspec.Struct, frozen=True, kw_only=True):
    prior_minutes: float = 10.0
    """Window time per call assumed for a matter without a catalogue prior, before any call was observed."""
    prior_weight: float = 5.0
    """How many observed calls a prior counts as."""
    recent: int = 60
    """How many recent durations are kept per matter (and pause, and turnaround)."""
    pace_minutes: float = 60.0
    """Minutes of work at average pace assumed for every member of staff before their own calls are seen."""
    arrival_minutes: float = 30.0
    """Time constant of the decayed arrival rates."""
    coverage: float = 0.8
    """Share of actual waits the range should hold."""
    point_quantile: float = 0.6
    """Quantile of recent errors the point estimate is corrected to. The median (0.5) would minimise the absolute
    error; 0.6 minimises it when waiting longer than promised counts 1.5 times as much as waiting less."""
    horizons: tuple[float, ...] = (1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0)
    """Edges (raw minutes) of the horizon buckets whose errors are kept apart."""
    errors_kept: int = 150
    """How many recent errors are kept per horizon bucket."""
    prior_errors: tuple[float, float] = (-0.5, 0.4)
    """Log-ratio quantiles of the range before any error was seen (a ±40-50 % spread)."""
    prior_errors_weight: float = 10.0
    prior_gap_minutes: float = 0.5
    """Minutes between a window's release and its next call while people wait, before any was seen."""
    prior_pause_minutes: float = 10.0
    rota_days: int = 5
    """How many past days the windows' usual openings and closings are learned from."""
    max_minutes: float = 720.0
    """The replay gives up on tickets not called within this many minutes."""


class _Durations:
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


class _Pace:
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


class _Arrivals:
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
        self.levels[group] = (level * math.exp(-_minutes(at, last) / self.tau) + 1.0, at)

    def rates(self, now: datetime) -> dict[tuple[str, Priority], float]:
        if self.opened is None:
            return {}
        # The first minutes of the day see too few arrivals to tell a rate; count them over at least ten.
        elapsed = max(_minutes(now, self.opened), 10.0)
        exposure = self.tau * (1.0 - math.exp(-elapsed / self.tau))
        return {
            group: level * math.exp(-max(_minutes(now, last), 0.0) / self.tau) / exposure
            for group, (level, last) in self.levels.items()
        }


class _Rota:
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


def _minute_of_day(site: Site, at: datetime) -> float:
    local = local_time(site, at)
    return local.hour * 60.0 + local.minute + local.second / 60.0


def _closing(site: Site, at: datetime) -> float:
    """The minute of day the site's current opening period ends (now, when it is closed)."""
    minute = _minute_of_day(site, at)
    for period in site.hours.get(local_time(site, at).isoweekday(), ()):
        start, end = (t.hour * 60.0 + t.minute for t in (period.start, period.end))
        if start <= minute < end:
            return end
    return minute


def _quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _Calibration:
    """Recent errors — log((actual + 1) / (raw + 1)) — per horizon bucket of the raw replay minutes."""

    def __init__(self, config: EstimatorConfig) -> None:
        self.config = config
        self.errors = [deque[float](maxlen=config.errors_kept) for _ in range(len(config.horizons) + 1)]
        self.cached: dict[int, tuple[float, float, float]] = {}

    def add(self, raw: float, actual: float) -> None:
        bucket = bisect_right(self.config.horizons, raw)
        self.errors[bucket].append(math.log((actual + _OFFSET) / (raw + _OFFSET)))
        self.cached.pop(bucket, None)

    def _quantiles(self, bucket: int) -> tuple[float, float, float]:
        """Low, point and high log-ratio, from the bucket's errors shrunk toward the prior spread."""
        found = self.cached.get(bucket)
        if found is not None:
            return found
        config = self.config
        tail = (1.0 - config.coverage) / 2.0
        prior = (config.prior_errors[0], 0.0, config.prior_errors[1])
        errors = sorted(self.errors[bucket])
        share = len(errors) / (len(errors) + config.prior_errors_weight)
        seen = [_quantile(errors, q) for q in (tail, config.point_quantile, 1.0 - tail)] if errors else prior
        low, point, high = (share * s + (1.0 - share) * p for s, p in zip(seen, prior, strict=True))
        found = self.cached[bucket] = (low, point, high)
        return found

    def estimate(self, raw: float | None, people_ahead: int) -> WaitEstimate:
        if raw is None:
            return WaitEstimate(people_ahead=people_ahead)
        low, point, high = (
            round(max((raw + _OFFSET) * math.exp(q) - _OFFSET, 0.0), 1)
            for q in self._quantiles(bisect_right(self.config.horizons, raw))
        )
        return WaitEstimate(people_ahead=people_ahead, minutes=point, low=low, high=high)


class _Item:
    """A ticket in the replay: a real waiting one, the not yet issued one, or an expected arrival (no id)."""

    __slots__ = ("key", "matters", "overtaken", "priority", "step", "ticket_id")

    def __init__(
        self,
        ticket_id: str | None,
        key: tuple[float, int, int],
        matters: tuple[str, ...],
        priority: str,
        *,
        step: int = 0,
        overtaken: int = 0,
    ) -> None:
        self.ticket_id = ticket_id
        self.key = key
        """The engine's queue key, its time as minutes from now."""
        self.matters = matters
        self.priority = priority
        self.step = step
        self.overtaken = overtaken


def _queue_key(item: _Item) -> tuple[float, int, int]:
    return item.key


class _Group:
    """Waiting items of one matter, priority class and direction in queue order: FIFO within the group."""

    __slots__ = ("desks", "head_start", "items", "matter", "saturated")

    def __init__(self, matter: str, head_start: float) -> None:
        self.matter = matter
        self.head_start = head_start
        self.items: list[_Item] = []
        self.saturated = 0
        """How many items have been overtaken as often as the rules allow (their windows then call FIFO)."""
        self.desks: list[_Desk] = []


class _Desk:
    """A window in the replay, with its minutes per call at its staff's pace and the periods it will be closed."""

    __slots__ = ("away", "groups", "index", "minutes_per_call", "window")

    def __init__(
        self, index: int, window: Window, minutes_per_call: dict[str, float], away: list[tuple[float, float]]
    ) -> None:
        self.index = index
        self.window = window
        self.minutes_per_call = minutes_per_call
        self.away = away
        """(from, back) minutes, in order: staff leave at the first release after ``from`` (back may be inf)."""
        self.groups: list[_Group] = []

    def back_after(self, now: float) -> float | None:
        """When a desk free at ``now`` is back, if it is closed then (its shift ended while it was busy)."""
        while self.away and self.away[0][1] <= now:
            self.away.pop(0)
        if self.away and self.away[0][0] <= now:
            return self.away.pop(0)[1]
        return None

    def takes(self, matter: str, directed_to: str | None) -> bool:
        return self.window.serves(matter) and directed_to in (None, self.window.id)


class _Model(msgspec.Struct, frozen=True, kw_only=True):
    """What one replay takes from the learned statistics."""

    minutes_per_call: dict[str, float]
    gap: float
    rates: dict[tuple[str, Priority], float]
    horizon: float


class _Replay:
    """A deterministic forward run of the queue from now (minute 0), calling by the engine's ordering rules."""

    def __init__(self, site: Site, model: _Model) -> None:
        self.rules = site.rules
        self.model = model
        self.groups: dict[tuple[str, str, str | None], _Group] = {}
        self.desks: list[_Desk] = []
        self.free: list[tuple[float, int, int]] = []
        """Heap of (minute a desk is free, tie order, desk index)."""
        self.idle: set[int] = set()
        self.arrivals: list[tuple[float, int, _Item | tuple[str, Priority]]] = []
        """Heap of (minute, tie order, an item re-entering for its next matter or an expected (matter, class))."""
        self.order = itertools.count()
        self.called: dict[str, tuple[float, int]] = {}
        self.passed: dict[str, int] = {}
        """Real tickets called so far at windows serving each matter."""

    def add_desk(self, window: Window, pace: float, free_at: float, away: list[tuple[float, float]]) -> None:
        minutes = {matter: self.model.minutes_per_call[matter] * pace for matter in window.weights}
        desk = _Desk(len(self.desks), window, minutes, away)
        self.desks.append(desk)
        for key, group in self.groups.items():
            self._link(desk, key, group)
        heapq.heappush(self.free, (free_at, next(self.order), desk.index))

    @staticmethod
    def _link(desk: _Desk, key: tuple[str, str, str | None], group: _Group) -> None:
        matter, _, directed_to = key
        if desk.takes(matter, directed_to):
            desk.groups.append(group)
            group.desks.append(desk)

    def reachable(self, matter: str, directed_to: str | None) -> bool:
        return any(desk.takes(matter, directed_to) for desk in self.desks)

    def put(self, item: _Item, directed_to: str | None, at: float) -> None:
        """Queue an item; idle desks that may call it wake up."""
        matter = item.matters[item.step]
        key = (matter, item.priority, directed_to)
        group = self.groups.get(key)
        if group is None:
            head_start = float(self.rules.priority_minutes.get(item.priority, 0))
            group = self.groups[key] = _Group(matter, head_start)
            for desk in self.desks:
                self._link(desk, key, group)
        insort(group.items, item, key=_queue_key)
        if item.overtaken >= self.rules.max_overtakes:
            group.saturated += 1
        for desk in group.desks:
            if desk.index in self.idle:
                self.idle.discard(desk.index)
                heapq.heappush(self.free, (at, next(self.order), desk.index))

    def reenter(self, item: _Item, at: float) -> None:
        """A ticket served now goes on to its next matter at ``at``."""
        heapq.heappush(self.arrivals, (at, next(self.order), item))

    def expect_arrivals(self) -> None:
        """Expected arrivals of each (matter, class) come evenly at their rate, the first after half a gap."""
        for group, rate in self.model.rates.items():
            if rate > 0.0:
                heapq.heappush(self.arrivals, (0.5 / rate, next(self.order), group))

    def _arrive(self, at: float, payload: _Item | tuple[str, Priority]) -> None:
        if isinstance(payload, _Item):
            self.put(payload, None, at)
            return
        matter, priority = payload
        order = next(self.order)
        self.put(_Item(None, (at, 1 << 62, order), (matter,), priority), None, at)
        heapq.heappush(self.arrivals, (at + 1.0 / self.model.rates[payload], order, payload))

    def _choose(self, desk: _Desk, now: float) -> _Group | None:
        """The group whose head ``engine.ordering.choose_next`` would call; counts the overtakes it makes."""
        pool = [group for group in desk.groups if group.items]
        if not pool:
            return None
        if any(group.saturated for group in pool):
            return min(pool, key=lambda group: group.items[0].key)
        weights = desk.window.weights
        chosen = min(
            pool,
            key=lambda group: (
                -weights[group.matter] * (max(now - group.items[0].key[0], 0.0) + group.head_start),
                group.items[0].key,
            ),
        )
        chosen_key = chosen.items[0].key
        for group in pool:
            for item in group.items:
                if item.key >= chosen_key:
                    break
                item.overtaken += 1
                if item.overtaken == self.rules.max_overtakes:
                    group.saturated += 1
        return chosen

    def _call(self, desk: _Desk, now: float) -> str | None:
        """Let a free desk call; returns the id of a real ticket called for the first time."""
        group = self._choose(desk, now)
        if group is None:
            self.idle.add(desk.index)
            return None
        item = group.items.pop(0)
        if item.overtaken >= self.rules.max_overtakes:
            group.saturated -= 1
        busy = desk.minutes_per_call[group.matter]
        heapq.heappush(self.free, (now + busy + self.model.gap, next(self.order), desk.index))
        if item.step + 1 < len(item.matters):
            item.step += 1
            self.reenter(item, now + busy)
        if item.ticket_id is None or item.ticket_id in self.called:
            return None
        self.called[item.ticket_id] = (now, self.passed.get(group.matter, 0))
        for matter in desk.window.weights:
            self.passed[matter] = self.passed.get(matter, 0) + 1
        return item.ticket_id

    def run(self, targets: set[str]) -> dict[str, tuple[float, int]]:
        """Replay until every target is called: (minutes until first called, people called before) by id."""
        remaining = set(targets)
        while remaining:
            next_free = self.free[0][0] if self.free else math.inf
            if self.arrivals and self.arrivals[0][0] <= next_free:
                at, _, payload = heapq.heappop(self.arrivals)
                if at > self.model.horizon:
                    break
                self._arrive(at, payload)
                continue
            if next_free > self.model.horizon:
                break
            _, _, index = heapq.heappop(self.free)
            back = self.desks[index].back_after(next_free)
            if back is not None:
                if back < math.inf:
                    heapq.heappush(self.free, (back, next(self.order), index))
                continue
            called = self._call(self.desks[index], next_free)
            if called is not None:
                remaining.discard(called)
        return self.called


Observer = Callable[[Any, SiteState, Site], None]


class WaitEstimator:
    """Learns from one site's events and estimates waits from its live state.

    Feed it every event of the site with ``observe`` (the hub after each command, or a replay of the log); ask it
    with ``estimate`` (one ticket), ``estimate_all`` (the board) or ``estimate_new`` (the kiosk, before issuing).
    ``priors`` are the expected minutes per call of each matter (the catalogue's default) until calls are seen.
    """

    def __init__(self, priors: Mapping[str, float] | None = None, config: EstimatorConfig | None = None) -> None:
        self.config = config or EstimatorConfig()
        self.priors = dict(priors or {})
        size = self.config.recent
        self._per_call: dict[str, _Durations] = {}
        """Window minutes per call (call to release: service, a no-show's wait, a park) by matter."""
        self._gaps = _Durations(size)
        self._pauses = _Durations(size)
        self._paces: dict[str, _Pace] = {}
        self._arrivals = _Arrivals(self.config.arrival_minutes)
        self._rota = _Rota(self.config.rota_days)
        self._calibration = _Calibration(self.config)
        self._raw_at_issue: dict[str, float] = {}
        """Raw replay minutes of each ticket at its issue, until its first call tells the actual wait."""
        self._calls: dict[str, tuple[datetime, str, str]] = {}
        """Per window: when it called its current ticket, the ticket's matter and who works there."""
        self._released: dict[str, datetime] = {}
        self._paused: dict[str, datetime] = {}
        self._cache: tuple[tuple[str, int, datetime], Site, dict[str, tuple[float, int]]] | None = None
        self._observers: dict[type[ev.Event], Observer] = {
            ev.DayOpened: self._day_opened,
            ev.DayClosed: self._day_closed,
            ev.TicketIssued: self._issued,
            ev.TicketCalled: self._called,
            ev.ServiceFinished: self._released_window,
            ev.TicketMissed: self._released_window,
            ev.TicketParked: self._released_window,
            ev.TicketTransferred: self._transferred,
            ev.TicketCancelled: self._cancelled,
            ev.WindowPaused: self._window_paused,
            ev.WindowResumed: self._window_resumed,
            ev.WindowOpened: self._window_opened,
            ev.WindowClosed: self._window_closed,
        }

    # -- learning ---------------------------------------------------------------------------------------------

    def observe(self, event: ev.Event, state: SiteState, site: Site) -> None:
        """Learn from one event; ``state`` is the site's state after the command that caused it."""
        self._cache = None
        observer = self._observers.get(type(event))
        if observer is not None:
            observer(event, state, site)

    def _durations(self, matter: str) -> _Durations:
        found = self._per_call.get(matter)
        if found is None:
            found = self._per_call[matter] = _Durations(self.config.recent)
        return found

    def _minutes_per_call(self, matter: str) -> float:
        prior = self.priors.get(matter, self.config.prior_minutes)
        return self._durations(matter).mean(prior, self.config.prior_weight)

    def _pace(self, staff: str, means: Mapping[str, float]) -> float:
        found = self._paces.get(staff)
        return found.factor(means, self.config.pace_minutes) if found is not None else 1.0

    def _day_opened(self, event: ev.DayOpened, state: SiteState, site: Site) -> None:
        self._arrivals.reset(event.at)
        for kept in (self._raw_at_issue, self._calls, self._released, self._paused):
            kept.clear()

    def _day_closed(self, event: ev.DayClosed, state: SiteState, site: Site) -> None:
        self._raw_at_issue.clear()
        self._rota.end_day(_minute_of_day(site, event.at))

    def _issued(self, event: ev.TicketIssued, state: SiteState, site: Site) -> None:
        self._arrivals.add((event.matters[0], event.priority), event.at)
        found = self._replayed(state, site, event.at).get(event.ticket_id)
        if found is not None:
            self._raw_at_issue[event.ticket_id] = found[0]

    def _called(self, event: ev.TicketCalled, state: SiteState, site: Site) -> None:
        ticket = state.tickets[event.ticket_id]
        raw = self._raw_at_issue.pop(ticket.id, None)
        if raw is not None:
            self._calibration.add(raw, _minutes(event.at, ticket.issued_at))
        if event.kind == ev.CallKind.RECALL:
            return
        window = state.windows.get(event.window_id)
        staff = window.staff_id if window is not None and window.staff_id else event.window_id
        self._calls[event.window_id] = (event.at, ticket.matter, staff)
        released = self._released.pop(event.window_id, None)
        if released is not None and event.kind == ev.CallKind.NEXT and ticket.key[0] <= released:
            self._gaps.add(_minutes(event.at, released))

    def _release(self, window_id: str, at: datetime) -> None:
        """A window let its ticket go: one more sample of minutes per call, and of its staff's pace."""
        call = self._calls.pop(window_id, None)
        if call is None:
            return
        called_at, matter, staff = call
        minutes = _minutes(at, called_at)
        self._durations(matter).add(minutes)
        pace = self._paces.get(staff)
        if pace is None:
            pace = self._paces[staff] = _Pace(self.config.recent)
        pace.calls.append((minutes, matter))
        self._released[window_id] = at

    def _released_window(
        self, event: ev.ServiceFinished | ev.TicketMissed | ev.TicketParked, state: SiteState, site: Site
    ) -> None:
        self._release(event.window_id, event.at)

    def _transferred(self, event: ev.TicketTransferred, state: SiteState, site: Site) -> None:
        self._release(event.from_window, event.at)

    def _cancelled(self, event: ev.TicketCancelled, state: SiteState, site: Site) -> None:
        self._raw_at_issue.pop(event.ticket_id, None)

    def _window_paused(self, event: ev.WindowPaused, state: SiteState, site: Site) -> None:
        self._paused[event.window_id] = event.at
        self._released.pop(event.window_id, None)

    def _window_resumed(self, event: ev.WindowResumed, state: SiteState, site: Site) -> None:
        paused = self._paused.pop(event.window_id, None)
        if paused is not None:
            self._pauses.add(_minutes(event.at, paused))

    def _window_opened(self, event: ev.WindowOpened, state: SiteState, site: Site) -> None:
        self._rota.opened(event.window_id, _minute_of_day(site, event.at))

    def _window_closed(self, event: ev.WindowClosed, state: SiteState, site: Site) -> None:
        self._rota.closed(event.window_id, _minute_of_day(site, event.at))
        for kept in (self._calls, self._released, self._paused):
            kept.pop(event.window_id, None)

    # -- estimating -------------------------------------------------------------------------------------------

    def estimate(self, state: SiteState, site: Site, ticket_id: str, now: datetime) -> WaitEstimate:
        """The wait of one of today's tickets (KeyError for an unknown id); 0 once called."""
        ticket = state.tickets[ticket_id]
        if ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING):
            return WaitEstimate(people_ahead=0, minutes=0.0, low=0.0, high=0.0)
        if ticket.status != TicketStatus.WAITING:
            return WaitEstimate(people_ahead=0)
        return self.estimate_all(state, site, now)[ticket_id]

    def estimate_all(self, state: SiteState, site: Site, now: datetime) -> dict[str, WaitEstimate]:
        """The wait of every waiting ticket, by ticket id (one replay for the whole board)."""
        called = self._replayed(state, site, now)
        estimates = {}
        for ticket_id in state.waiting:
            found = called.get(ticket_id)
            if found is None:
                ticket = state.tickets[ticket_id]
                estimates[ticket_id] = WaitEstimate(people_ahead=_in_line_before(state, ticket.matter, ticket.key))
            else:
                estimates[ticket_id] = self._calibration.estimate(*found)
        return estimates

    def estimate_new(
        self, state: SiteState, site: Site, matters: Sequence[str], priority: Priority, now: datetime
    ) -> WaitEstimate:
        """The wait of a ticket the kiosk is about to issue now.

        ``priority`` is the class the ticket will get: the engine issues green-channel matters as GREEN.
        """
        replay = self._start(state, site, now)
        found = None
        if replay.reachable(matters[0], None):
            replay.put(_Item(_NEW, (0.0, state.seq + 1, 0), tuple(matters), priority), None, 0.0)
            found = replay.run({_NEW}).get(_NEW)
        if found is None:
            return WaitEstimate(people_ahead=_in_line_before(state, matters[0], (now, state.seq + 1, 0)))
        return self._calibration.estimate(*found)

    def _replayed(self, state: SiteState, site: Site, now: datetime) -> dict[str, tuple[float, int]]:
        """Replay until every reachable waiting ticket is called; cached for the state's sequence and ``now``."""
        key = (state.site_id, state.seq, now)
        if self._cache is not None and self._cache[0] == key and self._cache[1] is site:
            return self._cache[2]
        replay = self._start(state, site, now)
        targets = {
            ticket.id
            for ticket_id in state.waiting
            if replay.reachable((ticket := state.tickets[ticket_id]).matter, ticket.directed_to)
        }
        called = replay.run(targets)
        self._cache = (key, site, called)
        return called

    def _start(self, state: SiteState, site: Site, now: datetime) -> _Replay:
        """A replay holding today's waiting tickets, the open windows as they are now and the expected arrivals."""
        matters = {matter for window in site.windows for matter in window.weights}
        model = _Model(
            minutes_per_call={matter: self._minutes_per_call(matter) for matter in matters},
            gap=self._gaps.mean(self.config.prior_gap_minutes, self.config.prior_weight),
            rates={group: rate for group, rate in self._arrivals.rates(now).items() if group[0] in matters},
            horizon=self.config.max_minutes,
        )
        replay = _Replay(site, model)
        for ticket_id in state.waiting:
            ticket = state.tickets[ticket_id]
            replay.put(_replayed_ticket(ticket, now, ticket.step), ticket.directed_to, 0.0)
        for window in site.windows:
            window_state = state.windows.get(window.id)
            is_open = window_state is not None and window_state.is_open
            opens_at, away = self._rota.forecast(window.id, is_open, _minute_of_day(site, now), _closing(site, now))
            if window_state is None or not is_open:
                if opens_at is not None:
                    replay.add_desk(window, 1.0, opens_at, away)
                continue
            pace = self._pace(window_state.staff_id or window.id, model.minutes_per_call)
            free_at = self._free_in(window_state, state, now, model, pace)
            replay.add_desk(window, pace, free_at, away)
            current = state.tickets[window_state.current] if window_state.current is not None else None
            if current is not None and current.step + 1 < len(current.matters):
                replay.reenter(_replayed_ticket(current, now, current.step + 1), max(free_at - model.gap, 0.0))
        replay.expect_arrivals()
        return replay

    def _free_in(self, window: WindowState, state: SiteState, now: datetime, model: _Model, pace: float) -> float:
        """Minutes until an open window is free to call: the rest of its pause, or of its current call."""
        if window.paused:
            since = self._paused.get(window.id)
            age = _minutes(now, since) if since is not None else 0.0
            mean = self._pauses.mean(self.config.prior_pause_minutes, self.config.prior_weight)
            return self._pauses.rest(age, mean)
        if window.current is None:
            return 0.0
        matter = state.tickets[window.current].matter
        call = self._calls.get(window.id)
        age = _minutes(now, call[0]) if call is not None else 0.0
        mean = model.minutes_per_call.get(matter) or self._minutes_per_call(matter)
        return self._durations(matter).rest(age / pace, mean) * pace + model.gap


def _replayed_ticket(ticket: Ticket, now: datetime, step: int) -> _Item:
    key = (_minutes(ticket.key[0], now), ticket.key[1], ticket.key[2])
    return _Item(ticket.id, key, ticket.matters, ticket.priority, step=step, overtaken=ticket.overtaken)


def _in_line_before(state: SiteState, matter: str, key: tuple[datetime, int, int]) -> int:
    """People ahead when the replay cannot call a ticket: the waiting tickets of its matter queued before it."""
    tickets = state.tickets
    return sum(1 for other in state.waiting if tickets[other].matter == matter and tickets[other].key < key)

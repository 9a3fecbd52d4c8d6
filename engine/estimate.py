"""Waiting-time estimates: how long until a ticket is called, learned from the hall's own events.

Pure like the rest of the engine: no I/O, no clock, no randomness; time comes in with every call.

The estimate replays the live queue forward (docs/waiting-time.md). Every open window first finishes what it is
doing now (the expected rest of its current call, or of its pause), then calls by the real ordering rules (weight ×
(minutes waited + head start), the overtake bound), each call holding the window for the recently observed time
per call of that matter at that member of staff's pace. Expected arrivals of every matter and priority class join
the replay at their recent rates, so the priority tickets that will overtake are counted. The replay's raw minutes
are then corrected, and given an ~80 % range, by the estimator's own recent errors at a similar horizon.

One replay answers for ``refresh_seconds`` of hall time: the tickets waiting when it ran by their replayed call,
the tickets issued since by the moment the replay's windows would first call a new ticket of their matter and class,
after the new tickets placed there before them (``engine._replay``). A window opening, closing, pausing or resuming
and a ticket coming back to the queue replay again at once; a window calling or letting a ticket go, after
``moved_seconds``. So an issue costs a look-up and not a replay, however long the queue and however fast tickets
come; a quiet hall replays at most once per ticket, as before.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from engine import events as ev
from engine._calibration import Calibration, Promise
from engine._learned import Arrivals, Durations, Pace, Rota, closing_minute, minute_of_day, minutes_between
from engine._replay import Item, Model, Newcomers, Replay
from engine.commands import Priority
from engine.district import Site
from engine.state import QueueKey, SiteState, Ticket, TicketStatus, WindowState


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
    point_errors_weight: float = 30.0
    """How many errors the point's correction toward a bucket's quantile waits for to count half (the range's
    quantiles use ``prior_errors_weight``): a bias learned from few errors costs more than it corrects."""
    drift_calls: float = 40.0
    """Calls over which the drift of the last served (their error beyond their bucket's usual) is averaged."""
    drift_decay: float = 0.999
    """Per call, how much of the past the slope of the drift correction keeps."""
    drift_prior: float = 0.5
    """Squared drift the slope's regression starts with (toward a slope of 0: no drift correction)."""
    prior_gap_minutes: float = 0.5
    """Minutes between a window's release and its next call while people wait, before any was seen."""
    prior_pause_minutes: float = 10.0
    rota_days: int = 5
    """How many past days the windows' usual openings and closings are learned from."""
    max_minutes: float = 720.0
    """The replay gives up on tickets not called within this many minutes."""
    refresh_seconds: float = 10.0
    """Seconds of hall time one replay answers for (a window opening, closing, pausing or resuming, a ticket
    coming back to the queue and a new day always replay again). 0 replays for every new state or instant."""
    moved_seconds: float = 1.0
    """Seconds of hall time one replay answers for at most once a window called or let go a ticket after it ran
    (another window, or sooner or later, than replayed)."""
    max_expected: int = 5000
    """Expected arrivals one replay takes at most: a guard against the arrival rates of a load test."""


_RESHAPING: frozenset[type[ev.Event]] = frozenset(
    {
        ev.DayOpened,
        ev.DayClosed,
        ev.WindowOpened,
        ev.WindowClosed,
        ev.WindowPaused,
        ev.WindowResumed,
        ev.TicketReactivated,
        ev.TicketTransferred,
    }
)
"""Events after which the last replay no longer answers: staffing changes, and tickets back in the queue."""
_MOVES: frozenset[type[ev.Event]] = frozenset({ev.TicketCalled, ev.ServiceFinished, ev.TicketMissed, ev.TicketParked})
"""Events after which the last replay answers for ``moved_seconds`` at most: a window called or let go a ticket
(maybe another window, or sooner or later, than replayed)."""

Kind = tuple[str, str]
"""(first matter, priority class) of a new ticket."""


class _Snapshot:
    """One replay, and what it answers until it goes stale: the waiting tickets it replayed, by their replayed
    call, and the tickets issued since, placed in issue order at the desks that would call them first."""

    def __init__(
        self,
        state: SiteState,
        site: Site,
        at: datetime,
        *,
        until: float,
        replay: Replay,
        called: dict[str, tuple[float, int]],
    ) -> None:
        self.at = at
        self.until = until
        """Seconds after ``at`` it answers for."""
        self.seq = state.seq
        self.site_id = state.site_id
        self.site = site
        self.called: dict[str, tuple[float, int]] = called
        """Raw minutes from ``at`` and people ahead of the tickets waiting then, when the replay calls them."""
        self.waiting = set(state.waiting)
        self.newcomers = Newcomers(replay)
        self.new: dict[str, tuple[float, int] | None] = {}

    def knows(self, ticket_id: str) -> bool:
        return ticket_id in self.waiting or ticket_id in self.new

    def add_new(self, ticket_id: str, kind: Kind) -> None:
        self.new[ticket_id] = self.newcomers.place(*kind)

    def plan(self, kind: Kind) -> tuple[float, int] | None:
        """Raw minutes and people ahead of a ticket of this kind issued now (not placed)."""
        found = self.newcomers.plan(*kind)
        return None if found is None else found[:2]

    def raw(self, ticket_id: str) -> tuple[float, int] | None:
        """Raw minutes from the replay's start until the ticket is called and people ahead (None: not called)."""
        found = self.called.get(ticket_id)
        return found if found is not None else self.new.get(ticket_id)


class _InLine:
    """People ahead when the replay cannot call a ticket: the waiting tickets of its matter queued before it.

    Built from the state once, then kept up to date by the estimator while only tickets are issued (each joins its
    matter's sorted keys); any other change to the waiting tickets makes the estimator build a new one."""

    def __init__(self, state: SiteState) -> None:
        self.state = state
        self.seq = state.seq
        self.keys: dict[str, list[QueueKey]] = {}
        tickets = state.tickets
        for ticket_id in state.waiting:
            ticket = tickets[ticket_id]
            self.keys.setdefault(ticket.matter, []).append(ticket.key)
        for keys in self.keys.values():
            keys.sort()

    def before(self, matter: str, key: QueueKey) -> int:
        return bisect_left(self.keys.get(matter, []), key)

    def follow(self, event: ev.Event) -> bool:
        """Take in the next event of the site; False when this index no longer describes the waiting tickets."""
        if event.seq <= self.seq:  # built from a state that already held it
            return True
        if event.seq != self.seq + 1:
            return False
        if isinstance(event, ev.TicketIssued):
            ticket = self.state.tickets.get(event.ticket_id)
            if ticket is None or ticket.status != TicketStatus.WAITING:
                return False
            insort(self.keys.setdefault(ticket.matter, []), ticket.key)
        elif type(event) not in _LEAVES_QUEUE_ALONE:
            return False
        self.seq = event.seq
        return True


_LEAVES_QUEUE_ALONE = frozenset(
    {ev.WindowOpened, ev.WindowClosed, ev.WindowPaused, ev.WindowResumed, ev.ServiceStarted}
)


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
        self._per_call: dict[str, Durations] = {}
        """Window minutes per call (call to release: service, a no-show's wait, a park) by matter."""
        self._gaps = Durations(size)
        self._pauses = Durations(size)
        self._paces: dict[str, Pace] = {}
        self._arrivals = Arrivals(self.config.arrival_minutes)
        self._rota = Rota(self.config.rota_days)
        self._calibration = Calibration(self.config)
        self._promised: dict[str, Promise] = {}
        """What each ticket was promised at its issue (raw replay minutes), until its first call tells the actual
        wait."""
        self._calls: dict[str, tuple[datetime, str, str]] = {}
        """Per window: when it called its current ticket, the ticket's matter and who works there."""
        self._released: dict[str, datetime] = {}
        self._paused: dict[str, datetime] = {}
        self._snapshot: _Snapshot | None = None
        self._in_line: _InLine | None = None
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
        if self._in_line is not None and not (self._in_line.state is state and self._in_line.follow(event)):
            self._in_line = None
        snapshot = self._snapshot
        if snapshot is not None:
            if type(event) in _RESHAPING or (isinstance(event, ev.ServiceFinished) and event.next_matter is not None):
                self._snapshot = None
            elif type(event) in _MOVES and not (
                isinstance(event, ev.TicketCalled) and event.kind == ev.CallKind.RECALL
            ):
                snapshot.until = min(snapshot.until, max(self.config.moved_seconds, _seconds(event.at, snapshot.at)))
        observer = self._observers.get(type(event))
        if observer is not None:
            observer(event, state, site)

    def _durations(self, matter: str) -> Durations:
        found = self._per_call.get(matter)
        if found is None:
            found = self._per_call[matter] = Durations(self.config.recent)
        return found

    def _minutes_per_call(self, matter: str) -> float:
        prior = self.priors.get(matter, self.config.prior_minutes)
        return self._durations(matter).mean(prior, self.config.prior_weight)

    def _pace(self, staff: str, means: Mapping[str, float]) -> float:
        found = self._paces.get(staff)
        return found.factor(means, self.config.pace_minutes) if found is not None else 1.0

    def _day_opened(self, event: ev.DayOpened, state: SiteState, site: Site) -> None:
        self._arrivals.reset(event.at)
        self._calibration.new_day()
        for kept in (self._promised, self._calls, self._released, self._paused):
            kept.clear()

    def _day_closed(self, event: ev.DayClosed, state: SiteState, site: Site) -> None:
        self._promised.clear()
        self._rota.end_day(minute_of_day(site, event.at))

    def _issued(self, event: ev.TicketIssued, state: SiteState, site: Site) -> None:
        """Remember the ticket's raw minutes for calibration: from the current replay when it still answers
        (the ticket is the next of its kind since), else from a new one."""
        kind = (event.matters[0], event.priority)
        self._arrivals.add(kind, event.at)
        snapshot = self._fresh(state, site, event.at)
        if snapshot is None or snapshot.knows(event.ticket_id):
            snapshot = self._refresh(state, site, event.at)
        else:
            snapshot.add_new(event.ticket_id, kind)
        found = snapshot.raw(event.ticket_id)
        if found is not None:
            raw = max(found[0] - minutes_between(event.at, snapshot.at), 0.0)
            self._promised[event.ticket_id] = self._calibration.promise(raw)

    def _called(self, event: ev.TicketCalled, state: SiteState, site: Site) -> None:
        ticket = state.tickets[event.ticket_id]
        promise = self._promised.pop(ticket.id, None)
        if promise is not None:
            self._calibration.add(promise, minutes_between(event.at, ticket.issued_at))
        if event.kind == ev.CallKind.RECALL:
            return
        window = state.windows.get(event.window_id)
        staff = window.staff_id if window is not None and window.staff_id else event.window_id
        self._calls[event.window_id] = (event.at, ticket.matter, staff)
        released = self._released.pop(event.window_id, None)
        if released is not None and event.kind == ev.CallKind.NEXT and ticket.key[0] <= released:
            self._gaps.add(minutes_between(event.at, released))

    def _release(self, window_id: str, at: datetime) -> None:
        """A window let its ticket go: one more sample of minutes per call, and of its staff's pace."""
        call = self._calls.pop(window_id, None)
        if call is None:
            return
        called_at, matter, staff = call
        minutes = minutes_between(at, called_at)
        self._durations(matter).add(minutes)
        pace = self._paces.get(staff)
        if pace is None:
            pace = self._paces[staff] = Pace(self.config.recent)
        pace.calls.append((minutes, matter))
        self._released[window_id] = at

    def _released_window(
        self, event: ev.ServiceFinished | ev.TicketMissed | ev.TicketParked, state: SiteState, site: Site
    ) -> None:
        self._release(event.window_id, event.at)

    def _transferred(self, event: ev.TicketTransferred, state: SiteState, site: Site) -> None:
        self._release(event.from_window, event.at)

    def _cancelled(self, event: ev.TicketCancelled, state: SiteState, site: Site) -> None:
        self._promised.pop(event.ticket_id, None)

    def _window_paused(self, event: ev.WindowPaused, state: SiteState, site: Site) -> None:
        self._paused[event.window_id] = event.at
        self._released.pop(event.window_id, None)

    def _window_resumed(self, event: ev.WindowResumed, state: SiteState, site: Site) -> None:
        paused = self._paused.pop(event.window_id, None)
        if paused is not None:
            self._pauses.add(minutes_between(event.at, paused))

    def _window_opened(self, event: ev.WindowOpened, state: SiteState, site: Site) -> None:
        self._rota.opened(event.window_id, minute_of_day(site, event.at))

    def _window_closed(self, event: ev.WindowClosed, state: SiteState, site: Site) -> None:
        self._rota.closed(event.window_id, minute_of_day(site, event.at))
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
        snapshot = self._fresh(state, site, now)
        if snapshot is None or not snapshot.knows(ticket_id):
            snapshot = self._refresh(state, site, now)
        return self._answer(snapshot, ticket, now, self._line(state))

    def estimate_all(self, state: SiteState, site: Site, now: datetime) -> dict[str, WaitEstimate]:
        """The wait of every waiting ticket, by ticket id (one replay for the whole board)."""
        snapshot = self._fresh(state, site, now)
        if snapshot is None or not all(snapshot.knows(ticket_id) for ticket_id in state.waiting):
            snapshot = self._refresh(state, site, now)
        in_line = self._line(state)
        tickets = state.tickets
        return {ticket_id: self._answer(snapshot, tickets[ticket_id], now, in_line) for ticket_id in state.waiting}

    def estimate_new(
        self, state: SiteState, site: Site, matters: Sequence[str], priority: Priority, now: datetime
    ) -> WaitEstimate:
        """The wait of a ticket the kiosk is about to issue now.

        ``priority`` is the class the ticket will get: the engine issues green-channel matters as GREEN.
        """
        snapshot = self._fresh(state, site, now) or self._refresh(state, site, now)
        found = snapshot.plan((matters[0], priority))
        if found is None:
            return WaitEstimate(people_ahead=self._line(state).before(matters[0], (now, state.seq + 1, 0)))
        return self._corrected(max(found[0] - minutes_between(now, snapshot.at), 0.0), found[1])

    def _line(self, state: SiteState) -> _InLine:
        in_line = self._in_line
        if in_line is None or in_line.state is not state or in_line.seq != state.seq:
            in_line = self._in_line = _InLine(state)
        return in_line

    def _answer(self, snapshot: _Snapshot, ticket: Ticket, now: datetime, in_line: _InLine) -> WaitEstimate:
        found = snapshot.raw(ticket.id)
        if found is None:
            return WaitEstimate(people_ahead=in_line.before(ticket.matter, ticket.key))
        return self._corrected(max(found[0] - minutes_between(now, snapshot.at), 0.0), found[1])

    def _corrected(self, raw: float, people_ahead: int) -> WaitEstimate:
        low, point, high = self._calibration.correct(raw)
        return WaitEstimate(people_ahead=people_ahead, minutes=point, low=low, high=high)

    def _fresh(self, state: SiteState, site: Site, now: datetime) -> _Snapshot | None:
        """The last replay, if it still answers for this state and instant."""
        snapshot = self._snapshot
        if snapshot is None or snapshot.site is not site or snapshot.site_id != state.site_id:
            return None
        if snapshot.seq == state.seq and snapshot.at == now:
            return snapshot
        return snapshot if 0.0 <= _seconds(now, snapshot.at) < snapshot.until else None

    def _refresh(self, state: SiteState, site: Site, now: datetime) -> _Snapshot:
        """Replay until every reachable waiting ticket is called and a new ticket of every kind would be."""
        replay = self._start(state, site, now)
        matters = sorted({matter for window in site.windows for matter in window.weights})
        replay.add_ghosts((matter, priority) for matter in matters for priority in Priority)
        targets = {
            ticket.id
            for ticket_id in state.waiting
            if replay.reachable((ticket := state.tickets[ticket_id]).matter, ticket.directed_to)
        }
        called = replay.run(targets)
        until = self.config.refresh_seconds
        snapshot = self._snapshot = _Snapshot(state, site, now, until=until, replay=replay, called=called)
        return snapshot

    def _start(self, state: SiteState, site: Site, now: datetime) -> Replay:
        """A replay holding today's waiting tickets, the open windows as they are now and the expected arrivals."""
        matters = {matter for window in site.windows for matter in window.weights}
        minute, closing = minute_of_day(site, now), closing_minute(site, now)
        model = Model(
            minutes_per_call={matter: self._minutes_per_call(matter) for matter in matters},
            gap=self._gaps.mean(self.config.prior_gap_minutes, self.config.prior_weight),
            rates={group: rate for group, rate in self._arrivals.rates(now).items() if group[0] in matters},
            horizon=self.config.max_minutes,
            arrivals_until=closing - site.rules.stop_issuing_minutes - minute,
            max_expected=self.config.max_expected,
        )
        replay = Replay(site, model)
        for ticket_id in state.waiting:
            ticket = state.tickets[ticket_id]
            replay.put(_replayed_ticket(ticket, now, ticket.step), ticket.directed_to, 0.0)
        for window in site.windows:
            window_state = state.windows.get(window.id)
            is_open = window_state is not None and window_state.is_open
            opens_at, away = self._rota.forecast(window.id, is_open, minute, closing)
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

    def _free_in(self, window: WindowState, state: SiteState, now: datetime, model: Model, pace: float) -> float:
        """Minutes until an open window is free to call: the rest of its pause, or of its current call."""
        if window.paused:
            since = self._paused.get(window.id)
            age = minutes_between(now, since) if since is not None else 0.0
            mean = self._pauses.mean(self.config.prior_pause_minutes, self.config.prior_weight)
            return self._pauses.rest(age, mean)
        if window.current is None:
            return 0.0
        matter = state.tickets[window.current].matter
        call = self._calls.get(window.id)
        age = minutes_between(now, call[0]) if call is not None else 0.0
        mean = model.minutes_per_call.get(matter) or self._minutes_per_call(matter)
        return self._durations(matter).rest(age / pace, mean) * pace + model.gap


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def _replayed_ticket(ticket: Ticket, now: datetime, step: int) -> Item:
    key = (minutes_between(ticket.key[0], now), ticket.key[1], ticket.key[2])
    return Item(ticket.id, key, ticket.matters, ticket.priority, step=step, overtaken=ticket.overtaken)

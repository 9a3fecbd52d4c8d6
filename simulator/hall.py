"""One simulated day in a hall, decided by the real engine (``engine.handle``) on a virtual clock.

Citizens arrive by the scenario's hourly rates and take a number at the kiosk; staff open and close windows by
their shifts, call the next ticket when free, take breaks, recall and mark no-shows. Every predictor sees every
event and, at each issue, predicts the new ticket's wait; the ticket's first call gives the actual wait.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine import Rejection, SiteState, handle
from engine import commands as cmd
from engine import events as ev
from engine.district import District
from simulator.predictors import Prediction, Predictor
from simulator.profiles import Scenario, WindowSpec, district

FIRST_DAY = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
"""09:00 on a Monday: minute 0 of the first simulated day; the following days are the next weekdays."""
CLOSING = 480.0
ON_CALL_CHECK = 5.0
"""Minutes between two looks of the hall manager at the queue (to open or close on-call windows)."""


@dataclass
class Record:
    """One ticket: when it was issued, what each predictor said then, and when it was first called."""

    ticket_id: str
    issued: float
    predictions: dict[str, Prediction]
    called: float | None = None

    @property
    def wait(self) -> float | None:
        return None if self.called is None else self.called - self.issued


@dataclass
class DayResult:
    records: list[Record]
    staffing_changes: list[float]
    """Minutes at which a window opened or closed after the day began."""


@dataclass
class _Desk:
    """A window and the member of staff at it, as the simulation drives them."""

    spec: WindowSpec
    pace: float = 1.0
    status: str = "closed"
    """closed, idle, busy (a ticket called or served, or staff about to call) or paused."""
    leaving: bool = False
    """Close at the next release (end of a shift)."""
    draining: bool = False
    """The day's last shift has ended: close once nobody the window could call is waiting."""
    break_due: bool = False
    waking: bool = False


def _lognormal(rng: random.Random, mean: float, cv: float) -> float:
    sigma2 = math.log(1.0 + cv * cv)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2))


class Day:
    """One business day of the hall; the site's state and the predictors carry over from the days before."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        hall: District,
        state: SiteState,
        opening: datetime,
        rng: random.Random,
        predictors: Sequence[Predictor],
    ) -> None:
        self.scenario = scenario
        self.district = hall
        self.site = hall.sites[0]
        self.state = state
        self.opening = opening
        self.rng = rng
        self.predictors = predictors
        self.matters = {spec.code: spec for spec in scenario.matters}
        self.desks = {spec.id: _Desk(spec) for spec in scenario.windows}
        self.now = -10.0
        self.agenda: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self.order = itertools.count()
        self.ids = itertools.count(1)
        self.records: dict[str, Record] = {}
        self.present: set[str] = set()
        """Tickets whose citizen has come to a window once (and so is in the hall)."""
        self.changes: list[float] = []

    # -- the clock and the engine ------------------------------------------------------------------------------

    def at(self, minute: float, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self.agenda, (minute, next(self.order), action, args))

    def execute(self, command_type: type[cmd.Command], **fields: Any) -> list[ev.Event]:
        """Decide a command; every accepted event goes to every predictor. A refusal gives no events."""
        command_id = f"{self.opening:%Y%m%d}-{next(self.ids)}"
        command = command_type(command_id=command_id, site_id=self.site.id, at=self.clock(), **fields)
        result = handle(self.district, self.state, command)
        if isinstance(result, Rejection):
            return []
        for event in result:
            for predictor in self.predictors:
                predictor.observe(event, self.state, self.site)
            self.note(event)
        return result

    def clock(self) -> datetime:
        return self.opening + timedelta(minutes=self.now)

    def note(self, event: ev.Event) -> None:
        if isinstance(event, ev.WindowOpened | ev.WindowClosed) and self.now > 0.0:
            self.changes.append(self.now)
        elif isinstance(event, ev.TicketCalled):
            record = self.records.get(event.ticket_id)
            if record is not None and record.called is None:
                record.called = self.now
        elif isinstance(event, ev.TicketIssued | ev.TicketReactivated):
            self.wake(self.state.tickets[event.ticket_id].matter)
        elif isinstance(event, ev.ServiceFinished) and event.next_matter is not None:
            self.wake(event.next_matter)

    def run(self) -> DayResult:
        self.execute(cmd.OpenDay)
        for desk in self.desks.values():
            self.plan(desk)
        self.at(self.next_arrival(0.0), self.issue)
        if any(desk.spec.on_call for desk in self.desks.values()):
            self.at(ON_CALL_CHECK, self.manage_on_call)
        while self.agenda:
            self.now, _, action, args = heapq.heappop(self.agenda)
            action(*args)
        self.execute(cmd.CloseDay)
        return DayResult(list(self.records.values()), self.changes)

    # -- citizens ----------------------------------------------------------------------------------------------

    def next_arrival(self, start: float) -> float:
        """The next arrival after ``start`` (a Poisson process with piecewise constant hourly rates), or inf."""
        rates, moment = self.scenario.rates, start
        while moment < self.scenario.issue_until:
            index = max(i for i, (begin, _) in enumerate(rates) if begin <= moment)
            end = rates[index + 1][0] if index + 1 < len(rates) else self.scenario.issue_until
            per_hour = rates[index][1]
            if per_hour > 0.0:
                arrival = moment + self.rng.expovariate(per_hour / 60.0)
                if arrival < end:
                    return arrival
            moment = end
        return math.inf

    def issue(self) -> None:
        rng, scenario = self.rng, self.scenario
        specs = list(self.matters.values())
        first = rng.choices(specs, weights=[spec.share for spec in specs])[0]
        matters = [first.code]
        others = [spec for spec in specs if spec is not first and not spec.green]
        if not first.green and others and rng.random() < scenario.two_matters:
            matters.append(rng.choices(others, weights=[spec.share for spec in others])[0].code)
        draw = rng.random()
        if draw < scenario.elderly:
            priority, channel = cmd.Priority.ELDERLY, cmd.Channel.KIOSK
        elif draw < scenario.elderly + scenario.appointment:
            priority, channel = cmd.Priority.APPOINTMENT, cmd.Channel.APPOINTMENT
        else:
            priority, channel = cmd.Priority.NORMAL, cmd.Channel.KIOSK
        events = self.execute(cmd.IssueTicket, matters=tuple(matters), priority=priority, channel=channel)
        for event in events:
            if isinstance(event, ev.TicketIssued):
                now = self.clock()
                predictions = {p.name: p.predict(self.state, self.site, event.ticket_id, now) for p in self.predictors}
                self.records[event.ticket_id] = Record(event.ticket_id, self.now, predictions)
        following = self.next_arrival(self.now)
        if following < math.inf:
            self.at(following, self.issue)

    def answer(self, desk: _Desk, ticket_id: str) -> None:
        """A called citizen walks up, or has given up waiting and left (a no-show)."""
        if ticket_id not in self.present:
            waited = self.now - self.records[ticket_id].issued if ticket_id in self.records else 0.0
            gone = self.scenario.no_show + self.scenario.no_show_per_hour * waited / 60.0
            if self.rng.random() < gone:
                self.at(self.now + 1.0, self.recall, desk)
                self.at(self.now + 2.0, self.recall, desk)
                self.at(self.now + 3.0, self.release, desk, cmd.MarkNoShow)
                if self.rng.random() < self.scenario.comes_back:
                    self.at(self.now + self.rng.uniform(10.0, 40.0), self.come_back, ticket_id)
                return
        self.present.add(ticket_id)
        self.at(self.now + _lognormal(self.rng, 0.8, 0.6), self.start, desk, ticket_id)

    def recall(self, desk: _Desk) -> None:
        self.execute(cmd.Recall, window_id=desk.spec.id)

    def come_back(self, ticket_id: str) -> None:
        if self.execute(cmd.Reactivate, ticket_id=ticket_id):
            self.present.add(ticket_id)

    # -- staff -------------------------------------------------------------------------------------------------

    def plan(self, desk: _Desk) -> None:
        """Schedule the window's shifts and its staff's breaks."""
        shifts = desk.spec.shifts if not desk.spec.on_call else ()
        for number, (begin, end) in enumerate(shifts):
            self.at(begin, self.open, desk)
            self.at(end, self.leave, desk, number == len(shifts) - 1)
        if desk.spec.on_call:
            self.at(CLOSING, self.leave, desk, True)
        rate = self.scenario.pauses_per_hour / 60.0
        moment = self.rng.expovariate(rate) if rate > 0.0 else math.inf
        while moment < CLOSING:
            self.at(moment, self.take_break, desk)
            moment += self.rng.expovariate(rate)

    def open(self, desk: _Desk) -> None:
        if desk.status != "closed":
            return
        desk.pace = math.exp(self.rng.gauss(0.0, self.scenario.pace_spread))
        desk.leaving = desk.draining = desk.break_due = False
        self.execute(cmd.OpenWindow, window_id=desk.spec.id, staff_id=f"{desk.spec.id}-{next(self.ids)}")
        desk.status = "idle"
        self.call_next(desk)

    def leave(self, desk: _Desk, last: bool) -> None:
        if desk.status == "closed":
            return
        if last:
            desk.draining = True
        else:
            desk.leaving = True
        if desk.status in ("idle", "paused"):
            self.close(desk)

    def close(self, desk: _Desk) -> None:
        self.execute(cmd.CloseWindow, window_id=desk.spec.id)
        desk.status = "closed"

    def take_break(self, desk: _Desk) -> None:
        if desk.status == "idle":
            self.pause(desk)
        elif desk.status == "busy":
            desk.break_due = True

    def pause(self, desk: _Desk) -> None:
        self.execute(cmd.PauseWindow, window_id=desk.spec.id, reason="break")
        desk.status, desk.break_due = "paused", False
        self.at(self.now + _lognormal(self.rng, self.scenario.pause_minutes, 0.5), self.resume, desk)

    def resume(self, desk: _Desk) -> None:
        if desk.status == "paused":
            self.execute(cmd.ResumeWindow, window_id=desk.spec.id)
            desk.status = "idle"
            self.call_next(desk)

    def wake(self, matter: str) -> None:
        """Idle staff notice a new ticket they could call, after a moment."""
        for desk in self.desks.values():
            if desk.status == "idle" and not desk.waking and matter in desk.spec.weights:
                desk.waking = True
                self.at(self.now + self.rng.uniform(0.1, 0.5), self.woken, desk)

    def woken(self, desk: _Desk) -> None:
        desk.waking = False
        if desk.status == "idle":
            self.call_next(desk)

    def call_next(self, desk: _Desk) -> None:
        """Press "call next" (which settles the current ticket first); the window idles when nobody is left.

        Staff whose shift is over, or who are due a break, close or pause instead (they hold no ticket then).
        """
        if desk.leaving:
            self.close(desk)
            return
        if desk.break_due:
            self.pause(desk)
            return
        desk.status = "busy"
        called = [
            event for event in self.execute(cmd.CallNext, window_id=desk.spec.id) if isinstance(event, ev.TicketCalled)
        ]
        if called:
            self.answer(desk, called[0].ticket_id)
            return
        desk.status = "idle"
        if desk.draining:
            self.close(desk)

    def start(self, desk: _Desk, ticket_id: str) -> None:
        self.execute(cmd.StartService, window_id=desk.spec.id)
        matter = self.matters[self.state.tickets[ticket_id].matter]
        self.at(self.now + _lognormal(self.rng, matter.minutes, matter.cv) * desk.pace, self.release, desk)

    def release(self, desk: _Desk, settle: type[cmd.Command] = cmd.FinishService) -> None:
        """The window is done with its ticket: settle it, then close, pause or call the next one."""
        if desk.leaving or desk.break_due:
            self.execute(settle, window_id=desk.spec.id)
            self.call_next(desk)
        elif self.rng.random() < 0.5:
            self.call_next(desk)
        else:
            self.execute(settle, window_id=desk.spec.id)
            self.at(self.now + _lognormal(self.rng, 0.6, 0.8), self.call_next, desk)

    def manage_on_call(self) -> None:
        """Open an on-call window while many wait per serving window; close one when the queue is short."""
        serving = sum(1 for desk in self.desks.values() if desk.status in ("idle", "busy"))
        waiting = len(self.state.waiting)
        on_call = [desk for desk in self.desks.values() if desk.spec.on_call]
        if waiting > self.scenario.on_call_above * max(serving, 1) and self.now < self.scenario.issue_until:
            closed = [desk for desk in on_call if desk.status == "closed"]
            if closed:
                self.open(closed[0])
        elif waiting < self.scenario.on_call_below * serving:
            staffed = [desk for desk in on_call if desk.status != "closed" and not desk.leaving]
            if staffed:
                self.leave(staffed[-1], False)
        if self.now + ON_CALL_CHECK < CLOSING:
            self.at(self.now + ON_CALL_CHECK, self.manage_on_call)


def simulate(scenario: Scenario, seed: int, predictors: Sequence[Predictor], days: int = 1) -> list[DayResult]:
    """Consecutive weekdays of one hall (at most five), the predictors learning throughout."""
    hall = district(scenario)
    state = SiteState(site_id=hall.sites[0].id)
    if not 1 <= days <= 5:
        raise ValueError("simulate one to five weekdays")
    return [
        Day(
            scenario,
            hall=hall,
            state=state,
            opening=FIRST_DAY + timedelta(days=day),
            rng=random.Random(f"{scenario.name}/{seed}/{day}"),
            predictors=predictors,
        ).run()
        for day in range(days)
    ]

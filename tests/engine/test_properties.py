"""Hypothesis drives a hall through random days and checks the invariants the whole system stands on."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine import commands as cmd
from engine import events as ev
from engine import fold
from engine.district import QueueRules, Window
from engine.ordering import calling_order, choose_next, score
from engine.state import TERMINAL, SiteState, Ticket, TicketStatus
from hub.service import HallService, Outcome
from hub.store.memory import MemoryStore
from tests.engine.hall import OPENING, small_district

WINDOWS = st.sampled_from(["w1", "w2", "w3", "w9"])
MATTERS = st.sampled_from(["M1", "M2", "M3", "G1", "X9"])
PRIORITIES = st.sampled_from(list(cmd.Priority))
# start and finish twice: a served ticket is the common case, the others are the exceptions
WINDOW_ACTIONS = [cmd.StartService, cmd.FinishService] * 2 + [cmd.Recall, cmd.MarkNoShow, cmd.Park]
RULES = QueueRules(max_calls=2, reactivate_after=2, max_overtakes=2)


def eligible(ticket: Ticket, window: Window) -> bool:
    return (
        ticket.status == TicketStatus.WAITING
        and window.serves(ticket.matter)
        and ticket.directed_to in (None, window.id)
    )


def choose_by_scan(state: SiteState, window: Window, rules: QueueRules, now: Any) -> tuple[str, list[str]] | None:
    """docs/decisions/0003-call-ordering.md read literally, over every waiting ticket: the oracle of the engine's
    indexed choice."""
    pool = [ticket for ticket_id in state.waiting if eligible(ticket := state.tickets[ticket_id], window)]
    if not pool:
        return None
    if any(ticket.overtaken >= rules.max_overtakes for ticket in pool):
        return min(pool, key=lambda ticket: ticket.key).id, []
    chosen = min(pool, key=lambda ticket: (-score(ticket, window, rules, now), ticket.key))
    return chosen.id, [ticket.id for ticket in sorted(pool, key=lambda t: t.key) if ticket.key < chosen.key]


class HallDay(RuleBasedStateMachine):
    """One site's day under random commands from kiosks and three windows, through the real service."""

    def __init__(self) -> None:
        super().__init__()
        self.district = small_district(RULES)
        self.site = self.district.sites[0]
        self.store = MemoryStore()
        self.service = HallService(self.district, self.store, snapshot_every=25)
        self.now = OPENING
        self.ids = itertools.count(1)
        self.sent: list[tuple[cmd.Command, Outcome]] = []
        self.numbers: set[tuple[object, str]] = set()
        self.ended: dict[str, TicketStatus] = {}
        self.overtakes: dict[str, int] = {}
        self.rateable: dict[str, tuple[str, str]] = {}
        """Window -> (ticket, matter) of the service finished there, until rated or the window calls again."""
        self.execute(cmd.OpenDay)
        for window in ("w1", "w2", "w3"):
            self.execute(cmd.OpenWindow, window_id=window)

    @property
    def state(self) -> SiteState:
        return self.service.state(self.site.id)

    def execute(self, command_type: type[cmd.Command], **fields: Any) -> Outcome:
        command = command_type(command_id=f"c{next(self.ids)}", site_id=self.site.id, at=self.now, **fields)
        outcome = self.service.execute(command)
        self.sent.append((command, outcome))
        for event in outcome.events:
            self.check_event(event)
        return outcome

    def check_event(self, event: ev.Event) -> None:
        self.follow_ratings(event)
        if isinstance(event, ev.TicketIssued):
            key = (event.day, event.number)
            assert key not in self.numbers, f"number {event.number} issued twice"
            self.numbers.add(key)
        if isinstance(event, ev.TicketCalled):
            window = self.site.window(event.window_id)
            ticket = self.state.tickets[event.ticket_id]
            assert window is not None and window.serves(ticket.matter), "a window called a matter it does not serve"

    def follow_ratings(self, event: ev.Event) -> None:
        if isinstance(event, ev.ServiceFinished):
            self.rateable[event.window_id] = (event.ticket_id, event.matter)
        elif isinstance(event, ev.TicketCalled | ev.ServiceRated):
            self.rateable.pop(event.window_id, None)
        elif isinstance(event, ev.DayOpened):
            self.rateable.clear()

    def ticket_ids(self) -> list[str]:
        return sorted(self.state.tickets)

    @rule(minutes=st.integers(0, 20))
    def wait(self, minutes: int) -> None:
        if self.now + timedelta(minutes=minutes) < OPENING + timedelta(hours=10):
            self.now += timedelta(minutes=minutes)

    @rule(
        matters=st.lists(MATTERS, min_size=1, max_size=3, unique=True),
        priority=PRIORITIES,
        citizen=st.none() | st.sampled_from(["h:1", "h:2"]),
    )
    def issue(self, matters: list[str], priority: cmd.Priority, citizen: str | None) -> None:
        self.execute(cmd.IssueTicket, matters=tuple(matters), priority=priority, citizen_ref=citizen)

    @rule(matter=MATTERS, count=st.integers(2, 5))
    def priority_burst(self, matter: str, count: int) -> None:
        """A group of elderly citizens arrives at once: the case that tests the no-starvation bound."""
        for _ in range(count):
            self.execute(cmd.IssueTicket, matters=(matter,), priority=cmd.Priority.ELDERLY)

    @rule(window=WINDOWS)
    def open_window(self, window: str) -> None:
        self.execute(cmd.OpenWindow, window_id=window)

    @rule(window=WINDOWS)
    def close_window(self, window: str) -> None:
        self.execute(cmd.CloseWindow, window_id=window)

    @rule(window=WINDOWS, pause=st.booleans())
    def pause_or_resume(self, window: str, pause: bool) -> None:
        if pause:
            self.execute(cmd.PauseWindow, window_id=window, reason="午休")
        else:
            self.execute(cmd.ResumeWindow, window_id=window)

    @rule(window=WINDOWS, times=st.integers(1, 3))
    def call_next(self, window: str, times: int) -> None:
        for _ in range(times):
            self.call_one(window)

    def call_one(self, window: str) -> None:
        outcome = self.execute(cmd.CallNext, window_id=window)
        calls = [event for event in outcome.events if isinstance(event, ev.TicketCalled)]
        if not calls:
            return
        called = self.state.tickets[calls[0].ticket_id]
        config = self.site.window(window)
        assert config is not None
        for ticket_id in self.state.waiting:
            other = self.state.tickets[ticket_id]
            if eligible(other, config) and other.key < called.key:
                self.overtakes[other.id] = self.overtakes.get(other.id, 0) + 1
                assert self.overtakes[other.id] <= RULES.max_overtakes, f"{other.number} overtaken too often"
            same_queue = other.matter == called.matter and other.priority == called.priority
            if same_queue and eligible(other, config) and other.directed_to is None:
                assert other.key > called.key, f"{other.number} was ahead of {called.number} in the same queue"

    @rule(window=WINDOWS, then_call=st.booleans(), level=st.none() | st.integers(1, 5))
    def serve(self, window: str, then_call: bool, level: int | None) -> None:
        """Call, start and finish at one window in a row, maybe call the next citizen, maybe rate: the common path,
        so what follows a finish (a rating, the next call, the ticket's next matter) is reached often."""
        self.call_one(window)
        self.execute(cmd.StartService, window_id=window)
        self.execute(cmd.FinishService, window_id=window)
        if then_call:
            self.call_one(window)
        if level is not None:
            self.rate(window, level)

    @rule(window=WINDOWS, level=st.integers(1, 5))
    def rate(self, window: str, level: int) -> None:
        expected = self.rateable.get(window)
        outcome = self.execute(cmd.RateService, window_id=window, level=level)
        assert outcome.accepted == (expected is not None), "a rating must be of the one service finished last"
        if expected is not None:
            (rated,) = outcome.events
            assert isinstance(rated, ev.ServiceRated)
            assert (rated.ticket_id, rated.matter, rated.level) == (*expected, level)

    @rule(
        window=WINDOWS,
        action=st.sampled_from(WINDOW_ACTIONS),
    )
    def window_action(self, window: str, action: type[cmd.Command]) -> None:
        self.execute(action, window_id=window)

    @precondition(lambda self: bool(self.state.tickets))
    @rule(data=st.data(), window=WINDOWS, action=st.sampled_from([cmd.CallTicket, cmd.CallBack]))
    def call_chosen(self, data: st.DataObject, window: str, action: type[cmd.Command]) -> None:
        self.execute(action, window_id=window, ticket_id=data.draw(st.sampled_from(self.ticket_ids())))

    @precondition(lambda self: bool(self.state.tickets))
    @rule(data=st.data(), action=st.sampled_from([cmd.Reactivate, cmd.CancelTicket]))
    def ticket_action(self, data: st.DataObject, action: type[cmd.Command]) -> None:
        self.execute(action, ticket_id=data.draw(st.sampled_from(self.ticket_ids())))

    @rule(window=WINDOWS, to_matter=st.none() | MATTERS, to_window=st.none() | WINDOWS)
    def transfer(self, window: str, to_matter: str | None, to_window: str | None) -> None:
        self.execute(cmd.Transfer, window_id=window, to_matter=to_matter, to_window=to_window)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        command, first = data.draw(st.sampled_from(self.sent))
        seq = self.store.last_seq(self.site.id)
        assert self.service.execute(command) == first, "a retry got a different answer"
        assert self.store.last_seq(self.site.id) == seq, "a retry changed the log"

    @invariant()
    def windows_and_tickets_agree(self) -> None:
        holders: dict[str, str] = {}
        for window in self.state.windows.values():
            if window.current is not None:
                assert window.current not in holders, "two windows hold the same ticket"
                holders[window.current] = window.id
        for ticket in self.state.tickets.values():
            at_window = ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING)
            assert (holders.get(ticket.id) == ticket.window_id) if at_window else ticket.id not in holders
            assert (ticket.id in self.state.waiting) == (ticket.status == TicketStatus.WAITING)
            assert ticket.overtaken <= RULES.max_overtakes

    @invariant()
    def every_window_would_call_what_a_full_scan_calls(self) -> None:
        for window in self.site.windows:
            found = choose_next(self.state, window, RULES, self.now)
            assert (found and (found[0].id, found[1])) == choose_by_scan(self.state, window, RULES, self.now)
            order = [ticket.id for ticket in calling_order(self.state, window, RULES, self.now)]
            assert order[:1] == ([found[0].id] if found else [])
            assert sorted(order) == sorted(t for t in self.state.waiting if eligible(self.state.tickets[t], window))

    @invariant()
    def ended_tickets_stay_ended(self) -> None:
        for ticket in self.state.tickets.values():
            if ticket.id in self.ended:
                assert ticket.status == self.ended[ticket.id], f"{ticket.number} left its terminal state"
            elif ticket.status in TERMINAL:
                self.ended[ticket.id] = ticket.status

    @invariant()
    def log_folds_to_the_live_state(self) -> None:
        assert fold(self.site.id, self.store.events(self.site.id)) == self.state

    def teardown(self) -> None:
        self.execute(cmd.CloseDay)
        assert all(ticket.status in TERMINAL for ticket in self.state.tickets.values())
        self.ended_tickets_stay_ended()
        rebuilt = HallService(self.district, self.store).state(self.site.id)
        assert rebuilt == self.state, "a restarted service (snapshot + tail) differs from the live state"


HallDay.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestHallDay = HallDay.TestCase

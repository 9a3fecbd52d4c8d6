"""A site's live state and the one function that folds an event into it.

``apply`` is the only code that changes state, so folding the log from scratch gives exactly the state the live
engine holds. State is mutable for speed (a busy hall holds thousands of tickets) but only ``apply`` touches it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import msgspec

from engine import events as ev
from engine.commands import Channel, Priority
from engine.waiting import WaitingIndex

QueueKey = tuple[datetime, int, int]
"""Place in the queue: (time the ticket's wait counts from, issue order, re-entry sequence)."""


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    PARKED = "parked"
    MISSED = "missed"  # 过号: may still be reactivated today
    DONE = "done"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    EXPIRED = "expired"


TERMINAL = frozenset({TicketStatus.DONE, TicketStatus.CANCELLED, TicketStatus.NO_SHOW, TicketStatus.EXPIRED})
OPEN_FOR_CITIZEN = frozenset(
    {TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING, TicketStatus.PARKED, TicketStatus.MISSED}
)


class Ticket(msgspec.Struct, kw_only=True, gc=False):
    """``gc=False`` as for events (engine/events.py): a ticket holds only values."""

    id: str
    number: str
    matters: tuple[str, ...]
    step: int = 0
    """Index of the matter being queued for or served now."""
    priority: Priority
    channel: Channel
    issued_at: datetime
    key: QueueKey
    status: TicketStatus = TicketStatus.WAITING
    window_id: str | None = None
    """The window that called, serves or parked it."""
    directed_to: str | None = None
    """Only this window may call it (after a transfer to a window)."""
    calls: int = 0
    overtaken: int = 0
    citizen_ref: str | None = None
    last_service: tuple[str, str, str] | None = None
    """(window id, matter, clerk) of its last finished service: what its holder may rate (kiosk, ticket page)."""
    last_rating: int = 0
    """The level that service was given, 0 while it is not rated."""

    @property
    def matter(self) -> str:
        return self.matters[self.step]


class WindowState(msgspec.Struct, kw_only=True):
    id: str
    is_open: bool = False
    staff_id: str = ""
    paused: bool = False
    pause_reason: str = ""
    current: str | None = None
    """The ticket called to or served at this window."""
    last_served: tuple[str, str] | None = None
    """(ticket id, matter) of the service finished here last, until it is rated or the window calls again: what its
    evaluator may rate."""
    last_served_by: str = ""
    """The clerk who finished that service (a rating is theirs, also after they signed out)."""


class SiteState(msgspec.Struct, kw_only=True, dict=True):
    """``dict=True``: the state may carry its ``WaitingIndex`` (derived, never encoded, see ``waiting_index``)."""

    site_id: str
    seq: int = 0
    day: date | None = None
    day_open: bool = False
    numbers: dict[str, int] = msgspec.field(default_factory=dict)
    """Last number issued today per ticket prefix."""
    issued: dict[str, int] = msgspec.field(default_factory=dict)
    """Tickets issued today per matter (for daily limits)."""
    tickets: dict[str, Ticket] = msgspec.field(default_factory=dict)
    """Today's tickets by id (earlier days live only in the log)."""
    waiting: dict[str, None] = msgspec.field(default_factory=dict)
    """Ids of WAITING tickets (an ordered set)."""
    windows: dict[str, WindowState] = msgspec.field(default_factory=dict)

    def ticket_id(self, ref: str) -> str:
        """The id of a ticket given by its id or by today's number (A001); ``ref`` itself when neither matches."""
        if ref in self.tickets:
            return ref
        wanted = ref.upper()
        return next((ticket.id for ticket in self.tickets.values() if ticket.number == wanted), ref)

    def window(self, window_id: str) -> WindowState:
        """The window's state for reading (a closed, idle window if it never opened). Never changes the state."""
        return self.windows.get(window_id) or WindowState(id=window_id)


def waiting_index(state: SiteState) -> WaitingIndex:
    """The state's waiting tickets grouped for call-next (engine/waiting.py): built on first use, then kept up to
    date by ``apply``."""
    index: WaitingIndex | None = state.__dict__.get("_waiting_index")
    if index is None:
        tickets = state.tickets
        index = state.__dict__["_waiting_index"] = WaitingIndex(tickets[ticket_id] for ticket_id in state.waiting)
    return index


def _built_index(state: SiteState) -> WaitingIndex | None:
    """The index if one was built (``apply`` keeps it; it never builds one nobody asked for)."""
    return state.__dict__.get("_waiting_index")


def _window(state: SiteState, window_id: str) -> WindowState:
    """The window's state for ``apply`` to change."""
    return state.windows.setdefault(window_id, WindowState(id=window_id))


def _enqueue(state: SiteState, ticket: Ticket) -> None:
    ticket.status = TicketStatus.WAITING
    ticket.window_id = None
    ticket.calls = 0
    state.waiting[ticket.id] = None
    if (index := _built_index(state)) is not None:
        index.add(ticket)


def _leave_queue(state: SiteState, ticket: Ticket) -> None:
    state.waiting.pop(ticket.id, None)
    if (index := _built_index(state)) is not None:
        index.remove(ticket.id)


def _leave_window(state: SiteState, ticket: Ticket) -> None:
    if ticket.window_id is not None:
        window = _window(state, ticket.window_id)
        if window.current == ticket.id:
            window.current = None


def _end(state: SiteState, ticket: Ticket, status: TicketStatus) -> None:
    _leave_window(state, ticket)
    _leave_queue(state, ticket)
    ticket.status = status


def _on_day_opened(state: SiteState, event: ev.DayOpened) -> None:
    """A new day starts numbering again; reopening a day closed by mistake continues it (no number twice)."""
    if event.day != state.day:
        state.numbers = {}
        state.issued = {}
        state.tickets = {}
        state.waiting = {}
        state.__dict__.pop("_waiting_index", None)
    state.day = event.day
    state.day_open = True
    for window in state.windows.values():
        window.current = window.last_served = None


def _on_day_closed(state: SiteState, event: ev.DayClosed) -> None:
    for ticket in state.tickets.values():
        if ticket.status == TicketStatus.MISSED:
            _end(state, ticket, TicketStatus.NO_SHOW)
        elif ticket.status not in TERMINAL:
            _end(state, ticket, TicketStatus.EXPIRED)
    state.day_open = False
    for window in state.windows.values():
        window.is_open = window.paused = False
        window.current = None


def _on_issued(state: SiteState, event: ev.TicketIssued) -> None:
    prefix, serial = event.number[:-3], int(event.number[-3:])
    state.numbers[prefix] = serial
    for matter in event.matters:
        state.issued[matter] = state.issued.get(matter, 0) + 1
    ticket = Ticket(
        id=event.ticket_id,
        number=event.number,
        matters=event.matters,
        priority=event.priority,
        channel=event.channel,
        issued_at=event.at,
        key=(event.at, event.seq, 0),
        citizen_ref=event.citizen_ref,
    )
    state.tickets[ticket.id] = ticket
    _enqueue(state, ticket)


def _on_window_opened(state: SiteState, event: ev.WindowOpened) -> None:
    window = _window(state, event.window_id)
    window.is_open = True
    window.staff_id = event.staff_id
    window.paused = False
    window.pause_reason = ""


def _on_window_closed(state: SiteState, event: ev.WindowClosed) -> None:
    window = _window(state, event.window_id)
    window.is_open = window.paused = False
    window.staff_id = window.pause_reason = ""


def _on_window_paused(state: SiteState, event: ev.WindowPaused) -> None:
    window = _window(state, event.window_id)
    window.paused = True
    window.pause_reason = event.reason


def _on_window_resumed(state: SiteState, event: ev.WindowResumed) -> None:
    window = _window(state, event.window_id)
    window.paused = False
    window.pause_reason = ""


def _on_called(state: SiteState, event: ev.TicketCalled) -> None:
    ticket = state.tickets[event.ticket_id]
    index = _built_index(state)
    for other_id in event.overtook:
        other = state.tickets[other_id]
        other.overtaken += 1
        if index is not None:
            index.overtaken(other)
    _leave_queue(state, ticket)
    ticket.status = TicketStatus.CALLED
    ticket.window_id = event.window_id
    ticket.directed_to = None
    ticket.calls = event.call_count
    window = _window(state, event.window_id)
    window.current = ticket.id
    window.last_served = None  # the next citizen is at the window: the last one's rating is over


def _on_started(state: SiteState, event: ev.ServiceStarted) -> None:
    state.tickets[event.ticket_id].status = TicketStatus.SERVING


def _on_finished(state: SiteState, event: ev.ServiceFinished) -> None:
    ticket = state.tickets[event.ticket_id]
    _leave_window(state, ticket)
    window = _window(state, event.window_id)
    window.last_served, window.last_served_by = (ticket.id, event.matter), window.staff_id
    ticket.last_service, ticket.last_rating = (window.id, event.matter, window.staff_id), 0
    if event.next_matter is None:
        ticket.status = TicketStatus.DONE
        ticket.window_id = None
        return
    ticket.step += 1
    _enqueue(state, ticket)


def _on_missed(state: SiteState, event: ev.TicketMissed) -> None:
    ticket = state.tickets[event.ticket_id]
    _leave_window(state, ticket)
    ticket.status = TicketStatus.MISSED


def _on_reactivated(state: SiteState, event: ev.TicketReactivated) -> None:
    ticket = state.tickets[event.ticket_id]
    if event.behind is None:
        ticket.key = (event.at, ticket.key[1], event.seq)
    else:
        behind = state.tickets[event.behind].key
        ticket.key = (behind[0], behind[1], event.seq)
    ticket.window_id = None
    _enqueue(state, ticket)


def _on_parked(state: SiteState, event: ev.TicketParked) -> None:
    ticket = state.tickets[event.ticket_id]
    _leave_window(state, ticket)
    ticket.status = TicketStatus.PARKED


def _on_transferred(state: SiteState, event: ev.TicketTransferred) -> None:
    ticket = state.tickets[event.ticket_id]
    _leave_window(state, ticket)
    ticket.matters = (*ticket.matters[: ticket.step], event.to_matter, *ticket.matters[ticket.step + 1 :])
    ticket.directed_to = event.to_window
    _enqueue(state, ticket)


def _on_rated(state: SiteState, event: ev.ServiceRated) -> None:
    """One rating per service, whichever way it came: neither the window's evaluator nor the ticket's holder may
    rate it again (the window's or the ticket's next service may be rated)."""
    window = _window(state, event.window_id)
    if window.last_served == (event.ticket_id, event.matter):
        window.last_served = None
    ticket = state.tickets.get(event.ticket_id)
    if ticket is not None and ticket.last_service is not None and ticket.last_service[:2] == (window.id, event.matter):
        ticket.last_rating = event.level


def _on_cancelled(state: SiteState, event: ev.TicketCancelled) -> None:
    _end(state, state.tickets[event.ticket_id], TicketStatus.CANCELLED)


_APPLIERS: dict[type[ev.Event], Callable[[SiteState, Any], None]] = {
    ev.DayOpened: _on_day_opened,
    ev.DayClosed: _on_day_closed,
    ev.TicketIssued: _on_issued,
    ev.WindowOpened: _on_window_opened,
    ev.WindowClosed: _on_window_closed,
    ev.WindowPaused: _on_window_paused,
    ev.WindowResumed: _on_window_resumed,
    ev.TicketCalled: _on_called,
    ev.ServiceStarted: _on_started,
    ev.ServiceFinished: _on_finished,
    ev.TicketMissed: _on_missed,
    ev.TicketReactivated: _on_reactivated,
    ev.TicketParked: _on_parked,
    ev.TicketTransferred: _on_transferred,
    ev.TicketCancelled: _on_cancelled,
    ev.ServiceRated: _on_rated,
}


def apply(state: SiteState, event: ev.Event) -> None:
    """Fold one event into the state. Events must come in sequence order without gaps."""
    if event.site_id != state.site_id or event.seq != state.seq + 1:
        raise ValueError(f"event {event.site_id}#{event.seq} does not follow {state.site_id}#{state.seq}")
    _APPLIERS[type(event)](state, event)
    state.seq = event.seq


def fold(site_id: str, events: Iterable[ev.Event], state: SiteState | None = None) -> SiteState:
    """Replay events onto ``state`` (or onto an empty site) and return it."""
    state = state if state is not None else SiteState(site_id=site_id)
    for event in events:
        apply(state, event)
    return state

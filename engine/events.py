"""Events: what happened in a site's hall (past-tense names). The event log is the single source of truth.

Every event carries its site, its per-site sequence number (1, 2, 3, ... without gaps) and the time of the command
that caused it. The JSON form is ``{"type": "TicketIssued", ...}``.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import msgspec

from engine.commands import Channel, Priority, RatingAspects, RatingReason, RatingSource


class CallKind(enum.StrEnum):
    NEXT = "next"  # 顺呼
    CHOSEN = "chosen"  # 特呼
    RECALL = "recall"  # 重呼
    CALLBACK = "callback"  # 回呼


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, gc=False):
    """``gc=False``: a hub holds hundreds of thousands of events and tickets, which the garbage collector would walk
    in every full collection; they hold only values, never a container that could lead back to them
    (docs/decisions/0012-untracked-events-and-a-frozen-start.md)."""

    site_id: str
    seq: int
    at: datetime


class DayOpened(Event, frozen=True, kw_only=True, tag=True):
    day: date


class DayClosed(Event, frozen=True, kw_only=True, tag=True):
    """Every open ticket ends with the day: missed ones become no-shows, all others expire."""

    day: date


class TicketIssued(Event, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    number: str
    day: date
    matters: tuple[str, ...]
    priority: Priority
    channel: Channel
    citizen_ref: str | None = None


class WindowOpened(Event, frozen=True, kw_only=True, tag=True):
    window_id: str
    staff_id: str = ""


class WindowClosed(Event, frozen=True, kw_only=True, tag=True):
    window_id: str


class WindowPaused(Event, frozen=True, kw_only=True, tag=True):
    window_id: str
    reason: str


class WindowResumed(Event, frozen=True, kw_only=True, tag=True):
    window_id: str


class TicketCalled(Event, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    number: str
    window_id: str
    kind: CallKind
    call_count: int
    """How many times the ticket has now been called at this window (1 for a first call)."""
    overtook: tuple[str, ...] = ()
    """Waiting tickets ahead in the queue that this call passed over (counted for the no-starvation bound)."""


class ServiceStarted(Event, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    window_id: str


class ServiceFinished(Event, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    window_id: str
    matter: str
    next_matter: str | None = None
    """Set when the ticket goes on to its next matter under the same number (一票到底)."""


class TicketMissed(Event, frozen=True, kw_only=True, tag=True):
    """The called citizen did not come; ``automatic`` when the call limit dropped the ticket."""

    ticket_id: str
    window_id: str
    automatic: bool = False


class TicketReactivated(Event, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    behind: str | None
    """The waiting ticket it re-enters behind, or None to join at the end."""


class TicketParked(Event, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    window_id: str


class TicketTransferred(Event, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    from_window: str
    to_matter: str
    to_window: str | None = None


class TicketCancelled(Event, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    reason: str = ""


class ServiceRated(Event, frozen=True, kw_only=True, tag=True):
    """A service rated: who served which matter of which ticket, the level (1-5), its sub-indicators and reasons, and
    where the citizen rated. The fields after ``level`` have defaults: a log written before them still decodes."""

    ticket_id: str
    window_id: str
    staff_id: str
    matter: str
    level: int
    aspects: RatingAspects | None = None
    reasons: tuple[RatingReason, ...] = ()
    source: RatingSource = RatingSource.EVALUATOR


AnyEvent = (
    DayOpened
    | DayClosed
    | TicketIssued
    | WindowOpened
    | WindowClosed
    | WindowPaused
    | WindowResumed
    | TicketCalled
    | ServiceStarted
    | ServiceFinished
    | TicketMissed
    | TicketReactivated
    | TicketParked
    | TicketTransferred
    | TicketCancelled
    | ServiceRated
)

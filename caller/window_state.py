"""One window as the caller knows it: open or not, paused and why, the ticket called to or served there. Kept from the
site's events (the events topic and the events in the caller's own replies, each applied once, in sequence order)
and put right by the site's snapshot whenever the snapshot is newer. The snapshot cannot say whether the ticket at
the window is called or being served: that comes from the events alone, whichever of the two arrives first.
Plain Python, no Kivy, no MQTT.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import contract as wire
from engine import events as ev

_REMEMBERED = 5000
"""Tickets whose number and matters are remembered (a busy hall issues ~2,000 a day)."""


@dataclass(frozen=True)
class Current:
    """The ticket called to or served at this window."""

    number: str
    ticket_id: str | None = None
    """None when only the snapshot named the number (a caller that started while the ticket was at the window)."""
    matters: tuple[str, ...] = ()
    """The matters still to serve, the one at this window first; empty while unknown."""
    serving: bool = False
    calls: int = 1


class WindowState:
    def __init__(self, site_id: str, window_id: str) -> None:
        self.site_id, self.window_id = site_id, window_id
        self.is_open = False
        self.paused = False
        self.pause_reason = ""
        self.current: Current | None = None
        self.seq = -1
        """The newest site event applied."""
        self._snapshot: wire.Snapshot | None = None
        """The newest snapshot taken."""
        self._matters: dict[str, tuple[str, ...]] = {}
        """Ticket id -> its matters still to serve."""
        self._ids: dict[str, str] = {}
        """Today's ticket number -> ticket id."""

    # -- what tickets are ---------------------------------------------------------------------------------------

    def learn(self, ticket_id: str, number: str, matters: tuple[str, ...]) -> None:
        """A ticket seen in the queue: its number and matters (also fills in the current ticket's)."""
        if len(self._ids) > _REMEMBERED:
            self._ids.clear()
            self._matters.clear()
        self._ids[number] = ticket_id
        self._matters[ticket_id] = matters
        current = self.current
        if current is not None and current.number == number and not current.matters:
            self.current = replace(current, ticket_id=ticket_id, matters=matters)

    def number_of(self, ticket_id: str) -> str:
        found = next((number for number, known in self._ids.items() if known == ticket_id), None)
        return found or ticket_id.rsplit("-", 1)[-1]

    # -- what the hub says --------------------------------------------------------------------------------------

    def on_snapshot(self, snapshot: wire.Snapshot) -> None:
        """Take the window's open, paused and current number from a snapshot at least as new as the events."""
        if snapshot.site_id != self.site_id or snapshot.seq < self.seq:
            return
        self._snapshot = snapshot
        self._take(snapshot)

    def on_events(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            self.on_event(event)

    def on_event(self, event: ev.Event) -> None:
        """An event of the site, applied once and in order (the events topic and the caller's own replies carry
        the same events). A snapshot newer than the event still has the last word on what it shows: the event only
        adds what a snapshot cannot say (called or serving)."""
        if event.site_id != self.site_id:
            return
        self._learn(event)
        if event.seq <= self.seq:
            return
        self.seq = event.seq
        self._apply(event)
        if self._snapshot is not None and self._snapshot.seq > event.seq:
            self._take(self._snapshot)

    def _take(self, snapshot: wire.Snapshot) -> None:
        window = next((w for w in snapshot.windows if w.window_id == self.window_id), None)
        if window is None:
            return
        self.is_open, self.paused, self.pause_reason = window.is_open, window.paused, window.pause_reason
        if window.current is None:
            self.current = None
        elif self.current is None or self.current.number != window.current:
            ticket_id = self._ids.get(window.current)
            matters = self._matters.get(ticket_id, ()) if ticket_id else ()
            self.current = Current(number=window.current, ticket_id=ticket_id, matters=matters, serving=window.serving)
        elif window.serving and not self.current.serving:
            self.current = replace(self.current, serving=True)

    def _learn(self, event: ev.Event) -> None:
        if isinstance(event, ev.TicketIssued):
            self._ids[event.number] = event.ticket_id
            self._matters[event.ticket_id] = event.matters
        elif isinstance(event, ev.TicketCalled):
            self._ids[event.number] = event.ticket_id
        elif isinstance(event, ev.TicketTransferred):
            before = self._matters.get(event.ticket_id, ())
            self._matters[event.ticket_id] = (event.to_matter, *before[1:])
        elif isinstance(event, ev.ServiceFinished) and event.next_matter is not None:
            before = self._matters.get(event.ticket_id, ())
            if event.next_matter in before:
                self._matters[event.ticket_id] = before[before.index(event.next_matter) :]
        elif isinstance(event, ev.DayOpened):
            self._ids.clear()
            self._matters.clear()

    def _apply(self, event: ev.Event) -> None:
        mine = getattr(event, "window_id", None) == self.window_id
        current = self.current
        if isinstance(event, ev.WindowOpened) and mine:
            self.is_open, self.paused, self.pause_reason = True, False, ""
        elif isinstance(event, ev.WindowClosed) and mine:
            self.is_open, self.current = False, None
        elif isinstance(event, ev.WindowPaused) and mine:
            self.paused, self.pause_reason = True, event.reason
        elif isinstance(event, ev.WindowResumed) and mine:
            self.paused, self.pause_reason = False, ""
        elif isinstance(event, ev.TicketCalled) and mine:
            matters = self._matters.get(event.ticket_id, ())
            self.current = Current(event.number, event.ticket_id, matters, serving=False, calls=event.call_count)
        elif isinstance(event, ev.ServiceStarted) and mine and current is not None:
            self.current = replace(current, serving=True, ticket_id=event.ticket_id)
        elif current is not None and _takes_away(event, self.window_id, current):
            self.current = None


def _takes_away(event: ev.Event, window_id: str, current: Current) -> bool:
    """The event ends the current ticket's time at the window (finished, missed, parked, transferred, cancelled,
    the day closed). A ticket known by number only is taken to be the one the window's own event names."""
    if isinstance(event, ev.ServiceFinished | ev.TicketMissed | ev.TicketParked):
        return event.window_id == window_id and current.ticket_id in (None, event.ticket_id)
    if isinstance(event, ev.TicketTransferred):
        return event.from_window == window_id and current.ticket_id in (None, event.ticket_id)
    if isinstance(event, ev.TicketCancelled):
        return current.ticket_id == event.ticket_id
    return isinstance(event, ev.DayClosed)

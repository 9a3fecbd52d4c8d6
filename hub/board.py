"""The per-site read model boards start from: open windows, who is called where, recent calls, waiting counts.

It is a projection of the event log (recent calls) plus the live state; it holds ticket numbers only, never a
name or an ID number, because it is published to every board of the site.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from contract import CallView, Snapshot, WindowView
from engine import events as ev
from engine.district import Site
from engine.state import SiteState, TicketStatus, waiting_index

RECENT_CALLS = 12


class SiteBoard:
    def __init__(self, site: Site, limits: dict[str, int] | None = None, recent: int = RECENT_CALLS) -> None:
        self.site = site
        self.limits = limits or {}
        """Daily limit per matter code, for the tickets still to be had."""
        self.calls: deque[CallView] = deque(maxlen=recent)

    def observe(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            if isinstance(event, ev.TicketCalled):
                window = self.site.window(event.window_id)
                self.calls.appendleft(
                    CallView(
                        seq=event.seq,
                        number=event.number,
                        window_id=event.window_id,
                        window_number=window.number if window else 0,
                        kind=event.kind,
                        at=event.at,
                    )
                )
            elif isinstance(event, ev.DayOpened):
                self.calls.clear()

    def snapshot(self, state: SiteState) -> Snapshot:
        windows = []
        for window in self.site.windows:
            live = state.window(window.id)
            ticket = state.tickets[live.current] if live.current else None
            windows.append(
                WindowView(
                    window_id=window.id,
                    number=window.number,
                    name_zh=window.name_zh,
                    name_en=window.name_en,
                    is_open=live.is_open,
                    paused=live.paused,
                    pause_reason=live.pause_reason,
                    current=ticket.number if ticket else None,
                    serving=ticket is not None and ticket.status == TicketStatus.SERVING,
                    zone=window.zone,
                )
            )
        waiting = dict.fromkeys(self.site.matters, 0)
        waiting.update(waiting_index(state).per_matter())
        return Snapshot(
            site_id=self.site.id,
            seq=state.seq,
            day=state.day,
            day_open=state.day_open,
            windows=tuple(windows),
            recent_calls=tuple(self.calls),
            waiting=waiting,
            remaining={code: limit - state.issued.get(code, 0) for code, limit in self.limits.items()},
            notice=self.site.notice,
        )

"""A board's picture of its site, kept in step with the hub: start from the retained snapshot, apply events in
sequence, and notice a gap (a dropped message, a broker restart) so the link can fetch a fresh snapshot.

Plain Python with no MQTT and no Kivy: a board's screen and its tests drive it directly.
"""

from __future__ import annotations

import enum

import contract as wire
from engine import events as ev


class Applied(enum.Enum):
    APPLIED = "applied"
    STALE = "stale"  # already seen (a duplicate after a resync)
    GAP = "gap"  # events are missing: resync from a snapshot


class SiteView:
    def __init__(self, site_id: str, recent: int = 12) -> None:
        self.site_id = site_id
        self.recent = recent
        self.seq = -1
        """-1 until the first snapshot: events before it cannot be placed."""
        self.snapshot: wire.Snapshot | None = None
        self.calls: list[wire.CallView] = []
        """Newest first."""
        self.current: dict[str, str | None] = {}
        """Window id -> the number called there."""
        self.gaps = 0

    @property
    def synced(self) -> bool:
        return self.snapshot is not None

    def apply_snapshot(self, snapshot: wire.Snapshot) -> bool:
        """Take a snapshot unless it is older than what the view already shows."""
        if snapshot.site_id != self.site_id or snapshot.seq < self.seq:
            return False
        self.snapshot = snapshot
        self.seq = snapshot.seq
        self.calls = list(snapshot.recent_calls)
        self.current = {window.window_id: window.current for window in snapshot.windows}
        return True

    def apply_event(self, event: ev.Event) -> Applied:
        if event.site_id != self.site_id or event.seq <= self.seq:
            return Applied.STALE
        if self.seq < 0 or event.seq != self.seq + 1:
            self.gaps += 1
            return Applied.GAP
        self.seq = event.seq
        if isinstance(event, ev.TicketCalled):
            number = self._window_number(event.window_id)
            call = wire.CallView(
                seq=event.seq,
                number=event.number,
                window_id=event.window_id,
                window_number=number,
                kind=event.kind,
                at=event.at,
            )
            self.calls = [call, *self.calls][: self.recent]
            self.current[event.window_id] = event.number
        elif isinstance(event, ev.TicketMissed | ev.ServiceFinished | ev.TicketParked):
            self.current[event.window_id] = None
        return Applied.APPLIED

    @property
    def latest_call(self) -> wire.CallView | None:
        return self.calls[0] if self.calls else None

    def _window_number(self, window_id: str) -> int:
        if self.snapshot is not None:
            for window in self.snapshot.windows:
                if window.window_id == window_id:
                    return window.number
        return 0

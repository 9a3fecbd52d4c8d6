"""What the hall display board (综合屏) shows, as plain data: no Kivy, no MQTT.

Built from the board's ``SiteView`` (snapshot + events, kept in step by ``DeviceLink``) and the site's retained
``SiteInfo`` (matter names). Ticket numbers only: a call carries a number and a window, never a name or an ID, and
every text here is made of numbers, window numbers, matter and site names and fixed wording.

The newest call is highlighted for ``highlight_seconds`` after the board received it (the board's own clock, so a hub
clock that is off does not matter). A call already made when the board started (in its first snapshot) is
highlighted only if the hub made it less than that long ago.

A board of a large centre may show one zone only (``Zone``): the calls at some windows and the waiting counts of
some matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import contract as wire
from devicekit.site_view import SiteView

WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
RECENT_CALLS = 8
"""Calls in the recent-calls grid, besides the newest."""


@dataclass(frozen=True)
class Zone:
    """The part of a site a board shows: calls at ``windows`` (ids like ``w05`` or numbers like ``5``) and waiting
    counts of ``matters`` (codes). Empty means all. Given only windows, the matters are those the site's info says
    these windows serve; given only matters, the windows are those serving them (all windows until the info
    arrived). Given only a ``name``, the windows are those the snapshot places in the zone of that name (all, while
    none is)."""

    name: str = ""
    windows: frozenset[str] = frozenset()
    matters: frozenset[str] = frozenset()

    @property
    def whole_site(self) -> bool:
        return not self.windows and not self.matters and not self.name

    def windows_in(self, snapshot: wire.Snapshot | None) -> frozenset[str]:
        """The configured windows, or those of the named zone."""
        if self.windows or not self.name or snapshot is None or self.matters:
            return self.windows
        return frozenset(window.window_id for window in snapshot.windows if window.zone == self.name)

    def covers_call(self, call: wire.CallView, info: wire.SiteInfo | None, snapshot: wire.Snapshot | None) -> bool:
        windows = self.windows_in(snapshot)
        if windows:
            return call.window_id in windows or str(call.window_number) in windows
        if self.matters and info is not None:
            return any(call.window_number in m.windows for m in info.matters if m.code in self.matters)
        return True

    def covers_matter(self, code: str, info: wire.SiteInfo | None, snapshot: wire.Snapshot | None) -> bool:
        if self.matters:
            return code in self.matters
        windows = self.windows_in(snapshot)
        if windows and info is not None and snapshot is not None:
            numbers = {w.number for w in snapshot.windows if w.window_id in windows or str(w.number) in windows}
            return any(m.code == code and numbers & set(m.windows) for m in info.matters)
        return not windows


@dataclass(frozen=True)
class CallLine:
    """One call as the board shows it."""

    number: str
    window_number: int

    @property
    def window_text(self) -> str:
        return f"{self.window_number}号窗口" if self.window_number else "请留意窗口"

    @property
    def announcement(self) -> str:
        if not self.window_number:
            return f"请 {self.number} 号到窗口办理"
        return f"请 {self.number} 号到 {self.window_number} 号窗口"


@dataclass(frozen=True)
class WaitingLine:
    code: str
    name: str
    count: int

    @property
    def count_text(self) -> str:
        return f"等候 {self.count} 人"


@dataclass(frozen=True)
class Board:
    """One frame of the board: everything it draws, as text."""

    site_name: str
    zone_name: str
    date_text: str
    clock_text: str
    latest: CallLine | None
    highlighted: bool
    recent: tuple[CallLine, ...]
    waiting: tuple[WaitingLine, ...]
    notice: str
    online: bool
    synced: bool

    @property
    def status_text(self) -> str:
        if not self.online:
            return "网络连接中断，叫号信息可能不是最新"
        if not self.synced:
            return "正在同步叫号信息…"
        return ""

    @property
    def idle_text(self) -> str:
        """In place of the newest call before the first call of the day."""
        return "暂无叫号"

    @property
    def waiting_total_text(self) -> str:
        return f"共 {sum(line.count for line in self.waiting)} 人等候"

    def texts(self) -> list[str]:
        """Every text the board draws (the privacy test reads them all)."""
        out = [
            self.site_name,
            self.zone_name,
            self.date_text,
            self.clock_text,
            self.notice,
            self.status_text,
            self.waiting_total_text,
        ]
        out.append(self.idle_text if self.latest is None else "")
        for call in (*((self.latest,) if self.latest else ()), *self.recent):
            out += [call.number, call.window_text, call.announcement]
        for line in self.waiting:
            out += [line.name, line.count_text]
        return [text for text in out if text]

    def key(self) -> tuple[object, ...]:
        """Changes when anything but the clock changes (the view rebuilds only then)."""
        fields = (
            self.site_name,
            self.zone_name,
            self.date_text,
            self.latest,
            self.highlighted,
            self.recent,
            self.waiting,
        )
        return (*fields, self.notice, self.online, self.synced)


class BoardModel:
    def __init__(
        self,
        site_id: str,
        *,
        highlight_seconds: float = 10.0,
        recent: int = RECENT_CALLS,
        zone: Zone | None = None,
        clock_seconds: bool = True,
    ) -> None:
        self.site_id = site_id
        self.clock_format = "%H:%M:%S" if clock_seconds else "%H:%M"
        """Without seconds the picture changes once a minute when nothing happens (less idle drawing)."""
        self.zone = zone or Zone()
        self.highlight = timedelta(seconds=highlight_seconds)
        self.recent = recent
        self.info: wire.SiteInfo | None = None
        self.hub_online = False
        self._baseline: int | None = None
        """The view's seq when the board first drew a synced view: calls up to it were made before it started."""
        self._seen: dict[int, datetime] = {}
        """seq of a call -> when the board first saw it (only the newest few are kept)."""

    def on_info(self, info: wire.SiteInfo) -> None:
        if info.site_id == self.site_id:
            self.info = info

    def zone_calls(self, view: SiteView) -> list[wire.CallView]:
        """The view's calls (newest first) at this board's windows."""
        if self.zone.whole_site:
            return list(view.calls)
        return [call for call in view.calls if self.zone.covers_call(call, self.info, view.snapshot)]

    def board(self, view: SiteView, now: datetime) -> Board:
        snapshot = view.snapshot
        calls = self.zone_calls(view)
        latest_view = calls[0] if calls else None
        if self._baseline is None and view.synced:
            self._baseline = view.seq
        highlighted = False
        if latest_view is not None:
            seen = self._seen.setdefault(latest_view.seq, now)
            if len(self._seen) > 64:
                self._seen = {seq: at for seq, at in self._seen.items() if seq >= latest_view.seq - 32}
            # a call already made when the board started counts from the hub's time; a later one from its arrival
            old = self._baseline is None or latest_view.seq <= self._baseline
            highlighted = now - (latest_view.at if old else seen) < self.highlight
        latest = _line(latest_view) if latest_view is not None else None
        recent: list[CallLine] = []
        shown = {latest.number} if latest else set()
        for call in calls[1:]:
            if call.number not in shown:  # a recalled number shows once, at its newest call
                shown.add(call.number)
                recent.append(_line(call))
        return Board(
            site_name=self.info.name_zh if self.info else "",
            zone_name=self.zone.name,
            date_text=f"{now:%Y年%m月%d日} {WEEKDAYS[now.weekday()]}",
            clock_text=now.strftime(self.clock_format),
            latest=latest,
            highlighted=highlighted,
            recent=tuple(recent[: self.recent]),
            waiting=self._waiting(snapshot),
            notice=snapshot.notice if snapshot else "",
            online=self.hub_online,
            synced=view.synced,
        )

    def _waiting(self, snapshot: wire.Snapshot | None) -> tuple[WaitingLine, ...]:
        """Matters with someone waiting, in the site's own order (that of its info), then any others by code."""
        if snapshot is None:
            return ()
        names = {matter.code: matter.name_zh for matter in self.info.matters} if self.info else {}
        order = {code: n for n, code in enumerate(names)}
        codes = sorted(
            (
                code
                for code, count in snapshot.waiting.items()
                if count > 0 and self.zone.covers_matter(code, self.info, snapshot)
            ),
            key=lambda code: (order.get(code, len(order)), code),
        )
        return tuple(WaitingLine(code, names.get(code, code), snapshot.waiting[code]) for code in codes)


def _line(call: wire.CallView) -> CallLine:
    return CallLine(number=call.number, window_number=call.window_number)

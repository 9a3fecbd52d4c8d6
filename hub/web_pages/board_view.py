"""What the web board of a site (``/board/<site>``, a smart TV in the hall) shows: the content of the Kivy board
(display/board_model.py) made from the site's ``wire.Snapshot``, the same data every board of the site gets.

Numbers only: a call is a ticket number and a window, a window shows the number it serves, a matter its waiting
count; the snapshot carries no name and no ID (hub/board.py), and nothing else goes in. A zone board (``?zone=``,
``Window.zone`` in the district) shows the calls at its windows, those windows, and the waiting counts of the
matters they serve. Pure: built on the event loop from a snapshot read on the writer thread.
"""

from __future__ import annotations

from typing import Any

import contract as wire
from engine.district import District, Site
from hub.web_pages.public_texts import PublicTexts

RECENT_CALLS = 8
"""Calls in the recent-calls grid, besides the newest (as on the Kivy board)."""


def zones(site: Site) -> set[str]:
    return {window.zone for window in site.windows if window.zone}


def board_view(district: District, site: Site, snapshot: wire.Snapshot, zone: str, lang: str) -> dict[str, Any]:
    """The board's view of the snapshot, for the whole site (``zone`` empty) or one of its zones."""
    texts = PublicTexts(lang)
    windows = {window.id for window in site.windows if not zone or window.zone == zone}
    calls = [call for call in snapshot.recent_calls if call.window_id in windows]
    recent, shown = [], {calls[0].number} if calls else set()
    for call in calls[1:]:
        if call.number not in shown:  # a recalled number shows once, at its newest call
            shown.add(call.number)
            recent.append({"number": call.number, "window": _window(texts, call.window_number)})
    served = {code for window in site.windows if window.id in windows for code in window.weights}
    waiting = [
        {"name": texts.pick(matter.name_zh, matter.name_en), "count": texts("{count} waiting", count=count)}
        for code in site.matters
        if code in served and (count := snapshot.waiting.get(code, 0)) > 0 and (matter := district.matter(code))
    ]
    return {
        "site": texts.pick(site.name_zh, site.name_en),
        "zone": zone,
        "timezone": site.timezone,
        "day_open": snapshot.day_open,
        "latest": _latest(texts, calls[0]) if calls else None,
        "recent": recent[:RECENT_CALLS],
        "windows": [_window_line(texts, window) for window in snapshot.windows if window.window_id in windows],
        "waiting": waiting,
        "waiting_total": texts(
            "{count} waiting in all",
            count=sum(snapshot.waiting.get(code, 0) for code in site.matters if code in served),
        ),
        "notice": snapshot.notice or texts("Please wait for your number to be called"),
    }


def _window(texts: PublicTexts, number: int) -> str:
    return texts("Window {number}", number=number) if number else texts("Watch the windows")


def _latest(texts: PublicTexts, call: wire.CallView) -> dict[str, Any]:
    announcement = (
        texts("Ticket {number}, please go to window {window}", number=call.number, window=call.window_number)
        if call.window_number
        else texts("Ticket {number}, please go to a window", number=call.number)
    )
    return {
        "seq": call.seq,
        "number": call.number,
        "window": _window(texts, call.window_number),
        "announcement": announcement,
        "at": call.at.isoformat(),
    }


def _window_line(texts: PublicTexts, window: wire.WindowView) -> dict[str, Any]:
    """A window and the number it serves (its state only when it has none: not open, paused, free)."""
    if not window.is_open:
        state = texts("Not open")
    elif window.paused:
        state = texts("Paused for now")
    else:
        state = texts("Free")
    return {
        "window": _window(texts, window.number),
        "current": window.current or "",
        "state": state,
        "open": window.is_open and not window.paused,
    }

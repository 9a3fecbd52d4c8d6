"""What a window's LED strip (条屏) shows, worked out from the site view: the number called to this window, that it
is paused or closed, or its name while nobody is called. Plain Python: the strip adapter shows the text, tests read
it. Only ticket numbers, never a name."""

from __future__ import annotations

import msgspec

from devicekit.site_view import SiteView


class StripTexts(msgspec.Struct, frozen=True, kw_only=True):
    """The texts, with ``{number}`` (the ticket) and ``{window}`` (the window's number) filled in."""

    called: str = "请{number}号到{window}号窗口"
    idle: str = "{window}号窗口 欢迎您"
    paused: str = "{window}号窗口 暂停服务"
    closed: str = "{window}号窗口 暂停服务"


class WindowScreen:
    def __init__(self, texts: StripTexts | None = None) -> None:
        self.texts = texts or StripTexts()

    def text(self, view: SiteView, window_id: str) -> str | None:
        """The strip's text now; None before the view has a snapshot with the window (the strip keeps what it
        shows)."""
        snapshot = view.snapshot
        window = next((w for w in snapshot.windows if w.window_id == window_id), None) if snapshot else None
        if window is None:
            return None
        number = view.current.get(window_id)
        if number:
            template = self.texts.called
        elif not window.is_open:
            template = self.texts.closed
        else:
            template = self.texts.paused if window.paused else self.texts.idle
        return template.format(number=number or "", window=window.number)

"""The kiosk's words in Chinese (first) and English (``assets/locale/<lang>/LC_MESSAGES/kiosk.po``; the catalog
machinery is devicekit.texts, shared with the caller), and how it says a wait."""

from __future__ import annotations

import contract as wire
from devicekit.texts import LANGUAGES, DeviceTexts

__all__ = ["LANGUAGES", "Texts", "spoken_wait_text", "wait_text"]


class Texts(DeviceTexts):
    """``texts("Take a ticket")`` in the current language; ``texts.language`` switches it."""

    domain = "kiosk"


def _wait(texts: Texts, wait: wire.WaitEstimate, spoken: bool) -> str:
    """What the wait is made of, in one phrase. Under half a minute: nobody to wait for, or a call within the
    minute (idle windows call the people ahead at once). Nobody ahead but some minutes: every window that could
    call it is busy, and the wait is the rest of the first service to end. Else the range, or the point."""
    if wait.minutes is None:
        return texts("no window open now")
    if wait.minutes < 0.5:
        return texts("no wait") if wait.people_ahead == 0 else texts("under a minute")
    if wait.low is not None and wait.high is not None and round(wait.high) > round(wait.low):
        message = "about {low} to {high} minutes" if spoken else "about {low}–{high} min"
        figure = texts(message, low=max(round(wait.low), 1), high=round(wait.high))
    else:
        figure = texts(
            "about {minutes} minutes" if spoken else "about {minutes} min", minutes=max(round(wait.minutes), 1)
        )
    return texts("windows busy, {wait}", wait=figure) if wait.people_ahead == 0 else figure


def wait_text(texts: Texts, wait: wire.WaitEstimate) -> str:
    """The wait as the kiosk's screen says it: "约 9–21 分钟", "窗口忙，约 3 分钟", "不到 1 分钟", "无需等候" or
    "暂无窗口办理". ``people_ahead`` tells the cases apart (a matter tile passes the matter's waiting count)."""
    return _wait(texts, wait, spoken=False)


def spoken_wait_text(texts: Texts, wait: wire.WaitEstimate) -> str:
    """The wait as it is read aloud: words instead of the dash ("大约 9 到 21 分钟")."""
    return _wait(texts, wait, spoken=True)

"""The kiosk's words in Chinese (first) and English (``assets/locale/<lang>/LC_MESSAGES/kiosk.po``; the catalog
machinery is devicekit.texts, shared with the caller), and how it says a wait."""

from __future__ import annotations

import contract as wire
from devicekit.texts import LANGUAGES, DeviceTexts

__all__ = ["LANGUAGES", "Texts", "spoken_wait_text", "wait_text"]


class Texts(DeviceTexts):
    """``texts("Take a ticket")`` in the current language; ``texts.language`` switches it."""

    domain = "kiosk"


def wait_text(texts: Texts, wait: wire.WaitEstimate) -> str:
    """The wait as the kiosk's screen says it: "约 9–21 分钟", "约 12 分钟" or "暂无窗口办理"."""
    if wait.minutes is None:
        return texts("no window open now")
    if wait.low is not None and wait.high is not None and round(wait.high) > round(wait.low):
        return texts("about {low}–{high} min", low=round(wait.low), high=round(wait.high))
    return texts("about {minutes} min", minutes=round(wait.minutes))


def spoken_wait_text(texts: Texts, wait: wire.WaitEstimate) -> str:
    """The wait as it is read aloud: words instead of the dash ("大约 9 到 21 分钟")."""
    if wait.minutes is None:
        return texts("no window open now")
    if wait.low is not None and wait.high is not None and round(wait.high) > round(wait.low):
        return texts("about {low} to {high} minutes", low=round(wait.low), high=round(wait.high))
    return texts("about {minutes} minutes", minutes=round(wait.minutes))

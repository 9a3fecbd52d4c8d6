"""The kiosk's words in Chinese (first) and English (``assets/locale/<lang>/LC_MESSAGES/kiosk.po``; the catalog
machinery is devicekit.texts, shared with the caller), and how it says a wait."""

from __future__ import annotations

import contract as wire
from devicekit.texts import LANGUAGES, DeviceTexts
from devicekit.wait_words import wait_words

__all__ = ["LANGUAGES", "Texts", "spoken_wait_text", "wait_text"]


class Texts(DeviceTexts):
    """``texts("Take a ticket")`` in the current language; ``texts.language`` switches it."""

    domain = "kiosk"


def wait_text(texts: Texts, wait: wire.WaitEstimate) -> str:
    """The wait as the kiosk's screen says it: "约 9–21 分钟", "窗口忙，约 3 分钟", "不到 1 分钟", "无需等候" or
    "暂无窗口办理". ``people_ahead`` tells the cases apart (a matter tile passes the matter's waiting count)."""
    return wait_words(texts, wait)


def spoken_wait_text(texts: Texts, wait: wire.WaitEstimate) -> str:
    """The wait as it is read aloud: words instead of the dash ("大约 9 到 21 分钟")."""
    return wait_words(texts, wait, spoken=True)

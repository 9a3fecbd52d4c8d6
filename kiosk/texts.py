"""The kiosk's words in Chinese (first) and English, through gettext catalogs compiled at start by Babel.

Catalogs: ``assets/locale/<lang>/LC_MESSAGES/kiosk.po`` (message ids are English; ``zh_CN`` translates them).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import contract as wire

LOCALE_DIR = Path(__file__).resolve().parents[1] / "assets" / "locale"
LANGUAGES = ("zh_CN", "en")


@cache
def catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English falls back to the message ids)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "kiosk.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        messages = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Texts:
    """``texts("Take a ticket")`` in the current language; ``texts.language`` switches it."""

    def __init__(self, language: str = "zh_CN") -> None:
        self.language = language

    def __call__(self, message: str, **params: object) -> str:
        return catalog(self.language).gettext(message).format(**params)

    def pick(self, zh: str, en: str) -> str:
        """Data that carries both languages itself (matter and site names)."""
        return zh if self.language.startswith("zh") else en


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

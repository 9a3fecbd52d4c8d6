"""A device app's words in Chinese (first) and English, through a gettext catalog compiled at start by Babel.

Catalogs: ``assets/locale/<lang>/LC_MESSAGES/<domain>.po`` (message ids are English; ``zh_CN`` translates them):
``kiosk.po`` for the kiosk, ``caller.po`` for the counter caller.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path
from typing import ClassVar

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "assets" / "locale"
LANGUAGES = ("zh_CN", "en")


@cache
def catalog(domain: str, language: str) -> gettext.NullTranslations:
    """The compiled catalog of a domain in a language (English falls back to the message ids)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        messages = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class DeviceTexts:
    """``texts("Take a ticket")`` in the current language; ``texts.language`` switches it. A subclass names its
    catalog's ``domain``."""

    domain: ClassVar[str]

    def __init__(self, language: str = "zh_CN") -> None:
        self.language = language

    @property
    def chinese(self) -> bool:
        return self.language.startswith("zh")

    def __call__(self, message: str, **params: object) -> str:
        return catalog(self.domain, self.language).gettext(message).format(**params)

    def pick(self, zh: str, en: str) -> str:
        """Data that carries both languages itself (matter, site and window names, the hub's refusals)."""
        return zh if self.chinese else en

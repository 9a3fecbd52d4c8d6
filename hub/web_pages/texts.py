"""The pages' language: Chinese first, English available. ``?lang=en`` (or ``?lang=zh``) chooses it and is kept in a
cookie; without either, a browser whose first Accept-Language is English gets English, everyone else Chinese.

Words come from the gettext catalogs ``assets/locale/zh_CN/LC_MESSAGES/web.po`` and ``web-<area>.po`` (one per area
of the pages: ``web-live.po``, ``web-config.po``, ...; message ids are English), compiled at start by Babel as the
devices' catalogs are (``devicekit.texts``)."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache

from aiohttp import web

from devicekit.texts import LOCALE_DIR, catalog

DOMAIN = "web"
CHINESE, ENGLISH = "zh_CN", "en"
COOKIE = "hall_lang"
_CHOICES = {"zh": CHINESE, "zh_cn": CHINESE, "zh-cn": CHINESE, "en": ENGLISH}


def chosen(request: web.Request) -> str | None:
    """The language the query asks for (``?lang=en``), or None."""
    return _CHOICES.get(request.query.get("lang", "").lower())


def language(request: web.Request) -> str:
    asked = chosen(request) or _CHOICES.get(request.cookies.get(COOKIE, "").lower())
    if asked is not None:
        return asked
    first = request.headers.get("Accept-Language", "").split(",")[0].strip().lower()
    return ENGLISH if first.startswith("en") else CHINESE


def domains() -> list[str]:
    """``web`` and every ``web-<area>`` catalog there is."""
    areas = sorted(po.stem for po in (LOCALE_DIR / CHINESE / "LC_MESSAGES").glob(f"{DOMAIN}-*.po"))
    return [DOMAIN, *areas]


@cache
def _chained(lang: str) -> gettext.NullTranslations:
    first, *rest = domains()
    chained = gettext.NullTranslations()
    chained.add_fallback(catalog(first, lang))
    for domain in rest:
        chained.add_fallback(catalog(domain, lang))
    return chained


def translator(lang: str) -> Callable[[str], str]:
    return _chained(lang).gettext


def remember(response: web.StreamResponse, lang: str) -> None:
    response.set_cookie(COOKIE, "en" if lang == ENGLISH else "zh", max_age=365 * 86400, samesite="Strict", path="/")

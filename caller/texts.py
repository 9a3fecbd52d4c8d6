"""The caller's words in Chinese (first) and English (``assets/locale/zh_CN/LC_MESSAGES/caller.po``; the catalog
machinery is devicekit.texts, shared with the kiosk)."""

from __future__ import annotations

from devicekit.texts import LANGUAGES, DeviceTexts

__all__ = ["LANGUAGES", "Texts"]


class Texts(DeviceTexts):
    """``texts("Call next")`` in the current language; ``texts.language`` switches it."""

    domain = "caller"

    def join(self, items: list[str] | tuple[str, ...]) -> str:
        return ("、" if self.chinese else ", ").join(items)

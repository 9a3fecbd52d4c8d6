"""The public pages' words as their views say them (catalog ``web-public.po``), and how they say a wait.

The views build their texts on the hub, in the page's language, so the pages' scripts only put them in place. The
wait and the materials are said in the kiosk's words (the same message ids, the same cases): a citizen reads on
the phone what the kiosk showed and printed.
"""

from __future__ import annotations

import contract as wire
from devicekit.materials import material_line
from devicekit.texts import DeviceTexts
from engine.district import Matter
from engine.estimate import WaitEstimate

__all__ = ["PublicTexts", "material_lines", "wait_words"]


class PublicTexts(DeviceTexts):
    """``texts("Done")`` in ``zh_CN`` or ``en`` (the ids are English)."""

    domain = "web-public"


def wait_words(texts: PublicTexts, wait: WaitEstimate) -> str:
    """The wait as the kiosk's screen says it (kiosk/texts.py ``wait_text``): "约 9–21 分钟", "窗口忙，约 3 分钟",
    "不到 1 分钟", "无需等候" or "暂无窗口办理"."""
    if wait.minutes is None:
        return texts("no window open now")
    if wait.minutes < 0.5:
        return texts("no wait") if wait.people_ahead == 0 else texts("under a minute")
    if wait.low is not None and wait.high is not None and round(wait.high) > round(wait.low):
        figure = texts("about {low}–{high} min", low=max(round(wait.low), 1), high=round(wait.high))
    else:
        figure = texts("about {minutes} min", minutes=max(round(wait.minutes), 1))
    return texts("windows busy, {wait}", wait=figure) if wait.people_ahead == 0 else figure


def material_lines(texts: PublicTexts, matter: Matter) -> list[str]:
    """What to bring for a matter, a line per material ("身份证：原件 1 份，复印件 1 份")."""
    return [
        material_line(
            texts, wire.MaterialInfo(name_zh=m.name_zh, name_en=m.name_en, originals=m.originals, copies=m.copies)
        )
        for m in matter.materials
    ]

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

__all__ = ["PublicTexts", "material_lines"]


class PublicTexts(DeviceTexts):
    """``texts("Done")`` in ``zh_CN`` or ``en`` (the ids are English)."""

    domain = "web-public"


def material_lines(texts: PublicTexts, matter: Matter) -> list[str]:
    """What to bring for a matter, a line per material ("身份证：原件 1 份，复印件 1 份")."""
    return [
        material_line(
            texts, wire.MaterialInfo(name_zh=m.name_zh, name_en=m.name_en, originals=m.originals, copies=m.copies)
        )
        for m in matter.materials
    ]

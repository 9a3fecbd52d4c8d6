"""How a device says a matter's material: "身份证：原件 1 份，复印件 1 份" / "ID card: 1 original(s), 1 cop(ies)".

Shared by the kiosk (what to bring) and the caller (what to check at the window). The message ids below are in
each speaking device's catalog."""

from __future__ import annotations

import contract as wire
from devicekit.texts import DeviceTexts


def material_line(texts: DeviceTexts, material: wire.MaterialInfo) -> str:
    """The material's name with the counts it asks for; a count of zero is left out (no "复印件 0 份")."""
    name = texts.pick(material.name_zh, material.name_en)
    counts = [
        texts(message, count=count)
        for message, count in (("{count} original(s)", material.originals), ("{count} cop(ies)", material.copies))
        if count > 0
    ]
    return texts("{name}: {counts}", name=name, counts=texts(", ").join(counts)) if counts else name

"""What every device's screen is drawn with, as data (no Kivy): the Chinese font and colours as RGB."""

from __future__ import annotations

RGB = tuple[int, int, int]

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
"""Debian's fonts-wqy-microhei (Simplified Chinese first face; fonts-noto-cjk's first face is Japanese)."""


def hex_rgb(code: str) -> RGB:
    code = code.lstrip("#")
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)

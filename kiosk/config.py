"""A kiosk's configuration: a small TOML file (optional) with environment overrides ``KIOSK_<KEY>``.

    host = "127.0.0.1"          # the hub's MQTT broker
    port = 1884
    site = "centre"
    device_id = "kiosk-centre-1"
    password = "..."            # from `hall-hub device add --site centre --kind kiosk`
    fullscreen = true
    width = 1920                # the window (or screen) size; taller than wide means portrait
    height = 1080
    rotation = 0                # 90 or 270 for a screen mounted on its side
    language = "zh_CN"          # or "en"
    font = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

For example ``KIOSK_DEVICE_ID=kiosk-centre-2 KIOSK_FULLSCREEN=false``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from devicekit.settings import ConfigError, DeviceSettings, load_settings
from kiosk.texts import LANGUAGES
from kiosk.theme import CJK_FONT

__all__ = ["ConfigError", "KioskConfig", "load_config"]


class KioskConfig(DeviceSettings, kw_only=True, forbid_unknown_fields=True):
    device_id: str = "kiosk-centre-1"
    language: str = "zh_CN"
    font: str = CJK_FONT
    """A font with Simplified Chinese glyphs; Kivy's own (Roboto) draws boxes."""


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> KioskConfig:
    """Defaults, then the TOML file, then ``KIOSK_<KEY>`` variables; errors name the file and the key."""
    config = load_settings(KioskConfig, "KIOSK", path, environ)
    if config.language not in LANGUAGES:
        raise ConfigError(f"{path or 'environment'}: language {config.language!r} is not one of {LANGUAGES}")
    return config

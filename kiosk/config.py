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
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from kiosk.texts import LANGUAGES
from kiosk.theme import CJK_FONT

Positive = Annotated[int, msgspec.Meta(gt=0)]


class KioskConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(gt=0, lt=65536)] = 1884
    site: str = "centre"
    device_id: str = "kiosk-centre-1"
    password: str = ""
    fullscreen: bool = True
    width: Positive = 1920
    height: Positive = 1080
    rotation: Literal[0, 90, 180, 270] = 0
    """Turns the picture for a screen mounted on its side; portrait or landscape then follows from the size."""
    language: str = "zh_CN"
    font: str = CJK_FONT
    """A font with Simplified Chinese glyphs; Kivy's own (Roboto) draws boxes."""

    @property
    def portrait(self) -> bool:
        return self.height > self.width


class ConfigError(ValueError):
    pass


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> KioskConfig:
    """Defaults, then the TOML file, then ``KIOSK_<KEY>`` variables; errors name the file and the key."""
    data: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as file:
            data = tomllib.load(file)
    keys = {field.name for field in msgspec.structs.fields(KioskConfig)}
    for name, value in environ.items():
        key = name.removeprefix("KIOSK_").lower()
        if name.startswith("KIOSK_") and key in keys:
            data[key] = value
    try:
        config = msgspec.convert(data, KioskConfig, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(f"{path or 'environment'}: {error}") from None
    if config.language not in LANGUAGES:
        raise ConfigError(f"{path or 'environment'}: language {config.language!r} is not one of {LANGUAGES}")
    return config

"""A board's configuration: a small TOML file (optional) with environment overrides ``BOARD_<KEY>``, read the way
kiosk/config.py reads a kiosk's.

    host = "127.0.0.1"
    port = 1884
    site = "centre"
    device_id = "board-centre-1"
    password = "..."            # from `hall-hub device add --site centre --kind board`
    width = 1920                # taller than wide means the portrait layout
    height = 1080
    highlight_seconds = 10      # how long the newest call stays highlighted

For example ``BOARD_DEVICE_ID=board-centre-2 BOARD_FULLSCREEN=false``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from kiosk.config import ConfigError, Positive
from kiosk.theme import CJK_FONT

__all__ = ["BoardConfig", "ConfigError", "load_config"]


class BoardConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(gt=0, lt=65536)] = 1884
    site: str = "centre"
    device_id: str = "board-centre-1"
    password: str = ""
    fullscreen: bool = True
    width: Positive = 1920
    height: Positive = 1080
    rotation: Literal[0, 90, 180, 270] = 0
    font: str = CJK_FONT
    highlight_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    recent: Positive = 8
    """Calls in the recent-calls grid besides the newest."""

    @property
    def portrait(self) -> bool:
        return self.height > self.width


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> BoardConfig:
    """Defaults, then the TOML file, then ``BOARD_<KEY>`` variables; errors name the file and the key."""
    data: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as file:
            data = tomllib.load(file)
    keys = {field.name for field in msgspec.structs.fields(BoardConfig)}
    data |= {
        key: value
        for name, value in environ.items()
        if name.startswith("BOARD_") and (key := name.removeprefix("BOARD_").lower()) in keys
    }
    try:
        return msgspec.convert(data, BoardConfig, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(f"{path or 'environment'}: {error}") from None

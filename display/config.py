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
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec

from devicekit.settings import ConfigError, DeviceSettings, Positive, load_settings
from kiosk.theme import CJK_FONT

__all__ = ["BoardConfig", "ConfigError", "load_config"]


class BoardConfig(DeviceSettings, kw_only=True, forbid_unknown_fields=True):
    device_id: str = "board-centre-1"
    font: str = CJK_FONT
    highlight_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    recent: Positive = 8
    """Calls in the recent-calls grid besides the newest."""


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> BoardConfig:
    """Defaults, then the TOML file, then ``BOARD_<KEY>`` variables; errors name the file and the key."""
    return load_settings(BoardConfig, "BOARD", path, environ)

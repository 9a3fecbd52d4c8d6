"""A counter caller's configuration: a small TOML file (optional) with environment overrides ``CALLER_<KEY>``, read
the way kiosk/config.py reads a kiosk's.

    host = "127.0.0.1"          # the hub's MQTT broker
    port = 1884
    hub_url = ""                # the hub's HTTP address, for the documents a ticket's citizen handed in
                                # ("": http://<host>:8080)
    site = "centre"
    device_id = "caller-centre-1"
    password = "..."            # from `hall-hub device add --site centre --kind caller --window w01`
    window = "w01"              # the window this caller signs in to (the device's own window)
    fullscreen = false          # the caller sits beside the clerk's main application
    width = 1280                # the normal layout's window size
    height = 800
    compact = false             # start in the compact layout (a narrow always-small window)
    compact_width = 360
    compact_height = 640
    language = "zh_CN"          # or "en"
    target_wait_minutes = 15    # a waiting ticket older than this raises the alert (default: the site's own target)
    queue_refresh_seconds = 10  # the queue is also refreshed on every event of the site
    font = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

For example ``CALLER_DEVICE_ID=caller-centre-2 CALLER_WINDOW=w02 CALLER_COMPACT=true``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec

from caller.texts import LANGUAGES
from devicekit.look import CJK_FONT
from devicekit.settings import ConfigError, DeviceSettings, Positive, load_settings

__all__ = ["DEFAULT_TARGET_WAIT_MINUTES", "CallerConfig", "ConfigError", "load_config"]

DEFAULT_HTTP_PORT = 8080
"""The hub's HTTP port unless its ``[http] port`` says otherwise (then set ``hub_url``)."""
DEFAULT_TARGET_WAIT_MINUTES = 15.0
"""No national waiting-time limit exists; districts set their own (the sample district's sites say 15 minutes)."""


class CallerConfig(DeviceSettings, kw_only=True, forbid_unknown_fields=True):
    device_id: str = "caller-centre-1"
    window: str = "w01"
    fullscreen: bool = False
    width: Positive = 1280
    height: Positive = 800
    compact: bool = False
    compact_width: Positive = 360
    compact_height: Positive = 640
    language: str = "zh_CN"
    target_wait_minutes: Annotated[float, msgspec.Meta(gt=0)] | None = None
    """None: the site's target from the hub's site info (until it arrives, 15 minutes)."""
    queue_refresh_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    font: str = CJK_FONT
    """A font with Simplified Chinese glyphs; Kivy's own (Roboto) draws boxes."""
    hub_url: str = ""
    """The hub's HTTP address as the caller reaches it (the documents handed in with a ticket); empty: the broker's
    host on the hub's default HTTP port, 8080."""

    @property
    def http_url(self) -> str:
        return (self.hub_url or f"http://{self.host}:{DEFAULT_HTTP_PORT}").rstrip("/")

    @property
    def window_size(self) -> tuple[int, int]:
        """The size the window opens at: the compact one when the caller starts compact."""
        return (self.compact_width, self.compact_height) if self.compact else (self.width, self.height)


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> CallerConfig:
    """Defaults, then the TOML file, then ``CALLER_<KEY>`` variables; errors name the file and the key."""
    config = load_settings(CallerConfig, "CALLER", path, environ)
    if config.language not in LANGUAGES:
        raise ConfigError(f"{path or 'environment'}: language {config.language!r} is not one of {LANGUAGES}")
    if not config.window:
        raise ConfigError(f"{path or 'environment'}: window is empty; give the window this caller serves (w01)")
    return config

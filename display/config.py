"""A board's configuration: a small TOML file (optional) with environment overrides ``BOARD_<KEY>``, read the way
kiosk/config.py reads a kiosk's. Every key, with its default, is in docs/board.md.

    host = "127.0.0.1"
    port = 1884
    site = "centre"
    device_id = "board-centre-1"
    password = "..."            # from `hall-hub device add --site centre --kind board`
    width = 1920                # taller than wide means the portrait layout
    height = 1080
    highlight_seconds = 10      # how long the newest call stays highlighted

    zone_name = "社保医保区"     # a board of one zone of a large centre
    zone_windows = ["w07", "w08"]
    zone_matters = ["B01", "B02", "B03"]

    voice = true
    voice_languages = ["zh", "en"]
    voice_repeat = 2
    voice_volume = 0.9
    voice_chime = true
    voice_quiet_hours = "22:00-07:00"
    voice_quiet_mode = "chime"  # or "silent"

    [voice_templates]
    zh = "请{number}号到{window}号窗口办理"
    "zh:recall" = "再次呼叫，请{number}号到{window}号窗口办理"

The hub may set the voice keys for every board of a site (the site's voice policy, docs/voice.md): they arrive in
the board's retained ``DeviceConfig.settings``, spelt as in the environment, and ``with_hub_settings`` lays them
over the file's; the file's values stay the default for a site without a policy.

In the environment a list is written with commas (``BOARD_VOICE_LANGUAGES=zh,en``; ``zh+en`` works too) and a table
as JSON (``BOARD_VOICE_TEMPLATES='{"zh": "..."}'``), e.g. ``BOARD_DEVICE_ID=board-centre-2 BOARD_FULLSCREEN=false``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from devicekit.look import CJK_FONT
from devicekit.settings import ConfigError, DeviceSettings, Positive
from devicekit.voice import DEFAULT_TEMPLATES, VoiceConfig
from display.board_model import Zone
from engine.district import parse_quiet_hours

__all__ = ["HUB_VOICE_KEYS", "BoardConfig", "ConfigError", "load_config"]

PREFIX = "BOARD"
Volume = Annotated[float, msgspec.Meta(ge=0, le=1)]
HUB_VOICE_KEYS = (
    "voice",
    "voice_languages",
    "voice_repeat",
    "voice_volume",
    "voice_chime",
    "voice_quiet_hours",
    "voice_quiet_mode",
    "voice_quiet_volume",
)
"""The settings a site's voice policy sets over a board's file (hub/device_settings.py sends them)."""


def default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "hall-board" / "voice")


class BoardConfig(DeviceSettings, kw_only=True, forbid_unknown_fields=True):
    device_id: str = "board-centre-1"
    font: str = CJK_FONT
    highlight_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    recent: Positive = 8
    """Calls in the recent-calls grid besides the newest."""
    clock_seconds: bool = False
    """The clock with seconds; false: HH:MM, so an idle board redraws once a minute, not every second."""
    max_fps: Annotated[int, msgspec.Meta(ge=1, le=60)] = 30
    """Kivy frames a second at most (an animation's pace; a call is drawn at once whatever it is)."""

    zone_name: str = ""
    """Shown in the header next to the site's name (a zone board)."""
    zone_windows: tuple[str, ...] = ()
    """Window ids or numbers whose calls this board shows and announces; empty: every window."""
    zone_matters: tuple[str, ...] = ()
    """Matter codes whose waiting counts this board shows; empty: those its windows serve (all without a zone)."""

    voice: bool = True
    """Announce calls (a board without speakers: false)."""
    voice_languages: tuple[str, ...] = ("zh", "en")
    voice_templates: dict[str, str] = msgspec.field(default_factory=dict)
    """Per language, optionally per call kind (``"zh:recall"``), over the defaults."""
    voice_pinyin: dict[str, str] = msgspec.field(default_factory=dict)
    """Pinyin of characters a site's Mandarin template adds (``{"税": "shui4"}``)."""
    voice_rate: Annotated[int, msgspec.Meta(ge=80, le=300)] = 150
    """Words a minute, both languages."""
    voice_repeat: Annotated[int, msgspec.Meta(ge=1, le=5)] = 2
    voice_volume: Volume = 1.0
    voice_chime: bool = True
    voice_quiet_hours: str = ""
    """``HH:MM-HH:MM`` local time, may wrap midnight; empty: none."""
    voice_quiet_mode: Literal["chime", "silent"] = "chime"
    voice_quiet_volume: Volume = 0.3
    voice_cache: str = msgspec.field(default_factory=default_cache)
    voice_cache_files: Positive = 400
    voice_missed_calls: Annotated[int, msgspec.Meta(ge=0, le=12)] = 3
    """After a resync, the newest calls (at most this many) the board had missed are announced late."""

    def zone(self) -> Zone:
        return Zone(name=self.zone_name, windows=frozenset(self.zone_windows), matters=frozenset(self.zone_matters))

    def with_hub_settings(self, settings: Mapping[str, str]) -> tuple[BoardConfig, list[str]]:
        """These settings with the hub's voice keys over them, and what of the hub's was left out: each value that
        cannot be read, or that the voice cannot use (e.g. a language without a template), as ``key=value: why``.
        Other keys are not the hub's to set and are ignored."""
        types = {field.name: field.type for field in msgspec.structs.fields(BoardConfig)}
        config, ignored = self, []
        for key in HUB_VOICE_KEYS:
            if key not in settings:
                continue
            try:
                value = msgspec.convert(_from_environment(key, settings[key]), types[key], strict=False)
                changed = msgspec.structs.replace(config, **{key: value})
                changed.voice_config()
            except (msgspec.ValidationError, ValueError, ConfigError) as error:
                ignored.append(f"{key}={settings[key]!r}: {error}")
            else:
                config = changed
        return config, ignored

    def voice_config(self) -> VoiceConfig:
        """The announcer's settings; ValueError names what is wrong."""
        rates = dict.fromkeys(("zh", "en"), self.voice_rate)
        return VoiceConfig(
            enabled=self.voice,
            templates={**DEFAULT_TEMPLATES, **self.voice_templates},
            languages=self.voice_languages,
            rates=rates,
            volume=self.voice_volume,
            repeat=self.voice_repeat,
            chime=self.voice_chime,
            quiet_hours=parse_hours(self.voice_quiet_hours),
            quiet_mode=self.voice_quiet_mode,
            quiet_volume=self.voice_quiet_volume,
            pinyin=self.voice_pinyin,
        )


def parse_hours(text: str) -> tuple[time, time] | None:
    """``"22:00-07:00"`` -> (22:00, 07:00); empty -> None; ValueError names the key."""
    try:
        return parse_quiet_hours(text)
    except ValueError as error:
        raise ValueError(f"voice_quiet_hours {error}") from None


_LISTS = {"zone_windows", "zone_matters", "voice_languages"}
_TABLES = {"voice_templates", "voice_pinyin"}


def _from_environment(key: str, value: str) -> Any:
    if key in _LISTS:
        return [part for part in re.split(r"[,+\s]+", value) if part]
    if key in _TABLES:
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError:
            raise ConfigError(f"environment: {PREFIX}_{key.upper()} is not a JSON object") from None
    return value


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> BoardConfig:
    """Defaults, then the TOML file, then ``BOARD_<KEY>`` variables; errors name the file and the key."""
    data: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as file:
            try:
                data = tomllib.load(file)
            except tomllib.TOMLDecodeError as error:
                raise ConfigError(f"{path}: {error}") from None
    keys = {field.name for field in msgspec.structs.fields(BoardConfig)}
    for name, value in environ.items():
        key = name.removeprefix(f"{PREFIX}_").lower()
        if name.startswith(f"{PREFIX}_") and key in keys:
            data[key] = _from_environment(key, value)
    where = str(path or "environment")
    try:
        config = msgspec.convert(data, BoardConfig, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(f"{where}: {error}") from None
    try:
        config.voice_config()
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None
    return config

"""The settings the hub sends a device in its retained ``DeviceConfig.settings``: strings by key, over the device's
own settings file.

Today only boards get any: their site's voice policy (``Site.voice``, set on the voice page), under the names of the
board's own settings (display/config.py: ``voice``, ``voice_languages``, ``voice_repeat``, ...), so that a board
reads them as it reads its file. A site without a policy sends none: each board keeps its file's settings.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

import contract as wire
from engine.district import District, Site, VoicePolicy

__all__ = ["VOICE_KEYS", "configured", "settings_for", "voice_settings"]

VOICE_KEYS = (
    "voice",
    "voice_languages",
    "voice_repeat",
    "voice_volume",
    "voice_chime",
    "voice_quiet_hours",
    "voice_quiet_mode",
    "voice_quiet_volume",
)
"""The board settings a site's voice policy sets (all of them, whenever the site has a policy)."""


def _flag(value: bool) -> str:
    return "true" if value else "false"


def voice_settings(voice: VoicePolicy) -> dict[str, str]:
    """A voice policy as a board's settings, each value as the board's file would spell it."""
    return {
        "voice": _flag(voice.enabled),
        "voice_languages": ",".join(voice.languages),
        "voice_repeat": str(voice.repeat),
        "voice_volume": repr(voice.volume),
        "voice_chime": _flag(voice.chime),
        "voice_quiet_hours": voice.quiet_hours,
        "voice_quiet_mode": voice.quiet_mode,
        "voice_quiet_volume": repr(voice.quiet_volume),
    }


def settings_for(site: Site, kind: wire.DeviceKind) -> dict[str, str]:
    """What a device of ``kind`` at ``site`` gets in its ``DeviceConfig.settings`` (empty: its own file's)."""
    if kind is wire.DeviceKind.BOARD and site.voice is not None:
        return voice_settings(site.voice)
    return {}


def configured(configs: Iterable[wire.DeviceConfig], district: District) -> list[wire.DeviceConfig]:
    """Each device's config with the settings its site gives it now (a device of a site the district does not
    have gets none)."""
    found = []
    for config in configs:
        site = district.site(config.site_id)
        settings = {} if site is None else settings_for(site, config.kind)
        found.append(config if config.settings == settings else msgspec.structs.replace(config, settings=settings))
    return found

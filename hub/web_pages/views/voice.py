"""A site's voice settings and quiet hours (``/admin/sites/{site}/voice``): how its hall boards announce calls.

Saved as the site's ``voice`` policy (engine/district.py ``VoicePolicy``) like every configuration form
(views/configure.py, decision 0018): a new version, in force at once, and on its way to the site's boards in their
retained device settings (hub/device_settings.py). "Use the boards' own settings" clears the policy: each board then
follows its own settings file again. Volumes are typed as percentages; the quiet hours as two times of day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Any

import msgspec
from aiohttp import web

from engine.district import VOICE_LANGUAGES, District, Site, VoicePolicy, parse_quiet_hours
from engine.district_check import VOICE_REPEAT_MAX
from hub.accounts import Role
from hub.web_pages import config_forms as forms
from hub.web_pages.access import allow
from hub.web_pages.render import add_page, site_of
from hub.web_pages.views.configure import Drawn, form_fields, form_page, save_site, site_head

routes = web.RouteTableDef()

CLEAR = "use_boards"
"""The button that clears the policy (the boards' own settings files again)."""
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::[0-9]{2})?")
"""A time input sends ``HH:MM`` (``HH:MM:SS`` with a step); typed by hand, ``7:30`` works too."""
_KEYS = ("enabled", "languages", "repeat", "volume", "chime", "quiet_hours", "quiet_mode", "quiet_volume")
_WHERE = {"quiet_hours": "quiet_from"}
"""The form field a policy key's problems stand beside, where it is not the key itself."""


def _percent(share: float) -> str:
    return f"{share * 100:g}"


def voice_values(site: Site) -> dict[str, str]:
    """The form's fields: ``enabled``, ``lang.zh``, ``lang.en``, ``chime`` (checkboxes), ``repeat``, ``volume`` and
    ``quiet_volume`` (percent), ``quiet_from``, ``quiet_to`` (HH:MM, both empty: no quiet hours), ``quiet_mode``.
    A site without a policy shows the defaults a saved policy starts from."""
    voice = site.voice or VoicePolicy()
    span = _span(voice.quiet_hours)
    values = {
        "enabled": "on" if voice.enabled else "", "chime": "on" if voice.chime else "",
        "repeat": str(voice.repeat), "volume": _percent(voice.volume), "quiet_volume": _percent(voice.quiet_volume),
        "quiet_from": f"{span[0]:%H:%M}" if span else "", "quiet_to": f"{span[1]:%H:%M}" if span else "",
        "quiet_mode": voice.quiet_mode,
    }  # fmt: skip
    return values | {f"lang.{lang}": "on" if lang in voice.languages else "" for lang in VOICE_LANGUAGES}


def _span(quiet_hours: str) -> tuple[time, time] | None:
    try:
        return parse_quiet_hours(quiet_hours)
    except ValueError:  # a policy in force is sound; a bad one is shown as none
        return None


def _share(form: Any, name: str, where: str, what: tuple[str, str], kept: float) -> float:
    raw = form.number_text(name).removesuffix("%").strip()
    if _PERCENT.fullmatch(raw) and float(raw) <= 100:
        return float(raw) / 100
    form.problem(where, f"{what[0]}请填 0 至 100 之间的百分数，现为“{raw[:24]}”",
                 f'The {what[1]} is a percentage from 0 to 100; it is "{raw[:24]}"')  # fmt: skip
    return kept


def _clock(form: Any, name: str) -> str | None:
    """A time of day as ``HH:MM``, "" when empty, None when it cannot be read (the problem is the caller's)."""
    raw = form.number_text(name)
    if not raw:
        return ""
    found = _CLOCK.fullmatch(raw)
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        return None
    return f"{int(found[1]):02}:{found[2]}"


def _quiet_hours(form: Any, where: str, kept: str) -> str:
    start, end = _clock(form, "quiet_from"), _clock(form, "quiet_to")
    if start is None or end is None:
        form.problem(where, "静音时段的时间请写成 22:00 这样（00:00 至 23:59）",
                     "Write the quiet hours' times as 22:00 (00:00 to 23:59)")  # fmt: skip
        return kept
    if bool(start) != bool(end):
        form.problem(where, "请同时填写静音时段的开始和结束时间（都留空表示没有静音时段）",
                     "Give both the start and the end of the quiet hours (both empty: none)")  # fmt: skip
        return kept
    return f"{start}-{end}" if start else ""


def parse_voice(fields: Mapping[str, str], district: District, site_id: str) -> forms.Parsed:
    """The voice form as an edit of the site's policy; with ``use_boards`` sent, the policy cleared."""
    site = forms.known_site(district, site_id)
    form = forms.Form(fields)
    base = f"sites.{site.id}.voice"
    was = site.voice or VoicePolicy()
    clear = form.ticked(CLEAR)
    enabled, chime = form.ticked("enabled"), form.ticked("chime")
    languages = tuple(lang for lang in VOICE_LANGUAGES if form.ticked(f"lang.{lang}"))
    repeat = form.integer("repeat", f"{base}.repeat", ("播报遍数", "number of times"), within=(1, VOICE_REPEAT_MAX))
    volume = _share(form, "volume", f"{base}.volume", ("音量", "volume"), was.volume)
    quiet_volume = _share(form, "quiet_volume", f"{base}.quiet_volume", ("静音时段音量", "quiet volume"),
                          was.quiet_volume)  # fmt: skip
    quiet_hours = _quiet_hours(form, f"{base}.quiet_hours", was.quiet_hours)
    mode = form.raw("quiet_mode")
    if mode not in ("chime", "silent"):
        form.problem(f"{base}.quiet_mode", "请选择静音时段的播报方式", "Choose what the boards do in quiet hours")
    reason = form.reason()
    form.finish()
    policy = VoicePolicy(
        enabled=enabled, languages=languages, repeat=was.repeat if repeat is None else repeat, volume=volume,
        chime=chime, quiet_hours=quiet_hours, quiet_mode="silent" if mode == "silent" else "chime",
        quiet_volume=quiet_volume,
    )  # fmt: skip

    def edit(before: District) -> District:
        current = before.site(site_id)
        if current is None:
            return before
        return forms.with_site(before, msgspec.structs.replace(current, voice=None if clear else policy))

    def locate(path: str) -> str | None:
        if path == forms.REASON:
            return forms.REASON
        key = forms.under(path, base)
        return _WHERE.get(key, key) if key in _KEYS else None

    return forms.Parsed(f"site:{site.id}", forms.base_of(fields), reason, edit, [] if clear else form.problems, locate)


def _voice_page(request: web.Request, site: Site, drawn: Drawn) -> web.Response:
    voice = site.voice
    span = _span(voice.quiet_hours) if voice else None
    data = {
        "site": site_head(site), "languages": list(VOICE_LANGUAGES), "repeats": list(range(1, VOICE_REPEAT_MAX + 1)),
        "policy": msgspec.to_builtins(voice) if voice else None,
        "quiet": {"start": f"{span[0]:%H:%M}", "end": f"{span[1]:%H:%M}"} if span else None,
    }  # fmt: skip
    return form_page(request, "configure_voice.html", data, f"site:{site.id}", drawn, was=voice_values(site))


@add_page(routes, "/sites/{site}/voice")
@allow(Role.ADMIN, Role.MANAGER)
async def voice_page(request: web.Request) -> web.Response:
    site = site_of(request)
    return _voice_page(request, site, Drawn(voice_values(site)))


@routes.post("/sites/{site}/voice")
@allow(Role.ADMIN, Role.MANAGER)
async def voice_save(request: web.Request) -> web.Response:
    site = site_of(request)
    fields = await form_fields(request)
    return await save_site(
        request, site, "voice", fields, parse=lambda district: parse_voice(fields, district, site.id),
        redraw=lambda drawn: _voice_page(request, site, drawn),
    )  # fmt: skip

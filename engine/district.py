"""The district as configuration data: sites, windows, the matter catalogue and the calendar.

Everything here is immutable. The hub loads it from TOML (see ``hub/district_file.py``) and hands it to the
engine with every command; the engine never reads files itself.
"""

from __future__ import annotations

import enum
from datetime import date, time
from typing import Literal

import msgspec

MAX_SERIAL = 999
"""The numbers one prefix gives out at a site in a day (A001 ... A999)."""


class Tier(enum.StrEnum):
    """The three tiers of the 15-minute service circle."""

    CENTRE = "centre"  # 区政务服务中心
    STATION = "station"  # 街道便民服务站
    COMMUNITY = "community"  # 社区便民服务室


class Material(msgspec.Struct, frozen=True, kw_only=True):
    """One document a citizen must bring for a matter."""

    name_zh: str
    name_en: str
    originals: int = 1
    copies: int = 0
    commitment_allowed: bool = False
    """The district lets a citizen replace this material by a signed commitment (告知承诺制)."""


class Matter(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the standard matter catalogue shared by all tiers (事项)."""

    code: str
    name_zh: str
    name_en: str
    category: str
    prefix: str
    daily_limit: int
    materials: tuple[Material, ...] = ()
    appointment_allowed: bool = True
    green_channel: bool = False
    """A green-channel matter (重大项目绿色通道) issues its tickets in the green priority class."""


class Period(msgspec.Struct, frozen=True):
    """One opening period of a day, local time, ``start`` inclusive, ``end`` exclusive."""

    start: time
    end: time


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """A counter (窗口). ``weights`` maps each matter it serves to its weight (1 = normal, 2 = preferred, ...)."""

    id: str
    number: int
    name_zh: str
    name_en: str
    weights: dict[str, int]
    zone: str = ""

    def serves(self, matter: str) -> bool:
        return matter in self.weights


class QueueRules(msgspec.Struct, frozen=True, kw_only=True):
    """The per-site knobs of the ordering and no-show rules (see docs/decisions/0003-call-ordering.md)."""

    max_calls: int = 3
    """A ticket called this many times without answer is dropped as a no-show by the next recall."""
    reactivate_after: int = 3
    """A reactivated no-show re-enters the queue behind this many waiting people of its matter."""
    max_overtakes: int = 5
    """No waiting ticket is overtaken more often than this at a window that could have served it."""
    priority_minutes: dict[str, int] = msgspec.field(
        default_factory=lambda: {"normal": 0, "appointment": 15, "elderly": 10, "green": 30}
    )
    """Head start of each priority class, in minutes of waiting."""
    stop_issuing_minutes: int = 0
    """Self-service issuing stops this many minutes before each closing time."""
    target_wait_minutes: int = 15


VOICE_LANGUAGES = ("zh", "en")
"""The languages a board can announce a call in (Mandarin, English)."""


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``"22:00-07:00"`` -> (22:00, 07:00), [start, end) local time, may wrap midnight; empty -> None.

    ValueError when ``text`` is not two times of day ``H:MM-H:MM`` (spaces around the parts are allowed)."""
    if not text.strip():
        return None
    wrong = ValueError(f"{text!r} is not HH:MM-HH:MM")
    halves = text.split("-")
    if len(halves) != 2:
        raise wrong
    times = []
    for half in halves:
        hour, colon, minute = half.strip().partition(":")
        digits = hour + minute
        if not (colon and digits.isascii() and digits.isdigit() and 1 <= len(hour) <= 2 and len(minute) == 2):
            raise wrong
        if int(hour) > 23 or int(minute) > 59:
            raise wrong
        times.append(time(int(hour), int(minute)))
    return times[0], times[1]


class VoicePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a site's boards announce calls; set by the hall manager (None on the site: the boards' own files)."""

    enabled: bool = True
    languages: tuple[str, ...] = VOICE_LANGUAGES
    """The languages spoken, in order; some of ``VOICE_LANGUAGES``, at least one."""
    repeat: int = 2
    """Each call is spoken this many times (1..5)."""
    volume: float = 0.9
    """0..1"""
    chime: bool = True
    """A chime before each call."""
    quiet_hours: str = ""
    """``"HH:MM-HH:MM"`` (may wrap midnight), or empty for none."""
    quiet_mode: Literal["chime", "silent"] = "chime"
    """In quiet hours: only the chime, or nothing at all."""
    quiet_volume: float = 0.3
    """0..1: the volume of what is still heard in quiet hours."""


class AppointmentPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A site's own booking rules over the hub's [appointments] defaults (None on the site: the defaults)."""

    slot_minutes: int = 30
    """5..240"""
    walk_in_share: float = 0.3
    """0..1: share of each matter's daily limit kept for walk-ins."""
    days_ahead: int = 7
    """0..30"""


class Site(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name_zh: str
    name_en: str
    tier: Tier
    address_zh: str
    address_en: str
    latitude: float
    longitude: float
    timezone: str = "Asia/Shanghai"
    hours: dict[int, tuple[Period, ...]]
    """Opening periods by ISO weekday (1 = Monday ... 7 = Sunday); a missing weekday is closed."""
    makeup_day_hours: tuple[Period, ...] = ()
    """Hours on an official make-up working day (调休上班) that falls on a weekend."""
    matters: dict[str, int]
    """The catalogue matters this site enables, each with its daily limit here (0 = the catalogue default)."""
    windows: tuple[Window, ...]
    rules: QueueRules = msgspec.field(default_factory=QueueRules)
    notice: str = ""
    """A line the site's boards show along the bottom (set by the hall manager; empty: the boards' own words)."""
    voice: VoicePolicy | None = None
    """How the site's boards announce calls (None: each board's own settings file)."""
    appointments: AppointmentPolicy | None = None
    """The site's booking rules (None: the hub's [appointments] defaults)."""

    def window(self, window_id: str) -> Window | None:
        for window in self.windows:
            if window.id == window_id:
                return window
        return None


class HolidayCalendar(msgspec.Struct, frozen=True, kw_only=True):
    """The official public-holiday calendar: closed days and the weekend days worked instead (调休)."""

    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()


class District(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name_zh: str
    name_en: str
    catalogue: tuple[Matter, ...]
    sites: tuple[Site, ...]
    calendar: HolidayCalendar = msgspec.field(default_factory=HolidayCalendar)

    def matter(self, code: str) -> Matter | None:
        for matter in self.catalogue:
            if matter.code == code:
                return matter
        return None

    def site(self, site_id: str) -> Site | None:
        for site in self.sites:
            if site.id == site_id:
                return site
        return None

    def daily_limit(self, site: Site, matter: Matter) -> int:
        return site.matters.get(matter.code) or matter.daily_limit

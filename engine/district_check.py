"""Is a district configuration sound? Every rule its typed values can still break, each problem in Chinese and English.

``problems(district)`` lists every problem, ``[]`` when the district is sound. The values are assumed typed (a
District built in code, or converted by msgspec); what the types cannot say is checked here, and only here: the
TOML loader (hub/district_file.py) calls the same checks on the parts of a folder it could read
(``header_problems``, ``catalogue_problems``, ``calendar_problems``, ``site_problems``), and the configuration pages
show each problem beside its form field.

A problem's ``field`` is the dotted path of the value at fault, by ids and codes (not list positions): ``id``,
``name_zh``, ``sites``, ``sites.<site>`` (a repeated id), ``sites.<site>.<key>``, ``sites.<site>.hours``,
``sites.<site>.hours.<weekday>``, ``sites.<site>.hours.<weekday>.<n>`` (n-th period, from 0),
``sites.<site>.makeup_day_hours.<n>``, ``sites.<site>.matters``, ``sites.<site>.matters.<code>``,
``sites.<site>.windows``, ``sites.<site>.windows.<window>.<key>``, ``sites.<site>.windows.<window>.weights.<code>``,
``sites.<site>.rules.<key>``, ``sites.<site>.rules.priority_minutes.<class>``, ``sites.<site>.voice.<key>``,
``sites.<site>.appointments.<key>``, ``catalogue``,
``catalogue.<code>.<key>``, ``catalogue.<code>.materials.<n>[.<key>]``, ``calendar.makeup_workdays.<YYYY-MM-DD>``.
Where an id is repeated, the problem is reported on the later one.

The rules:

District
  - ``id`` is not empty; ``name_zh`` and ``name_en`` are not empty and at most ``NAME_MAX`` characters.
  - There is at least one site; site ids are unique and made of a-z, 0-9, ``-`` and ``_`` (starting with a letter or
    digit): they name files, topics and web addresses.
Catalogue
  - It has at least one matter; codes are unique and made of letters, digits, ``-``, ``_`` and ``.`` (starting with
    a letter or digit).
  - A prefix is one or two capital letters A-Z.
  - Names (both languages) and the category are not empty and at most ``NAME_MAX`` characters.
  - The daily limit is 1 to ``MAX_SERIAL`` (the numbers one prefix gives out a day, A001 ... A999).
  - A material has both names (at most ``TEXT_MAX`` characters), originals and copies of 0 or more, not both 0.
Calendar
  - A make-up working day (调休上班) is a Saturday or Sunday, and not also a holiday.
Each site
  - Names (at most ``NAME_MAX``) and addresses (at most ``TEXT_MAX``) are not empty; latitude is within -90..90,
    longitude within -180..180; the time zone is a known IANA zone.
  - It opens on at least one weekday; the weekday keys are ISO numbers 1 (Monday) ... 7 (Sunday), each with at least
    one period; within a day (and in ``makeup_day_hours``) each period ends after it starts and starts no earlier
    than the one before it ends (periods in order, not overlapping).
  - It enables at least one matter; every enabled matter is in the catalogue, its daily limit here is 0 (= the
    catalogue's) to ``MAX_SERIAL``, and at least one window serves it.
  - Matters sharing a prefix share its ``MAX_SERIAL`` numbers a day: their daily limits here add up to no more.
  - It has at least one window; window ids are not empty, unique and made of a-z, 0-9, ``-`` and ``_`` (at most
    ``WINDOW_ID_MAX``), window numbers are 1 or more and unique; window names are not empty and at most ``NAME_MAX``
    characters; a window's zone is one line of at most ``ZONE_MAX``.
  - The board notice is one line of at most ``NOTICE_MAX`` characters (empty: the boards' own words).
  - A window serves at least one matter; each matter it weights is in the catalogue and enabled at the site, with
    a weight of ``MIN_WEIGHT`` or more. The engine serves every matter a window lists (``Window.serves``; a weight
    only orders the calls), so a window stops serving a matter by leaving it out, not by a weight of 0.
  - Queue rules: ``max_calls`` >= 1, ``reactivate_after`` >= 0, ``max_overtakes`` >= 1, ``stop_issuing_minutes``
    >= 0, ``target_wait_minutes`` >= 1; ``priority_minutes`` names only priority classes, each with 0 or more minutes.
  - ``stop_issuing_minutes`` leaves some self-service issuing in every period (weekdays and make-up days).
  - Voice (when the site sets it): the languages are some of zh and en, at least one, each once; ``repeat`` is 1 to
    ``VOICE_REPEAT_MAX``; both volumes are within 0..1; quiet hours are empty or ``HH:MM-HH:MM`` with two
    different times (they may wrap midnight).
  - Appointments (when the site sets them): ``slot_minutes`` is ``SLOT_MINUTES`` (5..240), ``walk_in_share`` within
    0..1, ``days_ahead`` within 0..``DAYS_AHEAD_MAX``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import time
from zoneinfo import ZoneInfo

import msgspec

from engine.commands import Priority
from engine.district import (
    MAX_SERIAL,
    VOICE_LANGUAGES,
    AppointmentPolicy,
    District,
    HolidayCalendar,
    Material,
    Matter,
    Period,
    QueueRules,
    Site,
    VoicePolicy,
    Window,
    parse_quiet_hours,
)

__all__ = [
    "DAYS_AHEAD_MAX",
    "MAX_SERIAL",
    "MIN_WEIGHT",
    "NAME_MAX",
    "NOTICE_MAX",
    "SLOT_MINUTES",
    "TEXT_MAX",
    "VOICE_REPEAT_MAX",
    "WINDOW_ID_MAX",
    "ZONE_MAX",
    "Problem",
    "appointment_problems",
    "calendar_problems",
    "catalogue_problems",
    "header_problems",
    "problems",
    "site_problems",
    "voice_problems",
]

NAME_MAX = 100
WINDOW_ID_MAX = 32
ZONE_MAX = 40
NOTICE_MAX = 80
"""A board shows its notice on one line along the bottom."""
"""Longest name (of the district, a site, a window, a matter, a category), in characters."""
TEXT_MAX = 200
"""Longest address or material name, in characters."""
MIN_WEIGHT = 1
"""The least weight a window gives a matter it serves."""
VOICE_REPEAT_MAX = 5
"""The most times a board speaks one call."""
SLOT_MINUTES = (5, 240)
"""The shortest and longest appointment slot, in minutes."""
DAYS_AHEAD_MAX = 30
"""How many days ahead a citizen can book at most."""

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_CAPITALS = frozenset(_LOWER.upper())
_DIGITS = "0123456789"
_SITE_ID_START = frozenset(_LOWER + _DIGITS)
_SITE_ID_CHARS = _SITE_ID_START | frozenset("-_")
_CODE_START = _SITE_ID_START | _CAPITALS
_CODE_CHARS = _CODE_START | frozenset("-_.")

_WEEKDAYS = {
    1: ("周一", "Monday"),
    2: ("周二", "Tuesday"),
    3: ("周三", "Wednesday"),
    4: ("周四", "Thursday"),
    5: ("周五", "Friday"),
    6: ("周六", "Saturday"),
    7: ("周日", "Sunday"),
}
_NAMES = (("name_zh", "中文名称", "Chinese name"), ("name_en", "英文名称", "English name"))
_ADDRESSES = (("address_zh", "中文地址", "Chinese address"), ("address_en", "英文地址", "English address"))
_RULE_MINIMA = (
    ("max_calls", 1, "过号前的呼叫次数", "The number of calls before a no-show"),
    ("reactivate_after", 0, "过号恢复后排在其前面的人数", "The number of people ahead of a reactivated no-show"),
    ("max_overtakes", 1, "一张号最多被超过的次数", "The number of times a ticket may be passed over"),
    ("stop_issuing_minutes", 0, "闭厅前停止自助取号的分钟数", "The minutes before closing when self-service stops"),
    ("target_wait_minutes", 1, "目标等候时间（分钟）", "The target wait in minutes"),
)
_CLASSES = tuple(priority.value for priority in Priority)
_CLASSES_ZH = {"normal": "普通", "appointment": "预约", "elderly": "老年人和残疾人", "green": "绿色通道"}
_LANGUAGES = {"zh": ("普通话", "Mandarin"), "en": ("英语", "English")}


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with a configuration: the value at fault (``field``) and what is wrong, for a hall manager."""

    field: str
    zh: str
    en: str


def problems(district: District) -> list[Problem]:
    """Every problem of ``district``, ``[]`` when it is sound (see the module's docstring for the rules)."""
    return [
        *header_problems(district.id, district.name_zh, district.name_en, [site.id for site in district.sites]),
        *catalogue_problems(district.catalogue),
        *calendar_problems(district.calendar),
        *(problem for site in district.sites for problem in site_problems(site, district.catalogue)),
    ]


def header_problems(district_id: str, name_zh: str, name_en: str, site_ids: Sequence[str]) -> list[Problem]:
    """The district's own values: its id, names and the ids of its sites."""
    found = []
    if not district_id.strip():
        found.append(Problem("id", "请填写区的代码", "The district's id is empty"))
    found += _names("", name_zh, name_en)
    if not site_ids:
        found.append(Problem("sites", "本区还没有站点", "The district has no sites"))
    seen: set[str] = set()
    for site_id in site_ids:
        if not (site_id[:1] in _SITE_ID_START and set(site_id) <= _SITE_ID_CHARS):
            found.append(
                Problem(
                    f"sites.{site_id}.id",
                    f"站点代码“{site_id}”只能由小写字母、数字、- 和 _ 组成，并以字母或数字开头",
                    f'The site id "{site_id}" may use only lower-case letters, digits, - and _, '
                    "starting with a letter or digit",
                )
            )
        if site_id in seen:
            found.append(Problem(f"sites.{site_id}", f"站点代码“{site_id}”重复", f'Two sites have the id "{site_id}"'))
        seen.add(site_id)
    return found


def catalogue_problems(catalogue: Sequence[Matter]) -> list[Problem]:
    """The matter catalogue: codes, prefixes, names, daily limits and materials."""
    found = []
    if not catalogue:
        found.append(Problem("catalogue", "事项目录中还没有事项", "The catalogue has no matters"))
    first: dict[str, Matter] = {}
    for matter in catalogue:
        base = f"catalogue.{matter.code}"
        code = matter.code
        if code in first:
            other = first[code]
            found.append(
                Problem(
                    f"{base}.code",
                    f"事项代码 {code} 已被“{other.name_zh}”使用",
                    f'The code {code} is already used by "{other.name_en}"',
                )
            )
        elif not (code[:1] in _CODE_START and set(code) <= _CODE_CHARS):
            found.append(
                Problem(
                    f"{base}.code",
                    f"事项代码“{code}”只能由字母、数字、-、_ 和 . 组成，并以字母或数字开头",
                    f'The code "{code}" may use only letters, digits, -, _ and ., starting with a letter or digit',
                )
            )
        first.setdefault(code, matter)
        if not (1 <= len(matter.prefix) <= 2 and set(matter.prefix) <= _CAPITALS):
            found.append(
                Problem(
                    f"{base}.prefix",
                    f"号码字头“{matter.prefix}”须为一至两个大写字母 A-Z",
                    f'The prefix "{matter.prefix}" must be one or two capital letters A-Z',
                )
            )
        found += _names(base, matter.name_zh, matter.name_en)
        found += _text(f"{base}.category", matter.category, "分类", "category", NAME_MAX)
        if not 1 <= matter.daily_limit <= MAX_SERIAL:
            found.append(
                Problem(
                    f"{base}.daily_limit",
                    f"每日限额须在 1 至 {MAX_SERIAL} 之间（一个字头每天最多 {MAX_SERIAL} 个号），"
                    f"现为 {matter.daily_limit}",
                    f"The daily limit must be between 1 and {MAX_SERIAL} (a prefix has {MAX_SERIAL} numbers a day); "
                    f"it is {matter.daily_limit}",
                )
            )
        for index, material in enumerate(matter.materials):
            found += _material(f"{base}.materials.{index}", material)
    return found


def calendar_problems(calendar: HolidayCalendar) -> list[Problem]:
    """The official calendar: make-up working days fall on weekends and are not holidays too."""
    found = []
    for day in sorted(calendar.makeup_workdays):
        where = f"calendar.makeup_workdays.{day.isoformat()}"
        if day.isoweekday() < 6:
            weekday_zh, weekday_en = _WEEKDAYS[day.isoweekday()]
            found.append(
                Problem(
                    where,
                    f"{day} 是{weekday_zh}；调休上班日应为周六或周日",
                    f"{day} is a weekday ({weekday_en}); a make-up working day is a Saturday or Sunday",
                )
            )
        if day in calendar.holidays:
            found.append(
                Problem(where, f"{day} 既是放假日又是调休上班日", f"{day} is both a holiday and a make-up working day")
            )
    return found


def site_problems(site: Site, catalogue: Sequence[Matter]) -> list[Problem]:
    """One site, against the district's catalogue: its names, place, hours, matters, windows and rules."""
    matters: dict[str, Matter] = {}
    for matter in catalogue:
        matters.setdefault(matter.code, matter)
    base = f"sites.{site.id}"
    return [
        *_names(base, site.name_zh, site.name_en),
        *(
            problem
            for key, zh, en in _ADDRESSES
            for problem in _text(f"{base}.{key}", getattr(site, key), zh, en, TEXT_MAX)
        ),
        *_place(base, site),
        *_hours(base, site),
        *_enabled(base, site, matters),
        *_windows(base, site, matters),
        *_rules(f"{base}.rules", site.rules),
        *_stop_issuing(base, site),
        *_one_line(f"{base}.notice", site.notice, "大厅屏通知", "board notice", NOTICE_MAX),
        *(voice_problems(f"{base}.voice", site.voice) if site.voice is not None else ()),
        *(appointment_problems(f"{base}.appointments", site.appointments) if site.appointments is not None else ()),
    ]


def voice_problems(base: str, voice: VoicePolicy) -> list[Problem]:
    """A site's voice policy: languages, repeat, volumes and quiet hours; fields ``<base>.<key>``."""
    found = []
    languages = f"{base}.languages"
    if not voice.languages:
        found.append(Problem(languages, "请至少选择一种播报语言", "Choose at least one language to announce in"))
    for language in voice.languages:
        if language not in VOICE_LANGUAGES:
            found.append(
                Problem(
                    languages,
                    f"“{language}”不是可播报的语言（可选 zh 普通话、en 英语）",
                    f'"{language}" is not a language the boards speak (zh Mandarin, en English)',
                )
            )
    for language in sorted(set(voice.languages) & set(_LANGUAGES)):
        if voice.languages.count(language) > 1:
            zh, en = _LANGUAGES[language]
            found.append(Problem(languages, f"{zh}列出了不止一次", f"{en} is listed more than once"))
    if not 1 <= voice.repeat <= VOICE_REPEAT_MAX:
        found.append(
            Problem(
                f"{base}.repeat",
                f"每个号码播报的遍数须在 1 至 {VOICE_REPEAT_MAX} 之间，现为 {voice.repeat}",
                f"A call is spoken 1 to {VOICE_REPEAT_MAX} times; it is {voice.repeat}",
            )
        )
    found += _share(f"{base}.volume", voice.volume, "音量", "volume")
    found += _share(f"{base}.quiet_volume", voice.quiet_volume, "静音时段的音量", "volume in quiet hours")
    try:
        span = parse_quiet_hours(voice.quiet_hours)
    except ValueError:
        found.append(
            Problem(
                f"{base}.quiet_hours",
                f"静音时段“{voice.quiet_hours}”应写成 起-止 的两个时间，例如 22:00-07:00",
                f'The quiet hours "{voice.quiet_hours}" should be two times of day, from-to, such as 22:00-07:00',
            )
        )
    else:
        if span is not None and span[0] == span[1]:
            found.append(
                Problem(
                    f"{base}.quiet_hours",
                    f"静音时段的开始和结束都是 {_hhmm(span[0])}；不需要静音时段请留空",
                    f"The quiet hours start and end at {_hhmm(span[0])}; leave them empty for none",
                )
            )
    return found


def appointment_problems(base: str, appointments: AppointmentPolicy) -> list[Problem]:
    """A site's booking rules: slot length, the walk-in share and how far ahead; fields ``<base>.<key>``."""
    found = []
    shortest, longest = SLOT_MINUTES
    if not shortest <= appointments.slot_minutes <= longest:
        found.append(
            Problem(
                f"{base}.slot_minutes",
                f"预约时段长度须在 {shortest} 至 {longest} 分钟之间，现为 {appointments.slot_minutes}",
                f"An appointment slot is {shortest} to {longest} minutes long; it is {appointments.slot_minutes}",
            )
        )
    found += _share(f"{base}.walk_in_share", appointments.walk_in_share, "留给现场取号的比例", "walk-in share")
    if not 0 <= appointments.days_ahead <= DAYS_AHEAD_MAX:
        found.append(
            Problem(
                f"{base}.days_ahead",
                f"可提前预约的天数须在 0 至 {DAYS_AHEAD_MAX} 之间，现为 {appointments.days_ahead}",
                f"Bookings open 0 to {DAYS_AHEAD_MAX} days ahead; it is {appointments.days_ahead}",
            )
        )
    return found


# --- parts ---------------------------------------------------------------------------------------------------


def _text(field: str, value: str, what_zh: str, what_en: str, longest: int) -> list[Problem]:
    if not value.strip():
        return [Problem(field, f"请填写{what_zh}", f"The {what_en} is empty")]
    if len(value) > longest:
        return [
            Problem(
                field,
                f"{what_zh}过长：{len(value)} 个字符，最多 {longest} 个",
                f"The {what_en} is too long: {len(value)} characters, at most {longest}",
            )
        ]
    return []


def _share(field: str, value: float, what_zh: str, what_en: str) -> list[Problem]:
    """A fraction within 0..1 (a volume, a share), shown to a manager as a percentage."""
    if 0 <= value <= 1:
        return []
    return [
        Problem(
            field,
            f"{what_zh}须在 0 至 1（0% 至 100%）之间，现为 {value:g}",
            f"The {what_en} must be between 0 and 1 (0% to 100%); it is {value:g}",
        )
    ]


def _names(base: str, name_zh: str, name_en: str, longest: int = NAME_MAX) -> list[Problem]:
    prefix = f"{base}." if base else ""
    return [
        problem
        for (key, zh, en), value in zip(_NAMES, (name_zh, name_en), strict=True)
        for problem in _text(prefix + key, value, zh, en, longest)
    ]


def _material(where: str, material: Material) -> Iterator[Problem]:
    yield from _names(where, material.name_zh, material.name_en, TEXT_MAX)
    for key, count, zh, en in (
        ("originals", material.originals, "原件", "originals"),
        ("copies", material.copies, "复印件", "copies"),
    ):
        if count < 0:
            yield Problem(
                f"{where}.{key}",
                f"{zh}份数不能为负数（现为 {count}）",
                f"The number of {en} cannot be negative (it is {count})",
            )
    if material.originals == 0 and material.copies == 0:
        yield Problem(
            where,
            f"材料“{material.name_zh}”既不要原件也不要复印件",
            f'"{material.name_en}" asks for neither an original nor a copy',
        )


def _place(base: str, site: Site) -> Iterator[Problem]:
    for key, value, limit, zh, en in (
        ("latitude", site.latitude, 90, "纬度", "latitude"),
        ("longitude", site.longitude, 180, "经度", "longitude"),
    ):
        if not -limit <= value <= limit:
            yield Problem(
                f"{base}.{key}",
                f"{zh}须在 -{limit} 至 {limit} 之间（现为 {value}）",
                f"The {en} must be between -{limit} and {limit} (it is {value})",
            )
    try:
        ZoneInfo(site.timezone)
    except (ValueError, KeyError, OSError):
        yield Problem(
            f"{base}.timezone",
            f"“{site.timezone}”不是已知的时区（例如 Asia/Shanghai）",
            f'"{site.timezone}" is not a known time zone (such as Asia/Shanghai)',
        )


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _shown(period: Period) -> str:
    return f"{_hhmm(period.start)}-{_hhmm(period.end)}"


def _hours(base: str, site: Site) -> Iterator[Problem]:
    if not site.hours:
        yield Problem(
            f"{base}.hours", "本站点每天都不开放：还没有任何办理时间", "The site never opens: no weekday has hours"
        )
    for day, periods in sorted(site.hours.items()):
        where = f"{base}.hours.{day}"
        if day not in _WEEKDAYS:
            yield Problem(
                where,
                f"{day} 不是星期的编号（1 = 周一 … 7 = 周日）",
                f"{day} is not a weekday number (1 = Monday ... 7 = Sunday)",
            )
            continue
        if not periods:
            yield Problem(
                where,
                "这一天没有办理时段（不开放的日子请不要列出）",
                "No opening periods on this day (leave a closed day out)",
            )
        yield from _periods(where, periods)
    yield from _periods(f"{base}.makeup_day_hours", site.makeup_day_hours)


def _periods(where: str, periods: Sequence[Period]) -> Iterator[Problem]:
    """Each period ends after it starts and starts no earlier than the one before it ends."""
    previous: Period | None = None
    for index, period in enumerate(periods):
        if period.end <= period.start:
            yield Problem(
                f"{where}.{index}",
                f"时段 {_shown(period)} 的结束时间 {_hhmm(period.end)} 不晚于开始时间 {_hhmm(period.start)}",
                f"This period ends at {_hhmm(period.end)}, not after it starts at {_hhmm(period.start)}",
            )
        elif previous is not None and period.start < previous.end:
            yield Problem(
                f"{where}.{index}",
                f"时段 {_shown(period)} 在上一时段 {_shown(previous)} 结束之前就开始了",
                f"This period starts at {_hhmm(period.start)}, before the previous one ({_shown(previous)}) ends",
            )
        previous = period


def _label(matter: Matter) -> tuple[str, str]:
    """A matter as a hall manager knows it: by its name, with its code."""
    return f"“{matter.name_zh}”（{matter.code}）", f'{matter.code} "{matter.name_en}"'


def _enabled(base: str, site: Site, matters: dict[str, Matter]) -> Iterator[Problem]:
    if not site.matters:
        yield Problem(f"{base}.matters", "本站点还没有启用任何事项", "The site offers no matters")
    by_prefix: dict[str, list[tuple[str, int]]] = {}
    for code, limit in site.matters.items():
        where = f"{base}.matters.{code}"
        matter = matters.get(code)
        if matter is None:
            yield Problem(where, f"事项目录中没有事项 {code}", f"There is no matter {code} in the catalogue")
            continue
        zh, en = _label(matter)
        if not 0 <= limit <= MAX_SERIAL:
            yield Problem(
                where,
                f"{zh}在本站点的每日限额须在 0 至 {MAX_SERIAL} 之间（0 表示沿用事项目录的限额），现为 {limit}",
                f"The daily limit of {en} here must be between 0 and {MAX_SERIAL} (0 = the catalogue's limit); "
                f"it is {limit}",
            )
        else:
            by_prefix.setdefault(matter.prefix, []).append((code, limit or matter.daily_limit))
        if not any(window.serves(code) for window in site.windows):
            yield Problem(where, f"本站点没有窗口办理{zh}", f"No window of this site handles {en}")
    for prefix, shared in sorted(by_prefix.items()):
        total = sum(limit for _, limit in shared)
        if total > MAX_SERIAL:
            codes = ", ".join(code for code, _ in shared)
            yield Problem(
                f"{base}.matters",
                f"字头 {prefix} 的事项 {codes} 每日限额合计 {total}，"
                f"超过该字头每天的 {MAX_SERIAL} 个号（{prefix}001-{prefix}{MAX_SERIAL}）",
                f"The matters with prefix {prefix} ({codes}) have daily limits adding up to {total}, "
                f"more than its {MAX_SERIAL} numbers a day ({prefix}001-{prefix}{MAX_SERIAL})",
            )


def _windows(base: str, site: Site, matters: dict[str, Matter]) -> Iterator[Problem]:
    if not site.windows:
        yield Problem(f"{base}.windows", "本站点还没有窗口", "The site has no windows")
    by_id: dict[str, Window] = {}
    by_number: dict[int, Window] = {}
    for window in site.windows:
        where = f"{base}.windows.{window.id}"
        yield from _window_identity(where, window, by_id, by_number)
        by_id.setdefault(window.id, window)
        by_number.setdefault(window.number, window)
        yield from _names(where, window.name_zh, window.name_en)
        yield from _one_line(
            f"{where}.zone", window.zone, f"{window.number} 号窗口的分区", f"zone of window {window.number}", ZONE_MAX
        )
        yield from _weights(where, window, site, matters)


def _one_line(field: str, value: str, what_zh: str, what_en: str, longest: int) -> Iterator[Problem]:
    """An optional line of text (a window's zone, a board's notice): empty is fine."""
    if "\n" in value or "\r" in value:
        yield Problem(field, f"{what_zh}只能有一行", f"The {what_en} must be one line")
    elif len(value) > longest:
        yield Problem(
            field,
            f"{what_zh}过长：{len(value)} 个字符，最多 {longest} 个",
            f"The {what_en} is too long: {len(value)} characters, at most {longest}",
        )


def _window_identity(
    where: str, window: Window, by_id: dict[str, Window], by_number: dict[int, Window]
) -> Iterator[Problem]:
    """The window's id and number are set and not taken by an earlier window of the site."""
    number, window_id = window.number, window.id
    if not window_id.strip():
        yield Problem(f"{where}.id", f"请填写 {number} 号窗口的代码", f"Window {number} has no id")
    elif not (window_id[:1] in _SITE_ID_START and set(window_id) <= _SITE_ID_CHARS and len(window_id) <= WINDOW_ID_MAX):
        yield Problem(
            f"{where}.id",
            f"{number} 号窗口的代码“{window_id}”只能由小写字母、数字、- 和 _ 组成"
            f"（以字母或数字开头，最多 {WINDOW_ID_MAX} 个）",
            f'The id "{window_id}" of window {number} may use only lower-case letters, digits, - and _, starting '
            f"with a letter or digit, at most {WINDOW_ID_MAX}",
        )
    elif window_id in by_id:
        other = by_id[window_id].number
        yield Problem(
            f"{where}.id",
            f"{number} 号窗口的代码“{window_id}”与 {other} 号窗口相同",
            f'Window {number} has the id "{window_id}", which window {other} already has',
        )
    if number < 1:
        yield Problem(
            f"{where}.number",
            f"窗口 {window_id} 的窗口号须为 1 或以上，现为 {number}",
            f"The number of window {window_id} must be 1 or more; it is {number}",
        )
    elif number in by_number:
        other_id = by_number[number].id
        yield Problem(
            f"{where}.number",
            f"窗口 {window_id} 的窗口号 {number} 已被窗口 {other_id} 使用",
            f"Window {window_id} has number {number}, which window {other_id} already has",
        )


def _weights(where: str, window: Window, site: Site, matters: dict[str, Matter]) -> Iterator[Problem]:
    number = window.number
    if not window.weights:
        yield Problem(f"{where}.weights", f"{number} 号窗口还没有办理任何事项", f"Window {number} handles no matters")
    for code, weight in window.weights.items():
        at = f"{where}.weights.{code}"
        if code not in matters:
            yield Problem(
                at,
                f"{number} 号窗口办理的事项 {code} 不在事项目录中",
                f"Window {number} handles {code}, which is not in the catalogue",
            )
        elif code not in site.matters:
            zh, en = _label(matters[code])
            yield Problem(
                at,
                f"{number} 号窗口办理的事项{zh}未在本站点启用",
                f"Window {number} handles {en}, which this site does not offer",
            )
        if weight < MIN_WEIGHT:
            yield Problem(
                at,
                f"{number} 号窗口对 {code} 的权重须为 {MIN_WEIGHT} 或以上，现为 {weight}（不办理的事项请从本窗口移除）",
                f"Window {number} gives {code} a weight of {weight}; a weight is {MIN_WEIGHT} or more "
                f"(to stop serving {code} here, remove it from this window)",
            )


def _rules(base: str, rules: QueueRules) -> Iterator[Problem]:
    for key, least, zh, en in _RULE_MINIMA:
        value = getattr(rules, key)
        if value < least:
            yield Problem(
                f"{base}.{key}",
                f"{zh}须为 {least} 或以上，现为 {value}",
                f"{en} must be {least} or more; it is {value}",
            )
    for name, minutes in rules.priority_minutes.items():
        where = f"{base}.priority_minutes.{name}"
        if name not in _CLASSES:
            yield Problem(
                where,
                f"“{name}”不是优先类别；可选的类别有 {'、'.join(f'{c}（{_CLASSES_ZH.get(c, c)}）' for c in _CLASSES)}",
                f'"{name}" is not a priority class (one of: {", ".join(_CLASSES)})',
            )
        elif minutes < 0:
            yield Problem(
                where,
                f"优先类别 {name}（{_CLASSES_ZH.get(name, name)}）的提前分钟数不能为负数，现为 {minutes}",
                f"The head start of class {name} cannot be negative; it is {minutes} minutes",
            )


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _stop_issuing(base: str, site: Site) -> Iterator[Problem]:
    """Self-service issuing stops ``stop_issuing_minutes`` before closing: every period must keep some time."""
    margin = site.rules.stop_issuing_minutes
    if margin <= 0:
        return
    labelled = [(*_WEEKDAYS[day], periods) for day, periods in sorted(site.hours.items()) if day in _WEEKDAYS]
    labelled.append(("调休上班日", "make-up day", site.makeup_day_hours))
    for day_zh, day_en, periods in labelled:
        for period in periods:
            if period.start < period.end and _minutes(period.end) - _minutes(period.start) <= margin:
                yield Problem(
                    f"{base}.rules.stop_issuing_minutes",
                    f"闭厅前 {margin} 分钟停止自助取号，{day_zh} {_shown(period)} 时段就无法自助取号了",
                    f"{margin} minutes leave no self-service issuing in the {day_en} period {_shown(period)}",
                )
                return

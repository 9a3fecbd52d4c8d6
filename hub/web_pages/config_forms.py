"""The configuration pages' forms, read strictly: a form's fields become an edit of the district (``District ->
District``, for ``hub.configuration.Configuration.change``) and the problems of its fields.

Reading never fails with anything but ``Malformed`` (the form is not one these pages drew: a field missing, repeated,
unknown, not text, or far too long; the page answers 400). Every value a person types that cannot be read (not a
number, out of range, a time or a date in a shape it cannot be) is a ``Problem`` with a dotted ``field`` path in the
engine's style (``engine.district_check``), in Chinese and English, and the value as it was is kept in the edit, so
the engine's own checks of the edited district can be shown alongside. ``Parsed.locate`` tells which form field a
problem's path belongs beside (the engine's and the form's own alike); ``placed`` sorts problems by it.

The value helpers (``grid_values``, ...) give the fields of a form as the district has them now: the page draws them,
and after a refused save draws the fields as they were typed instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import msgspec

from engine.district import District, HolidayCalendar, Material, Matter, Period, Site, Tier, Window
from engine.district_check import Problem
from engine.district_check import problems as district_problems
from hub.configuration import REASON_LENGTH, digest

Edit = Callable[[District], District]
Locate = Callable[[str], str | None]

CSRF, BASE, REASON = "csrf", "base", "reason"
MAX_FIELDS = 1000
MAX_VALUE = 10_000
"""Longest value of any field, in characters (the holidays of several years fit); longer is ``Malformed``."""
WEIGHTS = range(1, 10)
"""What a cell of the window-matter grid may hold (blank: the window does not serve the matter)."""
ZONE_MAX = 40
NOTICE_MAX = 80
"""Longest board notice: one line along the bottom of every board of the site."""
TARGET_WAIT_MAX = 480
PERIODS_MAX = 4
EMPTY_MATERIALS = 3
"""Empty rows a matter's form offers for new materials (more: save, and the form offers three again)."""
LINES_MAX = 400
RANGE_DAYS_MAX = 62
"""Longest run of holidays one line of the calendar may give."""
NEW = "_new"
"""The grid's row for a window to add (a real window id never starts with ``_``)."""
WINDOW_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_ENGINE = MAX_VALUE
"""The length limit of a text the engine checks itself (names, addresses): its words say how long it may be."""
_NAMES = (("name_zh", ("中文名称", "Chinese name")), ("name_en", ("英文名称", "English name")))
WEEKDAYS = {1: ("周一", "Monday"), 2: ("周二", "Tuesday"), 3: ("周三", "Wednesday"), 4: ("周四", "Thursday"),
            5: ("周五", "Friday"), 6: ("周六", "Saturday"), 7: ("周日", "Sunday")}  # fmt: skip

_WEIGHT = re.compile(f"[{min(WEIGHTS)}-{max(WEIGHTS)}]")
_NUMBER = re.compile(r"[0-9]{1,7}")
_INTEGER = re.compile(r"-?[0-9]{1,7}")
_DECIMAL = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,10})?")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_PERIOD_SPLIT = re.compile(r"\s*[,;、]\s*")
_PERIOD = re.compile(r"(\S+?)\s*(?:-|~|–|—|至|到)\s*(\S+)")
_DATE = r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})"
_DAY_LINE = re.compile(rf"{_DATE}(?:\s*(?:~|–|—|至|到|\sto\s|\s-\s)\s*{_DATE})?", re.IGNORECASE)
_NUMBERS_SPLIT = re.compile(r"[\s,;、]+")


class Malformed(ValueError):
    """The form is not one of these pages' forms: answered 400 ``malformed``, nothing done."""


@dataclass(frozen=True)
class Parsed:
    subject: str
    """What the form edits, as ``Configuration.change`` names it (``site:<id>``, ``matter:<code>``, ``calendar``)."""
    base: str
    """The digest of that part as the form showed it."""
    reason: str
    edit: Edit
    problems: list[Problem]
    """The form's own problems: the edit is not to be saved while there are any."""
    locate: Locate


def fields_of(pairs: Iterable[tuple[str, object]]) -> dict[str, str]:
    """A submitted form as one text value per name (``MultiDict.items()``), or ``Malformed``."""
    fields: dict[str, str] = {}
    for name, value in pairs:
        if not isinstance(value, str):
            raise Malformed(f"the field {name[:40]!r} is not text")
        if name in fields:
            raise Malformed(f"the field {name[:40]!r} is given twice")
        if len(fields) >= MAX_FIELDS or len(name) > 200 or len(value) > MAX_VALUE:
            raise Malformed("the form is far too large")
        fields[name] = value
    return fields


def placed(problems: Iterable[Problem], locate: Locate) -> dict[str, Any]:
    """Problems as a page shows them: ``at`` (form field -> its problems) and ``general`` (those of no field)."""
    at: dict[str, list[dict[str, str]]] = {}
    general: list[dict[str, str]] = []
    for problem in problems:
        shown = {"field": problem.field, "zh": problem.zh, "en": problem.en}
        where = locate(problem.field)
        if where is None:
            general.append(shown)
        else:
            at.setdefault(where, []).append(shown)
    return {"at": at, "general": general}


def nothing_placed() -> dict[str, Any]:
    return placed((), lambda _path: None)


def all_problems(parsed: Parsed, district: District) -> list[Problem]:
    """The form's own problems and the engine's problems of its edit (each value that could not be read kept as
    it was), in one list: everything to fix at once. A field the form already faults is not faulted twice."""
    faulted = {problem.field for problem in parsed.problems}
    found = district_problems(parsed.edit(district))
    return [*parsed.problems, *(problem for problem in found if problem.field not in faulted)]


def base_of(fields: Mapping[str, str]) -> str:
    """The digest of the part the form showed (its hidden ``base`` field)."""
    base = fields.get(BASE)
    if base is None:
        raise Malformed("the form has no base")
    return base


# --- reading fields -----------------------------------------------------------------------------------------


def quoted(raw: str) -> str:
    """A value as typed, cut to 24 characters, for a problem to quote."""
    return raw if len(raw) <= 24 else raw[:24] + "…"


def _unprintable(value: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cs", "Co", "Zl", "Zp") for char in value)


class Form:
    """One form's fields as they are read: each known name read once (a missing one is ``Malformed``; ``finish``
    refuses the names nobody read), each value a person typed checked, its problems kept."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._fields = fields
        self._read = {CSRF, BASE, REASON}
        self.problems: list[Problem] = []

    def problem(self, where: str, zh: str, en: str) -> None:
        self.problems.append(Problem(where, zh, en))

    def raw(self, name: str, *, required: bool = True) -> str:
        self._read.add(name)
        value = self._fields.get(name)
        if value is None:
            if required:
                raise Malformed(f"the field {name!r} is missing")
            return ""
        return value

    def ticked(self, name: str) -> bool:
        """A checkbox: sent when ticked, left out when not."""
        self._read.add(name)
        return name in self._fields

    def text(self, name: str, where: str, what: tuple[str, str], longest: int, *, required: bool = True) -> str:
        """Stripped; at most ``longest`` characters; no control characters. Emptiness is the engine's to judge."""
        value = self.raw(name, required=required).strip()
        if _unprintable(value):
            self.problem(where, f"{what[0]}含有无法显示的字符（如换行或控制字符）",
                         f"The {what[1]} has characters that cannot be shown (such as line breaks)")  # fmt: skip
        elif len(value) > longest:
            self.problem(where, f"{what[0]}过长：{len(value)} 个字符，最多 {longest} 个",
                         f"The {what[1]} is too long: {len(value)} characters, at most {longest}")  # fmt: skip
        return value

    def number_text(self, name: str, *, required: bool = True) -> str:
        """As typed, with full-width digits and signs made plain (a Chinese input method types ２ for 2)."""
        return unicodedata.normalize("NFKC", self.raw(name, required=required)).strip()

    def integer(
        self, name: str, where: str, what: tuple[str, str], *, blank: int | None = None,
        within: tuple[int, int] | None = None, required: bool = True,
    ) -> int | None:  # fmt: skip
        """A whole number (``blank`` when left empty, if that is allowed); None, with a problem, when unreadable or
        outside ``within`` (ranges the engine checks are left to its words)."""
        raw = self.number_text(name, required=required)
        if not raw:
            if blank is None:
                self.problem(where, f"请填写{what[0]}", f"Please fill in the {what[1]}")
            return blank
        if not _INTEGER.fullmatch(raw):
            self.problem(where, f"{what[0]}须为整数，现为“{quoted(raw)}”",
                         f'The {what[1]} must be a whole number; it is "{quoted(raw)}"')  # fmt: skip
            return None
        value = int(raw)
        if within is not None and not within[0] <= value <= within[1]:
            least, most = within
            self.problem(where, f"{what[0]}须在 {least} 至 {most} 之间，现为 {value}",
                         f"The {what[1]} must be between {least} and {most}; it is {value}")  # fmt: skip
            return None
        return value

    def decimal(self, name: str, where: str, what: tuple[str, str]) -> float | None:
        raw = self.number_text(name)
        if not _DECIMAL.fullmatch(raw):
            self.problem(where, f"{what[0]}须为数字（如 34.2312），现为“{quoted(raw)}”",
                         f'The {what[1]} must be a number (such as 34.2312); it is "{quoted(raw)}"')  # fmt: skip
            return None
        return float(raw)

    def reason(self) -> str:
        return self.text(REASON, REASON, ("修改原因", "reason"), REASON_LENGTH, required=False)

    def finish(self) -> None:
        unknown = sorted(set(self._fields) - self._read)
        if unknown:
            raise Malformed(f"fields this form does not have: {', '.join(name[:40] for name in unknown[:3])}")


def with_site(district: District, site: Site) -> District:
    """The district with ``site`` in place of the site of its id."""
    return msgspec.structs.replace(district, sites=tuple(site if s.id == site.id else s for s in district.sites))


def known_site(district: District, site_id: str) -> Site:
    """The district's site of that id; a form for a site there is not is ``Malformed``."""
    site = district.site(site_id)
    if site is None:
        raise Malformed(f"no site {site_id!r}")
    return site


def under(field_path: str, prefix: str) -> str | None:
    """What follows ``prefix.`` in a dotted path ("" for the prefix itself), or None if it is not under it."""
    if field_path == prefix:
        return ""
    if field_path.startswith(prefix + "."):
        return field_path[len(prefix) + 1 :]
    return None


# --- the window-matter grid ---------------------------------------------------------------------------------


def grid_values(site: Site) -> dict[str, str]:
    """The grid's fields: ``w.<window>.<code>`` (a weight, blank: not served), ``zone.<window>``, and the empty row
    of a window to add (``new.id``, ``new.number``, ``new.name_zh``, ``new.name_en``, ``zone._new``,
    ``w._new.<code>``)."""
    values = {"new.id": "", "new.number": "", "new.name_zh": "", "new.name_en": "", f"zone.{NEW}": ""}
    for window in site.windows:
        values[f"zone.{window.id}"] = window.zone
        for code in site.matters:
            values[f"w.{window.id}.{code}"] = str(window.weights[code]) if code in window.weights else ""
    values |= {f"w.{NEW}.{code}": "" for code in site.matters}
    return values


def _weights(
    form: Form, site: Site, row: str, where: str, label: tuple[str, str], *, kept: Mapping[str, int]
) -> dict[str, int]:
    """A row of the grid: each cell 1-9 or blank; a cell that cannot be read keeps its weight of ``kept``. The
    matters keep their order in ``kept``, new ones follow in the site's order."""
    weights = {}
    for code in [
        *(code for code in kept if code in site.matters),
        *(code for code in site.matters if code not in kept),
    ]:
        raw = form.number_text(f"w.{row}.{code}")
        if _WEIGHT.fullmatch(raw):
            weights[code] = int(raw)
        elif raw:
            form.problem(
                f"{where}.weights.{code}",
                f"{label[0]}对 {code} 的权重须为 1 至 9 的整数（留空表示不办理），现为“{quoted(raw)}”",
                f"{label[1]}: the weight of {code} must be a whole number from 1 to 9 (blank: not served); "
                f'it is "{quoted(raw)}"',
            )
            if code in kept:
                weights[code] = kept[code]
    return weights


def _new_window(form: Form, site: Site) -> Window | None:
    """The grid's last row, when anything of it is filled in: a window to add."""
    where = f"sites.{site.id}.windows.{NEW}"
    mark = len(form.problems)
    window_id = form.text("new.id", f"{where}.id", ("窗口代码", "window id"), _ENGINE)
    number_raw = form.number_text("new.number")
    zone = form.text(f"zone.{NEW}", f"{where}.zone", ("分区", "zone"), ZONE_MAX)
    names = [form.text(f"new.{key}", f"{where}.{key}", what, _ENGINE) for key, what in _NAMES]
    weights = _weights(form, site, NEW, where, ("新窗口", "New window"), kept={})
    if not (window_id or number_raw or zone or any(names) or weights) and len(form.problems) == mark:
        return None
    taken = {window.id: window.number for window in site.windows}
    if not window_id:
        form.problem(f"{where}.id", "请填写新窗口的代码（如 w13）", "Please give the new window an id (such as w13)")
    elif not WINDOW_ID.fullmatch(window_id):
        form.problem(f"{where}.id",
                     "窗口代码只能由小写字母、数字、- 和 _ 组成，以字母或数字开头，最多 32 个字符（如 w13）",
                     "A window id may use only lower-case letters, digits, - and _, starting with a letter or digit, "
                     "at most 32 characters (such as w13)")  # fmt: skip
    elif window_id in taken:
        form.problem(f"{where}.id", f"窗口代码“{window_id}”已被 {taken[window_id]} 号窗口使用",
                     f'The id "{window_id}" is already window {taken[window_id]}\'s')  # fmt: skip
    number = form.integer("new.number", f"{where}.number", ("新窗口的窗口号", "new window's number"))
    if number is None or len(form.problems) > mark:
        return None
    return Window(id=window_id, number=number, name_zh=names[0] or f"{number}号窗口",
                  name_en=names[1] or f"Window {number}", weights=weights, zone=zone)  # fmt: skip


def parse_grid(fields: Mapping[str, str], district: District, site_id: str) -> Parsed:
    site = known_site(district, site_id)
    form = Form(fields)
    rows: dict[str, tuple[dict[str, int], str]] = {}
    removed: set[str] = set()
    for window in site.windows:
        where = f"sites.{site.id}.windows.{window.id}"
        label = (f"{window.number} 号窗口", f"Window {window.number}")
        weights = _weights(form, site, window.id, where, label, kept=window.weights)
        zone = form.text(f"zone.{window.id}", f"{where}.zone", ("分区", "zone"), ZONE_MAX)
        rows[window.id] = (weights, zone)
        if form.ticked(f"remove.{window.id}"):
            removed.add(window.id)
    new = _new_window(form, site)
    reason = form.reason()
    form.finish()

    def edit(before: District) -> District:
        current = before.site(site_id)
        if current is None:
            return before
        windows = [
            msgspec.structs.replace(window, weights=rows[window.id][0], zone=rows[window.id][1])
            if window.id in rows else window
            for window in current.windows
            if window.id not in removed
        ]  # fmt: skip
        if new is not None:
            windows.append(new)
        return with_site(before, msgspec.structs.replace(current, windows=tuple(windows)))

    ids = [window.id for window in site.windows]
    new_id = new.id if new is not None else None

    def locate(path: str) -> str | None:
        matter = under(path, f"sites.{site.id}.matters")
        if matter:
            return f"col.{matter}" if matter in site.matters else None
        for window_id in [*ids, NEW, *([new_id] if new_id else [])]:
            rest = under(path, f"sites.{site.id}.windows.{window_id}")
            if rest is None:
                continue
            row = NEW if window_id == new_id else window_id
            code = under(rest, "weights")
            if code and code in site.matters:
                return f"w.{row}.{code}"
            if rest == "zone":
                return f"zone.{row}"
            if row == NEW and rest in ("id", "number", "name_zh", "name_en"):
                return f"new.{rest}"
            return f"row.{row}"
        return "reason" if path == REASON else None

    return Parsed(f"site:{site.id}", base_of(fields), reason, edit, form.problems, locate)


# --- a site's settings --------------------------------------------------------------------------------------


def periods_text(periods: Iterable[Period]) -> str:
    return ", ".join(f"{p.start:%H:%M}-{p.end:%H:%M}" for p in periods)


def settings_values(site: Site, district: District) -> dict[str, str]:
    """The settings' fields: names, addresses, coordinates, tier, ``hours.<1..7>``, ``makeup_hours``,
    ``enable.<code>`` / ``limit.<code>`` / ``serve.<code>`` per catalogue matter, ``window.<id>.<number|name_zh|
    name_en>``, ``target_wait`` and ``notice``."""
    values = {key: getattr(site, key) for key in ("name_zh", "name_en", "address_zh", "address_en", "notice")}
    values |= {"latitude": repr(site.latitude), "longitude": repr(site.longitude), "tier": site.tier.value,
               "makeup_hours": periods_text(site.makeup_day_hours),
               "target_wait": str(site.rules.target_wait_minutes)}  # fmt: skip
    values |= {f"hours.{day}": periods_text(site.hours.get(day, ())) for day in WEEKDAYS}
    for matter in district.catalogue:
        code = matter.code
        if code in site.matters:
            values[f"enable.{code}"] = "on"
            values[f"limit.{code}"] = str(site.matters[code] or "")
        else:
            values[f"limit.{code}"] = values[f"serve.{code}"] = ""
    for window in site.windows:
        values |= {f"window.{window.id}.number": str(window.number), f"window.{window.id}.name_zh": window.name_zh,
                   f"window.{window.id}.name_en": window.name_en}  # fmt: skip
    return values


def _clock_time(form: Form, raw: str, where: str, day: tuple[str, str]) -> time | None:
    found = _TIME.fullmatch(raw)
    if found and int(found[1]) < 24 and int(found[2]) < 60:
        return time(int(found[1]), int(found[2]))
    form.problem(where, f"{day[0]}：“{quoted(raw)}”不是时间，请写成 08:30 这样（00:00 至 23:59）",
                 f'{day[1]}: "{quoted(raw)}" is not a time; write it as 08:30 (00:00 to 23:59)')  # fmt: skip
    return None


def _periods(form: Form, name: str, where: str, day: tuple[str, str]) -> tuple[Period, ...] | None:
    """``08:30-12:00, 13:30-17:30``: periods in order, a comma between them; blank: closed. None: unreadable."""
    raw = form.number_text(name)
    if not raw:
        return ()
    parts = _PERIOD_SPLIT.split(raw)
    if len(parts) > PERIODS_MAX:
        form.problem(where, f"{day[0]}最多 {PERIODS_MAX} 个时段", f"{day[1]}: at most {PERIODS_MAX} periods")
        return None
    periods = []
    for part in parts:
        found = _PERIOD.fullmatch(part)
        if found is None:
            form.problem(where, f"{day[0]}：无法识别“{quoted(part)}”，请写成 08:30-12:00，两个时段之间用逗号分开",
                         f'{day[1]}: cannot read "{quoted(part)}"; write 08:30-12:00, with a comma between two '
                         "periods")  # fmt: skip
            return None
        start, end = (_clock_time(form, found[group], where, day) for group in (1, 2))
        if start is None or end is None:
            return None
        periods.append(Period(start, end))
    return tuple(periods)


def _window_numbers(form: Form, name: str, where: str, numbers: Mapping[int, str]) -> list[str]:
    """Window numbers typed as ``1, 2, 5``, as the ids of those windows."""
    found = []
    for part in _NUMBERS_SPLIT.split(form.number_text(name, required=False)):
        if not part:
            continue
        if _NUMBER.fullmatch(part) and int(part) in numbers:
            found.append(numbers[int(part)])
        else:
            form.problem(where, f"本站点没有 {quoted(part)} 号窗口（请填窗口号，如 1, 2）",
                         f"This site has no window {quoted(part)} (give window numbers, such as 1, 2)")  # fmt: skip
    return found


_SITE_TEXTS = (*_NAMES, ("address_zh", ("中文地址", "Chinese address")),
               ("address_en", ("英文地址", "English address")))  # fmt: skip
_SITE_FIELDS = ("name_zh", "name_en", "address_zh", "address_en", "latitude", "longitude", "tier", "notice")


def _tier(form: Form, site: Site, *, may_set: bool) -> Tier:
    if not may_set:
        return site.tier
    typed = form.raw("tier")
    if typed in {each.value for each in Tier}:
        return Tier(typed)
    form.problem(f"sites.{site.id}.tier", "请选择站点层级", "Please choose the site's tier")
    return site.tier


def _week(form: Form, site: Site) -> dict[int, tuple[Period, ...]]:
    """The weekly hours; a weekday that cannot be read keeps its hours."""
    hours = {}
    for day, names in WEEKDAYS.items():
        found = _periods(form, f"hours.{day}", f"sites.{site.id}.hours.{day}", names)
        found = site.hours.get(day, ()) if found is None else found
        if found:
            hours[day] = found
    return hours


def _site_windows(form: Form, site: Site) -> dict[str, tuple[int, str, str]]:
    """Each window's number and names, by its id (a number that cannot be read stays as it was)."""
    windows = {}
    for window in site.windows:
        where = f"sites.{site.id}.windows.{window.id}"
        number = form.integer(f"window.{window.id}.number", f"{where}.number", ("窗口号", "window number"))
        name_zh, name_en = (form.text(f"window.{window.id}.{key}", f"{where}.{key}", (f"窗口{zh}", f"window's {en}"),
                                      _ENGINE) for key, (zh, en) in _NAMES)  # fmt: skip
        windows[window.id] = (window.number if number is None else number, name_zh, name_en)
    return windows


def _offered(
    form: Form, site: Site, district: District, numbers: Mapping[int, str]
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """The matters the site is to offer with their daily limits here (in the site's order, then the catalogue's),
    and for each it does not offer yet, the windows (by id) to serve it."""
    base = f"sites.{site.id}"
    matters: dict[str, int] = {}
    served: dict[str, list[str]] = {}
    for matter in district.catalogue:
        code, offered = matter.code, matter.code in site.matters
        what = (f"{code} 的每日限额", f"daily limit of {code}")
        limit = form.integer(f"limit.{code}", f"{base}.matters.{code}", what, blank=0, required=offered)
        wanted = form.ticked(f"enable.{code}")
        if not offered:
            served[code] = _window_numbers(form, f"serve.{code}", f"{base}.serve.{code}", numbers)
            if served[code] and not wanted:
                form.problem(f"{base}.serve.{code}", f"要在本站点启用 {code}，请勾选“启用”；不启用请清空窗口号",
                             f"To offer {code} here, tick its box; otherwise leave its windows empty")  # fmt: skip
        if wanted:
            matters[code] = site.matters.get(code, 0) if limit is None else limit
    return {code: matters[code] for code in [*site.matters, *matters] if code in matters}, served


def parse_settings(fields: Mapping[str, str], district: District, site_id: str, *, may_set_tier: bool) -> Parsed:
    """A site's own settings; its windows' numbers and names; which matters it offers, with their daily limits here
    and, for one it starts to offer, the windows that serve it (at weight 1; the grid sets the rest). A matter it
    stops offering is taken off its windows too."""
    site = known_site(district, site_id)
    form = Form(fields)
    base = f"sites.{site.id}"
    texts = {key: form.text(key, f"{base}.{key}", what, _ENGINE) for key, what in _SITE_TEXTS}
    latitude = form.decimal("latitude", f"{base}.latitude", ("纬度", "latitude"))
    longitude = form.decimal("longitude", f"{base}.longitude", ("经度", "longitude"))
    tier = _tier(form, site, may_set=may_set_tier)
    hours = _week(form, site)
    makeup = _periods(form, "makeup_hours", f"{base}.makeup_day_hours", ("调休上班日", "Make-up days"))
    windows = _site_windows(form, site)
    offered_now, served = _offered(form, site, district, {number: key for key, (number, *_) in windows.items()})
    target = form.integer("target_wait", f"{base}.rules.target_wait_minutes", ("目标等候时间（分钟）", "target wait"),
                          within=(1, TARGET_WAIT_MAX))  # fmt: skip
    notice = form.text("notice", f"{base}.notice", ("大厅屏通知", "board notice"), NOTICE_MAX)
    reason = form.reason()
    form.finish()

    def edit(before: District) -> District:
        current = before.site(site_id)
        if current is None:
            return before
        changed = []
        for window in current.windows:
            number, name_zh, name_en = windows.get(window.id, (window.number, window.name_zh, window.name_en))
            weights = {code: weight for code, weight in window.weights.items() if code in offered_now}
            weights |= {code: 1 for code, ids in served.items() if code in offered_now and window.id in ids}
            changed.append(msgspec.structs.replace(window, number=number, name_zh=name_zh, name_en=name_en,
                                                   weights=weights))  # fmt: skip
        rules = msgspec.structs.replace(current.rules, target_wait_minutes=target or current.rules.target_wait_minutes)
        new = msgspec.structs.replace(
            current, **texts, latitude=current.latitude if latitude is None else latitude,
            longitude=current.longitude if longitude is None else longitude, tier=tier, hours=hours,
            makeup_day_hours=current.makeup_day_hours if makeup is None else makeup, matters=offered_now,
            windows=tuple(changed), rules=rules, notice=notice,
        )  # fmt: skip
        return with_site(before, new)

    def locate(path: str) -> str | None:
        rest = under(path, base)
        if not rest:
            return REASON if path == REASON else None
        key, _, more = rest.partition(".")
        if key in _SITE_FIELDS:
            return key
        if key == "hours":
            return f"hours.{more.partition('.')[0]}" if more else "hours"
        if key == "makeup_day_hours":
            return "makeup_hours"
        if key == "rules":  # stop_issuing_minutes is faulted when a period is too short for it: the hours' fault
            return "target_wait" if more == "target_wait_minutes" else "hours"
        if key in ("matters", "serve"):
            return f"{'limit' if key == 'matters' else 'serve'}.{more}" if more else "matters"
        if key == "windows":
            for window_id in windows:
                part = under(more, window_id)
                if part in ("number", "name_zh", "name_en"):
                    return f"window.{window_id}.{part}"
        return None

    return Parsed(f"site:{site.id}", base_of(fields), reason, edit, form.problems, locate)


# --- a matter of the catalogue ------------------------------------------------------------------------------

_MATTER_TEXTS = (*_NAMES, ("category", ("分类", "category")))
_MATERIAL_KEYS = ("name_zh", "name_en", "originals", "copies")


def matter_values(matter: Matter | None) -> dict[str, str]:
    """A matter's fields (``code`` only when adding one), its materials as rows ``material.<n>.<key>`` and
    ``EMPTY_MATERIALS`` empty rows after them (one original, no copy, until a name is typed)."""
    if matter is None:
        values = {"code": "", "name_zh": "", "name_en": "", "category": "", "prefix": "", "daily_limit": "",
                  "appointment_allowed": "on"}  # fmt: skip
        materials: tuple[Material, ...] = ()
    else:
        values = {"name_zh": matter.name_zh, "name_en": matter.name_en, "category": matter.category,
                  "prefix": matter.prefix, "daily_limit": str(matter.daily_limit)}  # fmt: skip
        values |= {key: "on" for key in ("appointment_allowed", "green_channel") if getattr(matter, key)}
        materials = matter.materials
    rows = [*materials, *[Material(name_zh="", name_en="") for _ in range(EMPTY_MATERIALS)]]
    for n, material in enumerate(rows):
        values |= {f"material.{n}.{key}": str(getattr(material, key)) for key in _MATERIAL_KEYS}
        if material.commitment_allowed:
            values[f"material.{n}.commitment_allowed"] = "on"
    return values


def material_rows(values: Mapping[str, str]) -> int:
    """How many material rows a form's fields have (``material.0...`` up to the first one missing)."""
    n = 0
    while f"material.{n}.name_zh" in values:
        n += 1
    return n


def parse_matter(fields: Mapping[str, str], district: District, code: str | None) -> Parsed:
    """A matter's form: the catalogue's matter ``code``, or (``code`` None) one to add. Material rows with no name
    (the empty rows) and those ticked for removal are left out."""
    form = Form(fields)
    adding = code is None
    if code is None:
        code = form.text("code", "catalogue.code", ("事项代码", "code"), 40)
        taken = district.matter(code)
        if taken is not None:
            form.problem(f"catalogue.{code}.code", f"事项代码 {code} 已被“{taken.name_zh}”使用",
                         f'The code {code} is already "{taken.name_en}"\'s')  # fmt: skip
    old = district.matter(code)
    if old is None and not adding:
        raise Malformed(f"no matter {code!r}")
    base = f"catalogue.{code}"
    texts = {key: form.text(key, f"{base}.{key}", what, _ENGINE) for key, what in _MATTER_TEXTS}
    prefix = unicodedata.normalize("NFKC", form.text("prefix", f"{base}.prefix", ("号码字头", "prefix"), 2)).upper()
    limit = form.integer("daily_limit", f"{base}.daily_limit", ("每日限额", "daily limit"))
    appointment, green = form.ticked("appointment_allowed"), form.ticked("green_channel")
    materials: list[Material] = []
    rows: list[int] = []  # the form row of each material kept
    for n in range(material_rows(fields)):
        where, mark = f"{base}.materials.{len(materials)}", len(form.problems)
        names = [form.text(f"material.{n}.{key}", f"{where}.{key}", (f"材料{zh}", f"material's {en}"), _ENGINE)
                 for key, (zh, en) in _NAMES]  # fmt: skip
        counts = [form.integer(f"material.{n}.{key}", f"{where}.{key}", what, blank=0)
                  for key, what in (("originals", ("原件份数", "number of originals")),
                                    ("copies", ("复印件份数", "number of copies")))]  # fmt: skip
        if form.ticked(f"material.{n}.remove") or not any(names):
            del form.problems[mark:]
            continue
        materials.append(Material(
            name_zh=names[0], name_en=names[1], originals=counts[0] or 0, copies=counts[1] or 0,
            commitment_allowed=form.ticked(f"material.{n}.commitment_allowed"),
        ))  # fmt: skip
        rows.append(n)
    reason = form.reason()
    form.finish()
    kept_limit = old.daily_limit if old is not None else 0
    matter = Matter(
        code=code, **texts, prefix=prefix, daily_limit=kept_limit if limit is None else limit,
        materials=tuple(materials), appointment_allowed=appointment, green_channel=green,
    )  # fmt: skip

    def edit(before: District) -> District:
        if adding:
            return msgspec.structs.replace(before, catalogue=(*before.catalogue, matter))
        catalogue = tuple(matter if m.code == code else m for m in before.catalogue)
        return msgspec.structs.replace(before, catalogue=catalogue)

    def locate(path: str) -> str | None:
        if path in (REASON, "catalogue.code"):
            return path.removeprefix("catalogue.")
        rest = under(path, base)
        if not rest:
            return None
        key, _, more = rest.partition(".")
        if key != "materials":
            return key if key in ("code", "prefix", "daily_limit", *(k for k, _ in _MATTER_TEXTS)) else None
        index, _, part = more.partition(".")
        if not _NUMBER.fullmatch(index) or int(index) >= len(rows):
            return None
        return f"material.{rows[int(index)]}" + (f".{part}" if part in _MATERIAL_KEYS else "")

    subject = f"matter:{code}"
    given = digest(district, subject) if adding else base_of(fields)
    return Parsed(subject, given, reason, edit, form.problems, locate)


# --- the holiday calendar -----------------------------------------------------------------------------------


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def calendar_values(calendar: HolidayCalendar, *, english: bool) -> dict[str, str]:
    """``holidays``: one run of days off a line (``2026-10-01 至 2026-10-08``); ``makeup``: one date a line."""
    between = " to " if english else " 至 "
    lines = [first.isoformat() if first == last else f"{first.isoformat()}{between}{last.isoformat()}"
             for first, last in _runs(calendar.holidays)]  # fmt: skip
    makeup = "\n".join(day.isoformat() for day in sorted(calendar.makeup_workdays))
    return {"holidays": "\n".join(lines), "makeup": makeup}


def _day(form: Form, where: str, parts: tuple[str, str, str], line: int, text: str) -> date | None:
    try:
        day = date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        shown = quoted(text)
        form.problem(where, f"第 {line} 行：“{shown}”不是有效日期", f'Line {line}: "{shown}" is not a date')
        return None
    return day


def _dates(form: Form, name: str, where: str, *, runs: bool) -> set[date]:
    days: set[date] = set()
    lines = form.number_text(name).splitlines()
    if len(lines) > LINES_MAX:
        form.problem(where, f"最多 {LINES_MAX} 行", f"At most {LINES_MAX} lines")
        return days
    for line, text in enumerate((text.strip() for text in lines), start=1):
        found = _DAY_LINE.fullmatch(text)
        if not text:
            continue
        if found is None or (found[4] is not None and not runs):
            example = "2026-10-01，或 2026-10-01 至 2026-10-08" if runs else "2026-10-10"
            form.problem(where, f"第 {line} 行“{quoted(text)}”无法识别，请写成 {example}",
                         f'Line {line}: cannot read "{quoted(text)}"; write a date such as 2026-10-10'
                         + (" or two dates such as 2026-10-01 to 2026-10-08" if runs else ""))  # fmt: skip
            continue
        first = _day(form, where, (found[1], found[2], found[3]), line, text)
        last = first if found[4] is None else _day(form, where, (found[4], found[5], found[6]), line, text)
        if first is None or last is None:
            continue
        if not timedelta(0) <= last - first < timedelta(days=RANGE_DAYS_MAX):
            form.problem(where, f"第 {line} 行：结束日期须在开始日期当天或之后，且一段最长 {RANGE_DAYS_MAX} 天",
                         f"Line {line}: the last day must be on or after the first, at most {RANGE_DAYS_MAX} days "
                         "later")  # fmt: skip
            continue
        days |= {first + timedelta(days=n) for n in range((last - first).days + 1)}
    return days


def parse_calendar(fields: Mapping[str, str], district: District) -> Parsed:
    form = Form(fields)
    holidays = _dates(form, "holidays", "calendar.holidays", runs=True)
    makeup = _dates(form, "makeup", "calendar.makeup_workdays", runs=False)
    reason = form.reason()
    form.finish()
    calendar = HolidayCalendar(holidays=frozenset(holidays), makeup_workdays=frozenset(makeup))

    def edit(before: District) -> District:
        return msgspec.structs.replace(before, calendar=calendar)

    def locate(path: str) -> str | None:
        if path == REASON:
            return REASON
        if under(path, "calendar.holidays") is not None:
            return "holidays"
        return "makeup" if under(path, "calendar.makeup_workdays") is not None else None

    return Parsed("calendar", base_of(fields), reason, edit, form.problems, locate)

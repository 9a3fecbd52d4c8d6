"""Load a district folder of TOML files into the engine's configuration model, checking every cross-reference.

A district folder holds::

    district.toml         id, names and the ordered list of site ids
    catalogue.toml        [[matters]]: the standard matter catalogue with materials
    calendar.toml         [[holidays]]: official days off and the weekend days worked instead
    sites/<site-id>.toml  one site: address, [[hours]], [matters] with daily limits, [rules], [[windows]],
                          optionally [voice] (how its boards announce) and [appointments] (its booking rules)

Times are written ``"09:00"``, dates ``"2026-10-01"``. Nothing is half-loaded: every problem found in the whole
folder is collected and raised together as one :class:`DistrictFileError`, each naming its file and key, e.g.
``sites/xiaozhai.toml: windows[2].weights.X99: Window 3 handles X99, which is not in the catalogue`` (list indexes
count from 0).

This module reads and converts: files, TOML syntax, tables and arrays, value types, unknown and missing keys, and
the few rules only a folder can break (a site file named after its id and listed in district.toml, a weekday in one
``[[hours]]`` entry only, holidays that do not overlap). What the values mean is checked by
engine/district_check.py, on each part of the folder that could be read; its problems are reported here in English
under the file and key the value came from.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from engine.district import (
    AppointmentPolicy,
    District,
    HolidayCalendar,
    Material,
    Matter,
    Period,
    QueueRules,
    Site,
    Tier,
    VoicePolicy,
    Window,
)
from engine.district_check import Problem, calendar_problems, catalogue_problems, header_problems, site_problems

__all__ = ["SAMPLE_DISTRICT", "DistrictFileError", "load_district"]

SAMPLE_DISTRICT: Path = Path(__file__).resolve().parent.parent / "assets" / "districts" / "yanta"
"""The sample district (Yanta, Xi'an) shipped with the repository."""

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")

S = TypeVar("S", bound=msgspec.Struct)


class DistrictFileError(Exception):
    """A district folder that cannot be loaded. ``problems`` holds every problem as ``file: key: what is wrong``."""

    def __init__(self, folder: Path, problems: Sequence[str]) -> None:
        self.folder = folder
        self.problems = tuple(problems)
        count = f"{len(self.problems)} problem" + ("s" if len(self.problems) != 1 else "")
        super().__init__(f"district folder {folder}: {count}:\n" + "\n".join(f"  {p}" for p in self.problems))


class _DistrictHeader(msgspec.Struct, kw_only=True):
    id: str
    name_zh: str
    name_en: str
    sites: list[str]


class _Holiday(msgspec.Struct, kw_only=True):
    name_zh: str
    name_en: str
    first: date
    last: date
    makeup_workdays: list[date] = msgspec.field(default_factory=list)


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _split(path: str, names: Iterable[str]) -> tuple[str, str]:
    """``path`` as one of ``names`` and what follows it after a dot (ids may hold dots: the longest name that fits)."""
    for name in sorted(names, key=len, reverse=True):
        if path == name:
            return name, ""
        if path.startswith(name + "."):
            return name, path[len(name) + 1 :]
    name, _, rest = path.partition(".")
    return name, rest


def _about_matter(field: str, codes: Iterable[str]) -> bool:
    """Whether a site's problem is about one of ``codes``, as an enabled matter or a window's weight."""
    return any(field.endswith((f".matters.{code}", f".weights.{code}")) for code in codes)


class _SiteKeys:
    """Where a site file holds its values: the ``[[hours]]`` entry of each weekday, the ``[[windows]]`` of each id."""

    def __init__(self) -> None:
        self.days: dict[str, int] = {}
        self.windows: dict[str, int] = {}
        """The index of each window id (the later one where an id is repeated: it is the one reported)."""

    def key(self, tail: str) -> str:
        """The TOML key of a problem's field below ``sites.<id>.``."""
        head, _, rest = tail.partition(".")
        if head == "hours" and rest:
            day, _, period = rest.partition(".")
            if day in self.days:
                return f"hours[{self.days[day]}]" + (f".periods[{period}]" if period else "")
        elif head == "makeup_day_hours" and rest:
            return f"makeup_day_hours[{rest}]"
        elif head == "windows" and rest:
            window_id, more = _split(rest, self.windows)
            if window_id in self.windows:
                return f"windows[{self.windows[window_id]}]" + (f".{more}" if more else "")
        return tail


class _Loader:
    """One pass over a district folder. Problems are collected in ``problems``; parts that fail are left out."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []
        self.known_codes: set[str] = set()
        """Every matter code the catalogue names, even in entries with other problems (no knock-on errors)."""
        self.site_index: dict[str, int] = {}
        """Where each site id is in district.toml's ``sites`` (the later place where an id is repeated)."""
        self.matter_index: dict[str, int] = {}
        """Where each matter code is in catalogue.toml's ``matters`` (the later place where a code is repeated)."""
        self.site_keys: dict[str, _SiteKeys] = {}
        self.workdays: dict[str, str] = {}
        """The key of each make-up working day (``YYYY-MM-DD``) in calendar.toml."""

    def problem(self, file: str, key: str, message: str) -> None:
        line = f"{file}: {key}: {message}" if key else f"{file}: {message}"
        if line not in self.problems:  # a period shared by several weekdays is reported once
            self.problems.append(line)

    def report(self, found: Iterable[Problem]) -> None:
        """The checker's problems, in English, under the file and key each value came from."""
        for problem in found:
            self.problem(*self.place(problem.field), problem.en)

    def place(self, field: str) -> tuple[str, str]:
        """The file and key of a problem's field (the dotted path of ids of engine/district_check.py)."""
        head, _, rest = field.partition(".")
        if head == "catalogue":
            return "catalogue.toml", self.matter_key(rest)
        if head == "calendar":
            return "calendar.toml", self.workdays.get(rest.removeprefix("makeup_workdays."), "holidays")
        if head == "sites" and rest:
            site_id, tail = _split(rest, self.site_index.keys() | self.site_keys.keys())
            if tail in ("", "id") and site_id in self.site_index:
                return "district.toml", f"sites[{self.site_index[site_id]}]"
            keys = self.site_keys.get(site_id)
            return f"sites/{site_id}.toml", keys.key(tail) if keys else tail
        return "district.toml", field

    def matter_key(self, path: str) -> str:
        code, tail = _split(path, self.matter_index)
        if code not in self.matter_index:
            return "matters"
        key = f"matters[{self.matter_index[code]}]"
        head, _, rest = tail.partition(".")
        if head == "materials" and rest:
            number, _, name = rest.partition(".")
            return f"{key}.materials[{number}]" + (f".{name}" if name else "")
        return _join(key, tail)

    # --- reading and converting --------------------------------------------------------------------------------

    def read(self, file: str) -> dict[str, Any] | None:
        path = self.folder / file
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except FileNotFoundError:
            self.problem(file, "", "file not found")
        except UnicodeDecodeError as error:
            self.problem(file, "", f"not UTF-8 text ({error.reason})")
        except tomllib.TOMLDecodeError as error:
            self.problem(file, "", f"not valid TOML: {error}")
        except OSError as error:
            self.problem(file, "", f"cannot be read: {error.strerror or error}")
        return None

    def table(self, file: str, key: str, raw: Any) -> dict[str, Any] | None:
        if isinstance(raw, dict):
            return raw
        self.problem(file, key, f"expected a table, got {type(raw).__name__} {_show(raw)}")
        return None

    def array(self, file: str, key: str, raw: Any, *, required: bool = True) -> list[Any]:
        if raw is None:
            if required:
                self.problem(file, key, "is missing")
            return []
        if isinstance(raw, list):
            return raw
        self.problem(file, key, f"expected an array, got {type(raw).__name__} {_show(raw)}")
        return []

    def convert(self, file: str, key: str, raw: Any, kind: type[S], built: Mapping[str, Any] | None = None) -> S | None:
        """Convert a TOML table to ``kind`` field by field, so that every bad field is reported, not just the first.

        ``built`` gives fields converted (and checked) elsewhere; None there means that field failed, already reported.
        """
        table = self.table(file, key, raw)
        if table is None:
            return None
        built = built or {}
        fields = msgspec.structs.fields(kind)
        names = sorted(field.encode_name for field in fields)
        for unknown in sorted(set(table) - set(names)):
            self.problem(file, _join(key, unknown), f"unknown key (expected one of: {', '.join(names)})")
        values: dict[str, Any] = {}
        ok = True
        for field in fields:
            where = _join(key, field.encode_name)
            if field.name in built:
                value = built[field.name]
                ok = ok and value is not None
                values[field.name] = value
            elif field.encode_name not in table:
                if field.required:
                    self.problem(file, where, "is missing")
                    ok = False
            else:
                try:
                    values[field.name] = msgspec.convert(table[field.encode_name], field.type, str_keys=True)
                except msgspec.ValidationError as error:
                    text, _, path = str(error).partition(" - at `")
                    text = text.replace("`", "")
                    self.problem(file, where + path.rstrip("`").removeprefix("$"), text[:1].lower() + text[1:])
                    ok = False
        return kind(**values) if ok else None

    # --- district.toml ---------------------------------------------------------------------------------------

    def header(self) -> tuple[_DistrictHeader | None, list[str]]:
        """The district's header and the site ids whose files can be read (each once, only well-formed ones)."""
        file = "district.toml"
        raw = self.read(file)
        header = None if raw is None else self.convert(file, "", raw, _DistrictHeader)
        if header is None:
            return None, []
        self.site_index = {site_id: index for index, site_id in enumerate(header.sites)}
        found = header_problems(header.id, header.name_zh, header.name_en, header.sites)
        self.report(found)
        malformed = {problem.field for problem in found}
        return header, [site_id for site_id in dict.fromkeys(header.sites) if f"sites.{site_id}.id" not in malformed]

    # --- catalogue.toml --------------------------------------------------------------------------------------

    def catalogue(self) -> list[Matter]:
        file = "catalogue.toml"
        raw = self.read(file)
        if raw is None:
            return []
        for unknown in sorted(set(raw) - {"matters"}):
            self.problem(file, unknown, "unknown key (expected: matters)")
        entries = self.array(file, "matters", raw.get("matters"))
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("code"), str):
                self.known_codes.add(entry["code"])
        matters = []
        for index, entry in enumerate(entries):
            matter = self.matter(file, f"matters[{index}]", entry)
            if matter is not None:
                matters.append(matter)
                self.matter_index[matter.code] = index
        if isinstance(raw.get("matters"), list) and (matters or not entries):
            self.report(catalogue_problems(matters))
        return matters

    def matter(self, file: str, key: str, raw: Any) -> Matter | None:
        raw = self.table(file, key, raw)
        if raw is None:
            return None
        materials: tuple[Material, ...] | None = ()
        if "materials" in raw:
            found = [
                self.convert(file, f"{key}.materials[{i}]", entry, Material)
                for i, entry in enumerate(self.array(file, f"{key}.materials", raw["materials"]))
            ]
            materials = None if None in found else tuple(m for m in found if m is not None)
        return self.convert(file, key, raw, Matter, {"materials": materials})

    # --- calendar.toml ---------------------------------------------------------------------------------------

    def calendar(self) -> HolidayCalendar | None:
        file = "calendar.toml"
        raw = self.read(file)
        if raw is None:
            return None
        for unknown in sorted(set(raw) - {"holidays"}):
            self.problem(file, unknown, "unknown key (expected: holidays)")
        days_off: dict[date, str] = {}
        workdays: dict[date, str] = {}
        ok = True
        for index, entry in enumerate(self.array(file, "holidays", raw.get("holidays"), required=False)):
            key = f"holidays[{index}]"
            holiday = self.convert(file, key, entry, _Holiday)
            if holiday is None:
                ok = False
            else:
                self.holiday(file, key, holiday, days_off, workdays)
        self.workdays = {day.isoformat(): where for day, where in workdays.items()}
        calendar = HolidayCalendar(holidays=frozenset(days_off), makeup_workdays=frozenset(workdays))
        self.report(calendar_problems(calendar))
        return calendar if ok else None

    def holiday(
        self, file: str, key: str, holiday: _Holiday, days_off: dict[date, str], workdays: dict[date, str]
    ) -> None:
        """Check one holiday against those before it and add its days to ``days_off`` and ``workdays``."""
        if holiday.last < holiday.first:
            self.problem(file, f"{key}.last", f"{holiday.last} is before first {holiday.first}")
        clash = None
        day = holiday.first
        while day <= holiday.last:
            if day in days_off and clash is None:
                clash = day
            days_off.setdefault(day, key)
            day += timedelta(days=1)
        if clash is not None:
            self.problem(file, key, f"{clash} is already a day off in {days_off[clash]}")
        for index, workday in enumerate(holiday.makeup_workdays):
            where = f"{key}.makeup_workdays[{index}]"
            if workday in workdays:
                self.problem(file, where, f"{workday} is already a make-up working day in {workdays[workday]}")
            workdays.setdefault(workday, where)

    # --- sites/<id>.toml -------------------------------------------------------------------------------------

    def site(self, site_id: str, catalogue: Sequence[Matter], broken: set[str]) -> Site | None:
        """One site file, checked against the catalogue; ``broken``: codes whose catalogue entry failed (reported)."""
        file = f"sites/{site_id}.toml"
        raw = self.read(file)
        if raw is None:
            return None
        keys = self.site_keys[site_id] = _SiteKeys()
        built: dict[str, Any] = {
            "hours": self.hours(file, raw.get("hours"), keys),
            "makeup_day_hours": self.periods(file, "makeup_day_hours", raw.get("makeup_day_hours", [])),
            "windows": self.windows(file, raw.get("windows"), keys),
            "rules": self.convert(file, "rules", raw.get("rules", {}), QueueRules),
        }
        for key, policy in (("voice", VoicePolicy), ("appointments", AppointmentPolicy)):
            if key in raw:  # optional tables: absent, the boards' own settings / the hub's defaults
                built[key] = self.convert(file, key, raw[key], policy)
        if "id" in raw and raw["id"] != site_id:
            self.problem(file, "id", f"{_show(raw['id'])} does not match the file name {_show(site_id)}")
            built["id"] = site_id
        tier = raw.get("tier")
        if isinstance(tier, str) and tier not in {t.value for t in Tier}:
            self.problem(file, "tier", f"{_show(tier)} is not one of: {', '.join(t.value for t in Tier)}")
            built["tier"] = None
        site = self.convert(file, "", raw, Site, built)
        if site is not None:
            self.report(p for p in site_problems(site, catalogue) if not _about_matter(p.field, broken))
        return site

    def clock(self, file: str, key: str, value: Any) -> time | None:
        if isinstance(value, time):
            return value
        if isinstance(value, str) and (match := _TIME.fullmatch(value)):
            return time(int(match.group(1)), int(match.group(2)))
        self.problem(file, key, f'{_show(value)} is not a time of day like "09:00"')
        return None

    def periods(self, file: str, key: str, raw: Any) -> tuple[Period, ...] | None:
        entries = self.array(file, key, raw)
        if not isinstance(raw, list):
            return None
        periods: list[Period] = []
        ok = True
        for index, pair in enumerate(entries):
            where = f"{key}[{index}]"
            if not (isinstance(pair, list) and len(pair) == 2):
                self.problem(file, where, f'expected ["start", "end"] like ["09:00", "12:00"], got {_show(pair)}')
                ok = False
                continue
            start, end = self.clock(file, where, pair[0]), self.clock(file, where, pair[1])
            if start is None or end is None:
                ok = False
            else:
                periods.append(Period(start, end))
        return tuple(periods) if ok else None

    def hours(self, file: str, raw: Any, keys: _SiteKeys) -> dict[int, tuple[Period, ...]] | None:
        """The ``[[hours]]`` entries by weekday, noting in ``keys`` which entry holds each weekday."""
        entries = self.array(file, "hours", raw)
        if not isinstance(raw, list):
            return None
        hours: dict[int, tuple[Period, ...]] = {}
        ok = True
        for index, entry in enumerate(entries):
            key = f"hours[{index}]"
            table = self.table(file, key, entry)
            if table is None:
                ok = False
                continue
            for unknown in sorted(set(table) - {"days", "periods"}):
                self.problem(file, _join(key, unknown), "unknown key (expected one of: days, periods)")
            periods = self.periods(file, f"{key}.periods", table.get("periods"))
            days = self.array(file, f"{key}.days", table.get("days"))
            if table.get("days") == []:
                self.problem(file, f"{key}.days", "names no weekday")
            for day in days:
                if not _is_int(day):
                    self.problem(
                        file, f"{key}.days", f"expected a weekday number, got {type(day).__name__} {_show(day)}"
                    )
                    ok = False
                elif str(day) in keys.days:
                    self.problem(
                        file, f"{key}.days", f"weekday {day} already has hours in hours[{keys.days[str(day)]}]"
                    )
                    ok = False
                else:
                    keys.days[str(day)] = index
                    if periods is not None:
                        hours[day] = periods
            ok = ok and periods is not None and bool(days)
        return hours if ok else None

    def windows(self, file: str, raw: Any, keys: _SiteKeys) -> tuple[Window, ...] | None:
        """The ``[[windows]]`` entries, noting in ``keys`` where each window id is."""
        entries = self.array(file, "windows", raw)
        if not isinstance(raw, list):
            return None
        windows: list[Window] = []
        ok = True
        for index, entry in enumerate(entries):
            window = self.convert(file, f"windows[{index}]", entry, Window)
            if window is None:
                ok = False
            else:
                keys.windows[window.id] = index
                windows.append(window)
        return tuple(windows) if ok else None

    # --- the whole folder ------------------------------------------------------------------------------------

    def load(self) -> District | None:
        if not self.folder.is_dir():
            self.problem(str(self.folder), "", "is not a folder")
            return None
        header, listed = self.header()
        matters = self.catalogue()
        calendar = self.calendar()
        files = sorted(path.stem for path in (self.folder / "sites").glob("*.toml"))
        if header is not None:
            for stray in sorted(set(files) - set(header.sites)):
                self.problem(f"sites/{stray}.toml", "", 'not listed in district.toml "sites"')
        broken = self.known_codes - {matter.code for matter in matters}
        sites = [self.site(site_id, matters, broken) for site_id in (listed if header is not None else files)]
        if self.problems or header is None or calendar is None:
            return None
        return District(
            id=header.id,
            name_zh=header.name_zh,
            name_en=header.name_en,
            catalogue=tuple(matters),
            sites=tuple(site for site in sites if site is not None),
            calendar=calendar,
        )


def load_district(path: Path) -> District:
    """Load and check a district folder; raise :class:`DistrictFileError` listing every problem found."""
    folder = Path(path)
    loader = _Loader(folder)
    district = loader.load()
    if district is None:
        raise DistrictFileError(folder, loader.problems or ["the district could not be loaded"])
    return district

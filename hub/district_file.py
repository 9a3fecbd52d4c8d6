"""Load a district folder of TOML files into the engine's configuration model, checking every cross-reference.

A district folder holds::

    district.toml         id, names and the ordered list of site ids
    catalogue.toml        [[matters]]: the standard matter catalogue with materials
    calendar.toml         [[holidays]]: official days off and the weekend days worked instead
    sites/<site-id>.toml  one site: address, [[hours]], [matters] with daily limits, [rules], [[windows]]

Times are written ``"09:00"``, dates ``"2026-10-01"``. Nothing is half-loaded: every problem found in the whole
folder is collected and raised together as one :class:`DistrictFileError`, each naming its file and key, e.g.
``sites/xiaozhai.toml: windows[2].weights: matter "X99" is not in the catalogue`` (list indexes count from 0).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from engine.commands import Priority
from engine.district import District, HolidayCalendar, Material, Matter, Period, QueueRules, Site, Tier, Window

__all__ = ["SAMPLE_DISTRICT", "DistrictFileError", "load_district"]

SAMPLE_DISTRICT: Path = Path(__file__).resolve().parent.parent / "assets" / "districts" / "yanta"
"""The sample district (Yanta, Xi'an) shipped with the repository."""

MAX_SERIAL = 999
"""Numbers one prefix can give out a day (A001 ... A999), as the engine numbers tickets."""

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_PREFIX = re.compile(r"[A-Z]{1,2}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")

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


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Loader:
    """One pass over a district folder. Problems are collected in ``problems``; parts that fail are left out."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []
        self.known_codes: set[str] = set()
        """Every matter code the catalogue names, even in entries with other problems (no knock-on errors)."""

    def problem(self, file: str, key: str, message: str) -> None:
        self.problems.append(f"{file}: {key}: {message}" if key else f"{file}: {message}")

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

    def text(self, file: str, key: str, value: Any) -> None:
        if isinstance(value, str) and not value.strip():
            self.problem(file, key, "must not be empty")

    def count(self, file: str, key: str, value: int, low: int, high: int | None = None) -> None:
        if value < low or (high is not None and value > high):
            wanted = f"at least {low}" if high is None else f"between {low} and {high}"
            self.problem(file, key, f"{value} is out of range (must be {wanted})")

    def duplicates(self, file: str, key: str, what: str, values: Iterable[tuple[int, Any]], field: str = "") -> None:
        """Report every repeated value of ``key[i]`` (or of ``key[i].field``), naming its first occurrence."""
        seen: dict[str | int, int] = {}
        for index, value in values:
            if not isinstance(value, str | int):
                continue  # a value of the wrong type is reported by its conversion
            if value in seen:
                suffix = f".{field}" if field else ""
                where, first = f"{key}[{index}]{suffix}", f"{key}[{seen[value]}]{suffix}"
                self.problem(file, where, f"duplicate {what} {_show(value)} (also {first})")
            else:
                seen[value] = index

    # --- district.toml ---------------------------------------------------------------------------------------

    def header(self) -> _DistrictHeader | None:
        file = "district.toml"
        raw = self.read(file)
        if raw is None:
            return None
        header = self.convert(file, "", raw, _DistrictHeader)
        if header is None:
            return None
        for key in ("id", "name_zh", "name_en"):
            self.text(file, key, getattr(header, key))
        if not header.sites:
            self.problem(file, "sites", "the district has no sites")
        self.duplicates(file, "sites", "site id", enumerate(header.sites))
        return header

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
        codes = [(i, e.get("code")) for i, e in enumerate(entries) if isinstance(e, dict) and "code" in e]
        self.duplicates(file, "matters", "matter code", codes, "code")
        if not entries:
            self.problem(file, "matters", "the catalogue has no matters")
        return matters

    def matter(self, file: str, key: str, raw: Any) -> Matter | None:
        raw = self.table(file, key, raw)
        if raw is None:
            return None
        materials: tuple[Material, ...] | None = ()
        if "materials" in raw:
            found = [
                self.material(file, f"{key}.materials[{i}]", entry)
                for i, entry in enumerate(self.array(file, f"{key}.materials", raw["materials"]))
            ]
            materials = None if None in found else tuple(m for m in found if m is not None)
        matter = self.convert(file, key, raw, Matter, {"materials": materials})
        if matter is None:
            return None
        if not _CODE.fullmatch(matter.code):
            self.problem(file, f"{key}.code", f"{_show(matter.code)} is not a matter code (letters, digits, - _ .)")
        if not _PREFIX.fullmatch(matter.prefix):
            self.problem(file, f"{key}.prefix", f"{_show(matter.prefix)} must be one or two capital letters A-Z")
        for name in ("name_zh", "name_en", "category"):
            self.text(file, f"{key}.{name}", getattr(matter, name))
        self.count(file, f"{key}.daily_limit", matter.daily_limit, 1, MAX_SERIAL)
        return matter

    def material(self, file: str, key: str, raw: Any) -> Material | None:
        material = self.convert(file, key, raw, Material)
        if material is None:
            return None
        self.text(file, f"{key}.name_zh", material.name_zh)
        self.text(file, f"{key}.name_en", material.name_en)
        self.count(file, f"{key}.originals", material.originals, 0)
        self.count(file, f"{key}.copies", material.copies, 0)
        if material.originals + material.copies < 1:
            self.problem(file, key, "asks for neither an original nor a copy")
        return material

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
        for workday, where in workdays.items():
            if workday in days_off:
                self.problem(file, where, f"{workday} is also a day off in {days_off[workday]}")
        if not ok:
            return None
        return HolidayCalendar(holidays=frozenset(days_off), makeup_workdays=frozenset(workdays))

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
            if workday.isoweekday() < 6:
                self.problem(file, where, f"{workday} is a weekday; a make-up working day is a Saturday or Sunday")
            if workday in workdays:
                self.problem(file, where, f"{workday} is already a make-up working day in {workdays[workday]}")
            workdays.setdefault(workday, where)

    # --- sites/<id>.toml -------------------------------------------------------------------------------------

    def site(self, site_id: str, catalogue: Mapping[str, Matter]) -> Site | None:
        file = f"sites/{site_id}.toml"
        if not _ID.fullmatch(site_id):
            self.problem("district.toml", "sites", f"{_show(site_id)} must be lower-case letters, digits, - or _")
            return None
        raw = self.read(file)
        if raw is None:
            return None
        if "id" in raw and raw["id"] != site_id:
            self.problem(file, "id", f"{_show(raw['id'])} does not match the file name {_show(site_id)}")
        built: dict[str, Any] = {
            "hours": self.hours(file, raw.get("hours")),
            "makeup_day_hours": self.periods(file, "makeup_day_hours", raw.get("makeup_day_hours", [])),
            "matters": self.enabled(file, raw.get("matters"), catalogue),
            "rules": self.rules(file, raw.get("rules", {})),
        }
        built["windows"] = self.windows(file, raw.get("windows"), built["matters"])
        tier = raw.get("tier")
        if isinstance(tier, str) and tier not in {t.value for t in Tier}:
            self.problem(file, "tier", f"{_show(tier)} is not one of: {', '.join(t.value for t in Tier)}")
            built["tier"] = None
        site = self.convert(file, "", raw, Site, built)
        self.check_scalars(file, raw)
        if site is not None:
            self.check_serving(file, site)
            self.check_stop_issuing(file, site)
        return site

    def check_scalars(self, file: str, raw: Mapping[str, Any]) -> None:
        for key in ("name_zh", "name_en", "address_zh", "address_en"):
            self.text(file, key, raw.get(key))
        for key, limit in (("latitude", 90.0), ("longitude", 180.0)):
            value = raw.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and not -limit <= value <= limit:
                self.problem(file, key, f"{value} is out of range (must be between {-limit} and {limit})")
        zone = raw.get("timezone", "Asia/Shanghai")
        if isinstance(zone, str):
            try:
                ZoneInfo(zone)
            except (ValueError, KeyError, OSError):
                self.problem(file, "timezone", f"{_show(zone)} is not a known time zone")

    def clock(self, file: str, key: str, value: Any) -> time | None:
        if isinstance(value, time):
            return value
        if isinstance(value, str) and (match := _TIME.fullmatch(value)):
            return time(int(match.group(1)), int(match.group(2)))
        self.problem(file, key, f'{_show(value)} is not a time of day like "09:00"')
        return None

    def periods(self, file: str, key: str, raw: Any) -> tuple[Period, ...] | None:
        periods: list[Period] = []
        ok = True
        for index, pair in enumerate(self.array(file, key, raw)):
            where = f"{key}[{index}]"
            if not (isinstance(pair, list) and len(pair) == 2):
                self.problem(file, where, f'expected ["start", "end"] like ["09:00", "12:00"], got {_show(pair)}')
                ok = False
                continue
            start, end = self.clock(file, where, pair[0]), self.clock(file, where, pair[1])
            if start is None or end is None:
                ok = False
                continue
            if end <= start:
                self.problem(file, where, f"ends at {_hhmm(end)}, not after it starts at {_hhmm(start)}")
                ok = False
            elif periods and start < periods[-1].end:
                previous = periods[-1]
                self.problem(
                    file, where, f"starts at {_hhmm(start)}, before {key}[{index - 1}] ends at {_hhmm(previous.end)}"
                )
                ok = False
            periods.append(Period(start, end))
        return tuple(periods) if ok else None

    def hours(self, file: str, raw: Any) -> dict[int, tuple[Period, ...]] | None:
        hours: dict[int, tuple[Period, ...]] = {}
        owner: dict[int, int] = {}
        ok = True
        for index, entry in enumerate(self.array(file, "hours", raw)):
            key = f"hours[{index}]"
            table = self.table(file, key, entry)
            if table is None:
                ok = False
                continue
            for unknown in sorted(set(table) - {"days", "periods"}):
                self.problem(file, _join(key, unknown), "unknown key (expected one of: days, periods)")
            periods = self.periods(file, f"{key}.periods", table.get("periods"))
            if periods == ():
                self.problem(file, f"{key}.periods", "has no opening periods (leave the weekday out instead)")
            days = self.array(file, f"{key}.days", table.get("days"))
            if table.get("days") == []:
                self.problem(file, f"{key}.days", "names no weekday")
            for day in days:
                if not _is_int(day) or not 1 <= day <= 7:
                    self.problem(
                        file, f"{key}.days", f"{_show(day)} is not a weekday number (1 = Monday ... 7 = Sunday)"
                    )
                    ok = False
                elif day in owner:
                    self.problem(file, f"{key}.days", f"weekday {day} already has hours in hours[{owner[day]}]")
                    ok = False
                else:
                    owner[day] = index
                    if periods is not None:
                        hours[day] = periods
            ok = ok and bool(periods) and bool(days)
        if ok and raw is not None and not hours:
            self.problem(file, "hours", "the site never opens (no weekday has hours)")
        return hours if ok else None

    def enabled(self, file: str, raw: Any, catalogue: Mapping[str, Matter]) -> dict[str, int] | None:
        if raw is None:
            self.problem(file, "matters", "is missing")
            return None
        table = self.table(file, "matters", raw)
        if table is None:
            return None
        matters: dict[str, int] = {}
        ok = True
        for code, limit in table.items():
            key = f"matters.{code}"
            if code not in self.known_codes:
                self.problem(file, key, f"matter {_show(code)} is not in the catalogue")
                ok = False
            elif not _is_int(limit) or not 0 <= limit <= MAX_SERIAL:
                self.problem(file, key, f"{_show(limit)} is not a daily limit (0 = catalogue default, up to 999)")
                ok = False
            else:
                matters[code] = limit
        if not table:
            self.problem(file, "matters", "the site enables no matters")
        self.check_numbering(file, matters, catalogue)
        return matters if ok else None

    def check_numbering(self, file: str, matters: Mapping[str, int], catalogue: Mapping[str, Matter]) -> None:
        """Matters sharing a prefix share its 999 numbers a day: their daily limits must fit in them."""
        by_prefix: dict[str, list[tuple[str, int]]] = {}
        for code, limit in matters.items():
            matter = catalogue.get(code)
            if matter is not None:
                by_prefix.setdefault(matter.prefix, []).append((code, limit or matter.daily_limit))
        for prefix, shared in sorted(by_prefix.items()):
            total = sum(limit for _, limit in shared)
            if total > MAX_SERIAL:
                codes = ", ".join(code for code, _ in shared)
                self.problem(
                    file,
                    "matters",
                    f"prefix {_show(prefix)} numbers {codes}, whose daily limits add up to {total}: "
                    f"more than the {MAX_SERIAL} numbers {prefix}001-{prefix}{MAX_SERIAL}",
                )

    def windows(self, file: str, raw: Any, matters: Mapping[str, int] | None) -> tuple[Window, ...] | None:
        entries = self.array(file, "windows", raw)
        if raw is not None and not entries:
            self.problem(file, "windows", "the site has no windows")
        windows: list[Window] = []
        ok = bool(entries)
        for index, entry in enumerate(entries):
            key = f"windows[{index}]"
            table = self.table(file, key, entry)
            if table is None:
                ok = False
                continue
            weights = self.weights(file, f"{key}.weights", table.get("weights"), matters)
            window = self.convert(file, key, table, Window, {"weights": weights})
            if window is None:
                ok = False
                continue
            self.text(file, f"{key}.id", window.id)
            self.text(file, f"{key}.name_zh", window.name_zh)
            self.text(file, f"{key}.name_en", window.name_en)
            self.count(file, f"{key}.number", window.number, 1)
            windows.append(window)
        tables = [(i, e) for i, e in enumerate(entries) if isinstance(e, dict)]
        self.duplicates(file, "windows", "window id", [(i, e["id"]) for i, e in tables if "id" in e], "id")
        self.duplicates(
            file, "windows", "window number", [(i, e["number"]) for i, e in tables if "number" in e], "number"
        )
        return tuple(windows) if ok else None

    def weights(self, file: str, key: str, raw: Any, matters: Mapping[str, int] | None) -> dict[str, int] | None:
        if raw is None:
            self.problem(file, key, "is missing")
            return None
        table = self.table(file, key, raw)
        if table is None:
            return None
        if not table:
            self.problem(file, key, "the window serves no matters")
        ok = bool(table)
        for code, weight in table.items():
            if code not in self.known_codes:
                self.problem(file, key, f"matter {_show(code)} is not in the catalogue")
                ok = False
            elif matters is not None and code not in matters:
                self.problem(file, key, f"matter {_show(code)} is not enabled at this site (add it to [matters])")
                ok = False
            if not _is_int(weight) or weight < 1:
                self.problem(file, key, f"weight {_show(weight)} of {_show(code)} is not a whole number of 1 or more")
                ok = False
        return table if ok else None

    def rules(self, file: str, raw: Any) -> QueueRules | None:
        rules = self.convert(file, "rules", raw, QueueRules)
        if rules is None:
            return None
        self.count(file, "rules.max_calls", rules.max_calls, 1)
        self.count(file, "rules.reactivate_after", rules.reactivate_after, 0)
        self.count(file, "rules.max_overtakes", rules.max_overtakes, 1)
        self.count(file, "rules.stop_issuing_minutes", rules.stop_issuing_minutes, 0)
        self.count(file, "rules.target_wait_minutes", rules.target_wait_minutes, 1)
        classes = {p.value for p in Priority}
        for name, minutes in rules.priority_minutes.items():
            if name not in classes:
                self.problem(file, "rules.priority_minutes", f"{_show(name)} is not one of: {', '.join(classes)}")
            else:
                self.count(file, f"rules.priority_minutes.{name}", minutes, 0)
        return rules

    # --- checks across one site ------------------------------------------------------------------------------

    def check_serving(self, file: str, site: Site) -> None:
        for code in site.matters:
            if not any(window.serves(code) for window in site.windows):
                self.problem(file, f"matters.{code}", f"no window of this site serves matter {_show(code)}")

    def check_stop_issuing(self, file: str, site: Site) -> None:
        """Self-service issuing stops ``stop_issuing_minutes`` before closing: every period must keep some time."""
        margin = site.rules.stop_issuing_minutes
        if margin <= 0:
            return
        labelled = [(f"hours (weekday {day})", periods) for day, periods in sorted(site.hours.items())]
        labelled.append(("makeup_day_hours", site.makeup_day_hours))
        for label, periods in labelled:
            for period in periods:
                start = datetime.combine(date.min, period.start)
                if datetime.combine(date.min, period.end) - start <= timedelta(minutes=margin):
                    self.problem(
                        file,
                        "rules.stop_issuing_minutes",
                        f"{margin} minutes leave no self-service issuing in {label} "
                        f"{_hhmm(period.start)}-{_hhmm(period.end)}",
                    )
                    return

    # --- the whole folder ------------------------------------------------------------------------------------

    def load(self) -> District | None:
        if not self.folder.is_dir():
            self.problem(str(self.folder), "", "is not a folder")
            return None
        header = self.header()
        matters = self.catalogue()
        calendar = self.calendar()
        catalogue = {matter.code: matter for matter in matters}
        files = sorted(path.stem for path in (self.folder / "sites").glob("*.toml"))
        if header is not None:
            for stray in sorted(set(files) - set(header.sites)):
                self.problem(f"sites/{stray}.toml", "", 'not listed in district.toml "sites"')
        site_ids = list(dict.fromkeys(header.sites)) if header is not None else files
        sites = [self.site(site_id, catalogue) for site_id in site_ids]
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

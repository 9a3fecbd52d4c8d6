"""The kiosk's ticket as ESC/POS bytes: a pure function of a printer profile, the names and a ``TicketInfo``.

The bytes come from python-escpos's ``Dummy`` printer, driven through its public API (``hw``, ``set``, ``text``,
``qr``, ``cut``) with a capability profile built from the printer profile. Library behaviours this module works
around (python-escpos 3.1):

* ``text()`` writes a string that contains a CJK ideograph (U+4E00-U+9FA5) as raw GB18030 and never sends
  ``FS &``; any other string goes through code pages, where Chinese punctuation becomes "?" and bytes above 0x7F
  would be read as half a Chinese character by a printer in Chinese mode. So each printed line either contains an
  ideograph or is folded to ASCII first (:func:`printable`), and for ``fs-ampersand`` printers Chinese lines are
  wrapped in FS & / FS . here.
* Its capability profiles do not describe Chinese-market printers (POS-5890: no QR, no cutter) and native
  ``qr()`` ignores the ``qrCode`` capability. The printer profile's keys override the capabilities, and this module
  asks ``supports("qrCode")`` itself; ``cut()`` already asks ``supports("paperFullCut")``/``("paperPartCut")``.
* ``import escpos`` calls ``mkdtemp()`` and writes a capabilities pickle there unless told where, and calls
  ``logging.basicConfig()``. It is imported on first use only (:func:`escpos_module`), with both contained.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import pickle
import re
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import contract as wire
from kiosk.printer_profile import PrinterProfile, PrinterProfileError
from kiosk.texts import Texts, wait_text

MATERIALS_SHOWN = 3
KANJI_ON, KANJI_OFF = "\x1c&", "\x1c."
"""FS & and FS .: Chinese (Kanji) mode on and off. ``text()`` passes ASCII control characters through unchanged."""

_IDEOGRAPH = re.compile(r"[\u4e00-\u9fa5]")
"""python-escpos's own test (``magicencode.py``) for writing a string as GB18030."""
_FOLD = str.maketrans({"、": ",", "。": ".", "·": "-", "–": "-", "—": "-", "“": '"', "”": '"', "‘": "'", "’": "'"})
"""Chinese punctuation NFKC leaves alone (it already maps full-width forms such as ，：（） to ASCII)."""
_TOKEN = re.compile(r" +|[!-~]+|.")
"""Where a line may break: a run of spaces, an ASCII word, or any single other character."""


class Named(Protocol):
    """A site, matter or material: the engine's district records and the contract's infos both fit."""

    @property
    def name_zh(self) -> str: ...

    @property
    def name_en(self) -> str: ...


class MatterNames(Named, Protocol):
    @property
    def materials(self) -> Sequence[Named]: ...


# --- python-escpos, imported on first use ----------------------------------------------------------------------


@functools.cache
def escpos_module(name: str) -> ModuleType:
    """``escpos.<name>`` (``printer``, ``capabilities``, ``constants``); untyped, so its objects are ``Any``."""
    _import_escpos()
    return importlib.import_module(f"escpos.{name}")


@functools.cache
def _import_escpos() -> None:
    """Import python-escpos with its pickle in one shared cache directory instead of a new /tmp directory per
    process, and without the stderr handler its ``logging.basicConfig()`` would add to the root logger."""
    cache = Path(tempfile.gettempdir()) / "servicehall-escpos"
    cache.mkdir(exist_ok=True)
    pickles = Path(os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(cache)))
    handlers, tempdir = list(logging.root.handlers), tempfile.tempdir
    tempfile.tempdir = str(cache)  # it calls mkdtemp() even when the variable is set: keep that directory here
    try:
        _import_retrying(pickles)
    finally:
        tempfile.tempdir = tempdir
        logging.root.handlers[:] = handlers
    for leftover in cache.glob("tmp*"):
        with contextlib.suppress(OSError):
            leftover.rmdir()  # empty, unused: the pickle went to the variable's directory


def _import_retrying(pickles: Path, attempts: int = 3) -> None:
    """A pickle another process is writing, or one a crash left half-written, fails to load: wait, then delete
    it (the import writes it again)."""
    for attempt in range(1, attempts + 1):
        try:
            importlib.import_module("escpos.printer")
            return
        except (EOFError, pickle.UnpicklingError):
            if attempt == attempts:
                raise
            time.sleep(0.05)
            if attempt == attempts - 1:
                for stale in pickles.glob("*.capabilities.pickle"):
                    stale.unlink(missing_ok=True)


@functools.cache
def escpos_profile(profile: PrinterProfile) -> Any:
    """python-escpos's capability profile for the printer, with the features the printer profile states."""
    capabilities = escpos_module("capabilities")
    try:
        base = capabilities.get_profile(profile.escpos_profile)
    except KeyError:
        problem = f'python-escpos has no capability profile "{profile.escpos_profile}"'
        raise PrinterProfileError(profile.source, "escpos_profile", problem) from None
    features = {
        **base.features,
        "qrCode": profile.qr,
        "paperFullCut": profile.cutter == "full",
        "paperPartCut": profile.cutter == "partial",
    }
    return capabilities.Profile(columns=profile.columns, features=features)


# --- text that a Chinese printer prints as written -------------------------------------------------------------


def columns(text: str) -> int:
    """Printed width in Font A columns: a character outside ASCII is a double-byte GB character, two columns."""
    return sum(1 if ord(char) < 128 else 2 for char in text)


def printable(text: str, encoding: str = "GB18030") -> str:
    """Text that python-escpos writes without a code page: with an ideograph it goes out as GB18030, where a
    character the printer's ``encoding`` lacks is folded like ideograph-free text is, to ASCII (、→, ·→- é→e)."""
    if not _IDEOGRAPH.search(text):
        return _ascii(text)
    return "".join(char if _encodes(char, encoding) else _ascii(char) for char in text)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).translate(_FOLD))
    return "".join(char for char in folded if not unicodedata.combining(char)).encode("ascii", "replace").decode()


@functools.cache
def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` columns; ASCII breaks at spaces, Chinese between any two characters."""
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(text):
        if columns(line + token) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = "" if token.isspace() else token
        while columns(line) > width:  # an ASCII word longer than a line (a URL)
            lines.append(line[:width])
            line = line[width:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


# --- the ticket ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """What ``ESC @`` leaves: left, normal weight, Font A, size 1."""

    align: str = "left"
    bold: bool = False
    small: bool = False
    magnification: int = 1


class _Sheet:
    """A Dummy printer that writes whole lines, wrapped to the profile's columns and safe for its Chinese mode."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.capabilities = escpos_profile(profile)
        self.printer: Any = escpos_module("printer").Dummy(profile=self.capabilities)
        self.style = _Style()
        self.printer.hw("INIT")

    def line(
        self, text: str, *, align: str = "center", bold: bool = False, small: bool = False, magnification: int = 1
    ) -> None:
        self._set(_Style(align, bold, small, magnification))
        for piece in wrap(printable(text, self.profile.encoding), self.profile.columns // magnification):
            part = printable(piece, self.profile.encoding)  # a wrapped piece may have lost its ideographs
            if self.profile.chinese_mode == "fs-ampersand" and not part.isascii():
                part = KANJI_ON + part + KANJI_OFF
            self.printer.text(part + "\n")

    def rule(self) -> None:
        self.line("-" * self.profile.columns)

    def qr(self, payload: str) -> None:
        """Native QR (``GS ( k``), centred with ``ESC a``: the library's ``center=True`` is for image QR only."""
        self._set(_Style(align="center"))
        level = escpos_module("constants").QR_ECLEVEL_M
        self.printer.qr(payload, native=True, size=self.profile.qr_module_dots, ec=level)

    def finish(self) -> bytes:
        """Feed past the tear bar and cut as the printer can: ``cut()`` sends only the feed without a cutter."""
        self.printer.cut(mode="PART" if self.profile.cutter == "partial" else "FULL")
        return bytes(self.printer.output)

    def _set(self, style: _Style) -> None:
        """Send only what changed (``set()`` sends every argument it is given)."""
        old, self.style = self.style, style
        changes: dict[str, Any] = {}
        if style.align != old.align:
            changes["align"] = style.align
        if style.bold != old.bold:
            changes["bold"] = style.bold
        if style.small != old.small:
            changes["font"] = "b" if style.small else "a"
        if style.magnification != old.magnification:  # GS !; set(normal_textsize=True) would send only ESC !
            changes.update(custom_size=True, width=style.magnification, height=style.magnification)
        if changes:
            self.printer.set(**changes)


def number_magnification(profile: PrinterProfile, number: str) -> int:
    """As large as the profile allows and one line holds."""
    return max(1, min(profile.number_magnification, profile.columns // max(1, columns(number))))


def _materials(matters: Sequence[MatterNames]) -> list[Named]:
    """The first few documents to bring, each once."""
    unique: dict[str, Named] = {}
    for matter in matters:
        for material in matter.materials:
            unique.setdefault(material.name_zh, material)
    return list(unique.values())[:MATERIALS_SHOWN]


def status_url(public_url: str, ticket: wire.TicketInfo) -> str:
    """Where a phone that scans the ticket's QR code goes: the hub's public address and the ticket's status path
    (``http://hall.example.cn`` + ``/t/8F3K2``); empty when the hub gave no path (then no QR is printed)."""
    path = ticket.status_path
    if not path:
        return ""
    return public_url.rstrip("/") + "/" + path.lstrip("/")


def build_ticket(
    profile: PrinterProfile,
    site: Named,
    matters: Sequence[MatterNames],
    ticket: wire.TicketInfo,
    status_url: str,
    *,
    language: str = "zh_CN",
    timezone: str = "Asia/Shanghai",
) -> bytes:
    """The ticket's bytes for the profile's printer. ``matters`` are the ticket's, in its order; ``language``
    (``zh_CN`` or ``en``) chooses the words of the body, while the site's name is printed in Chinese then English;
    ``timezone`` is the site's, for the issue time. The QR code carries ``status_url`` (a printed line when the
    printer has no native QR); an empty ``status_url`` prints neither. A checked-in appointment's time slot is
    printed under the number."""
    texts = Texts(language)
    sheet = _Sheet(profile)
    sheet.line(site.name_zh, bold=True)
    sheet.line(site.name_en, small=True)
    sheet.rule()
    for matter in matters:
        sheet.line(texts.pick(matter.name_zh, matter.name_en), bold=True)
    sheet.line(texts("Your number"))
    sheet.line(ticket.number, bold=True, magnification=number_magnification(profile, ticket.number))
    if ticket.appointment:
        sheet.line(texts("Appointment {slot}", slot=ticket.appointment), bold=True)
    if ticket.wait is not None:
        ahead = texts("{count} people ahead of you", count=ticket.wait.people_ahead)
        sheet.line(f"{ahead} · {wait_text(texts, ticket.wait)}")
    if ticket.windows:
        windows = texts.pick("、", ", ").join(map(str, ticket.windows))
        sheet.line(texts("Please watch windows {windows}", windows=windows))
    sheet.line(ticket.issued_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M"))
    if not status_url:
        pass
    elif sheet.capabilities.supports("qrCode"):
        sheet.qr(status_url)
    else:
        sheet.line(status_url, small=True)
    materials = _materials(matters)
    if materials:
        sheet.rule()
        sheet.line(texts("Please have ready:"), align="left")
        for material in materials:
            sheet.line("· " + texts.pick(material.name_zh, material.name_en), align="left")
    return sheet.finish()

"""Ticket printer models as data: ``firmware_profiles/printers/<id>.toml`` validated into a frozen Struct.

A profile names the python-escpos capability profile it starts from (``escpos_profile``) and states what this
project relies on itself, because the library's profiles are silent or wrong about it for Chinese-market printers:
how Chinese is switched on, which GB encoding the firmware has, whether native QR, a cutter and real-time status
work, and how large the ticket number may be printed. docs/printing.md explains every key and how to add a printer.

Errors name the file and the key: ``firmware_profiles/printers/pos58.toml: columns: Expected `int` <= 64``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

PROFILE_DIR = Path(__file__).resolve().parents[1] / "firmware_profiles" / "printers"
FONT_A_DOTS = 12
"""Width of one Font A column (12 x 24 dots), the font tickets are laid out in."""

ChineseMode = Literal["native", "fs-ampersand"]
"""``native``: the printer starts in Chinese mode; ``fs-ampersand``: Chinese must be wrapped in FS & ... FS .."""
Cutter = Literal["full", "partial", "none"]
Encoding = Literal["GB18030", "GBK", "GB2312"]
"""The GB encoding the firmware's font covers; characters outside it are printed as "?"."""


class PrinterProfileError(Exception):
    """A printer profile that cannot be used; says which file and which key."""

    def __init__(self, source: Path | str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = str(source), key, problem
        where = f"{self.source}: {key}" if key else self.source
        super().__init__(f"{where}: {problem}")


class PrinterProfile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    escpos_profile: str
    paper_width_mm: Annotated[float, msgspec.Meta(ge=40, le=112)]
    dots: Annotated[int, msgspec.Meta(ge=256, le=832)]
    columns: Annotated[int, msgspec.Meta(ge=16, le=64)]
    chinese_mode: ChineseMode
    encoding: Encoding = "GB18030"
    qr: bool
    qr_module_dots: Annotated[int, msgspec.Meta(ge=1, le=16)] = 6
    cutter: Cutter
    status: bool
    """The printer answers DLE EOT status queries."""
    number_magnification: Annotated[int, msgspec.Meta(ge=1, le=8)]
    source: str = ""
    """The file it was loaded from (set by the loader, not written in the file)."""

    @property
    def id(self) -> str:
        return Path(self.source).stem


_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")
_PATH_IN_MESSAGE = re.compile(r" - at `\$\.?([^`]*)`$")


def _key_and_problem(error: msgspec.ValidationError) -> tuple[str, str]:
    """Split msgspec's "Expected `int` >= 16 - at `$.columns`" into ("columns", "Expected `int` >= 16")."""
    message = str(error)
    at = _PATH_IN_MESSAGE.search(message)
    if at:
        return at.group(1), message[: at.start()]
    field = _FIELD_IN_MESSAGE.search(message)
    return (field.group(1) if field else ""), message


def load_profile(path: Path) -> PrinterProfile:
    """Read and check one profile file; raise PrinterProfileError naming the file and the key."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PrinterProfileError(path, "", str(error)) from None
    if "source" in data:
        raise PrinterProfileError(path, "source", "is set by the loader; remove it from the file")
    try:
        profile = msgspec.convert({**data, "source": str(path)}, PrinterProfile)
    except msgspec.ValidationError as error:
        raise PrinterProfileError(path, *_key_and_problem(error)) from None
    needed = profile.columns * FONT_A_DOTS
    if needed > profile.dots:
        raise PrinterProfileError(
            path, "columns", f"{profile.columns} columns of Font A need {needed} dots; the printer has {profile.dots}"
        )
    return profile


def shipped_profiles(folder: Path = PROFILE_DIR) -> dict[str, PrinterProfile]:
    """Every profile in the folder, by id (the file name without ``.toml``)."""
    return {path.stem: load_profile(path) for path in sorted(folder.glob("*.toml"))}


def profile_named(profile_id: str, folder: Path = PROFILE_DIR) -> PrinterProfile:
    """The profile a device's configuration names (``pos58``)."""
    path = folder / f"{profile_id}.toml"
    if not path.is_file():
        known = ", ".join(sorted(other.stem for other in folder.glob("*.toml")))
        raise PrinterProfileError(path, "", f"no such printer profile; known: {known}")
    return load_profile(path)

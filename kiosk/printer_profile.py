"""Ticket printer models as data: ``firmware_profiles/printers/<id>.toml`` validated into a frozen Struct.

A profile names the python-escpos capability profile it starts from (``escpos_profile``) and states what this
project relies on itself, because the library's profiles are silent or wrong about it for Chinese-market printers:
how Chinese is switched on, which GB encoding the firmware has, whether native QR, a cutter and real-time status
work, and how large the ticket number may be printed. docs/printing.md explains every key and how to add a printer.

Errors name the file and the key: ``firmware_profiles/printers/pos58.toml: columns: Expected `int` <= 64``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from devicekit.profile_files import FIRMWARE_PROFILES, ProfileError, profile_path, read_profile

PROFILE_DIR = FIRMWARE_PROFILES / "printers"
FONT_A_DOTS = 12
"""Width of one Font A column (12 x 24 dots), the font tickets are laid out in."""

ChineseMode = Literal["native", "fs-ampersand"]
"""``native``: the printer starts in Chinese mode; ``fs-ampersand``: Chinese must be wrapped in FS & ... FS .."""
Cutter = Literal["full", "partial", "none"]
Encoding = Literal["GB18030", "GBK", "GB2312"]
"""The GB encoding the firmware's font covers; characters outside it are printed as "?"."""


class PrinterProfileError(ProfileError):
    """A printer profile that cannot be used; says which file and which key."""


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


def load_profile(path: Path) -> PrinterProfile:
    """Read and check one profile file; raise PrinterProfileError naming the file and the key."""
    profile = read_profile(path, PrinterProfile, PrinterProfileError)
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
    return load_profile(profile_path(folder, profile_id, "printer", PrinterProfileError))

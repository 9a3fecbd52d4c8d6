"""Device profiles as data (``firmware_profiles/<kind>/<id>.toml``): read one into its frozen Struct, with errors that
name the file and the key (``firmware_profiles/printers/pos58.toml: columns: Expected `int` <= 64``)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import msgspec

FIRMWARE_PROFILES = Path(__file__).resolve().parents[1] / "firmware_profiles"

P = TypeVar("P", bound=msgspec.Struct)


class ProfileError(Exception):
    """A profile that cannot be used; says which file and which key."""

    def __init__(self, source: Path | str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = str(source), key, problem
        where = f"{self.source}: {key}" if key else self.source
        super().__init__(f"{where}: {problem}")


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


def read_profile(path: Path, kind: type[P], error: type[ProfileError] = ProfileError) -> P:
    """The file as ``kind`` (whose ``source`` field the loader sets); ``error`` names the file and the key."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as problem:
        raise error(path, "", str(problem)) from None
    if "source" in data:
        raise error(path, "source", "is set by the loader; remove it from the file")
    try:
        return msgspec.convert({**data, "source": str(path)}, kind)
    except msgspec.ValidationError as problem:
        raise error(path, *_key_and_problem(problem)) from None
    except ValueError as problem:  # a __post_init__ check
        raise error(path, "", str(problem)) from None


def profile_path(folder: Path, profile_id: str, what: str, error: type[ProfileError] = ProfileError) -> Path:
    """The file of the profile a device's configuration names (``pos58``), or ``error`` listing the known ones."""
    path = folder / f"{profile_id}.toml"
    if not path.is_file():
        known = ", ".join(sorted(other.stem for other in folder.glob("*.toml")))
        raise error(path, "", f"no such {what} profile; known: {known}")
    return path

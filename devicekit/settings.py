"""What every device app's configuration has (the hub to reach, the window to open), and how it is read: a small
TOML file (optional) with environment overrides ``<PREFIX>_<KEY>``, errors naming the file and the key."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec

Positive = Annotated[int, msgspec.Meta(gt=0)]


class ConfigError(ValueError):
    pass


class HubAddress(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where a device finds the hub (its MQTT broker) and which site it belongs to."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(gt=0, lt=65536)] = 1884
    site: str = "centre"


class DeviceSettings(HubAddress, kw_only=True, forbid_unknown_fields=True):
    device_id: str = ""
    password: str = ""
    fullscreen: bool = True
    width: Positive = 1920
    height: Positive = 1080
    rotation: Literal[0, 90, 180, 270] = 0
    """Turns the picture for a screen mounted on its side; portrait or landscape then follows from the size."""

    @property
    def portrait(self) -> bool:
        return self.height > self.width


S = TypeVar("S", bound=DeviceSettings)


def load_settings(kind: type[S], prefix: str, path: Path | None = None, environ: Mapping[str, str] = os.environ) -> S:
    """Defaults, then the TOML file, then ``<PREFIX>_<KEY>`` variables."""
    data: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as file:
            data = tomllib.load(file)
    keys = {field.name for field in msgspec.structs.fields(kind)}
    data |= {
        key: value
        for name, value in environ.items()
        if name.startswith(f"{prefix}_") and (key := name.removeprefix(f"{prefix}_").lower()) in keys
    }
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(f"{path or 'environment'}: {error}") from None

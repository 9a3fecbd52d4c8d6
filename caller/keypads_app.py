"""Start the keypad bus: ``hall-keypads --config keypads.toml`` (docs/serial.md). One process per RS-485 line; each
keypad on it is a caller device of its own (its own credentials, its window), provisioned like a software caller.

    host = "127.0.0.1"        # the hub's broker
    port = 1884
    site = "centre"
    serial_port = "/dev/ttyUSB0"
    profile = "ff68"          # firmware_profiles/keypads/<profile>.toml

    [[keypads]]
    address = 1
    window = "w01"
    device_id = "caller-centre-1"
    password = "..."

    [[evaluators]]            # on the same line; each an evaluator device of its window
    address = 31
    window = "w01"
    device_id = "evaluator-centre-1"
    password = "..."
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import tomllib
from pathlib import Path
from typing import Annotated

import msgspec

import contract as wire
from caller.hub_link import CallerLink
from caller.keypad import KeypadBus
from caller.model import CallerModel
from caller.texts import Texts
from devicekit.link import link_for
from devicekit.profile_files import ProfileError
from devicekit.serial_profile import serial_profile
from devicekit.settings import DeviceSettings, HubAddress

log = logging.getLogger(__name__)


class BusDevice(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    address: Annotated[int, msgspec.Meta(ge=1, le=254)]
    window: str
    device_id: str
    password: str


class KeypadsConfig(HubAddress, kw_only=True, forbid_unknown_fields=True):
    serial_port: str = "/dev/ttyUSB0"
    """A device path or any pyserial URL (``rfc2217://host:port``)."""
    profile: str = "ff68"
    evaluator_profile: str = "ff68"
    """firmware_profiles/evaluators/<evaluator_profile>.toml"""
    language: str = "zh_CN"
    """Of the messages the keypads' models keep (a keypad shows digits only)."""
    keypads: list[BusDevice] = msgspec.field(default_factory=list)
    evaluators: list[BusDevice] = msgspec.field(default_factory=list)


def load_keypads(path: Path) -> KeypadsConfig:
    """The file's settings; raises ValueError naming the file and the problem."""
    try:
        config = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), KeypadsConfig)
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as error:
        raise ValueError(f"{path}: {error}") from None
    addresses = [device.address for device in (*config.keypads, *config.evaluators)]
    if len(set(addresses)) != len(addresses):
        raise ValueError(f"{path}: two devices of the line with the same address")
    return config


def wire_bus(config: KeypadsConfig) -> KeypadBus:
    """The bus and, for each keypad, its caller model and link, for each evaluator its link; nothing started yet."""

    def link(entry: BusDevice, kind: wire.DeviceKind) -> CallerLink:
        settings = DeviceSettings(
            host=config.host, port=config.port, site=config.site, device_id=entry.device_id, password=entry.password
        )
        return CallerLink(link_for(settings, kind))

    keypads = {
        entry.address: (
            CallerModel(config.site, entry.window, Texts(config.language)),
            link(entry, wire.DeviceKind.CALLER),
        )
        for entry in config.keypads
    }
    evaluators = {entry.address: (entry.window, link(entry, wire.DeviceKind.EVALUATOR)) for entry in config.evaluators}
    return KeypadBus(
        config.serial_port,
        serial_profile("keypads", config.profile),
        keypads,
        evaluators=evaluators,
        evaluator_profile=serial_profile("evaluators", config.evaluator_profile),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hall-keypads", description="Caller keypads (呼叫器) on a serial bus.")
    parser.add_argument("--config", type=Path, required=True, help="the bus and its keypads (TOML)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        bus = wire_bus(load_keypads(args.config))
    except (ProfileError, ValueError) as error:
        parser.exit(2, f"hall-keypads: {error}\n")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    bus.start()
    stop.wait()
    bus.stop()
    return 0

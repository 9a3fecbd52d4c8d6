"""Opening a serial device's port as its profile says (pyserial; a device path or any pyserial URL such as
``rfc2217://host:port`` for a device behind a network serial server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import serial

from devicekit.serial_profile import SerialProfile

OpenPort = Callable[..., Any]
"""``serial.serial_for_url`` or a stand-in taking the same keyword arguments."""


def open_port(
    port: str, profile: SerialProfile, *, timeout: float, write_timeout: float, opener: OpenPort = serial.serial_for_url
) -> Any:
    settings = profile.serial
    return opener(
        port, baudrate=settings.baudrate, bytesize=settings.bytesize, parity=settings.parity,
        stopbits=settings.stopbits, timeout=timeout, write_timeout=write_timeout,
    )  # fmt: skip

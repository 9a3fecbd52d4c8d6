"""Start a window screen: ``hall-window-screen [--config screen.toml]`` (``SCREEN_<KEY>`` overrides; docs/serial.md).

The one place a window's LED strip is wired: the link to the hub (kind ``window_screen``, following the site; the
window comes from the device's configuration, which the hub pushes), the strip on its serial port by profile, and
``WindowScreen``, which says what to show. The strip's state goes into the device's status (``{"led": "ok"}`` or
``"offline"``), so the hub's device list shows a strip that is unplugged."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

import serial

import contract as wire
from devicekit.link import DeviceLink, link_for
from devicekit.profile_files import ProfileError
from devicekit.serial_port import OpenPort
from devicekit.serial_profile import serial_profile
from devicekit.settings import ConfigError, DeviceSettings, load_settings
from display.led_strip import LedStrip
from display.window_screen import StripTexts, WindowScreen

log = logging.getLogger(__name__)


class WindowScreenSettings(DeviceSettings, kw_only=True, forbid_unknown_fields=True):
    serial_port: str = "/dev/ttyUSB0"
    """A device path or any pyserial URL (``rfc2217://host:port`` for a strip behind a network serial server)."""
    profile: str = "slzc"
    """firmware_profiles/led_strips/<profile>.toml"""
    address: int = 1
    """The strip's address on its line."""
    called: str = StripTexts().called
    idle: str = StripTexts().idle
    paused: str = StripTexts().paused

    def __post_init__(self) -> None:
        for name in ("called", "idle", "paused"):
            try:
                getattr(self, name).format(number="A001", window=1)
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(f"{name}: only {{number}} and {{window}} can be filled in ({error!r})") from None


def wire_screen(
    settings: WindowScreenSettings, open_port: OpenPort = serial.serial_for_url
) -> tuple[DeviceLink, LedStrip]:
    """A window screen's link and strip, joined; nothing started yet."""
    link = link_for(settings, wire.DeviceKind.WINDOW_SCREEN)
    strip = LedStrip(
        settings.serial_port,
        serial_profile("led_strips", settings.profile),
        settings.address,
        open_port=open_port,
        on_status=lambda status: link.report(led=status),
    )
    screen = WindowScreen(StripTexts(called=settings.called, idle=settings.idle, paused=settings.paused))

    def changed() -> None:  # on the link's network thread: only hands the text over
        window_id = link.config.window_id if link.config is not None else None
        text = screen.text(link.view, window_id) if window_id and link.view is not None else None
        if text is not None:
            strip.show(text)

    link.on_change = changed
    return link, strip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hall-window-screen", description="A window's LED strip (条屏).")
    parser.add_argument("--config", type=Path, help="a TOML file (default: $SCREEN_CONFIG, else defaults)")
    args = parser.parse_args(argv)
    path = args.config or (Path(os.environ["SCREEN_CONFIG"]) if os.environ.get("SCREEN_CONFIG") else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(WindowScreenSettings, "SCREEN", path)
        link, strip = wire_screen(settings)
    except (ConfigError, ProfileError, OSError, ValueError) as error:
        parser.exit(2, f"hall-window-screen: {error}\n")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if not link.start():
        log.warning("no broker at %s:%d yet; still trying", settings.host, settings.port)
    stop.wait()
    link.stop()
    strip.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A kiosk's configuration: a small TOML file (optional) with environment overrides ``KIOSK_<KEY>``.

    host = "127.0.0.1"          # the hub's MQTT broker
    port = 1884
    site = "centre"
    device_id = "kiosk-centre-1"
    password = "..."            # from `hall-hub device add --site centre --kind kiosk`
    fullscreen = true
    width = 1920                # the window (or screen) size; taller than wide means portrait
    height = 1080
    rotation = 0                # 90 or 270 for a screen mounted on its side
    language = "zh_CN"          # or "en"
    font = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    public_url = "http://127.0.0.1:8080"   # the hub's address as phones reach it: the ticket's QR code
    printer = "file:var/tickets.bin"       # "" (no printer), file:PATH, serial:PORT[?baudrate=9600],
                                           # network:HOST[:PORT], usb:VENDOR:PRODUCT, or a [printer] table
    printer_profile = "pos58"   # firmware_profiles/printers/<id>.toml
    camera = "0"                # check-in camera: an index (/dev/video0) or a video file / stream URL
    voice = true                # elder mode reads every screen aloud
    voice_cache = "var/kiosk-voice"
    documents = false           # 材料提交: hand in documents under the document camera
    document_camera = "1"       # its index, a video file / stream URL, or "folder:PATH" (photographs in turn)
    hub_url = "http://192.168.10.5:8080"   # the hub's HTTP address for handing in documents ("": public_url)
    document_spool = "var/kiosk-documents"

For example ``KIOSK_DEVICE_ID=kiosk-centre-2 KIOSK_FULLSCREEN=false KIOSK_PRINTER=serial:/dev/ttyUSB0``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from devicekit.look import CJK_FONT
from devicekit.settings import ConfigError, DeviceSettings, load_settings
from kiosk.printer import PrinterConfigError, Transport, transport_from_config
from kiosk.printer_profile import PrinterProfileError, profile_named
from kiosk.texts import LANGUAGES

__all__ = ["ConfigError", "KioskConfig", "load_config", "printer_transport"]

PRINTER_SCHEMES = ("file", "serial", "network", "usb")


class KioskConfig(DeviceSettings, kw_only=True, forbid_unknown_fields=True):
    device_id: str = "kiosk-centre-1"
    language: str = "zh_CN"
    font: str = CJK_FONT
    """A font with Simplified Chinese glyphs; Kivy's own (Roboto) draws boxes."""
    public_url: str = "http://127.0.0.1:8080"
    """The hub's public address: a ticket's QR code is this plus the ticket's status path (``/t/<token>``)."""
    printer: str | dict[str, Any] = ""
    """Where tickets go: empty for none, a short form (``file:var/tickets.bin``, ``serial:/dev/ttyUSB0``) or a
    TOML table with the keys of ``kiosk.printer.transport_from_config``."""
    printer_profile: str = "pos58"
    camera: str = "0"
    """The check-in camera for OpenCV: a device index, or a video file or stream URL."""
    id_reader: str = ""
    """The ID card reader's serial port (a path or a pyserial URL); empty: none."""
    id_reader_profile: str = "gat467"
    """firmware_profiles/id_readers/<id>.toml"""
    voice: bool = True
    voice_cache: str = "var/kiosk-voice"
    timezone: str = "Asia/Shanghai"
    """The site's time zone, for the issue time printed on the ticket."""
    documents: bool = False
    """The kiosk offers 材料提交 (kiosk/documents): it has a document camera; off, the tile says it is not open."""
    document_camera: str = "1"
    """The document camera (高拍仪) for OpenCV: a device index, a video file or stream URL, or ``folder:PATH`` (the
    photographs of a folder in turn: a demo or test kiosk without the hardware)."""
    hub_url: str = ""
    """The hub's HTTP address as the kiosk reaches it, for handing in documents (``http://192.168.10.5:8080``);
    empty: ``public_url``."""
    document_spool: str = "var/kiosk-documents"
    """Where documents handed in wait on disk until the hub has acknowledged them (kiosk/documents/spool.py)."""

    @property
    def camera_source(self) -> int | str:
        return int(self.camera) if self.camera.isdigit() else self.camera

    @property
    def hub_http(self) -> str:
        return (self.hub_url or self.public_url).rstrip("/")


def printer_transport(setting: str | Mapping[str, Any]) -> Transport | None:
    """The transport a ``printer`` setting names, or None for no printer. Raises ConfigError saying what is wrong.

    ``file:PATH``, ``serial:PORT`` (``?baudrate=115200&timeout=0.5``), ``network:HOST[:PORT]``,
    ``usb:VENDOR:PRODUCT`` (``usb:0x0416:0x5011``), or a mapping such as ``{"transport": "serial", ...}``."""
    if isinstance(setting, Mapping):
        settings = dict(setting)
    else:
        spec = setting.strip()
        if spec in ("", "none"):
            return None
        scheme, _, rest = spec.partition(":")
        if scheme not in PRINTER_SCHEMES or not rest:
            raise ConfigError(f"printer {spec!r}: expected one of {', '.join(s + ':...' for s in PRINTER_SCHEMES)}")
        rest, _, query = rest.partition("?")
        settings = {"transport": scheme, **dict(parse_qsl(query))}
        if scheme == "file":
            settings["path"] = rest
        elif scheme == "serial":
            settings["port"] = rest
        elif scheme == "network":
            host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
            settings["host"] = host
            if port:
                settings["port"] = port
        else:
            vendor, _, product = rest.partition(":")
            try:
                settings |= {"vendor_id": int(vendor, 0), "product_id": int(product, 0)}
            except ValueError:
                raise ConfigError(f"printer {spec!r}: usb:VENDOR:PRODUCT, e.g. usb:0x0416:0x5011") from None
    try:
        return transport_from_config(settings)
    except PrinterConfigError as error:
        raise ConfigError(str(error)) from None


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> KioskConfig:
    """Defaults, then the TOML file, then ``KIOSK_<KEY>`` variables; errors name the file and the key."""
    config = load_settings(KioskConfig, "KIOSK", path, environ)
    if config.language not in LANGUAGES:
        raise ConfigError(f"{path or 'environment'}: language {config.language!r} is not one of {LANGUAGES}")
    if printer_transport(config.printer) is not None:  # a bad printer setting fails at start, not at a ticket
        try:
            profile_named(config.printer_profile)
        except PrinterProfileError as error:
            raise ConfigError(f"{path or 'environment'}: printer_profile: {error}") from None
    return config

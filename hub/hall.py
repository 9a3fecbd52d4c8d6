"""``hall-hub hall [--site centre]``: the hub, and beside it one site's kiosk, counter caller and hall board — the
README's first command (``make run``).

The first run provisions the three devices and a clerk, like an operator would (``hall-hub device add``,
``hall-hub staff add``), and keeps their credentials in ``var/hall/devices.toml`` (readable by this user only);
later runs reuse them. The hub runs as a child process (``hall-hub serve``); once it is ready, the three apps start
as child processes when there is a screen (``DISPLAY`` or ``WAYLAND_DISPLAY``). Without one, the hub runs alone
and the log says how to open each app. Ctrl-C stops everything.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import DeviceKind
from hub.config import HubConfig
from hub.devices import registry_for
from hub.main import open_district
from hub.private_files import write_private_toml
from hub.staff import staff_for
from hub.store import open_store

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
CLERK_ID = "demo"
DEVICES_FILE = "var/hall/devices.toml"
"""The demo devices' credentials and the clerk's PIN (readable by this user only): never in the log."""
CLERK_NAME = "演示窗口员"
SAMPLE_DOCUMENTS = REPO / "assets" / "sample_documents"
"""Photographs the demo kiosk's document camera shows in turn (``folder:``), so 材料提交 works without a 高拍仪."""


@dataclass(frozen=True)
class App:
    """One device app: its kind, the prefix of its settings' environment variables, and how to start it."""

    role: str
    kind: DeviceKind
    prefix: str
    module: str


APPS = (
    App("kiosk", DeviceKind.KIOSK, "KIOSK", "run_kiosk"),
    App("caller", DeviceKind.CALLER, "CALLER", "caller.app"),
    App("board", DeviceKind.BOARD, "BOARD", "display.app"),
)


def provision(config: HubConfig, site_id: str, path: Path) -> dict[str, Any]:
    """The hall's devices and clerk: read from ``path``, or provisioned in the hub's database and written there."""
    store = open_store(config.database.url)
    try:
        district = open_district(store, Path(config.district.path))
        registry = registry_for(store, district)
        if path.exists():
            known: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
            devices = [registry.get(entry["device_id"]) for entry in known.get("devices", {}).values()]
            if known.get("site") == site_id and all(d is not None and not d.revoked for d in devices):
                return known
        site = district.site(site_id)
        if site is None:
            raise SystemExit(f"no site {site_id!r} in district {district.id}")
        window = site.windows[0].id
        devices_out: dict[str, dict[str, str]] = {}
        for app in APPS:
            window_id = window if app.kind == DeviceKind.CALLER else None
            credentials = registry.provision(site_id, app.kind, window_id=window_id)
            devices_out[app.role] = {"device_id": credentials.device_id, "password": credentials.password}
        pin = f"{secrets.randbelow(10**6):06d}"
        staff_for(store, district).add(site_id, CLERK_ID, CLERK_NAME, pin)
    finally:
        store.close()
    hall = {"site": site_id, "window": window, "staff_id": CLERK_ID, "pin": pin, "devices": devices_out}
    write_private_toml(path, hall)
    return hall


def app_environment(app: App, hall: Mapping[str, Any], host: str, port: int, hub_url: str) -> dict[str, str]:
    """The settings of one app as its ``<PREFIX>_<KEY>`` variables (``hub_url``: the hub's HTTP address)."""
    device = hall["devices"][app.role]
    values = {"HOST": host, "PORT": str(port), "SITE": hall["site"], "DEVICE_ID": device["device_id"]}
    values |= {"PASSWORD": device["password"], "FULLSCREEN": "false"}
    if app.kind == DeviceKind.CALLER:
        values |= {"WINDOW": hall["window"], "HUB_URL": hub_url}  # the called ticket's documents
    if app.kind == DeviceKind.KIOSK:
        values |= {"DOCUMENTS": "true", "DOCUMENT_CAMERA": f"folder:{SAMPLE_DOCUMENTS}", "HUB_URL": hub_url}
    return {f"{app.prefix}_{key}": value for key, value in values.items()}


def _shown(environment: Mapping[str, str], role: str) -> str:
    """The variables as a shell line to copy, but for the password: the log says where it is, never what it is."""
    return " ".join(
        f"{key}=<{DEVICES_FILE}:devices.{role}.password>"
        if key.endswith("_PASSWORD")
        else f"{key}={shlex.quote(value)}"
        for key, value in environment.items()
    )


def _ready(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def run_hall(config: HubConfig, site_id: str, hub_args: list[str]) -> int:
    """Provision, start the hub, then the apps (or say how to start them); stop them all on a signal."""
    hall = provision(config, site_id, Path(DEVICES_FILE))
    host = "127.0.0.1" if config.mqtt.managed else config.mqtt.host
    port = config.broker.port if config.mqtt.managed else config.mqtt.port
    hub = subprocess.Popen([sys.executable, "-m", "hub.cli", *hub_args, "serve"])
    children = [hub]
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not _ready(config.http.port):
            if hub.poll() is not None or stopping:
                return hub.returncode or 0
            time.sleep(0.2)
        screen = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        for app in APPS:
            environment = app_environment(app, hall, host, port, f"http://127.0.0.1:{config.http.port}")
            command = [sys.executable, "-m", app.module]
            if screen:
                children.append(subprocess.Popen(command, cwd=REPO, env=os.environ | environment))
            else:
                log.info("open the %s: %s %s", app.role, _shown(environment, app.role), shlex.join(command))
        log.info(
            "the hall of %s is up: HTTP http://%s:%d; the clerk signs in at %s as %s, PIN %s (var/hall/devices.toml)%s",
            site_id, config.http.host, config.http.port, hall["window"], hall["staff_id"], hall["pin"],
            "" if screen else "; no screen here, so the apps did not start (commands above)",
        )  # fmt: skip
        while not stopping and hub.poll() is None:
            time.sleep(0.2)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0

"""``hall-hub hall`` (the README's first command) on a machine without a screen: the hub starts with a kiosk, a
caller and a board provisioned for the centre, the log says how to open each, and the devices work against it."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import contract as wire
from devicekit.link import DeviceLink
from hub.broker import free_port
from kiosk.documents.camera import FolderCamera, open_document_camera
from kiosk.documents.vision import analyse
from tests.support.hub_process import log_defects


def start_hall(directory: Path, http_port: int, broker_port: int) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env |= {"HALL_HTTP_PORT": str(http_port), "HALL_BROKER_PORT": str(broker_port)}
    env |= {"HALL_CLOCK_START": "2026-11-25T10:00:00+08:00", "HALL_LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "hub.cli", "hall"]
    return subprocess.Popen(command, cwd=directory, env=env, stderr=subprocess.PIPE, text=True)


def read_until_up(hall: subprocess.Popen[str], timeout: float = 60) -> str:
    assert hall.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = hall.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "is up" in line:
            return "".join(lines)
    raise AssertionError("the hall did not come up:\n" + "".join(lines)[-3000:])


def settings(log: str, role: str) -> dict[str, str]:
    line = next(line for line in log.splitlines() if f"open the {role}:" in line)
    words = shlex.split(line.split(f"open the {role}:", 1)[1])
    return dict(word.split("=", 1) for word in words if re.fullmatch(r"[A-Z]+_[A-Z_]+=.*", word))


def link(values: dict[str, str], prefix: str, kind: wire.DeviceKind, password: str) -> DeviceLink:
    device = DeviceLink(
        host=values[f"{prefix}_HOST"],
        port=int(values[f"{prefix}_PORT"]),
        site_id=values[f"{prefix}_SITE"],
        device_id=values[f"{prefix}_DEVICE_ID"],
        password=password,
        kind=kind,
    )
    device.start()
    return device


def test_the_hall_comes_up_headless_with_working_devices_and_stops_cleanly(tmp_path: Path) -> None:
    http_port, broker_port = free_port(), free_port()
    hall = start_hall(tmp_path, http_port, broker_port)
    try:
        log = read_until_up(hall)
        assert "no screen here" in log
        kiosk_settings, caller_settings = settings(log, "kiosk"), settings(log, "caller")
        assert settings(log, "board")["BOARD_SITE"] == "centre"
        credentials = tomllib.loads((tmp_path / "var/hall/devices.toml").read_text())
        assert oct((tmp_path / "var/hall/devices.toml").stat().st_mode & 0o777) == "0o600"
        assert f"PIN {credentials['pin']}" in log

        devices = credentials["devices"]
        assert not any(device["password"] in log for device in devices.values())  # only where to find it
        assert kiosk_settings["KIOSK_PASSWORD"] == "<var/hall/devices.toml:devices.kiosk.password>"
        # 材料提交 is open at the demo kiosk: its document camera shows sample photographs the page finder reads
        assert kiosk_settings["KIOSK_DOCUMENTS"] == "true"
        assert kiosk_settings["KIOSK_HUB_URL"] == caller_settings["CALLER_HUB_URL"] == f"http://127.0.0.1:{http_port}"
        camera = open_document_camera(kiosk_settings["KIOSK_DOCUMENT_CAMERA"])
        assert isinstance(camera, FolderCamera) and len(camera.frames) >= 3
        assert all(analyse(frame).ok for frame in camera.frames)
        kiosk = link(kiosk_settings, "KIOSK", wire.DeviceKind.KIOSK, devices["kiosk"]["password"])
        caller = link(caller_settings, "CALLER", wire.DeviceKind.CALLER, devices["caller"]["password"])
        try:
            issued = kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]})
            assert issued.ok and issued.ticket is not None
            sign_in = {"window_id": caller_settings["CALLER_WINDOW"], "staff_id": "demo", "pin": credentials["pin"]}
            signed = caller.request(wire.Action.OPEN_WINDOW, sign_in)
            assert signed.ok and signed.staff is not None and signed.staff.name == "演示窗口员"
            called = caller.request(wire.Action.CALL_NEXT, {"window_id": caller_settings["CALLER_WINDOW"]})
            assert called.ok, called.error
            time.sleep(1.5)  # past a retained snapshot's interval and a schedule tick: the writer's idle work runs
        finally:
            kiosk.stop()
            caller.stop()
    finally:
        hall.send_signal(signal.SIGTERM)
        status = hall.wait(30)
        rest = hall.stderr.read() if hall.stderr else ""
        assert status == 0, rest[-3000:]
    # issuing, calling, devices going offline and the stop leave no traceback and no ERROR line in the hub's log
    assert log_defects(log + rest) == [], (log + rest)[-3000:]
    assert "lost the broker" not in rest and "disconnected from the broker" in rest  # its own stop, not a loss

    again = start_hall(tmp_path, http_port, broker_port)  # a second run reuses the devices
    try:
        assert settings(read_until_up(again), "kiosk")["KIOSK_DEVICE_ID"] == kiosk_settings["KIOSK_DEVICE_ID"]
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(30)

"""The real hub as a child process on a private broker port and HTTP port, and device links to it.

By default the hub manages its own Mosquitto on a free port; given an ``ExternalBroker`` it connects to that one
instead (``HALL_MQTT_*``), and the broker's accounts are the caller's business."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import contract as wire
from devicekit.link import DeviceLink
from hub.broker import free_port
from hub.devices import Credentials, registry_for
from hub.district_file import SAMPLE_DISTRICT
from hub.main import open_district
from hub.staff import staff_for
from hub.store import open_store

REPO = Path(__file__).resolve().parents[2]
WEDNESDAY_10AM = "2026-11-25T10:00:00+08:00"


_DEFECT = re.compile(r'Traceback \(most recent call last\)|"levelname": "(ERROR|CRITICAL)"| (ERROR|CRITICAL) ')


def log_defects(log: str) -> list[str]:
    """The lines of a hub's log (JSON or text) that show a defect: a traceback, or an ERROR or CRITICAL record.
    Bad input from a device is a WARNING; an ERROR means the hub itself went wrong."""
    return [line for line in log.splitlines() if _DEFECT.search(line)]


@dataclass(frozen=True)
class ExternalBroker:
    """An MQTT broker the hub does not manage: where it listens and the hub's account on it."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)


class HubProcess:
    def __init__(
        self,
        directory: Path,
        db_url: str | None = None,
        clock_start: str = WEDNESDAY_10AM,
        broker: ExternalBroker | None = None,
        district: Path | None = SAMPLE_DISTRICT,
    ) -> None:
        """``district``: the district file the hub loads, or None for the one already in the database."""
        self.directory = directory
        self.db_url = db_url or f"sqlite:///{directory}/hall.db"
        self.broker_host = broker.host if broker else "127.0.0.1"
        self.broker_port = broker.port if broker else free_port()
        self.http_port = free_port()
        self.log_path = directory / "hub.log"
        self.env = os.environ | {
            "HALL_DATABASE_URL": self.db_url,
            "HALL_SECRETS_PATH": str(directory / "hub-secret"),
            "HALL_APPOINTMENTS_KEYS_FILE": str(directory / "appointment-keys.toml"),
            "HALL_HTTP_PORT": str(self.http_port),
            "HALL_CLOCK_START": clock_start,
        }
        if district is not None:
            self.env["HALL_DISTRICT_PATH"] = str(district)
        self.broker_dir = directory / "broker"
        if broker is None:
            self.env |= {"HALL_BROKER_DIRECTORY": str(self.broker_dir), "HALL_BROKER_PORT": str(self.broker_port)}
        else:
            self.env |= {
                "HALL_MQTT_HOST": broker.host,
                "HALL_MQTT_PORT": str(broker.port),
                "HALL_MQTT_USERNAME": broker.username,
                "HALL_MQTT_PASSWORD": broker.password,
            }
        self.process: subprocess.Popen[bytes] | None = None
        self.links: list[DeviceLink] = []
        self.expected_errors: list[str] = []

    def provision(self, site_id: str, kind: str, window_id: str | None = None) -> Credentials:
        """Provision a device in the hub's database (the running hub picks it up within a tick)."""
        store = open_store(self.db_url)
        try:
            registry = registry_for(store, open_district(store, SAMPLE_DISTRICT))
            return registry.provision(site_id, kind, window_id=window_id)
        finally:
            store.close()

    def add_staff(self, site_id: str, staff_id: str, name: str = "测试员", pin: str = "2468") -> None:
        """Add a clerk who may sign in at the site's windows (``open-window`` with this staff id and PIN)."""
        store = open_store(self.db_url)
        try:
            staff_for(store, open_district(store, SAMPLE_DISTRICT)).add(site_id, staff_id, name, pin)
        finally:
            store.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def broker_pid(self) -> int:
        """The managed Mosquitto's process id."""
        return int((self.broker_dir / "mosquitto.pid").read_text())

    def kill_broker(self) -> int:
        """SIGKILL the managed Mosquitto (the hub's watchdog starts it again on the same port); its process id."""
        pid = self.broker_pid()
        self.expect_error("the managed Mosquitto stopped")
        os.kill(pid, signal.SIGKILL)
        return pid

    def start(
        self, timeout: float = 20.0, command: list[str] | None = None, ready: Callable[[], bool] = lambda: True
    ) -> float:
        """Start the hub (``hall-hub serve`` unless ``command`` says otherwise); seconds until it answered /readyz
        and ``ready()`` holds."""
        began = time.perf_counter()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command or [sys.executable, "-m", "hub.cli", "serve"], cwd=REPO, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited: {self.log_path.read_text()[-3000:]}")
            if self.get("/readyz") is not None and ready():
                return time.perf_counter() - began
            time.sleep(0.05)
        raise RuntimeError(f"the hub did not become ready: {self.log_path.read_text()[-3000:]}")

    def fetch(self, path: str, auth: Credentials | None = None, timeout: float = 5) -> tuple[int, bytes | None]:
        """A GET's status and body (0 and None if the hub does not answer); ``auth``: as that device (HTTP Basic)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}")
        if auth is not None:
            token = base64.b64encode(f"{auth.device_id}:{auth.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, bytes(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, None

    def get(self, path: str, auth: Credentials | None = None) -> bytes | None:
        """The body of a GET that the hub answers with 2xx, else None."""
        status, body = self.fetch(path, auth, timeout=2)
        return body if 200 <= status < 300 else None

    def statuses(self, auth: Credentials) -> dict[str, dict[str, Any]]:
        """The retained statuses of the devices of ``auth``'s site, by device id, as the hub has them."""
        return {status["device_id"]: status for status in json.loads(self.get("/api/v1/devices", auth) or b"[]")}

    def expect_error(self, message: str) -> None:
        """A test that breaks something on purpose (kills the broker, stops the database) says which ERROR line
        that is to cause: ``log_defects`` leaves out the lines containing ``message``."""
        self.expected_errors.append(message)

    def log_defects(self) -> list[str]:
        """The defect lines (``log_defects``) of this hub's log so far, less the expected ones."""
        found = log_defects(self.log_path.read_text(errors="replace")) if self.log_path.exists() else []
        return [line for line in found if not any(message in line for message in self.expected_errors)]

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        for link in self.links:
            link.stop()
        self.links.clear()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def link(
        self,
        credentials: Credentials,
        site_id: str,
        kind: wire.DeviceKind,
        follow_site: bool = False,
        port: int | None = None,
    ) -> DeviceLink:
        """A connected device; ``port``: another listener than the hub's (a different node of a cluster)."""
        link = DeviceLink(
            host=self.broker_host,
            port=port or self.broker_port,
            site_id=site_id,
            device_id=credentials.device_id,
            password=credentials.password,
            kind=kind,
            follow_site=follow_site,
        )
        assert link.start(wait=10), f"{credentials.device_id} could not connect"
        self.links.append(link)
        return link

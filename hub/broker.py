"""The MQTT broker the hub manages: Debian's Mosquitto 2.0 as a child process, with files the hub generates.

The broker listens on 127.0.0.1 only, refuses anonymous clients and knows two kinds of account: the hub's own
(``hub``, a random password made per ``ManagedMosquitto``, read and write under ``hall/``) and one per provisioned
device with the topic rules of ``contract.device_acl`` (see ``hub.devices.broker_files``). Nothing is persisted by
the broker: the hub publishes its retained messages again when it starts.

Mosquitto drops to the ``mosquitto`` user when started as root; the configuration names the hub's own user
instead, so the broker can read the 0600 files the hub writes (and runs with no more rights than the hub).
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import IO

from hub.devices import HUB_USER, PASSWORD_BYTES, Device, broker_files

MOSQUITTO = Path("/usr/sbin/mosquitto")
HOST = "127.0.0.1"
RUNNING = re.compile(rb"mosquitto version \S+ running")
"""Mosquitto's log line once its listeners are open."""
RELOADED = re.compile(rb"Reloading config\.")
"""Mosquitto's log line when it takes a SIGHUP; it serves no client until the reload is done."""


class BrokerError(RuntimeError):
    """The broker did not start, reload or stop as asked; the message ends with its log's tail."""


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


LISTEN_PORTS = range(20000, 32000)
"""Where ``free_port`` looks: below Linux's ephemeral range (32768-60999 by default), so that no outgoing connection
of another process can take the port between the choice and the listener's bind (a port the kernel hands out with
``bind(0)`` is an ephemeral one, and under a parallel test run one was taken that way)."""


_given: set[int] = set()
"""Ports this process handed out already: several asked for in a row (a cluster's) are never the same one."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, chosen at random outside the ephemeral range."""
    for _ in range(200):
        port = secrets.choice(LISTEN_PORTS)
        if port in _given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise OSError(f"no free port in {LISTEN_PORTS.start}-{LISTEN_PORTS.stop - 1}")


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by this user only."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(temporary, path)


class ManagedMosquitto:
    """One Mosquitto process on ``port`` (a free one if not given), configured from the files in ``directory``.

    ``devices`` is asked for the device accounts at every start and reload (e.g. ``DeviceRegistry.all``).
    """

    def __init__(
        self,
        directory: Path,
        devices: Callable[[], Iterable[Device]],
        *,
        port: int | None = None,
        binary: Path = MOSQUITTO,
        max_queued_messages: int = 10_000,
        max_inflight_messages: int = 100,
        timeout: float = 10.0,
    ) -> None:
        self.directory = directory
        self.devices = devices
        self.host = HOST
        self.port = free_port() if port is None else port
        self.binary = binary
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        self.timeout = timeout
        """Seconds to wait for the broker to listen, reload or exit."""
        self.hub_user = HUB_USER
        self.hub_password = secrets.token_urlsafe(PASSWORD_BYTES)
        self.config_path = directory / "mosquitto.conf"
        self.password_path = directory / "passwd"
        self.acl_path = directory / "acl"
        self.log_path = directory / "mosquitto.log"
        self.pid_path = directory / "mosquitto.pid"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _config(self) -> str:
        return "\n".join(
            [
                f"listener {self.port} {self.host}",
                "allow_anonymous false",
                f"password_file {self.password_path}",
                f"acl_file {self.acl_path}",
                "persistence false",
                "set_tcp_nodelay true",  # no Nagle delay: replies and calls leave at once (~40 ms saved each)
                f"max_queued_messages {self.max_queued_messages}",
                f"max_inflight_messages {self.max_inflight_messages}",
                f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                f"log_dest file {self.log_path}",
                *(f"log_type {kind}" for kind in ("error", "warning", "notice", "information")),
                "log_timestamp_format %Y-%m-%dT%H:%M:%S",
                "",
            ]
        )

    def _write_accounts(self) -> None:
        passwords, acl = broker_files(self.devices(), self.hub_password)
        _write_private(self.password_path, passwords)
        _write_private(self.acl_path, acl)

    def start(self) -> None:
        """Write the files, start Mosquitto and return once its port accepts connections."""
        if self._process is not None:
            raise BrokerError("the broker is already started")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        _write_private(self.config_path, self._config())
        self._write_accounts()
        # Errors from before the log file is opened go to stderr: into the same file (both append).
        self._log = self.log_path.open("ab")
        started = self._log.tell()
        self._process = subprocess.Popen(
            [str(self.binary), "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        self.pid_path.write_text(str(self._process.pid))
        try:
            self._wait_for_log(started, RUNNING, f"listen on port {self.port}")
            self._wait_for(self._accepts, f"accept connections on port {self.port}")
        except BaseException:
            self.stop()
            raise

    def _accepts(self) -> bool:
        try:
            socket.create_connection((self.host, self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def _wait_for_log(self, offset: int, line: re.Pattern[bytes], what: str) -> None:
        self._wait_for(lambda: line.search(self._log_since(offset)) is not None, what)

    def _wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not condition():
            if not self.running:
                raise BrokerError(f"mosquitto exited instead of: {what}{self._log_tail()}")
            if time.monotonic() > deadline:
                raise BrokerError(f"mosquitto did not {what} in {self.timeout} s{self._log_tail()}")
            time.sleep(0.01)

    def reload(self) -> None:
        """Rewrite the password and ACL files from ``devices`` and make the running broker read them again.

        Returns once the broker has taken the signal: any connection after this is checked against the new files.
        """
        if self._process is None or not self.running:
            raise BrokerError("the broker is not running")
        self._write_accounts()
        logged = self.log_path.stat().st_size
        self._process.send_signal(signal.SIGHUP)
        self._wait_for_log(logged, RELOADED, "reload its files")

    def stop(self) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after ``timeout``); stopping a stopped broker does nothing."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(self.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _stop_stale(self) -> None:
        """A broker left running by a hub that was killed (SIGKILL) still holds the port: stop it first."""
        try:
            pid = int(self.pid_path.read_text())
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(self.config_path).encode() not in command_line:
            return  # the pid was reused by another program
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                raise BrokerError(f"the stale broker {pid} on port {self.port} did not stop")
            time.sleep(0.02)

    def restart(self) -> None:
        """Stop and start again on the same port with the same accounts (the hub's password stays)."""
        self.stop()
        self.start()

    def _log_since(self, offset: int) -> bytes:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n  mosquitto log:\n  " + "\n  ".join(tail)

    def __enter__(self) -> ManagedMosquitto:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

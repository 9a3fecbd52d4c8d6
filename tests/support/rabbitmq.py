"""A private RabbitMQ node with the MQTT and management plugins, for tests: Debian's rabbitmq-server (3.10) as a
child process on free loopback ports, everything it keeps in one directory.

``RabbitNode(directory)`` never touches the machine's own node (``rabbit@localhost`` on 5672, its cookie, its
``/etc/rabbitmq`` files, its epmd on 4369): it has its own node name, AMQP, distribution, MQTT, management and epmd
ports, Erlang cookie (``HOME`` is the directory), configuration, enabled-plugins file, Mnesia and log directories.
Debian's ``/usr/sbin/rabbitmq-server`` wrapper switches to the ``rabbitmq`` user and drops the environment, so the
node is started with ``/usr/lib/rabbitmq/bin/rabbitmq-server`` as the current user.

The node comes with one administrator (``admin_user``, a random ``admin_password``), for the management API and
for whoever sets up accounts; anonymous MQTT clients are refused. ``start()`` returns once the management API
answers and the MQTT port accepts connections (about 10 s here, see ``START_SECONDS``); ``kill()`` is a crash
(SIGKILL), after which ``start()`` brings the node back on the same ports with the same users and queues.

    with RabbitNode(tmp_path / "rabbit") as node:
        node.ctl("add_user", "kiosk-centre-1", password)
        ... connect an MQTT client to 127.0.0.1:node.mqtt_port ...
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from hub.broker import free_port
from tests.support.nats_cluster import _accepts

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
RABBITMQ_SERVER = RABBIT_BIN / "rabbitmq-server"
RABBITMQCTL = RABBIT_BIN / "rabbitmqctl"
EPMD = Path("/usr/bin/epmd")
PLUGINS = ("rabbitmq_mqtt", "rabbitmq_management")
START_SECONDS = 10.3
"""A fresh node's start here, from the process to the management API and MQTT port answering: 8.0, 10.3 and 12.4 s
(another 9.1 s) with other test suites running beside it; a restart after ``kill()`` on the same Mnesia 6.3-10.2 s.
Most of it is the Erlang VM and the plugins booting, so a suite should start one node and share it."""


class RabbitError(RuntimeError):
    """The node did not start or a ``rabbitmqctl`` command failed; the message ends with the log's tail."""


class RabbitNode:
    def __init__(self, directory: Path, name: str | None = None) -> None:
        self.directory = directory
        self.name = name or f"hall-test-{uuid.uuid4().hex[:8]}"
        self.node = f"{self.name}@localhost"
        self.amqp_port, self.dist_port, self.epmd_port = free_port(), free_port(), free_port()
        self.mqtt_port, self.management_port = free_port(), free_port()
        self.admin_user, self.admin_password = "admin", secrets.token_urlsafe(18)
        self.process: subprocess.Popen[bytes] | None = None
        self._write_files()

    # --- files and environment ------------------------------------------------------------------------------------

    def _write_files(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = f"""\
listeners.tcp.default = 127.0.0.1:{self.amqp_port}
mqtt.listeners.tcp.default = 127.0.0.1:{self.mqtt_port}
mqtt.allow_anonymous = false
management.tcp.ip = 127.0.0.1
management.tcp.port = {self.management_port}
default_user = {self.admin_user}
default_pass = {self.admin_password}
default_user_tags.administrator = true
log.file.level = info
"""
        self._write(self.directory / "rabbitmq.conf", config)
        self._write(self.directory / "enabled_plugins", f"[{','.join(PLUGINS)}].\n")
        self._write(self.directory / "rabbitmq-env.conf", "")  # instead of /etc/rabbitmq/rabbitmq-env.conf
        cookie = self.directory / ".erlang.cookie"
        if not cookie.exists():
            self._write(cookie, secrets.token_hex(20))
            cookie.chmod(0o400)  # Erlang refuses a cookie others could read

    @staticmethod
    def _write(path: Path, text: str) -> None:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)

    @property
    def log_path(self) -> Path:
        return self.directory / "log" / f"{self.node}.log"

    def environment(self) -> dict[str, str]:
        """What ``rabbitmq-server`` and ``rabbitmqctl`` both need to find this node and only this one."""
        directory = str(self.directory)
        return {
            **os.environ,
            "HOME": directory,  # the Erlang cookie's place
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": f"{directory}/mnesia",
            "RABBITMQ_LOG_BASE": f"{directory}/log",
            "RABBITMQ_PID_FILE": f"{directory}/rabbitmq.pid",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{directory}/enabled_plugins",
            "RABBITMQ_CONFIG_FILE": f"{directory}/rabbitmq.conf",
            "RABBITMQ_ADVANCED_CONFIG_FILE": f"{directory}/advanced.config",
            "RABBITMQ_CONF_ENV_FILE": f"{directory}/rabbitmq-env.conf",
        }

    # --- the node -------------------------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> RabbitNode:
        """Start the node; return once the management API answers and the MQTT port accepts a connection."""
        if self.running:
            return self
        output = (self.directory / "server.out").open("ab")
        self.process = subprocess.Popen(
            [str(RABBITMQ_SERVER)],
            env=self.environment(),
            cwd=self.directory,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group (for kill); a Ctrl-C in the test's terminal is not its
        )
        output.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RabbitError(f"{self.node} exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.api("/api/overview") is not None and _accepts(self.mqtt_port):
                return self
            time.sleep(0.1)
        raise RabbitError(f"{self.node} did not start within {timeout:.0f} s:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def api(self, path: str) -> Any:
        """A management API answer (as the administrator), or None while the API does not answer."""
        request = urllib.request.Request(f"{self.management_url}{path}", headers={"Authorization": self._basic()})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            return None

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def _basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.admin_user}:{self.admin_password}".encode()).decode()

    def ctl(self, *args: str, timeout: float = 60.0) -> str:
        """Run ``rabbitmqctl -n <this node> <args>``; its output, or ``RabbitError`` with its error output."""
        result = subprocess.run(
            [str(RABBITMQCTL), "-n", self.node, *args],
            env=self.environment(),
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RabbitError(f"rabbitmqctl {' '.join(args[:1])} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def kill(self) -> None:
        """SIGKILL the node (a crash): its clients lose their connections at once. The server script runs the
        Erlang VM as its child, so the whole process group is killed, not only the script."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Stop the node (SIGTERM: the server script stops the VM in order; SIGKILL after 30 s) and the epmd it
        started."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        subprocess.run(
            [str(EPMD), "-port", str(self.epmd_port), "-kill"],
            env=self.environment(),
            capture_output=True,
            timeout=10,
            check=False,
        )

    def log_tail(self, characters: int = 3000) -> str:
        parts = []
        for path in (self.directory / "server.out", self.log_path):
            text = path.read_text(errors="replace") if path.exists() else "(none)"
            parts.append(f"--- {path.name} ---\n{text[-characters:]}")
        return "\n".join(parts)

    def __enter__(self) -> RabbitNode:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

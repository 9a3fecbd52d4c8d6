"""Device accounts on NATS (2.9, its MQTT listener): an include file of users the hub writes, then a reload.

The file is the ``authorization`` block of every node (``include hall-accounts.conf`` in place of it), with the
hub's user (``[mqtt] username``/``password``) and one user per device, each a bcrypt hash of its password and the
subject permissions of ``contract.device_acl`` (publish for ``write``, subscribe for ``read``, both for
``readwrite``; ``$MQTT.sub.>`` to subscribe to, through which NATS delivers QoS 1 subscriptions). The file is the
only place the devices' bcrypt hashes are kept: the hub reads it back to change it (under a lock, so that the hub's
pages and ``hall-hub device`` do not lose each other's changes), writes it atomically and reloads each node.

The first write (no file yet, e.g. ``hall-hub device sync`` before the nodes are started) reloads nothing: a node
whose configuration includes a missing file does not start. A reload that fails (a pid file without a process, a
command that exits non-zero, a node whose monitoring page does not show a newer configuration within
``RELOAD_SECONDS``) is an error, and the previous file is put back.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import bcrypt

import contract
from hub.broker_accounts.base import BrokerAccountsError, SyncReport, device_rules
from hub.config import BrokerConfig, ConfigError, MqttConfig
from hub.devices import Device

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
MQTT_DELIVERY = "$MQTT.sub.>"
"""NATS delivers QoS 1 subscriptions through this subject: every MQTT account needs subscribe on it. An MQTT client
cannot subscribe to ``$MQTT/sub/#`` itself (SUBACK 0x80), so this does not let one device read another's."""
BCRYPT_ROUNDS = 6
"""bcrypt's cost: 2^6 rounds, ~4 ms a hash here (NATS checks one at every connect; the default 11 takes ~120 ms, and
20,000 devices reconnecting after a broker restart would cost 40 CPU-minutes). Device passwords are 192 random
bits: no cost makes them easier or harder to guess."""
RELOAD_SECONDS = 10.0
HEADER = "# Written by the hub (hub/broker_accounts) from its device registry; edits here are overwritten.\n"
PREFIX = "authorization: "
HUB_TOPICS = contract.ROOT.partition("/")[0] + "/#"


def _bcrypt(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()


def _matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # not a bcrypt hash
        return False


def subjects(topic: str) -> tuple[str, ...]:
    """The NATS subjects of an MQTT topic or filter: ``/`` becomes ``.``, ``+`` ``*``, and ``a/#`` is ``a`` and
    ``a.>`` (MQTT's ``#`` matches its parent level too). Contract topics have no dots, so none needs escaping."""
    levels = ["*" if level == "+" else level for level in topic.split("/")]
    if levels[-1] != "#":
        return (".".join(levels),)
    return (".".join(levels[:-1]), ".".join([*levels[:-1], ">"]))


def _listed(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


class NatsAccounts:
    def __init__(
        self,
        files: Iterable[Path],
        hub_user: str,
        hub_password: str,
        *,
        pid_files: Iterable[str] = (),
        reload_command: str = "",
        monitor_urls: Iterable[str] = (),
    ) -> None:
        self.files = tuple(files)
        if not self.files:
            raise ConfigError("[broker] accounts = 'nats' needs nats_files (the include file of the nodes' users)")
        if not hub_password:
            raise ConfigError("[broker] accounts = 'nats' needs the hub's own password ([mqtt] password)")
        self.hub_user, self._hub_password = hub_user, hub_password
        self.pid_files, self.reload_command = tuple(pid_files), reload_command
        if not self.pid_files and not self.reload_command:
            raise ConfigError("[broker] accounts = 'nats' needs nats_pid_files or nats_reload_command")
        self.monitor_urls = tuple(url.rstrip("/") for url in monitor_urls)

    @classmethod
    def from_config(cls, broker: BrokerConfig, mqtt: MqttConfig) -> NatsAccounts:
        return cls(
            [Path(path) for path in _listed(broker.nats_files)],
            mqtt.username,
            mqtt.password,
            pid_files=_listed(broker.nats_pid_files),
            reload_command=broker.nats_reload_command,
            monitor_urls=_listed(broker.nats_monitor_urls),
        )

    # --- the hook -------------------------------------------------------------------------------------------------

    def add(self, device: Device, password: str) -> None:
        with self._users() as users:
            users[device.device_id] = self._entry(device, _bcrypt(password))

    def remove(self, device_id: str) -> None:
        with self._users() as users:
            users.pop(device_id, None)

    def sync(self, devices: Iterable[Device]) -> SyncReport:
        active = {device.device_id: device for device in devices if not device.revoked}
        with self._users() as users:
            removed = tuple(sorted(set(users) - set(active)))
            kept = tuple(sorted(set(users) & set(active)))
            missing = tuple(sorted(set(active) - set(users)))
            for device_id in removed:
                del users[device_id]
            for device_id in kept:
                users[device_id] = self._entry(active[device_id], users[device_id]["password"])
        return SyncReport(kept=kept, removed=removed, missing=missing)

    def hashes(self) -> dict[str, str]:
        """Every device user of the file and its bcrypt hash (for checks and tests)."""
        return {name: entry["password"] for name, entry in self._read().items()}

    # --- the file -------------------------------------------------------------------------------------------------

    def _entry(self, device: Device, hashed: str) -> dict[str, Any]:
        publish, read = (tuple(s for topic in topics for s in subjects(topic)) for topics in device_rules(device))
        return {
            "user": device.device_id,
            "password": hashed,
            "allowed_connection_types": ["MQTT"],
            "permissions": {"publish": list(publish), "subscribe": [*read, MQTT_DELIVERY]},
        }

    def _hub_entry(self, hashed: str | None) -> dict[str, Any]:
        """``readwrite hall/#`` (the managed Mosquitto's rule). Every hub of a city has the same user and password
        (``[mqtt]``): each hub writes this one entry for all of them. The hash is kept while
        the hub's password is unchanged, so an unchanged hub leaves the file unchanged."""
        if hashed is None or not _matches(self._hub_password, hashed):
            hashed = _bcrypt(self._hub_password)
        return {
            "user": self.hub_user,
            "password": hashed,
            "allowed_connection_types": ["MQTT"],
            "permissions": {"publish": list(subjects(HUB_TOPICS)), "subscribe": [*subjects(HUB_TOPICS), MQTT_DELIVERY]},
        }

    def _parse(self, text: str) -> dict[str, dict[str, Any]]:
        """The users of a file this class wrote, by name (the hub's included)."""
        start = text.find(PREFIX)
        if start < 0:
            raise BrokerAccountsError(f"{self.files[0]} was not written by the hub: move it away or fix its path")
        try:
            users = json.loads(text[start + len(PREFIX) :])["users"]
            return {entry["user"]: entry for entry in users}
        except (ValueError, KeyError, TypeError) as error:
            raise BrokerAccountsError(f"{self.files[0]} cannot be read ({error}): move it away") from None

    def _read_all(self) -> tuple[str | None, dict[str, dict[str, Any]]]:
        try:
            text = self.files[0].read_text()
        except FileNotFoundError:
            return None, {}
        except OSError as error:
            raise BrokerAccountsError(f"cannot read {self.files[0]}: {error.strerror}") from None
        return text, self._parse(text)

    def _read(self) -> dict[str, dict[str, Any]]:
        users = self._read_all()[1]
        users.pop(self.hub_user, None)
        return users

    def _render(self, users: dict[str, dict[str, Any]], hub_hash: str | None) -> str:
        entries = [self._hub_entry(hub_hash), *(users[name] for name in sorted(users))]
        lines = ",\n".join("    " + json.dumps(entry, ensure_ascii=False) for entry in entries)
        return f'{HEADER}{PREFIX}{{\n  "users": [\n{lines}\n  ]\n}}\n'

    @contextmanager
    def _users(self) -> Iterator[dict[str, dict[str, Any]]]:
        """The device users to change in place; written (if changed) and reloaded at the end, under the lock."""
        with self._locked():
            before, users = self._read_all()
            hub = users.pop(self.hub_user, None)
            yield users
            after = self._render(users, None if hub is None else hub["password"])
            if after == before:
                return
            self._write(after)
            if before is None:
                return  # the first file: a node that includes it could not start without it, so none runs to reload
            try:
                self._reload()
            except BrokerAccountsError:
                self._put_back(before)
                raise

    def _put_back(self, before: str | None) -> None:
        """The file as it was before a change whose reload failed, and a reload of it, for the nodes that did load
        the change (a node that cannot be reloaded now still runs the file it had)."""
        if before is None:
            for path in self.files:
                path.unlink(missing_ok=True)
            return
        self._write(before)
        with suppress(BrokerAccountsError):
            self._reload()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.files[0].with_name(self.files[0].name + ".lock")
        try:
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise BrokerAccountsError(f"cannot write beside {self.files[0]}: {error.strerror}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def _write(self, text: str) -> None:
        """Each file replaced atomically (a node reloading meanwhile reads the old file or the new, never half),
        readable by its group: nats-server may run as another user of the hub's group."""
        for path in self.files:
            try:
                descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
                with os.fdopen(descriptor, "w") as file:
                    file.write(text)
                    file.flush()
                    os.fsync(file.fileno())
                os.chmod(temporary, 0o640)
                os.replace(temporary, path)
            except OSError as error:
                raise BrokerAccountsError(f"cannot write {path}: {error.strerror}") from None

    # --- the reload -----------------------------------------------------------------------------------------------

    def _reload(self) -> None:
        loaded = {url: self._load_time(url) for url in self.monitor_urls}
        commands = [shlex.split(self.reload_command)] if self.reload_command else []
        commands += [[NATS_SERVER, "--signal", f"reload={pid}"] for pid in self.pid_files]
        for command in commands:
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise BrokerAccountsError(f"the NATS reload `{shlex.join(command)}` did not run: {error}") from None
            if done.returncode != 0:
                said = (done.stderr or done.stdout).strip()[-300:]
                raise BrokerAccountsError(f"the NATS reload `{shlex.join(command)}` failed: {said}")
        for url, before in loaded.items():
            self._await_reload(url, before)

    def _load_time(self, url: str) -> str:
        """``config_load_time`` of a node's ``/varz``: it changes when the node has loaded its configuration."""
        try:
            with urllib.request.urlopen(f"{url}/varz", timeout=5) as response:
                loaded: str = json.loads(response.read())["config_load_time"]
                return loaded
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            raise BrokerAccountsError(f"the NATS node at {url} does not answer: {error}") from None

    def _await_reload(self, url: str, before: str) -> None:
        deadline = time.monotonic() + RELOAD_SECONDS
        while self._load_time(url) == before:
            if time.monotonic() > deadline:
                raise BrokerAccountsError(
                    f"the NATS node at {url} did not load the new accounts within {RELOAD_SECONDS:.0f} s (its log "
                    "says why)"
                )
            time.sleep(0.05)

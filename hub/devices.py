"""Device identity: every kiosk, caller, board, window screen and evaluator has its own provisioned account.

``DeviceRegistry.provision`` checks the request against the district, makes a password with ``secrets`` and returns
it once in ``Credentials``; only two hashes of it are kept: a Mosquitto ``$7$`` hash for the broker's password file
and an argon2 hash for the hub's own checks. ``rotate`` replaces both with those of a new password, returned once
the same way (for a device whose password leaked or was lost). ``broker_files`` turns the registry into Mosquitto's
password and ACL files, so the broker enforces each device's topic rules (``contract.device_acl``).

The registry's rules live in one class; where the rows are kept is a small ``DeviceRows`` backend: SQL (SQLite or
PostgreSQL, the ``devices`` table of the hub's database) or memory (for a ``memory://`` hub and tests).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import argon2
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

import contract
from contract import DeviceKind
from engine.district import District
from hub.store import EventStore
from hub.store.schema import devices as devices_table
from hub.store.sql import SqlStore

HUB_USER = "hub"
"""The hub's own broker account; no device may take this id."""

DEVICE_ID = re.compile(r"[a-z0-9-]{1,48}")
WINDOW_KINDS = frozenset({DeviceKind.CALLER, DeviceKind.WINDOW_SCREEN, DeviceKind.EVALUATOR})
"""Kinds that belong to one window of their site."""

PASSWORD_BYTES = 24
"""Random bytes of a generated password (32 URL-safe characters)."""

MOSQUITTO_ITERATIONS = 101
MOSQUITTO_SALT_BYTES = 12
"""``mosquitto_passwd``'s defaults for its ``$7$`` (PBKDF2-HMAC-SHA512) hashes."""

_hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
"""OWASP's argon2id minimum (19 MiB, 2 passes): ~40 ms here instead of the library default's ~200 ms. Device passwords
are 192 random bits, beyond any guessing whatever the hash costs; a cheap hash keeps the hub's checks fast."""


class DeviceError(ValueError):
    """A provisioning request the registry refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a newly provisioned device is told once. The password is never stored, logged or shown in a repr."""

    device_id: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    site_id: str
    kind: DeviceKind
    window_id: str | None
    broker_hash: str = field(repr=False)
    """``$7$<iterations>$<salt>$<digest>``: the part after ``user:`` of a Mosquitto password file line."""
    password_hash: str = field(repr=False)
    """argon2id, for the hub's own checks of a device's password."""
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS) -> str:
    """The hash ``mosquitto_passwd`` writes for ``password``: PBKDF2-HMAC-SHA512 over the salt's raw bytes, with
    salt and 64-byte digest in standard base64."""
    salt = secrets.token_bytes(MOSQUITTO_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


# --- where the rows are kept -----------------------------------------------------------------------------------------


class DeviceRows(Protocol):
    def insert(self, device: Device) -> None:
        """Store a new device; raise ``DeviceError`` if its id is taken."""
        ...

    def set_revoked(self, device_id: str, at: datetime) -> None: ...

    def set_hashes(self, device_id: str, broker_hash: str, password_hash: str) -> bool:
        """Replace the password hashes of a device that is not revoked; False when there is none."""
        ...

    def get(self, device_id: str) -> Device | None: ...

    def all(self) -> list[Device]:
        """Every device, revoked ones included, ordered by id."""
        ...


class MemoryDeviceRows:
    def __init__(self) -> None:
        self._devices: dict[str, Device] = {}

    def insert(self, device: Device) -> None:
        if device.device_id in self._devices:
            raise DeviceError(f"device {device.device_id} already exists")
        self._devices[device.device_id] = device

    def set_revoked(self, device_id: str, at: datetime) -> None:
        self._devices[device_id] = replace(self._devices[device_id], revoked_at=at)

    def set_hashes(self, device_id: str, broker_hash: str, password_hash: str) -> bool:
        device = self._devices.get(device_id)
        if device is None or device.revoked:
            return False
        self._devices[device_id] = replace(device, broker_hash=broker_hash, password_hash=password_hash)
        return True

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    def all(self) -> list[Device]:
        return [self._devices[device_id] for device_id in sorted(self._devices)]


def _utc(at: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were stored in UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _device_of(row: Any) -> Device:
    return Device(
        device_id=row.device_id,
        site_id=row.site_id,
        kind=DeviceKind(row.kind),
        window_id=row.window_id,
        broker_hash=row.broker_hash,
        password_hash=row.password_hash,
        created_at=_utc(row.created_at),
        revoked_at=None if row.revoked_at is None else _utc(row.revoked_at),
    )


class SqlDeviceRows:
    """The ``devices`` table of a database migrated by ``hub.store.migrate`` (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def insert(self, device: Device) -> None:
        row = {
            "device_id": device.device_id,
            "site_id": device.site_id,
            "kind": device.kind.value,
            "window_id": device.window_id,
            "broker_hash": device.broker_hash,
            "password_hash": device.password_hash,
            "created_at": device.created_at.astimezone(UTC),
            "revoked_at": None if device.revoked_at is None else device.revoked_at.astimezone(UTC),
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(devices_table.insert(), row)
        except IntegrityError as exc:
            raise DeviceError(f"device {device.device_id} already exists") from exc

    def set_revoked(self, device_id: str, at: datetime) -> None:
        statement = (
            devices_table.update().where(devices_table.c.device_id == device_id).values(revoked_at=at.astimezone(UTC))
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def set_hashes(self, device_id: str, broker_hash: str, password_hash: str) -> bool:
        statement = (
            devices_table.update()
            .where(devices_table.c.device_id == device_id, devices_table.c.revoked_at.is_(None))
            .values(broker_hash=broker_hash, password_hash=password_hash)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount > 0

    def get(self, device_id: str) -> Device | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(devices_table).where(devices_table.c.device_id == device_id)
            ).one_or_none()
        return None if row is None else _device_of(row)

    def all(self) -> list[Device]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(devices_table).order_by(devices_table.c.device_id)).all()
        return [_device_of(row) for row in rows]


# --- the registry ----------------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


class DeviceRegistry:
    """Provision, rotate the password of, revoke, look up and verify devices of one district."""

    def __init__(self, district: District, rows: DeviceRows, clock: Callable[[], datetime] = _now) -> None:
        self.district = district
        self.rows = rows
        self.clock = clock

    def provision(
        self, site_id: str, kind: DeviceKind | str, device_id: str | None = None, window_id: str | None = None
    ) -> Credentials:
        """Create a device and its password; the returned credentials are the only place the password appears."""
        kind = self._check(site_id, kind, window_id)
        if device_id is None:
            device_id = self._free_id(site_id, kind)
        elif not DEVICE_ID.fullmatch(device_id):
            raise DeviceError(f"device id {device_id!r} must be 1-48 of a-z, 0-9 and -")
        if device_id == HUB_USER:
            raise DeviceError(f"device id {HUB_USER!r} is the hub's own account")
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        self.rows.insert(
            Device(
                device_id=device_id,
                site_id=site_id,
                kind=kind,
                window_id=window_id,
                broker_hash=mosquitto_hash(password),
                password_hash=_hasher.hash(password),
                created_at=self.clock(),
            )
        )
        return Credentials(device_id, password)

    def rotate(self, device_id: str) -> tuple[Device, Credentials]:
        """A new password for a device that is not revoked, returned once as provisioning returns it; the old one
        is refused from now on: by ``verify`` at once, by the managed broker from its next reload (the device's
        hashes changed, so the hub's registry watch sees a changed device and reloads it)."""
        device = self.get(device_id)
        if device is None:
            raise DeviceError(f"no device {device_id!r}")
        revoked = DeviceError(f"device {device_id} is revoked: provision a new one")
        if device.revoked:
            raise revoked
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        rotated = replace(device, broker_hash=mosquitto_hash(password), password_hash=_hasher.hash(password))
        if not self.rows.set_hashes(device_id, rotated.broker_hash, rotated.password_hash):
            raise revoked  # revoked meanwhile
        return rotated, Credentials(device_id, password)

    def _check(self, site_id: str, kind: DeviceKind | str, window_id: str | None) -> DeviceKind:
        try:
            kind = DeviceKind(kind)
        except ValueError:
            raise DeviceError(f"unknown device kind {kind!r}; one of {', '.join(DeviceKind)}") from None
        site = self.district.site(site_id)
        if site is None:
            raise DeviceError(f"no site {site_id!r} in district {self.district.id}")
        article = "an" if kind[0] in "aeiou" else "a"
        if kind in WINDOW_KINDS and window_id is None:
            raise DeviceError(f"{article} {kind} belongs to a window: give its window id")
        if kind not in WINDOW_KINDS and window_id is not None:
            raise DeviceError(f"{article} {kind} belongs to no window")
        if window_id is not None and site.window(window_id) is None:
            raise DeviceError(f"no window {window_id!r} at site {site_id}")
        return kind

    def _free_id(self, site_id: str, kind: DeviceKind) -> str:
        """``kiosk-centre-1``, ``window-screen-centre-2``: the first number not taken (revoked ids stay taken)."""
        stem = re.sub(r"[^a-z0-9-]", "-", f"{kind}-{site_id}".lower())[:40]
        taken = {device.device_id for device in self.rows.all()}
        return next(f"{stem}-{n}" for n in range(1, len(taken) + 2) if f"{stem}-{n}" not in taken)

    def revoke(self, device_id: str) -> Device:
        """Revoke a device for good (its id is never given out again); revoking twice keeps the first time."""
        device = self.get(device_id)
        if device is None:
            raise DeviceError(f"no device {device_id!r}")
        if device.revoked:
            return device
        at = self.clock()
        self.rows.set_revoked(device_id, at)
        return replace(device, revoked_at=at)

    def get(self, device_id: str) -> Device | None:
        return self.rows.get(device_id)

    def all(self) -> list[Device]:
        return self.rows.all()

    def verify(self, device_id: str, password: str) -> bool:
        """Whether ``password`` is the password of a device that exists and is not revoked."""
        device = self.get(device_id)
        if device is None or device.revoked:
            return False
        try:
            return _hasher.verify(device.password_hash, password)
        except argon2.exceptions.VerificationError:
            return False


def registry_for(store: EventStore, district: District) -> DeviceRegistry:
    """The registry kept beside a store: in its SQL database, or in memory for a memory store."""
    rows: DeviceRows = SqlDeviceRows(store.engine) if isinstance(store, SqlStore) else MemoryDeviceRows()
    return DeviceRegistry(district, rows)


# --- Mosquitto's files -----------------------------------------------------------------------------------------------


def broker_files(devices: Iterable[Device], hub_password: str) -> tuple[str, str]:
    """(password file, ACL file) for Mosquitto: the hub may read and write everything under ``hall/``, each device
    that is not revoked gets exactly ``contract.device_acl``."""
    hub_topics = contract.ROOT.partition("/")[0] + "/#"
    passwords = [f"{HUB_USER}:{mosquitto_hash(hub_password)}"]
    acl = [
        "# Written by the hub from its device registry; edits here are overwritten.",
        "",
        f"user {HUB_USER}",
        f"topic readwrite {hub_topics}",
    ]
    for device in devices:
        if device.revoked:
            continue
        if not DEVICE_ID.fullmatch(device.device_id) or device.device_id == HUB_USER:
            raise DeviceError(f"device id {device.device_id!r} cannot be a broker account")
        passwords.append(f"{device.device_id}:{device.broker_hash}")
        acl += ["", f"user {device.device_id}"]
        acl += [
            f"topic {access} {topic}"
            for access, topic in contract.device_acl(device.site_id, device.device_id, device.kind)
        ]
    return "\n".join(passwords) + "\n", "\n".join(acl) + "\n"

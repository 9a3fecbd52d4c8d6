"""The appointment secrets file: signing keys (rotating) and the pepper for the keyed hashes (never rotated).

    # var/appointment-keys.toml, mode 600; back it up with the database
    current = "k20261125"
    pepper = "<base64url, 32 bytes>"

    [keys]
    k20261125 = "<base64url, 32 bytes>"
    k20261001 = "<base64url, 32 bytes>"     # previous key: still verifies codes signed before the rotation

``python -m hub.appointments.keyfile init|rotate|retire KEY_ID PATH`` manages it (docs/appointments.md).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hub.appointments.codes import Keyring
from hub.private_files import write_private_toml

SECRET_BYTES = 32


class KeyFileError(ValueError):
    """The secrets file is missing something or unreadable; the message names the file and the key."""


@dataclass(frozen=True)
class AppointmentSecrets:
    keyring: Keyring
    pepper: bytes = field(repr=False)
    """Keys the phone and citizen hashes. Changing it forgets every phone's no-show history."""


def _encode(secret: bytes) -> str:
    return base64.urlsafe_b64encode(secret).decode("ascii")


def _decode(path: Path, key: str, text: object) -> bytes:
    if not isinstance(text, str):
        raise KeyFileError(f"{path}: {key} must be a base64url string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{path}: {key} is not base64url") from None


def parse(path: Path, text: str) -> AppointmentSecrets:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise KeyFileError(f"{path}: {error}") from None
    keys = data.get("keys")
    if not isinstance(keys, dict) or not keys:
        raise KeyFileError(f"{path}: [keys] must hold at least one key")
    current = data.get("current")
    if not isinstance(current, str):
        raise KeyFileError(f"{path}: current must name a key of [keys]")
    pepper = _decode(path, "pepper", data.get("pepper"))
    if len(pepper) < 16:
        raise KeyFileError(f"{path}: pepper must be at least 16 bytes")
    try:
        keyring = Keyring({key_id: _decode(path, f"keys.{key_id}", value) for key_id, value in keys.items()}, current)
    except ValueError as error:
        raise KeyFileError(f"{path}: {error}") from None
    return AppointmentSecrets(keyring, pepper)


def _save(path: Path, current: str, pepper: bytes, keys: dict[str, bytes]) -> None:
    data = {"current": current, "pepper": _encode(pepper), "keys": {key_id: _encode(k) for key_id, k in keys.items()}}
    comments = (
        "Appointment secrets (hub.appointments.keyfile). Keep private (mode 600); back up with the database.",
        "current signs new codes; every key under [keys] still verifies. Never change the pepper.",
    )
    write_private_toml(path, data, comments)


def _read_raw(path: Path) -> tuple[str, bytes, dict[str, bytes]]:
    secrets_ = load(path)
    keyring = secrets_.keyring
    keys = {key_id: secret for key_id in keyring.key_ids if (secret := keyring.secret(key_id)) is not None}
    return keyring.current, secrets_.pepper, keys


def new_key_id(now: datetime | None = None) -> str:
    return f"k{(now or datetime.now(UTC)):%Y%m%d%H%M}"


def load(path: Path) -> AppointmentSecrets:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise KeyFileError(f"{path}: {error.strerror}") from None
    return parse(path, text)


def load_or_create(path: Path) -> AppointmentSecrets:
    """The secrets in ``path``; a missing file is created with a fresh key and pepper first."""
    if not path.exists():
        key_id = new_key_id()
        _save(path, key_id, secrets.token_bytes(SECRET_BYTES), {key_id: secrets.token_bytes(SECRET_BYTES)})
    return load(path)


def rotate(path: Path, key_id: str | None = None) -> str:
    """Add a new key and make it current; the previous keys stay for verification. Returns the new key id."""
    _current, pepper, keys = _read_raw(path)
    key_id = key_id or new_key_id()
    if key_id in keys:
        raise KeyFileError(f"{path}: key {key_id} already exists")
    keys[key_id] = secrets.token_bytes(SECRET_BYTES)
    Keyring(keys, key_id)  # validates the id
    _save(path, key_id, pepper, keys)
    return key_id


def retire(path: Path, key_id: str) -> None:
    """Remove a previous key: codes signed with it are refused as forged from now on."""
    current, pepper, keys = _read_raw(path)
    if key_id == current:
        raise KeyFileError(f"{path}: {key_id} is the current key; rotate first")
    if keys.pop(key_id, None) is None:
        raise KeyFileError(f"{path}: no key {key_id}")
    _save(path, current, pepper, keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.appointments.keyfile", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["init", "rotate", "retire", "show"])
    parser.add_argument("path", type=Path)
    parser.add_argument("key_id", nargs="?")
    args = parser.parse_args(argv)
    try:
        if args.action == "init":
            load_or_create(args.path)
        elif args.action == "rotate":
            print(f"current key: {rotate(args.path, args.key_id)}")
        elif args.action == "retire":
            if not args.key_id:
                parser.error("retire needs the key id")
            retire(args.path, args.key_id)
        keyring = load(args.path).keyring
        print(f"{args.path}: current {keyring.current}; keys {', '.join(keyring.key_ids)}")
    except KeyFileError as error:
        print(error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

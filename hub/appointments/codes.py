"""Signed appointment codes for the QR check-in: ``HQ1.<key id>.<base64url body>.<base64url mac>``.

The body is the compact JSON array ``[booking_id, site_id, matter, slot_start, minutes]``: the slot's start in Unix
seconds and its length in minutes (so its end). The MAC
is HMAC-SHA256 over the ASCII text ``HQ1.<key id>.<body>`` with the key named by the key id, truncated to 16 bytes
(128 bits: forging needs the key; the short tag keeps the QR small and easy to read from a phone screen).

A ``Keyring`` signs with its current key and verifies with any key it holds, so keys can rotate while codes
signed with the previous key stay valid (docs/appointments.md, "Key rotation").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

PREFIX = "HQ1"
MAC_BYTES = 16
MAX_CODE_LENGTH = 512
MIN_KEY_BYTES = 16
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")

_Body = tuple[str, str, str, int, int]


class CodeError(ValueError):
    """A code that cannot be trusted: ``forged`` is False when it is merely not a code of ours (malformed)."""

    def __init__(self, detail: str, *, forged: bool) -> None:
        super().__init__(detail)
        self.forged = forged


@dataclass(frozen=True, slots=True)
class CodeBody:
    booking_id: str
    site_id: str
    matter: str
    slot_start: datetime
    slot_end: datetime


class Keyring:
    """Signing keys by id: ``current`` signs, every key verifies. Secrets never appear in a repr."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        for key_id, secret in keys.items():
            if not KEY_ID.fullmatch(key_id):
                raise ValueError(f"key id {key_id!r} must be 1-16 of A-Z, a-z, 0-9, _ and -")
            if len(secret) < MIN_KEY_BYTES:
                raise ValueError(f"key {key_id} is shorter than {MIN_KEY_BYTES} bytes")
        if current not in keys:
            raise ValueError(f"the current key {current!r} is not in the keyring")
        self._keys = dict(keys)
        self.current = current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def secret(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id)

    def __repr__(self) -> str:
        return f"Keyring(current={self.current!r}, key_ids={self.key_ids!r})"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise binascii.Error("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, signed: str) -> bytes:
    return hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest()[:MAC_BYTES]


def sign(keyring: Keyring, body: CodeBody) -> str:
    fields: _Body = (
        body.booking_id,
        body.site_id,
        body.matter,
        int(body.slot_start.timestamp()),
        int((body.slot_end - body.slot_start).total_seconds()) // 60,
    )
    signed = f"{PREFIX}.{keyring.current}.{_b64(msgspec.json.encode(fields))}"
    secret = keyring.secret(keyring.current)
    assert secret is not None
    return f"{signed}.{_b64(_mac(secret, signed))}"


def verify(keyring: Keyring, code: str) -> CodeBody:
    """The body of a code signed by a key of the keyring; ``CodeError`` otherwise (the code is never echoed)."""
    code = code.strip()
    if len(code) > MAX_CODE_LENGTH:
        raise CodeError(f"code of {len(code)} characters", forged=False)
    parts = code.split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise CodeError("not an HQ1 code", forged=False)
    _, key_id, body_text, mac_text = parts
    try:
        mac = _unb64(mac_text)
        raw = _unb64(body_text)
    except (binascii.Error, ValueError):
        raise CodeError("bad base64url", forged=False) from None
    if len(mac) != MAC_BYTES:
        raise CodeError("bad signature length", forged=False)
    secret = keyring.secret(key_id)
    if secret is None:
        raise CodeError(f"unknown key {key_id[:16]!r}", forged=True)
    if not hmac.compare_digest(mac, _mac(secret, f"{PREFIX}.{key_id}.{body_text}")):
        raise CodeError("signature does not match", forged=True)
    try:
        booking_id, site_id, matter, start, minutes = msgspec.json.decode(raw, type=_Body)
        slot_start = datetime.fromtimestamp(start, UTC)
        slot_end = slot_start + timedelta(minutes=minutes)
    except (msgspec.DecodeError, ValueError, OverflowError, OSError):
        raise CodeError("signed body is not a code body", forged=False) from None
    return CodeBody(booking_id, site_id, matter, slot_start, slot_end)

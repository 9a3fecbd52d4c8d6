"""The kiosk's second-generation ID card reader (GA/T 467 with a SAM module, ``firmware_profiles/id_readers/``): a
citizen lays the card on it and the ticket is registered to that card (one open ticket per citizen and matter)
without typing anything.

The card's text is personal data. Only the number leaves the kiosk, in the issue request (the hub keeps a keyed
hash of it); the screen shows the name and the number masked; nothing of it is logged, and ``IdCard``'s repr is
masked too. The photo is never decoded.

Reading a card is three requests, each answered with a status byte SW3 (docs/serial.md): find the card (9F: one is
there, 80: none), select it (90), read its text and photo (90, then the text block's and the photo's lengths and
the blocks).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import serial

import contract as wire
from devicekit.frames import FrameCodec, FrameReader
from devicekit.serial_port import OpenPort, open_port
from devicekit.serial_profile import SerialProfile

FIND, SELECT, READ = bytes.fromhex("20 01"), bytes.fromhex("20 02"), bytes.fromhex("30 01")
OK, FOUND = 0x90, 0x9F
NO_CARD = frozenset({0x80, 0x81})
"""Find or select failed: no card on the reader (or it was taken away meanwhile)."""
FAULTS = {
    0x10: "checksum error",
    0x11: "length error",
    0x21: "bad command",
    0x41: "read failed",
    0x60: "SAM self-test failed",
    0x66: "SAM not authorised",
    0x91: "item not on the card",
}

_FIELDS = {  # byte offset and length in the 256-byte text block (UTF-16-LE, space-padded)
    "name": (0, 30),
    "gender": (30, 2),
    "nation": (32, 4),
    "birth": (36, 16),
    "address": (52, 70),
    "id_number": (122, 36),
    "authority": (158, 30),
    "valid_from": (188, 16),
    "valid_to": (204, 16),
}
TEXT_BLOCK = 256


@dataclass(frozen=True, repr=False)
class IdCard:
    name: str
    gender: str
    """"1" male, "2" female."""
    nation: str
    birth: str
    address: str
    id_number: str
    authority: str
    valid_from: str
    valid_to: str
    """YYYYMMDD, or "长期" (no end)."""

    @property
    def masked_name(self) -> str:
        """张三 -> 张*, 张三丰 -> 张*丰."""
        return wire.mask_name(self.name)

    @property
    def masked_number(self) -> str:
        """The first four and the last four characters: 1101**********002X."""
        return self.id_number[:4] + "*" * max(0, len(self.id_number) - 8) + self.id_number[-4:]

    def __repr__(self) -> str:
        return f"IdCard({self.masked_name}, {self.masked_number})"


def parse_text(block: bytes) -> IdCard:
    """The card's 256-byte text block; raises IdReaderError when it is not one."""
    if len(block) != TEXT_BLOCK:
        raise IdReaderError(f"a text block of {len(block)} bytes, not {TEXT_BLOCK}")
    try:
        fields = {name: block[at : at + size].decode("utf-16-le").strip() for name, (at, size) in _FIELDS.items()}
    except UnicodeDecodeError:
        raise IdReaderError("the text block is not UTF-16") from None
    return IdCard(**fields)


class IdReaderError(Exception):
    """The reader did not answer, answered garbage, or reported a fault (said in words, never with card data)."""


class IdCardReader:
    def __init__(
        self, port: str, profile: SerialProfile, *, open_port: OpenPort = serial.serial_for_url, timeout: float = 1.0
    ) -> None:
        if profile.kind != "id_reader":
            raise ValueError(f"{profile.source}: not an ID card reader profile")
        self.port, self.profile, self.timeout = port, profile, timeout
        self.codec = FrameCodec(profile)
        self._reader = FrameReader(profile)
        self._open_port = open_port
        self._connection: Any = None
        self._lock = threading.Lock()
        """One conversation at a time; ``close`` from another thread waits for it."""

    def read_card(self) -> IdCard | None:
        """The card on the reader now, or None when there is none."""
        with self._lock:
            return self._read_card()

    def _read_card(self) -> IdCard | None:
        if self._ask(FIND)[2] in NO_CARD:
            return None
        status = self._ask(SELECT)[2]
        if status in NO_CARD:
            return None
        reply = self._ask(READ)
        text_length = int.from_bytes(reply[3:5], "big")
        return parse_text(reply[7 : 7 + text_length])

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _ask(self, command: bytes) -> bytes:
        """Send a command; the reply's data (SW1 SW2 SW3, then the rest). Raises IdReaderError for a fault."""
        try:
            connection = self._connect()
            connection.reset_input_buffer()
            connection.write(self.codec.encode(command))
            reply = self._reply(connection)
        except (serial.SerialException, OSError) as error:
            self._disconnect()
            raise IdReaderError(f"the reader on {self.port} is gone: {error}") from None
        if len(reply) < 3 or reply[:2] != b"\x00\x00":
            raise IdReaderError("the reader answered something that is not a status")
        status = reply[2]
        if status not in (OK, FOUND) and status not in NO_CARD:
            raise IdReaderError(f"the reader reports: {FAULTS.get(status, f'status {status:02X}')}")
        return reply

    def _connect(self) -> Any:
        if self._connection is None:
            self._connection = open_port(
                self.port, self.profile, timeout=0.05, write_timeout=self.timeout, opener=self._open_port
            )
            self._reader = FrameReader(self.profile)
        return self._connection

    def _reply(self, connection: Any) -> bytes:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            frames = self._reader.feed(connection.read(2048))
            if frames:
                return frames[0].data
        self._reader.silence()
        raise IdReaderError(f"no answer from the reader on {self.port} within {self.timeout:g} s")

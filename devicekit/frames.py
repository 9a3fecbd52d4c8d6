"""One codec for every serial hall device: a profile's frame layout (``devicekit.serial_profile``) turned into bytes
and back.

``FrameCodec.encode`` builds a frame. ``FrameReader`` finds frames in the bytes a serial line delivers, which may
hold noise, frames cut off by a plug pulled or a device rebooting, and frames of other devices on the same RS-485
bus: whatever is not a whole frame with the right checks is dropped (counted by reason in ``dropped``) and the
reader looks again one byte further on, so one bad byte never costs the frames after it.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from crc import Calculator, Configuration

from devicekit.serial_profile import CHECK_SIZES, Part, SerialProfile, span

_CRC16 = {  # (polynomial, init, reflected) from docs/serial.md's table; the ``crc`` library computes them
    "crc16/arc": (0x8005, 0x0000, True),
    "crc16/modbus": (0x8005, 0xFFFF, True),
    "crc16/ccitt-false": (0x1021, 0xFFFF, False),
    "crc16/xmodem": (0x1021, 0x0000, False),
    "crc16/kermit": (0x1021, 0x0000, True),
}


@functools.cache
def _calculator(algorithm: str) -> Calculator:
    polynomial, init, reflected = _CRC16[algorithm]
    configuration = Configuration(
        width=16, polynomial=polynomial, init_value=init, final_xor_value=0,
        reverse_input=reflected, reverse_output=reflected,
    )  # fmt: skip
    return Calculator(configuration, optimized=True)


def checksum(algorithm: str, data: bytes) -> int:
    if algorithm == "sum8":
        return sum(data) & 0xFF
    if algorithm == "xor8":
        return functools.reduce(operator.xor, data, 0)
    return int(_calculator(algorithm).checksum(data))


class Decoded(NamedTuple):
    """A frame as read: its address and function when the layout has them, and its payload."""

    address: int | None
    function: int | None
    data: bytes


class _NeedMore(Exception):
    pass


class _Broken(Exception):
    """Not a frame here; the message says why (the ``dropped`` reason)."""


class FrameCodec:
    def __init__(self, profile: SerialProfile) -> None:
        self.profile = profile
        self.parts = profile.frame.parts
        self.max_data = profile.frame.max_data
        labels = [part.label for part in self.parts]
        self._data_at = labels.index("data")
        escape = profile.frame.escape
        self._escaped = span(self.parts, escape.between) if escape is not None else None
        self._escapes = {bytes.fromhex(k)[0]: bytes.fromhex(v) for k, v in escape.map.items()} if escape else {}
        self._unescapes = {sent: byte for byte, sent in self._escapes.items()}

    @property
    def sync(self) -> bytes:
        """The leading literal: where a frame may start."""
        return self.parts[0].constant

    def encode(self, data: bytes = b"", *, address: int | None = None, function: int | None = None) -> bytes:
        """The frame that carries ``data`` (to or from the device at ``address``)."""
        if len(data) > self.max_data:
            raise ValueError(f"{len(data)} bytes of data; the profile allows {self.max_data}")
        raw = self._given(bytes(data), {"address": address, "function": function})
        for at, part in enumerate(self.parts):
            if part.field == "length":
                raw[at] = self._count(part, raw).to_bytes(part.size, part.order)
        for at, part in enumerate(self.parts):
            if part.field == "check":
                raw[at] = self._check(part, raw)
        if self._escaped is not None:
            for at in self._escaped:
                raw[at] = b"".join(self._escapes.get(byte, bytes((byte,))) for byte in raw[at])
        return b"".join(raw)

    def _given(self, data: bytes, given: dict[str, int | None]) -> list[bytes]:
        """Each part's bytes as far as the caller gives them (lengths and checks empty, to be computed)."""
        fields = {part.field for part in self.parts}
        unknown = [name for name, value in given.items() if value is not None and name not in fields]
        if unknown:
            raise ValueError(f"this frame has no {unknown[0]}")
        raw = []
        for part in self.parts:
            value = given.get(part.field or "")
            if part.literal is not None:
                raw.append(part.constant)
            elif part.field == "data":
                raw.append(data)
            elif part.field in given and value is None:
                raise ValueError(f"this frame needs a {part.field}")
            else:
                raw.append(b"" if value is None else value.to_bytes(part.size, part.order))
        return raw

    def _count(self, part: Part, raw: Sequence[bytes]) -> int:
        width = 0
        for at in span(self.parts, part.counts):
            other = self.parts[at]
            fixed = other.width()
            width += len(raw[at]) if fixed is None else fixed
        return width + part.adds

    def _check(self, part: Part, raw: Sequence[bytes]) -> bytes:
        value = checksum(part.algorithm or "", b"".join(raw[at] for at in span(self.parts, part.over)))
        return value.to_bytes(CHECK_SIZES.get(part.algorithm or "", 2), part.order)

    # -- reading ----------------------------------------------------------------------------------------------------

    def parse(self, buffer: bytes) -> tuple[Decoded, int]:
        """The frame at the start of ``buffer`` and its length on the wire. Raises _NeedMore when the bytes so far
        could still become a frame, _Broken when they cannot."""
        parts = self.parts
        if self._escaped is None:
            raw, end = self._read(range(len(parts)), buffer, 0, {})
        else:
            before = range(0, self._escaped.start)
            raw, at = self._read(before, buffer, 0, {})
            trailer = parts[self._escaped.stop].constant
            found = buffer.find(trailer, at)
            if found < 0:
                if len(buffer) - at > 2 * (self.max_data + 64):
                    raise _Broken("no end of frame")
                raise _NeedMore
            inside = self._unescape(buffer[at:found])
            try:
                raw, used = self._read(self._escaped, inside, 0, raw)
            except _NeedMore:  # the frame has ended: what is missing will not come
                raise _Broken("length disagrees with the frame's end") from None
            if used != len(inside):
                raise _Broken("length disagrees with the frame's end")
            raw, end = self._read(range(self._escaped.stop, len(parts)), buffer, found, raw)
        for at, part in enumerate(parts):
            if part.field == "check" and raw[at] != self._check(part, [raw.get(i, b"") for i in range(len(parts))]):
                raise _Broken("bad check")
        labels = {part.field: raw[at] for at, part in enumerate(parts) if part.field in ("address", "function")}
        order = {part.field: part.order for part in parts}
        number = {name: int.from_bytes(value, order[name]) for name, value in labels.items()}
        return Decoded(number.get("address"), number.get("function"), raw[self._data_at]), end

    def _read(self, which: range, buffer: bytes, at: int, raw: dict[int, bytes]) -> tuple[dict[int, bytes], int]:
        """Read the parts ``which`` from ``buffer`` at ``at``: their bytes by position, and where they end."""
        raw = dict(raw)
        for index in which:
            part = self.parts[index]
            width = part.width()
            if width is None:
                width = self._data_width(raw)
            piece = buffer[at : at + width]
            if part.literal is not None and piece != part.constant[: len(piece)]:
                raise _Broken("not a frame start" if index == 0 else "wrong fixed bytes")
            if len(piece) < width:
                raise _NeedMore
            raw[index] = piece
            at += width
        return raw, at

    def _data_width(self, raw: dict[int, bytes]) -> int:
        """The data's length from every length part read so far that counts it; they must agree."""
        widths = set()
        for at, part in enumerate(self.parts):
            if part.field == "length" and at in raw and self._data_at in span(self.parts, part.counts):
                others = sum(self.parts[i].width() or 0 for i in span(self.parts, part.counts) if i != self._data_at)
                widths.add(int.from_bytes(raw[at], part.order) - part.adds - others)
        if len(widths) != 1:
            raise _Broken("lengths disagree")
        width = widths.pop()
        if not 0 <= width <= self.max_data:
            raise _Broken("impossible length")
        return width

    def _unescape(self, sent: bytes) -> bytes:
        out, at = bytearray(), 0
        while at < len(sent):
            pair = sent[at : at + 2]
            if pair in self._unescapes:
                out.append(self._unescapes[pair])
                at += 2
            elif sent[at] in self._escapes:
                raise _Broken("bad escape")
            else:
                out.append(sent[at])
                at += 1
        return bytes(out)


class FrameReader:
    """Frames out of a serial line's bytes, in order; feed it what the port gave, and ``silence`` when the line was
    quiet for the profile's ``gap_ms`` (an unfinished frame then will not be finished)."""

    def __init__(self, profile: SerialProfile) -> None:
        self.codec = FrameCodec(profile)
        self._buffer = bytearray()
        self.dropped: Counter[str] = Counter()
        """How often bytes were dropped, by reason ("bad check", "noise", "cut off", ...): for the device's status."""

    def feed(self, chunk: bytes) -> list[Decoded]:
        self._buffer += chunk
        return self._drain(final=False)

    def silence(self) -> list[Decoded]:
        return self._drain(final=True)

    def _drain(self, final: bool) -> list[Decoded]:
        frames: list[Decoded] = []
        sync, buffer = self.codec.sync, self._buffer
        while buffer:
            start = buffer.find(sync)
            if start < 0:
                keep = 0 if final else _partial_prefix(buffer, sync)
                self._drop(len(buffer) - keep, "noise")
                break
            if start:
                self._drop(start, "noise")
            try:
                frame, used = self.codec.parse(bytes(buffer))
            except _NeedMore:
                if not final:
                    break
                self._drop(1, "cut off")
                continue
            except _Broken as broken:
                self._drop(1, str(broken))
                continue
            del buffer[:used]
            frames.append(frame)
        return frames

    def _drop(self, count: int, reason: str) -> None:
        if count > 0:
            del self._buffer[:count]
            self.dropped[reason] += 1


def _partial_prefix(buffer: bytearray, sync: bytes) -> int:
    """How many bytes at the end of ``buffer`` could be the start of ``sync`` (kept for the next chunk)."""
    for keep in range(min(len(sync) - 1, len(buffer)), 0, -1):
        if buffer.endswith(sync[:keep]):
            return keep
    return 0

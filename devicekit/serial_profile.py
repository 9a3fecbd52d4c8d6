"""Serial hall devices as data: ``firmware_profiles/<kind>/<id>.toml`` says how the line is set up and how a frame
is laid out, part by part, so one codec (``devicekit.frames``) speaks to every keypad, evaluator, LED strip and ID
card reader. docs/serial.md explains every key and how to describe a new device.

A frame is a list of parts in wire order::

    parts = [
      { literal = "FF 68" },                                    # fixed bytes (the first part must be one)
      { field = "length", size = 1, counts = "address..data" },  # a byte count of a range of parts (+ ``adds``)
      { field = "address", size = 1 },                          # the device's bus address
      { field = "function", size = 1 },                         # what the frame does
      { field = "data" },                                       # the payload: any length
      { field = "check", algorithm = "sum8", over = "address..data" },
      { literal = "16" },
    ]

A range ``a..b`` runs from the first part named ``a`` to the last part named ``b`` (a field's name is its field;
a literal may take a ``name``). ``[frame.escape]`` replaces bytes inside ``between`` (a range) on the wire, for
protocols that keep their start and end bytes out of the frame's inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from devicekit.profile_files import FIRMWARE_PROFILES, ProfileError, profile_path, read_profile

Algorithm = Literal["sum8", "xor8", "crc16/arc", "crc16/modbus", "crc16/ccitt-false", "crc16/xmodem", "crc16/kermit"]
CHECK_SIZES: dict[str, int] = {"sum8": 1, "xor8": 1}
"""Bytes of each check; every CRC-16 takes two."""
Hex = Annotated[str, msgspec.Meta(pattern=r"^\s*[0-9A-Fa-f]{2}(\s*[0-9A-Fa-f]{2})*\s*$")]
"""Bytes written as hex pairs: "FF 68"."""
Size = Literal[1, 2]
Order = Literal["big", "little"]


class Part(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    literal: Hex | None = None
    field: Literal["length", "address", "function", "data", "check"] | None = None
    name: str = ""
    """A literal's name, for ranges (a field is named by its field)."""
    size: Size = 1
    order: Order = "big"
    counts: str = ""
    """Length: the range of parts whose bytes it counts."""
    adds: int = 0
    """Length: a constant added to the count (some protocols count the length field or more)."""
    algorithm: Algorithm | None = None
    over: str = ""
    """Check: the range of parts it is computed over."""

    @property
    def label(self) -> str:
        return self.field or self.name

    @property
    def constant(self) -> bytes:
        return bytes.fromhex(self.literal or "")

    def width(self) -> int | None:
        """Bytes on the wire before escaping; None for the data."""
        if self.literal is not None:
            return len(self.constant)
        if self.field == "data":
            return None
        if self.field == "check":
            return CHECK_SIZES.get(self.algorithm or "", 2)
        return self.size


class Escape(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    between: str
    """The range of parts escaped on the wire."""
    map: dict[Hex, Hex]
    """A byte -> the bytes sent for it ("A5" = "A6 02")."""


class Frame(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    parts: tuple[Part, ...]
    escape: Escape | None = None
    max_data: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 1024
    """The longest payload the device sends: a length claiming more is line noise, not a frame to wait for."""


class Serial(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    baudrate: int = 9600
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    gap_ms: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50
    """Silence on the line that ends an unfinished frame (it was noise or cut off)."""


class TextFormat(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How an LED strip is told to show a text: the frame's function, and each character (in ``text_encoding``)
    followed by a colour byte."""

    function: Hex
    colour: Annotated[int, msgspec.Meta(ge=0, le=255)] = 1

    def data(self, text: str, encoding: str) -> bytes:
        """The frame data that shows ``text``; a character the encoding lacks is shown as "?"."""
        colour = bytes((self.colour,))
        return b"".join(char.encode(encoding, errors="replace") + colour for char in text)

    def text(self, data: bytes, encoding: str) -> str:
        """What ``data`` shows (the colour bytes left out); raises ValueError when it is not text in ``encoding``."""
        chars, at = [], 0
        while at < len(data):
            for width in range(1, 5):  # a character takes 1 byte (ASCII) to 4 (GB 18030)
                try:
                    char = data[at : at + width].decode(encoding)
                except UnicodeDecodeError:
                    continue
                break
            else:
                raise ValueError(f"byte {at} does not start a character in {encoding}")
            if at + width >= len(data):
                raise ValueError(f"the character at byte {at} has no colour byte")
            chars.append(char)
            at += width + 1
        return "".join(chars)


class SerialProfile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    kind: Literal["keypad", "evaluator", "led_strip", "id_reader"]
    serial: Serial = msgspec.field(default_factory=Serial)
    frame: Frame
    text_encoding: Literal["ascii", "gbk", "gb2312", "gb18030", "utf-16-le"] = "ascii"
    """How the device's text is encoded (an LED strip's characters, an ID card's text block)."""
    keys: dict[str, str] = msgspec.field(default_factory=dict)
    """Key code (hex) -> what it does, for keypads; evaluators' grades the same way."""
    text: TextFormat | None = None
    """LED strips: how a text is shown (a strip without it cannot be driven yet)."""
    source: str = ""
    """The file it was loaded from (set by the loader, not written in the file)."""

    def __post_init__(self) -> None:
        _check_frame(self.frame)

    @property
    def id(self) -> str:
        return Path(self.source).stem


def span(parts: tuple[Part, ...], text: str) -> range:
    """The positions of the parts a range ``a..b`` names (raises ValueError for a name no part has)."""
    first, _, last = text.partition("..")
    labels = [part.label for part in parts]
    if first not in labels or (last or first) not in labels:
        raise ValueError(f"the range {text!r} names a part the frame does not have")
    start = labels.index(first)
    end = len(labels) - 1 - labels[::-1].index(last or first)
    if end < start:
        raise ValueError(f"the range {text!r} runs backwards")
    return range(start, end + 1)


def _check_frame(frame: Frame) -> None:
    parts = frame.parts
    if not parts or parts[0].literal is None:
        raise ValueError("frame.parts must start with a literal (the bytes a frame is found by)")
    for part in parts:
        if (part.literal is None) == (part.field is None):
            raise ValueError("each frame part is either a literal or a field")
        if part.field == "check" and (part.algorithm is None or not part.over):
            raise ValueError("a check part needs an algorithm and the range it is computed over")
        if part.field == "length" and not part.counts:
            raise ValueError("a length part needs the range it counts")
        for text in (part.counts, part.over):
            if text:
                span(parts, text)
    fields = [part.field for part in parts if part.field]
    if fields.count("data") != 1:
        raise ValueError("a frame has exactly one data part")
    data_at = [part.field for part in parts].index("data")
    lengths = [part for part in parts[:data_at] if part.field == "length"]
    if not lengths or not any(data_at in span(parts, length.counts) for length in lengths):
        raise ValueError("a length part before the data must count it (it is how a reader knows where data ends)")
    if frame.escape is not None:
        escaped = span(parts, frame.escape.between)
        if escaped.stop >= len(parts) or parts[escaped.stop].literal is None or escaped.start == 0:
            raise ValueError("escape.between must lie between the leading literal and a trailing literal")


def load_serial_profile(path: Path) -> SerialProfile:
    """Read and check one profile file; raise ProfileError naming the file and the key."""
    return read_profile(path, SerialProfile)


def serial_profile(kind: str, profile_id: str) -> SerialProfile:
    """The profile a device's configuration names: ``serial_profile("keypads", "ff68")``."""
    return load_serial_profile(profile_path(FIRMWARE_PROFILES / kind, profile_id, "serial device"))


def shipped_serial_profiles() -> dict[str, SerialProfile]:
    """Every serial profile shipped, by ``<folder>/<id>``."""
    found = {}
    for folder in ("keypads", "evaluators", "led_strips", "id_readers"):
        for path in sorted((FIRMWARE_PROFILES / folder).glob("*.toml")):
            found[f"{folder}/{path.stem}"] = load_serial_profile(path)
    return found


__all__ = ["Part", "ProfileError", "SerialProfile", "load_serial_profile", "serial_profile", "span"]

"""A small ESC/POS reader for tests: walks a byte stream the way a thermal printer would and says what it prints.

It knows the commands the kiosk's tickets use and fails loudly on anything else, so a test that reads a ticket
also checks that no stray byte is in it::

    ESC @         initialise (style reset, Chinese mode back to the printer's default)
    ESC ! n       print mode: bit 0 Font B, bit 3 bold, bit 4 double height, bit 5 double width
    GS ! n        character size: width (n >> 4) + 1, height (n & 7) + 1
    ESC a n       alignment 0/1/2 (or '0'/'1'/'2')        ESC E n   bold
    ESC M n       font A/B                                ESC t n   code page
    ESC d n       print and feed n lines                  LF        print the line
    FS & / FS .   Chinese (Kanji) mode on / off
    GS ( k        2-D code, cn = '1' (QR): model, module size, error correction, store data, print
    GS V m [n]    cut: full (0, '0', 65 n) or partial (1, '1', 66 n)

Text bytes are decoded as GB18030 in Chinese mode; outside it only ASCII is accepted (a code-page byte there is
what a Chinese ticket must never contain).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ESC, GS, FS, LF = 0x1B, 0x1D, 0x1C, 0x0A
_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_CUT = {0: "full", 48: "full", 1: "partial", 49: "partial"}
_FEED_AND_CUT = {65: "full", 66: "partial"}
_QR_LEVEL = {48: "L", 49: "M", 50: "Q", 51: "H"}


class EscPosError(ValueError):
    """Bytes this reader does not understand, with the offset where it stopped."""


@dataclass(frozen=True)
class Style:
    align: str = "left"
    bold: bool = False
    font: str = "A"
    width: int = 1
    height: int = 1
    chinese: bool = False


@dataclass(frozen=True)
class Run:
    """Text printed in one style."""

    text: str
    style: Style

    @property
    def columns(self) -> int:
        """Width in Font A columns: ASCII one, a double-byte character two, times the width magnification."""
        return self.style.width * sum(1 if ord(char) < 128 else 2 for char in self.text)


@dataclass(frozen=True)
class Line:
    runs: tuple[Run, ...]

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)

    @property
    def columns(self) -> int:
        return sum(run.columns for run in self.runs)

    @property
    def style(self) -> Style:
        """The style of its first run (alignment is taken at the start of a line)."""
        return self.runs[0].style if self.runs else Style()


@dataclass(frozen=True)
class QrCode:
    payload: str
    module_size: int | None
    level: str | None


@dataclass
class Document:
    lines: list[Line] = field(default_factory=list)
    """Every printed line, blank ones included."""
    qr_codes: list[QrCode] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)
    feeds: int = 0
    commands: list[str] = field(default_factory=list)
    """Everything in order, readable: ``GS ! 0x55 (size 6x6)``, ``TEXT '雁塔区'``, ``QR store '...'``."""

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    def line_with(self, text: str) -> Line:
        """The first line whose text contains ``text``."""
        for line in self.lines:
            if text in line.text:
                return line
        raise LookupError(f"no line contains {text!r}; lines: {self.texts}")

    def describe(self) -> str:
        return "\n".join(self.commands)


class _Reader:
    def __init__(self, data: bytes, chinese_at_start: bool) -> None:
        self.data, self.at = data, 0
        self.chinese_at_start = chinese_at_start
        self.style = Style(chinese=chinese_at_start)
        self.doc = Document()
        self.runs: list[Run] = []
        self.text = bytearray()
        self.qr_data: bytes | None = None
        self.qr_size: int | None = None
        self.qr_level: str | None = None

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise EscPosError(f"truncated command at offset {self.at} (need {count} more bytes)")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def flush_text(self) -> None:
        if not self.text:
            return
        raw, start = bytes(self.text), self.at - len(self.text)
        self.text.clear()
        if not self.style.chinese and not raw.isascii():
            raise EscPosError(f"code-page bytes outside Chinese mode at offset {start}: {raw!r}")
        try:
            decoded = raw.decode("gb18030")
        except UnicodeDecodeError as error:
            raise EscPosError(f"not GB18030 at offset {start}: {raw!r}") from error
        self.runs.append(Run(decoded, self.style))
        self.doc.commands.append(f"TEXT {decoded!r}" + (" [Chinese mode]" if self.style.chinese else ""))

    def end_line(self) -> None:
        self.flush_text()
        self.doc.lines.append(Line(tuple(self.runs)))
        self.runs = []

    def command(self, name: str, style: Style | None = None) -> None:
        self.flush_text()
        self.doc.commands.append(name)
        if style is not None:
            self.style = style

    def read(self) -> Document:
        while self.at < len(self.data):
            byte = self.take(1)[0]
            if byte == LF:
                self.end_line()
                self.doc.commands.append("LF")
            elif byte == ESC:
                self.esc(self.take(1)[0])
            elif byte == GS:
                self.gs(self.take(1)[0])
            elif byte == FS:
                self.fs(self.take(1)[0])
            elif byte < 0x20 or byte == 0x7F:
                raise EscPosError(f"unknown control byte {byte:#04x} at offset {self.at - 1}")
            else:
                self.text.append(byte)
        if self.text or self.runs:
            raise EscPosError(f"text left unprinted at the end (no LF): {self.text!r}")
        return self.doc

    def esc(self, code: int) -> None:
        s = self.style
        if code == ord("@"):
            self.command("ESC @", Style(chinese=self.chinese_at_start))
        elif code == ord("!"):
            n = self.take(1)[0]
            font = "B" if n & 0x01 else "A"
            width, height = (2 if n & 0x20 else 1), (2 if n & 0x10 else 1)
            self.command(f"ESC ! {n:#04x}", replace(s, bold=bool(n & 0x08), font=font, width=width, height=height))
        elif code == ord("a"):
            n = self.take(1)[0]
            if n not in _ALIGN:
                raise EscPosError(f"ESC a {n} at offset {self.at - 3}")
            self.command(f"ESC a {n} ({_ALIGN[n]})", replace(s, align=_ALIGN[n]))
        elif code == ord("E"):
            n = self.take(1)[0]
            self.command(f"ESC E {n} (bold {'on' if n & 1 else 'off'})", replace(s, bold=bool(n & 1)))
        elif code == ord("M"):
            n = self.take(1)[0]
            font = "B" if n in (1, 49) else "A"
            self.command(f"ESC M {n} (font {font})", replace(s, font=font))
        elif code == ord("t"):
            self.command(f"ESC t {self.take(1)[0]} (code page)")
        elif code == ord("d"):
            n = self.take(1)[0]
            if self.text or self.runs:
                self.end_line()
            self.doc.feeds += n
            self.command(f"ESC d {n} (print and feed {n} lines)")
        else:
            raise EscPosError(f"unknown command ESC {code:#04x} at offset {self.at - 2}")

    def gs(self, code: int) -> None:
        if code == ord("!"):
            n = self.take(1)[0]
            width, height = (n >> 4 & 0x07) + 1, (n & 0x07) + 1
            self.command(f"GS ! {n:#04x} (size {width}x{height})", replace(self.style, width=width, height=height))
        elif code == ord("V"):
            m = self.take(1)[0]
            if m in _FEED_AND_CUT:
                kind = _FEED_AND_CUT[m]
                self.command(f"GS V {m} {self.take(1)[0]} ({kind} cut after feed)")
            elif m in _CUT:
                kind = _CUT[m]
                self.command(f"GS V {m} ({kind} cut)")
            else:
                raise EscPosError(f"GS V {m} at offset {self.at - 3}")
            self.doc.cuts.append(kind)
        elif code == ord("("):
            function = self.take(1)
            if function != b"k":
                raise EscPosError(f"unknown command GS ( {function!r} at offset {self.at - 3}")
            self.two_d_code()
        else:
            raise EscPosError(f"unknown command GS {code:#04x} at offset {self.at - 2}")

    def fs(self, code: int) -> None:
        if code == ord("&"):
            self.command("FS & (Chinese mode on)", replace(self.style, chinese=True))
        elif code == ord("."):
            self.command("FS . (Chinese mode off)", replace(self.style, chinese=False))
        else:
            raise EscPosError(f"unknown command FS {code:#04x} at offset {self.at - 2}")

    def two_d_code(self) -> None:
        low, high = self.take(2)
        body = self.take(low + 256 * high)
        if len(body) < 2 or body[0] != ord("1"):
            raise EscPosError(f"GS ( k for a symbol other than QR (cn {body[:1]!r}) before offset {self.at}")
        fn, params = body[1], body[2:]
        if fn == 65:
            self.command(f"QR model {params[0] - 48}")
        elif fn == 67:
            self.qr_size = params[0]
            self.command(f"QR module size {self.qr_size} dots")
        elif fn == 69:
            self.qr_level = _QR_LEVEL.get(params[0], "?")
            self.command(f"QR error correction {self.qr_level}")
        elif fn == 80:
            self.qr_data = params[1:]  # after m = '0'
            self.command(f"QR store {self.qr_data.decode('utf-8')!r}")
        elif fn == 81:
            if self.qr_data is None:
                raise EscPosError(f"QR print without stored data before offset {self.at}")
            self.doc.qr_codes.append(QrCode(self.qr_data.decode("utf-8"), self.qr_size, self.qr_level))
            self.command("QR print")
        else:
            raise EscPosError(f"QR function {fn} before offset {self.at}")


def read(data: bytes, *, chinese_at_start: bool = False) -> Document:
    """What a printer does with ``data``. ``chinese_at_start``: the printer starts (and resets) in Chinese mode,
    as Chinese-market printers do; an Epson-style printer does not."""
    return _Reader(data, chinese_at_start).read()

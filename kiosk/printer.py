"""Sending a built ticket to the printer, with the printer's real-time status read before and after.

Transports, each its own configuration record, chosen by configuration (``transport_from_config``)::

    {"transport": "file", "path": "var/tickets.bin"}                      append the bytes (tests, demos)
    {"transport": "serial", "port": "/dev/ttyUSB0", "baudrate": 9600}       pyserial
    {"transport": "network", "host": "192.168.1.50", "port": 9100}          raw TCP
    {"transport": "usb", "vendor_id": 1046, "product_id": 20497}           python-escpos Usb (needs pyusb)

Where the transport can read (serial, network, USB) and the profile says the printer answers, ``DLE EOT`` 1, 2
and 4 are asked before sending (3 too when 2 reports an error); a missing answer within the timeout means
offline. Paper out, cover open, a cutter or other error, offline or an unreadable answer: nothing is sent and the
result says why in Chinese and English. Paper near end: the ticket is printed and the result says ``paper_low``.
``PrintResult.report()`` / ``PrinterStatus.report()`` are the detail for ``DeviceLink.report(**...)``.
"""

from __future__ import annotations

import contextlib
import enum
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, runtime_checkable

import msgspec
import serial  # pyserial ships no type hints

from kiosk.printer_profile import PrinterProfile
from kiosk.ticket_print import escpos_module

DLE_EOT = b"\x10\x04"
FIXED_MASK, FIXED_BITS = 0x93, 0x12
"""Every status byte has bits 1 and 4 set and bits 0 and 7 clear; anything else is not a status byte."""
ERROR_OCCURRED = 0x40
"""DLE EOT 2: an error occurred; DLE EOT 3 says which."""


class PrinterState(enum.StrEnum):
    READY = "ready"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    CUTTER_ERROR = "cutter_error"
    ERROR = "error"
    OFFLINE = "offline"
    UNREADABLE = "unreadable"
    """It answered, but not with a status byte (wrong baud rate, another device on the port)."""
    UNCHECKED = "unchecked"
    """The transport or the printer cannot tell (file transport, a profile with ``status = false``)."""


PRINTABLE = frozenset({PrinterState.READY, PrinterState.PAPER_LOW, PrinterState.UNCHECKED})

_NOTE_NUMBER = ("，请记下屏幕上的号码", "; please note the number on the screen")
_MESSAGES: dict[PrinterState, tuple[str, str]] = {
    PrinterState.READY: ("票据已打印", "The ticket is printed"),
    PrinterState.UNCHECKED: ("票据已发送到打印机", "The ticket was sent to the printer"),
    PrinterState.PAPER_LOW: ("票据已打印，打印纸即将用完", "The ticket is printed; the paper is running low"),
    PrinterState.PAPER_OUT: ("打印机缺纸", "The printer is out of paper"),
    PrinterState.COVER_OPEN: ("打印机纸仓盖未关好", "The printer's cover is open"),
    PrinterState.CUTTER_ERROR: ("打印机切纸刀故障", "The printer's cutter is jammed"),
    PrinterState.ERROR: ("打印机故障", "The printer reports an error"),
    PrinterState.OFFLINE: ("打印机无响应", "The printer does not answer"),
    PrinterState.UNREADABLE: ("打印机状态无法识别", "The printer's status cannot be read"),
}


@dataclass(frozen=True)
class PrinterStatus:
    state: PrinterState
    detail: str = ""
    """Technical, for the log: which query got which byte, or which error."""

    def report(self) -> dict[str, str]:
        """For ``DeviceLink.report(**status.report())``: ``{"printer": "paper_low"}``; a ready printer is ``ok``."""
        return {"printer": "ok" if self.state is PrinterState.READY else self.state.value}


@dataclass(frozen=True)
class PrintResult:
    printed: bool
    """The bytes went to the printer. With a bad status after sending, the ticket may be incomplete."""
    status: PrinterStatus

    @property
    def zh(self) -> str:
        return self._say(0)

    @property
    def en(self) -> str:
        return self._say(1)

    def _say(self, language: int) -> str:
        message = _MESSAGES[self.status.state][language]
        return message if self.status.state in PRINTABLE else message + _NOTE_NUMBER[language]

    def report(self) -> dict[str, str]:
        return self.status.report()


# --- status ------------------------------------------------------------------------------------------------------


def interpret(answers: Mapping[int, int]) -> PrinterStatus:
    """The state that DLE EOT answers (n -> byte) describe, the most specific first."""
    online, cause, errors, paper = (answers.get(n, FIXED_BITS) for n in (1, 2, 3, 4))
    detail = " ".join(f"{n}={answer:#04x}" for n, answer in sorted(answers.items()))
    for found, state in (
        (cause & 0x04, PrinterState.COVER_OPEN),
        (paper & 0x60 or cause & 0x20, PrinterState.PAPER_OUT),
        (errors & 0x08, PrinterState.CUTTER_ERROR),
        (errors & 0x60 or cause & ERROR_OCCURRED, PrinterState.ERROR),
        (online & 0x08, PrinterState.OFFLINE),
        (paper & 0x0C, PrinterState.PAPER_LOW),
    ):
        if found:
            return PrinterStatus(state, f"DLE EOT {detail}")
    return PrinterStatus(PrinterState.READY, f"DLE EOT {detail}")


def read_status(link: StatusLink) -> PrinterStatus:
    """Ask DLE EOT 1, 2 (3 after an error) and 4; stop at the first silence or unreadable answer."""
    answers: dict[int, int] = {}
    for n in (1, 2, 3, 4):
        if n == 3 and not answers[2] & ERROR_OCCURRED:
            continue
        reply = link.ask(DLE_EOT + bytes([n]))
        if not reply:
            return PrinterStatus(PrinterState.OFFLINE, f"no answer to DLE EOT {n} within the timeout")
        if reply[0] & FIXED_MASK != FIXED_BITS:
            return PrinterStatus(PrinterState.UNREADABLE, f"DLE EOT {n} was answered {reply.hex(' ')}")
        answers[n] = reply[0]
    return interpret(answers)


# --- transports --------------------------------------------------------------------------------------------------


class Link(Protocol):
    """An open connection to the printer."""

    def write(self, data: bytes) -> None: ...


@runtime_checkable
class StatusLink(Link, Protocol):
    def ask(self, query: bytes) -> bytes:
        """Send a real-time query; the first byte of the answer, or b"" when none came within the timeout."""
        ...


_Timeout = Annotated[float, msgspec.Meta(gt=0, le=30)]


class FileTransport(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="file", tag_field="transport"
):
    path: str

    @contextlib.contextmanager
    def connect(self) -> Iterator[Link]:
        with open(self.path, "ab") as file:
            yield _FileLink(file)


class SerialTransport(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="serial", tag_field="transport"
):
    port: str
    baudrate: Annotated[int, msgspec.Meta(gt=0)] = 9600
    timeout: _Timeout = 0.5
    """Seconds to wait for a status answer, and for a write to drain."""

    @contextlib.contextmanager
    def connect(self) -> Iterator[Link]:
        with serial.Serial(self.port, self.baudrate, timeout=self.timeout, write_timeout=self.timeout * 10) as port:
            yield _SerialLink(port)


class NetworkTransport(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="network", tag_field="transport"
):
    host: str
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 9100
    timeout: _Timeout = 2.0

    @contextlib.contextmanager
    def connect(self) -> Iterator[Link]:
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
            yield _SocketLink(sock)


class UsbTransport(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="usb", tag_field="transport"
):
    """python-escpos's Usb printer class used as a pipe; needs pyusb and a udev rule (not testable here)."""

    vendor_id: int
    product_id: int
    timeout_ms: Annotated[int, msgspec.Meta(gt=0)] = 2000

    @contextlib.contextmanager
    def connect(self) -> Iterator[Link]:
        usb = escpos_module("printer").Usb
        name = f"USB printer {self.vendor_id:04x}:{self.product_id:04x}"
        if not usb.is_usable():  # checked first: an instance's __del__ would raise without pyusb
            raise OSError(f"{name}: pyusb is not installed")
        printer = usb(self.vendor_id, self.product_id, timeout=self.timeout_ms)
        try:
            printer.open()
        except Exception as error:  # escpos.exceptions.DeviceNotFoundError is no OSError
            raise OSError(f"{name}: {error}") from error
        try:
            yield _UsbLink(printer)
        finally:
            printer.close()


Transport = FileTransport | SerialTransport | NetworkTransport | UsbTransport


class PrinterConfigError(ValueError):
    """A printer configuration that names no usable transport; says which key is wrong."""


def transport_from_config(settings: Mapping[str, Any]) -> Transport:
    """A transport from TOML data or a device's string settings (``"9600"`` is read as 9600)."""
    try:
        transport: Transport = msgspec.convert(dict(settings), Transport, strict=False)
    except msgspec.ValidationError as error:
        raise PrinterConfigError(f"printer configuration: {error}") from None
    return transport


@dataclass(frozen=True)
class _FileLink:
    file: Any

    def write(self, data: bytes) -> None:
        self.file.write(data)


@dataclass(frozen=True)
class _SerialLink:
    port: Any  # serial.Serial

    def write(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def ask(self, query: bytes) -> bytes:
        self.port.reset_input_buffer()  # drop what an earlier answer left
        self.port.write(query)
        return bytes(self.port.read(1))


@dataclass(frozen=True)
class _SocketLink:
    sock: socket.socket

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def ask(self, query: bytes) -> bytes:
        self.sock.sendall(query)
        try:
            return self.sock.recv(1)
        except TimeoutError:
            return b""


@dataclass(frozen=True)
class _UsbLink:
    printer: Any  # escpos.printer.Usb: its _raw is the library's transport method

    def write(self, data: bytes) -> None:
        self.printer._raw(data)

    def ask(self, query: bytes) -> bytes:
        try:
            return bytes(self.printer.query_status(query))[:1]
        except OSError:  # usb.core.USBTimeoutError
            return b""


# --- the printer -------------------------------------------------------------------------------------------------


class TicketPrinter:
    """One kiosk printer: a transport and the profile that says whether it answers status queries."""

    def __init__(self, transport: Transport, profile: PrinterProfile) -> None:
        self.transport = transport
        self.profile = profile

    def status(self) -> PrinterStatus:
        """The status now, without printing (for a periodic health report)."""
        try:
            with self.transport.connect() as link:
                return self._status(link)
        except OSError as error:
            return PrinterStatus(PrinterState.OFFLINE, str(error))

    def print_ticket(self, data: bytes) -> PrintResult:
        sent = False
        try:
            with self.transport.connect() as link:
                before = self._status(link)
                if before.state not in PRINTABLE:
                    return PrintResult(printed=False, status=before)
                link.write(data)
                sent = True
                after = self._status(link)
        except OSError as error:  # serial, socket and file errors, write timeouts
            return PrintResult(printed=sent, status=PrinterStatus(PrinterState.OFFLINE, str(error)))
        return PrintResult(printed=True, status=after)

    def _status(self, link: Link) -> PrinterStatus:
        if not self.profile.status or not isinstance(link, StatusLink):
            return PrinterStatus(PrinterState.UNCHECKED)
        return read_status(link)

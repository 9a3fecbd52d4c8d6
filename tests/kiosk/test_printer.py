"""The ticket printer over real transports: a pty (serial), a loopback TCP socket (network) and a file. A peer
thread plays the printer: it answers DLE EOT n from a scenario and keeps every other byte it receives."""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from pathlib import Path

import msgspec
import pytest

from kiosk.printer import (
    FileTransport,
    NetworkTransport,
    PrinterConfigError,
    PrinterState,
    SerialTransport,
    TicketPrinter,
    transport_from_config,
)
from tests.kiosk.printer_peer import (
    COVER_OPEN,
    CUTTER_JAM,
    DATA,
    NEAR_END,
    PAPER_OUT,
    POS58,
    READY,
    SILENT,
    TIMEOUT,
    PrinterPeer,
    StartPrinter,
)


def test_a_ready_printer_gets_the_ticket_between_two_status_reads(serial_printer: StartPrinter) -> None:
    printer, peer = serial_printer(READY)
    result = printer.print_ticket(DATA)
    assert (result.printed, result.status.state, result.zh, result.en) == (
        True,
        PrinterState.READY,
        "票据已打印",
        "The ticket is printed",
    )
    assert result.report() == {"printer": "ok"}
    assert peer.stop().received == DATA
    assert peer.queries == [1, 2, 4, 1, 2, 4]


def test_paper_near_end_prints_and_reports_paper_low(serial_printer: StartPrinter) -> None:
    printer, peer = serial_printer(NEAR_END)
    result = printer.print_ticket(DATA)
    assert result.printed and result.report() == {"printer": "paper_low"}
    assert result.en == "The ticket is printed; the paper is running low"
    assert printer.status().report() == {"printer": "paper_low"}
    assert peer.stop().received == DATA


@pytest.mark.parametrize(
    ("answers", "state", "zh", "en"),
    [
        (
            PAPER_OUT,
            "paper_out",
            "打印机缺纸，请记下屏幕上的号码",
            "The printer is out of paper; please note the number on the screen",
        ),
        (
            COVER_OPEN,
            "cover_open",
            "打印机纸仓盖未关好，请记下屏幕上的号码",
            "The printer's cover is open; please note the number on the screen",
        ),
        (
            CUTTER_JAM,
            "cutter_error",
            "打印机切纸刀故障，请记下屏幕上的号码",
            "The printer's cutter is jammed; please note the number on the screen",
        ),
    ],
    ids=["paper out", "cover open", "cutter jammed"],
)
def test_a_printer_that_cannot_print_gets_nothing_and_the_kiosk_says_why(
    serial_printer: StartPrinter, answers: Mapping[int, bytes], state: str, zh: str, en: str
) -> None:
    printer, peer = serial_printer(answers)
    result = printer.print_ticket(DATA)
    assert (result.printed, result.status.state, result.zh, result.en) == (False, state, zh, en)
    assert result.report() == {"printer": state}
    assert peer.stop().received == b""
    assert peer.queries == ([1, 2, 3, 4] if answers is CUTTER_JAM else [1, 2, 4])


def test_a_silent_printer_is_offline_within_the_timeout(serial_printer: StartPrinter) -> None:
    printer, peer = serial_printer(SILENT)
    started = time.monotonic()
    result = printer.print_ticket(DATA)
    elapsed = time.monotonic() - started
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 0.5
    assert (result.printed, result.status.state) == (False, PrinterState.OFFLINE)
    assert result.zh == "打印机无响应，请记下屏幕上的号码" and "DLE EOT 1" in result.status.detail
    assert peer.stop().received == b"" and peer.queries == [1]


@pytest.mark.parametrize("garbage", [b"\xff", b"\x00\x00\x00", b"A"])
def test_garbage_instead_of_a_status_byte_is_unreadable_not_a_crash(
    serial_printer: StartPrinter, garbage: bytes
) -> None:
    printer, peer = serial_printer({**READY, 2: garbage})
    result = printer.print_ticket(DATA)
    assert (result.printed, result.status.state) == (False, PrinterState.UNREADABLE)
    assert f"DLE EOT 2 was answered {garbage[:1].hex()}" in result.status.detail
    assert result.en == "The printer's status cannot be read; please note the number on the screen"
    assert peer.stop().received == b""


def test_a_printer_without_status_support_is_not_asked(serial_printer: StartPrinter) -> None:
    printer, peer = serial_printer(READY, msgspec.structs.replace(POS58, status=False))
    result = printer.print_ticket(DATA)
    assert (result.printed, result.status.state) == (True, PrinterState.UNCHECKED)
    assert peer.stop().received == DATA and peer.queries == []


def test_a_missing_serial_port_is_offline(tmp_path: Path) -> None:
    result = TicketPrinter(SerialTransport(port=str(tmp_path / "ttyUSB9"), timeout=TIMEOUT), POS58).print_ticket(DATA)
    assert (result.printed, result.status.state) == (False, PrinterState.OFFLINE)
    assert "ttyUSB9" in result.status.detail


def test_the_network_transport_speaks_raw_tcp() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        peer = PrinterPeer(NEAR_END)
        peer.start_server(server)
        transport = NetworkTransport(host="127.0.0.1", port=server.getsockname()[1], timeout=TIMEOUT)
        result = TicketPrinter(transport, POS58).print_ticket(DATA)
        assert (result.printed, result.status.state) == (True, PrinterState.PAPER_LOW)
        assert peer.stop().received == DATA and peer.queries == [1, 2, 4, 1, 2, 4]


def test_a_refused_connection_is_offline() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    result = TicketPrinter(NetworkTransport(host="127.0.0.1", port=port, timeout=TIMEOUT), POS58).print_ticket(DATA)
    assert (result.printed, result.status.state) == (False, PrinterState.OFFLINE)


def test_the_file_transport_appends_every_ticket(tmp_path: Path) -> None:
    path = tmp_path / "tickets.bin"
    printer = TicketPrinter(FileTransport(path=str(path)), POS58)
    first, second = printer.print_ticket(DATA), printer.print_ticket(b"second")
    assert first.printed and second.printed and first.status.state == PrinterState.UNCHECKED
    assert path.read_bytes() == DATA + b"second"


def test_transports_come_from_configuration_with_string_settings() -> None:
    assert transport_from_config({"transport": "serial", "port": "/dev/ttyUSB0", "baudrate": "115200"}) == (
        SerialTransport(port="/dev/ttyUSB0", baudrate=115200)
    )
    assert transport_from_config({"transport": "network", "host": "10.0.0.9"}) == NetworkTransport(host="10.0.0.9")
    with pytest.raises(PrinterConfigError, match="port"):
        transport_from_config({"transport": "serial"})
    with pytest.raises(PrinterConfigError, match="bluetooth"):
        transport_from_config({"transport": "bluetooth", "port": "x"})
    with pytest.raises(PrinterConfigError, match="timeout"):
        transport_from_config({"transport": "network", "host": "h", "timeout": "0"})

"""A thermal printer's end of a pty or a TCP socket, for tests: it answers DLE EOT n from a scenario and keeps every
other byte it receives. ``serial_printer`` (tests/kiosk/conftest.py) gives a real ``TicketPrinter`` on a pty."""

from __future__ import annotations

import os
import select
import socket
import threading
import tty
from collections.abc import Callable, Iterator, Mapping

from kiosk.printer import DLE_EOT, SerialTransport, TicketPrinter
from kiosk.printer_profile import PrinterProfile
from kiosk.ticket_print import build_ticket
from tests.kiosk.test_ticket_print import MATTER, PROFILES, SITE, STATUS_URL, TICKET

POS58 = PROFILES["pos58"]
DATA = build_ticket(POS58, SITE, [MATTER], TICKET, STATUS_URL)
TIMEOUT = 0.2

READY = {1: b"\x12", 2: b"\x12", 3: b"\x12", 4: b"\x12"}
NEAR_END = {**READY, 4: bytes([0x12 | 0x0C])}
PAPER_OUT = {1: bytes([0x12 | 0x08]), 2: bytes([0x12 | 0x20]), 3: b"\x12", 4: bytes([0x12 | 0x60])}
COVER_OPEN = {**READY, 1: bytes([0x12 | 0x08]), 2: bytes([0x12 | 0x04])}
CUTTER_JAM = {**READY, 1: bytes([0x12 | 0x08]), 2: bytes([0x12 | 0x40]), 3: bytes([0x12 | 0x08])}
SILENT: dict[int, bytes] = {}

StartPrinter = Callable[..., tuple[TicketPrinter, "PrinterPeer"]]


class PrinterPeer:
    """The printer's end of a pty or a socket."""

    def __init__(self, answers: Mapping[int, bytes]) -> None:
        self.answers = answers
        self.received = bytearray()
        self.queries: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, fd: int) -> None:
        self._run(lambda: self.serve(fd))

    def start_server(self, server: socket.socket) -> None:
        def accept_and_serve() -> None:
            connection, _ = server.accept()
            with connection:
                self.serve(connection.fileno())

        self._run(accept_and_serve)

    def stop(self) -> PrinterPeer:
        """Stop after reading what is still on the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self

    def _run(self, target: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def serve(self, fd: int) -> None:
        pending = bytearray()
        while True:
            if not select.select([fd], [], [], 0.02)[0]:
                if self._stop.is_set():
                    break
                continue
            chunk = os.read(fd, 4096)
            if not chunk:  # the host closed the socket
                break
            pending += chunk
            self._answer(fd, pending)
        self.received += pending

    def _answer(self, fd: int, pending: bytearray) -> None:
        while (start := pending.find(DLE_EOT)) >= 0 and len(pending) >= start + 3:
            self.received += pending[:start]
            self.queries.append(pending[start + 2])
            del pending[: start + 3]
            if answer := self.answers.get(self.queries[-1]):
                os.write(fd, answer)
        partial = 2 if pending.endswith(DLE_EOT) else 1 if pending.endswith(DLE_EOT[:1]) else 0
        self.received += pending[: len(pending) - partial]
        del pending[: len(pending) - partial]


def start_serial_printers() -> Iterator[StartPrinter]:
    """Start a pty printer answering a scenario; gives the kiosk's TicketPrinter and the peer."""
    fds: list[int] = []
    peers: list[PrinterPeer] = []

    def start(answers: Mapping[int, bytes], profile: PrinterProfile = POS58) -> tuple[TicketPrinter, PrinterPeer]:
        host, device = os.openpty()
        tty.setraw(device)  # the test keeps the device end open: the host end never sees EIO between opens
        fds.extend((host, device))
        peer = PrinterPeer(answers)
        peer.start(host)
        peers.append(peer)
        transport = SerialTransport(port=os.ttyname(device), timeout=TIMEOUT)
        return TicketPrinter(transport, profile), peer

    yield start
    for peer in peers:
        peer.stop()
    for fd in fds:
        os.close(fd)

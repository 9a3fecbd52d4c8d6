"""Fixtures of the kiosk tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kiosk.printer_peer import StartPrinter, start_serial_printers


@pytest.fixture
def serial_printer() -> Iterator[StartPrinter]:
    """Start a pty printer answering a scenario; gives the kiosk's TicketPrinter and the peer."""
    yield from start_serial_printers()

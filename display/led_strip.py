"""A window LED strip on a serial port, driven by its profile (docs/serial.md): the newest text is written in a
worker thread, so a slow 9600-baud line or a port that is gone never holds up the MQTT link. When the port fails (a
USB adapter pulled out, the strip powered off) the strip reports itself offline and tries again every
``retry_seconds``; once the port is back it shows the newest text."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import serial

from devicekit.frames import FrameCodec
from devicekit.serial_port import OpenPort, open_port
from devicekit.serial_profile import SerialProfile

log = logging.getLogger(__name__)


class LedStrip:
    def __init__(
        self,
        port: str,
        profile: SerialProfile,
        address: int,
        *,
        open_port: OpenPort = serial.serial_for_url,
        on_status: Callable[[str], None] = lambda status: None,
        retry_seconds: float = 2.0,
    ) -> None:
        if profile.kind != "led_strip" or profile.text is None:
            raise ValueError(f"{profile.source}: not an LED strip profile with a [text] format")
        self.port, self.profile, self.address = port, profile, address
        self.codec = FrameCodec(profile)
        self._open_port = open_port
        self._on_status = on_status
        self.retry_seconds = retry_seconds
        self.status = ""
        self.shown: str | None = None
        """The last text the strip was sent."""
        self._wanted: str | None = None
        self._connection: Any = None
        self._changed = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="led-strip", daemon=True)
        self._thread.start()

    def frame(self, text: str) -> bytes:
        """The frame that shows ``text``, cut to what the strip takes (``max_data``) rather than not shown."""
        text_format = self.profile.text
        assert text_format is not None
        data = text_format.data(text, self.profile.text_encoding)
        while len(data) > self.codec.max_data:
            text = text[:-1]
            data = text_format.data(text, self.profile.text_encoding)
        return self.codec.encode(data, address=self.address, function=int(text_format.function, 16))

    def show(self, text: str) -> None:
        """Show ``text`` as soon as the port takes it (only the newest text counts)."""
        with self._changed:
            self._wanted = text
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()
        self._thread.join(5)  # the worker closes the port: it is the only one that uses it

    def _run(self) -> None:
        failed = False
        while True:
            with self._changed:
                if failed:  # the port is gone: try again after a while, or at once for a new text
                    self._changed.wait(self.retry_seconds)
                else:
                    self._changed.wait_for(lambda: self._stopped or self._wanted != self.shown)
                if self._stopped:
                    break
                wanted = self._wanted
            if wanted is None or wanted == self.shown:
                failed = False
            elif self._write(self.frame(wanted)):
                self.shown, failed = wanted, False
            else:  # what the strip shows now is unknown: the newest text goes again, whatever it is
                self.shown, failed = None, True
        self._close()

    def _write(self, frame: bytes) -> bool:
        try:
            if self._connection is None:
                self._connection = open_port(
                    self.port, self.profile, timeout=0, write_timeout=2, opener=self._open_port
                )
            self._connection.write(frame)
            self._connection.flush()
            self._connection.reset_input_buffer()  # the strip's acknowledgements: nothing waits for them
        except (serial.SerialException, OSError) as error:
            log.warning("LED strip on %s: %s", self.port, error)
            self._close()
            self._report("offline")
            return False
        self._report("ok")
        return True

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._connection.close()
            self._connection = None

    def _report(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._on_status(status)

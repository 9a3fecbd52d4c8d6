"""A serial port that exists on any Linux machine, and a device played on it.

``PtyPort`` is a pty pair: the host (a keypad bus, a window screen, a kiosk) opens its device end (``path``) with
pyserial, while the device's side reads and writes the other end (``host``). ``DevicePeer`` is a device on that
other end: it reads the host's frames with the device's profile, hands each to ``handle``, and says what happened in
``said`` (and to ``on_say``); bytes that are no frame of the profile are reported, never raised."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections import Counter
from collections.abc import Callable

from devicekit.frames import Decoded, FrameCodec, FrameReader
from devicekit.serial_profile import SerialProfile


class PtyPort:
    def __init__(self) -> None:
        self.host, self.device = os.openpty()
        tty.setraw(self.device)  # the device end stays open here: the host end never sees EIO between opens
        self.path = os.ttyname(self.device)

    def close(self) -> None:
        for fd in (self.host, self.device):
            os.close(fd)


SHOWN_BYTES = 24
"""A frame sent is said in hex up to this many bytes."""


def describe(frame: Decoded) -> str:
    """A frame's parts in hex, for one that means nothing more to the device."""
    parts = [f"address {frame.address}"] if frame.address is not None else []
    parts += [f"function {frame.function:02X}"] if frame.function is not None else []
    return ", ".join([*parts, f"data [{frame.data.hex(' ').upper()}]"])


class UsageError(ValueError):
    """A typed command the device does not understand; the message says what it takes."""


class DevicePeer(PtyPort):
    """A device of ``profile`` on a pty. ``read`` reads what the host sent so far (or ``serve`` does it in a thread
    of its own), ``command`` is what is typed on the device."""

    kind = ""
    help = ""
    """The commands ``command`` takes, for the tool's ``help``."""

    def __init__(self, profile: SerialProfile) -> None:
        super().__init__()
        os.set_blocking(self.host, False)
        self.profile = profile
        self.codec, self.reader = FrameCodec(profile), FrameReader(profile)
        self.received: list[Decoded] = []
        """Every frame the host sent, in order."""
        self.said: list[str] = []
        self.on_say: Callable[[str], None] = lambda line: None
        self.echo = False
        """A line that echoes what the host sends back to it (an RS-485 adapter with local echo)."""
        self._said_more = threading.Condition(threading.RLock())
        self._dropped: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what the device does ---------------------------------------------------------------------------------------

    def handle(self, frame: Decoded) -> None:
        """A frame from the host: answer it (``send``) and say what it was."""

    def command(self, words: list[str]) -> None:
        """A typed command; raises UsageError when it is not one."""
        raise UsageError(f"{self.kind} takes no commands")

    def setup(self, path: str) -> list[str]:
        """The lines that give the host this device at ``path`` (its configuration)."""
        return []

    # -- the line ---------------------------------------------------------------------------------------------------

    def say(self, line: str) -> None:
        with self._said_more:
            self.said.append(line)
            self._said_more.notify_all()
            self.on_say(line)

    def send(self, frame: bytes, what: str) -> None:
        with self._said_more:
            self._write(frame)
            more = f" … {len(frame)} bytes" if len(frame) > SHOWN_BYTES else ""
            shown = frame[:SHOWN_BYTES].hex(" ").upper() + more
            self.say(f"→ {what}  [{shown}]")

    def read(self) -> list[Decoded]:
        """Read what the host sent so far, handle its frames; every frame received yet."""
        with self._said_more:
            chunk = b""
            with contextlib.suppress(BlockingIOError):
                chunk = os.read(self.host, 4096)
            if chunk and self.echo:
                self._write(chunk)
            self._frames(self.reader.feed(chunk))
            return self.received

    def silence(self) -> None:
        """The line was quiet for the profile's gap: an unfinished frame will not be finished."""
        with self._said_more:
            self._frames(self.reader.silence())

    def serve(self) -> None:
        """Read and answer the host in a thread of its own until ``close``."""
        self._thread = threading.Thread(target=self._serve, name=f"{self.kind}-peer", daemon=True)
        self._thread.start()

    def wait_for(self, text: str, since: int = 0, timeout: float = 5.0) -> bool:
        """Whether a line said from ``said[since]`` on holds ``text``, waiting up to ``timeout`` for it."""
        deadline = time.monotonic() + timeout
        with self._said_more:
            while not any(text in line for line in self.said[since:]):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._said_more.wait(left)
        return True

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        super().close()

    def _serve(self) -> None:
        gap = self.profile.serial.gap_ms / 1000
        pending = False
        while not self._stop.is_set():
            readable, _, _ = select.select([self.host], [], [], min(gap, 0.05))
            if readable:
                self.read()
                pending = True
            elif pending:
                self.silence()
                pending = False

    def _frames(self, frames: list[Decoded]) -> None:
        for frame in frames:
            self.received.append(frame)
            try:
                self.handle(frame)
            except ValueError as error:
                self.say(f"⚠ a frame from the host that this {self.kind} cannot read ({error}): skipped")
        new = self.reader.dropped - self._dropped
        if new:
            self._dropped = self.reader.dropped.copy()
            reasons = ", ".join(f"{reason} ×{count}" for reason, count in sorted(new.items()))
            self.say(f"⚠ bytes from the host that are no {self.profile.id} frame ({reasons}): skipped")

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.host, view) :]
            except BlockingIOError:  # the host has not read yet: the pty's buffer is full
                time.sleep(0.01)

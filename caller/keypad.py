"""Physical caller keypads (呼叫器) on an RS-485 bus: each keypad drives its window's ``CallerModel``, the same model
the software caller uses, so a key does exactly what the caller's button does (sign-in, call next, recall, start,
finish, no-show, pause, transfer), with the same request ids and the same answers.

``KeypadPad`` is the plain logic of one keypad: a key press (its digits and key, as the profile names keys) in, the
request for the hub out, and the six digits its display shows (waiting count and ticket). ``KeypadBus`` is the
adapter: the serial line (``firmware_profiles/keypads/``), the frames read and acknowledged, one worker per keypad
that sends its requests through the keypad's own caller link, and the displays kept up to date.

Keys (docs/serial.md): with nobody signed in, digits + function key enters the staff id, then digits + function key
the PIN. Signed in: call next, recall, start, finish ("wait/evaluate"), no-show ("cancel"), pause (again: resume),
window number + transfer; digit + function: 0 pause/resume, 5 and 6 no-show (skip, give up), 9 sign out.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import serial

import contract as wire
from caller.hub_link import CallerLink, drive
from caller.model import CallerModel, Request, Status
from devicekit.ff68 import ASK, BEEP, BLANK, LEVELS, PLEASE_RATE, RATED, SHOW
from devicekit.frames import Decoded, FrameCodec, FrameReader
from devicekit.serial_port import OpenPort, open_port
from devicekit.serial_profile import SerialProfile
from engine import events as ev

log = logging.getLogger(__name__)

KEY_COMMANDS = {
    "call_next": "call_next",
    "recall": "recall",
    "start_or_transfer": "start",
    "wait_or_evaluate": "finish",
    "cancel": "no_show",
    "pause": "pause_or_resume",
}
"""The profile's key names -> the caller model's commands (transfer and the function key are handled apart)."""
FUNCTION_COMMANDS = {"0": "pause_or_resume", "5": "no_show", "6": "no_show", "9": "sign_out"}
"""Digit + function key, signed in."""


class KeypadPad:
    def __init__(self, model: CallerModel, keys: dict[str, str]) -> None:
        self.model = model
        self.keys = {int(code, 16): name for code, name in keys.items()}
        self.staff_id: str | None = None
        """A staff id typed, waiting for its PIN."""

    def press(self, data: bytes) -> Request | None:
        """A key frame's data: digits (00-09) then the key. The request to send, or None."""
        if not data:
            return None
        digits = "".join(str(byte) for byte in data[:-1] if byte <= 9)
        name = self.keys.get(data[-1], "")
        model = self.model
        if model.clerk is None:
            return self._sign_in(digits) if name == "function" and digits else None
        if name == "function":
            command = FUNCTION_COMMANDS.get(digits[-1:])
        elif name == "transfer":
            return self._transfer(digits)
        else:
            command = KEY_COMMANDS.get(name)
        if command == "pause_or_resume":  # a keypad has no panel to choose a reason from: the first one
            return model.command("resume") if model.window.paused else model.pause_with(1)
        return model.command(command) if command else None

    def display(self) -> bytes:
        """The six digits shown: waiting count (3) and ticket number (3); blank where there is none."""
        if self.model.status is Status.SIGNED_OUT:
            return bytes([BLANK] * 6)
        waiting = min(999, sum(ticket.status == "waiting" for ticket in self.model.queue))
        current = self.model.current
        number = current.number[-3:] if current is not None else ""
        ticket = [int(c) for c in number] if number.isdigit() and len(number) == 3 else [BLANK] * 3
        return bytes([int(c) for c in f"{waiting:03d}"] + ticket)

    def _sign_in(self, digits: str) -> Request | None:
        if self.staff_id is None:
            self.staff_id = digits
            return None
        staff_id, self.staff_id = self.staff_id, None
        return self.model.sign_in(staff_id, digits)

    def _transfer(self, digits: str) -> Request | None:
        snapshot = self.model.snapshot
        windows = {str(window.number): window.window_id for window in snapshot.windows} if snapshot else {}
        target = windows.get(digits.lstrip("0"))
        return self.model.command("transfer", to_window=target) if target else None


@dataclass
class Keypad:
    """One keypad on the bus: its address, its logic and its window's link to the hub."""

    address: int
    pad: KeypadPad
    hub: CallerLink
    lock: threading.Lock
    presses: queue.SimpleQueue[bytes | None]
    """Key presses (a frame's data), or None: refresh the window's queue."""


@dataclass
class Evaluator:
    """One evaluator (评价器) on the bus: its window, its link, and the ratings pressed, in order."""

    address: int
    window_id: str
    hub: CallerLink
    levels: dict[int, int]
    """Key byte -> level 1-5 (from the evaluator profile)."""
    ratings: queue.SimpleQueue[int | None]


class KeypadBus:
    """The keypads and evaluators of one line (they share it, with the same framing)."""

    def __init__(
        self,
        port: str,
        profile: SerialProfile,
        keypads: dict[int, tuple[CallerModel, CallerLink]],
        *,
        evaluators: dict[int, tuple[str, CallerLink]] | None = None,
        evaluator_profile: SerialProfile | None = None,
        open_port_with: OpenPort = serial.serial_for_url,
    ) -> None:
        if profile.kind != "keypad":
            raise ValueError(f"{profile.source}: not a keypad profile")
        grades = evaluator_profile.keys if evaluator_profile is not None else {}
        levels = {int(code, 16): LEVELS.index(name) + 1 for code, name in grades.items() if name in LEVELS}
        self.evaluators = {
            address: Evaluator(address, window_id, hub, levels, queue.SimpleQueue())
            for address, (window_id, hub) in (evaluators or {}).items()
        }
        for evaluator in self.evaluators.values():
            evaluator.hub.on_event = self._asker(evaluator)
        self.port, self.profile = port, profile
        self.codec = FrameCodec(profile)
        self._open = open_port_with
        self._connection: Any = None
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._reader_thread = threading.Thread(target=self._read, name="keypad-bus", daemon=True)
        self._acked: tuple[Decoded, float] | None = None
        self.echo_seconds = profile.serial.gap_ms / 1000 * 4
        """A key frame equal to the last acknowledgement within this long is that acknowledgement echoed."""
        self.keypads = {
            address: Keypad(address, KeypadPad(model, profile.keys), hub, threading.Lock(), queue.SimpleQueue())
            for address, (model, hub) in keypads.items()
        }
        for keypad in self.keypads.values():
            keypad.hub.on_event = self._follower(keypad, lambda pad, event: pad.pad.model.on_event(event))
            keypad.hub.on_info = self._follower(keypad, lambda pad, info: pad.pad.model.on_info(info))
            keypad.hub.link.on_change = self._follower(keypad, self._site_changed)

    def start(self) -> None:
        for keypad in self.keypads.values():
            keypad.hub.start(wait=0)
            threading.Thread(target=self._work, args=(keypad,), name=f"keypad-{keypad.address}", daemon=True).start()
        for evaluator in self.evaluators.values():
            evaluator.hub.start(wait=0)
            name = f"evaluator-{evaluator.address}"
            threading.Thread(target=self._rate, args=(evaluator,), name=name, daemon=True).start()
        self._reader_thread.start()

    def stop(self) -> None:
        self._stop.set()
        for keypad in self.keypads.values():
            keypad.presses.put(None)  # wakes the worker, which sees the stop
            keypad.hub.stop()
        for evaluator in self.evaluators.values():
            evaluator.ratings.put(None)
            evaluator.hub.stop()
        if self._reader_thread.is_alive():
            self._reader_thread.join(2)  # a read takes 50 ms at most; the reader closes the port

    # -- the line ---------------------------------------------------------------------------------------------------

    def _read(self) -> None:
        """The line's one owner: it opens the port, reads it, and closes and reopens it when it fails (a USB adapter
        pulled out); writers only write while it is open. At the stop it closes the port itself."""
        reader = FrameReader(self.profile)
        while not self._stop.is_set():
            try:
                chunk = self._port().read(256)
            except (serial.SerialException, OSError) as error:
                log.warning("keypad bus on %s: %s", self.port, error)
                with self._write_lock:
                    self._close()
                self._stop.wait(2.0)
                continue
            frames = reader.feed(chunk) if chunk else reader.silence()
            for frame in frames:
                self._pressed(frame)
        with self._write_lock:
            self._close()

    def _pressed(self, frame: Decoded) -> None:
        evaluator = self.evaluators.get(frame.address or 0)
        if evaluator is not None:
            if frame.function == RATED and frame.data:
                self._send(self.codec.encode(frame.data, address=evaluator.address, function=ASK))  # the ack
                level = evaluator.levels.get(frame.data[0])
                if level is not None:
                    evaluator.ratings.put(level)
            return
        keypad = self.keypads.get(frame.address or 0)
        if keypad is None or frame.function in (SHOW, BEEP):
            return  # another device on the bus, or the host's own frames echoed
        now = time.monotonic()
        if self._acked is not None and self._acked[0] == frame and now - self._acked[1] < self.echo_seconds:
            return  # a line that echoes what the host sends: our own acknowledgement, not a second press
        self._send(self.codec.encode(frame.data, address=keypad.address, function=frame.function or 0))  # the ack
        self._acked = (frame, now)
        keypad.presses.put(frame.data)

    def _port(self) -> Any:
        with self._write_lock:
            if self._connection is None:
                self._connection = open_port(self.port, self.profile, timeout=0.05, write_timeout=1, opener=self._open)
            return self._connection

    def _send(self, frame: bytes) -> None:
        """Write a frame while the line is open; a failed write is dropped (the reader finds the port gone and
        reopens it; the next answer or site change brings the displays up to date)."""
        with self._write_lock:
            if self._connection is None:
                return
            try:
                self._connection.write(frame)
            except (serial.SerialException, OSError) as error:
                log.warning("keypad bus on %s: %s", self.port, error)

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    # -- the keypads ------------------------------------------------------------------------------------------------

    def _work(self, keypad: Keypad) -> None:
        """A keypad's work one item after another: a key press (its frame's data) or a queue refresh (None)."""
        pad = keypad.pad
        while not self._stop.is_set():
            data = keypad.presses.get()
            if self._stop.is_set():
                return
            with keypad.lock:
                request = pad.press(data) if data is not None else pad.model.queue_request()
            drive(pad.model, keypad.hub.send, request, guard=keypad.lock)
            self._show(keypad)

    def _follower(self, keypad: Keypad, change: Callable[..., None]) -> Callable[..., None]:
        """A callback of the keypad's link (network thread): the change under the keypad's lock, then its display."""

        def follow(*args: Any) -> None:
            with keypad.lock:
                change(keypad, *args)
            self._show(keypad)

        return follow

    @staticmethod
    def _site_changed(keypad: Keypad) -> None:
        """The snapshot and the hub's status; the window's queue asked again (for the waiting count)."""
        link, model = keypad.hub.link, keypad.pad.model
        if link.view is not None and link.view.snapshot is not None:
            model.on_snapshot(link.view.snapshot)
        model.set_online(keypad.hub.online)
        if keypad.hub.online and model.clerk is not None:
            keypad.presses.put(None)

    # -- the evaluators ---------------------------------------------------------------------------------------------

    def _rate(self, evaluator: Evaluator) -> None:
        """Each rating to the hub; the stars it was given are shown back (none when the hub refused it)."""
        while not self._stop.is_set():
            level = evaluator.ratings.get()
            if level is None:
                continue
            body = {"window_id": evaluator.window_id, "level": level}
            reply = evaluator.hub.send(Request(wire.Action.RATE, body, uuid.uuid4().hex, "rate"))
            if reply is None or not reply.ok:
                log.warning("rating at %s not taken: %s", evaluator.window_id, reply.error if reply else "no hub")
            stars = level if reply is not None and reply.ok else 0
            self._send(self.codec.encode(bytes([stars]), address=evaluator.address, function=SHOW))

    def _asker(self, evaluator: Evaluator) -> Callable[[ev.Event], None]:
        """On the link's thread: a service finished at the evaluator's window, so it asks the citizen to rate."""

        def ask(event: ev.Event) -> None:
            if isinstance(event, ev.ServiceFinished) and event.window_id == evaluator.window_id:
                self._send(self.codec.encode(bytes([PLEASE_RATE]), address=evaluator.address, function=ASK))

        return ask

    def _show(self, keypad: Keypad) -> None:
        with keypad.lock:
            digits = keypad.pad.display()
        self._send(self.codec.encode(digits, address=keypad.address, function=SHOW))

"""Caller keypads and evaluators on one FF 68 line, played on a pty: typed keys become the keypad's frames, typed
ratings the evaluator's; what the host sends back (the display, acknowledgements, "please rate", the stars) is
said in words. ``caller.keypad.KeypadBus`` is the host."""

from __future__ import annotations

from devicekit import ff68
from devicekit.frames import Decoded
from devicekit.serial_profile import SerialProfile
from devicekit.serial_try.pty import DevicePeer, UsageError, describe

KEY_FUNCTION = 0x05
"""The function byte of a keypad's key frames: not published; the host takes any but its own 02 and 03."""
ALIASES = {
    "call": "call_next", "next": "call_next", "start": "start_or_transfer", "finish": "wait_or_evaluate",
    "fn": "function", "ok": "function",
}  # fmt: skip
"""Short names typed for the keys of the FF 68 keypad profile."""


def shown(display: bytes) -> str:
    """A keypad's six display digits as text (a blank digit as a space)."""
    return "".join(" " if byte == ff68.BLANK else str(byte) if byte <= 9 else "?" for byte in display)


class BusPeer(DevicePeer):
    """A keypad at ``keypad`` and an evaluator at ``evaluator`` (either may be None) on a line of ``profile``'s
    framing; the evaluator's keys are ``evaluator_profile``'s (the line's profile when not given)."""

    kind = "keypad line"
    help = (
        "KEY (call, recall, start, finish, cancel, pause, transfer, fn, or a key byte 0x0C), DIGITS KEY (1001 fn),\n"
        "sign-in STAFF PIN, @ADDRESS KEY (another keypad of the line), rate 1-5 (the evaluator)"
    )

    def __init__(
        self,
        profile: SerialProfile,
        *,
        keypad: int | None = 1,
        evaluator: int | None = None,
        evaluator_profile: SerialProfile | None = None,
    ) -> None:
        super().__init__(profile)
        self.keypad, self.evaluator = keypad, evaluator
        self.keys = {name: int(code, 16) for code, name in profile.keys.items()}
        grades = (evaluator_profile or profile).keys
        levels = ff68.LEVELS
        self.levels = {levels.index(name) + 1: int(code, 16) for code, name in grades.items() if name in levels}
        """Level 1-5 -> the evaluator's key byte."""
        self._pressed: dict[int, list[Decoded]] = {}
        """The key frames sent from each address and not yet acknowledged."""
        self._shown: dict[int, bytes] = {}
        """What each keypad's display shows, to say only a change."""

    def press(self, address: int, key: str, digits: str = "") -> None:
        """Press ``key`` (the profile's name, a short name, or 0xNN) after ``digits`` on the keypad at ``address``."""
        if not digits.isdigit() and digits:
            raise UsageError(f"{digits!r}: digits 0-9 come before the key")
        code = self._key(key)
        data = bytes(int(digit) for digit in digits) + bytes([code])
        self._pressed.setdefault(address, []).append(Decoded(address, KEY_FUNCTION, data))
        name = next((name for name, known in self.keys.items() if known == code), f"0x{code:02X}")
        after = f" after {digits}" if digits else ""
        self.send(self.codec.encode(data, address=address, function=KEY_FUNCTION), f"key {name}{after} at {address}")

    def rate(self, address: int, level: int) -> None:
        """The citizen presses the evaluator's key of ``level`` (1 非常不满意 ... 5 非常满意)."""
        if level not in self.levels:
            raise UsageError(f"a rating is one of {sorted(self.levels)}")
        frame = self.codec.encode(bytes([self.levels[level]]), address=address, function=ff68.RATED)
        self.send(frame, f"rating {level} ({ff68.LEVELS[level - 1]}) at {address}")

    def display(self, address: int) -> str | None:
        """What the keypad at ``address`` shows now (None: nothing yet)."""
        shows = [frame.data for frame in self.read() if frame.address == address and frame.function == ff68.SHOW]
        return shown(shows[-1]) if shows else None

    def command(self, words: list[str]) -> None:
        match words:
            case ["rate", level] if self.evaluator is not None and level.isdigit():
                self.rate(self.evaluator, int(level))
            case [level] if self.keypad is None and self.evaluator is not None and level.isdigit():
                self.rate(self.evaluator, int(level))
            case ["sign-in", staff, pin] if self.keypad is not None:
                self.press(self.keypad, "function", staff)
                self.press(self.keypad, "function", pin)
            case [at, *rest] if at.startswith("@") and at[1:].isdigit() and rest:
                self._keys(int(at[1:]), rest)
            case [_, *_] if self.keypad is not None:
                self._keys(self.keypad, words)
            case _:
                raise UsageError("type rate 1-5, or 1-5" if self.keypad is None else self.help)

    def handle(self, frame: Decoded) -> None:
        address, function, data = frame.address, frame.function, frame.data
        if address is not None and address == self.evaluator:
            self.say(f"← evaluator {address}: {self._to_evaluator(function, data)}")
        elif address is not None and address in (self.keypad, *self._pressed):
            if function == ff68.SHOW:
                if self._shown.get(address) == data:
                    return  # the host shows the display again at every change of the site: said once
                self._shown[address] = data
            self.say(f"← keypad {address}: {self._to_keypad(address, function, data)}")
        else:
            self.say(f"← not for a device played here: {describe(frame)}")

    def setup(self, path: str) -> list[str]:
        lines = [
            "give hall-keypads this line, in its --config file (docs/serial.md):",
            f'    serial_port = "{path}"', f'    profile = "{self.profile.id}"',
        ]  # fmt: skip
        for table, address, kind in (("keypads", self.keypad, "caller"), ("evaluators", self.evaluator, "evaluator")):
            if address is not None:
                lines += [
                    f"    [[{table}]]", f"    address = {address}", '    window = "w01"',
                    f"    # device_id and password: hall-hub device add --site centre --kind {kind} --window w01",
                ]  # fmt: skip
        return lines

    def _keys(self, address: int, words: list[str]) -> None:
        *digits, key = words
        self.press(address, key, "".join(digits))

    def _key(self, name: str) -> int:
        if name in self.keys:
            return self.keys[name]
        if ALIASES.get(name) in self.keys:
            return self.keys[ALIASES[name]]
        if name.lower().startswith("0x"):
            try:
                return int(name, 16) & 0xFF
            except ValueError:
                pass
        known = ", ".join([*self.keys, *(alias for alias, key in ALIASES.items() if key in self.keys)])
        raise UsageError(f"{name!r} is no key of {self.profile.id}; its keys: {known}, or a key byte 0xNN")

    def _to_keypad(self, address: int, function: int | None, data: bytes) -> str:
        if function == ff68.SHOW and len(data) == 6:
            waiting, ticket = shown(data[:3]).strip() or "-", shown(data[3:]).strip() or "-"
            return f"display 「{shown(data)}」 (waiting {waiting}, ticket {ticket})"
        if function == ff68.BEEP:
            return "beep"
        pressed = self._pressed.get(address, [])
        if Decoded(address, function, data) in pressed:
            pressed.remove(Decoded(address, function, data))
            return "key acknowledged"
        return describe(Decoded(None, function, data))

    def _to_evaluator(self, function: int | None, data: bytes) -> str:
        if function == ff68.ASK and data == bytes([ff68.PLEASE_RATE]):
            return "please rate (type rate 1-5)" if self.keypad is not None else "please rate (type 1-5)"
        if function == ff68.ASK and len(data) == 1 and data[0] in self.levels.values():
            return "rating acknowledged"
        if function == ff68.SHOW and len(data) == 1 and data[0] <= 5:
            return f"shows {data[0]} stars {'★' * data[0]}{'☆' * (5 - data[0])}"
        return describe(Decoded(None, function, data))

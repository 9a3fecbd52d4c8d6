"""What the frames of the FF 68 bus mean (caller keypads and evaluators, ``firmware_profiles/keypads/ff68.toml``,
``../shared/hardware-notes.md``): the host's functions and the evaluator's. The host (``caller.keypad``) and a device
played on a pty (``devicekit.serial_try``) read them from here."""

from __future__ import annotations

BLANK = 0x0A
"""A blank digit on a keypad's display."""
SHOW, BEEP = 0x02, 0x03
"""Host -> keypad: show six digits (3 waiting count, 3 ticket), beep. Host -> evaluator: function 02 shows that many
stars."""
RATED, ASK, PLEASE_RATE = 0x11, 0x01, 0x0B
"""Evaluator -> host: a rating (function 11, data the key); host -> evaluator: function 01, data 0B asks for one, and
a rating is acknowledged with function 01 and its own data."""
LEVELS = ("very_dissatisfied", "dissatisfied", "neutral", "satisfied", "very_satisfied")
"""The national levels 1-5 of 好差评, as an evaluator profile's keys name them."""

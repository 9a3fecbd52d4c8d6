"""The service experience officer's code at the kiosk (体验官), as a plain class. No Kivy.

A discreet "体验官" button on the matters screen opens it: the officer types the code on the screen's keys or holds
its QR code up to the camera, and the next issue request carries it (``IssueRequest.officer_code``). The kiosk never
says whether a code is known — the hub ignores an unknown one silently — so every code gets the same "已记录"; the
ticket, its print and its screen are those of any citizen. The code is kept in memory only until the ticket is
issued or the screen goes back to the start, and is never logged or shown again in full.
"""

from __future__ import annotations

import re

KEYS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""The code's alphabet (Crockford's base32: no I, L, O, U); the "TY-" prefix is typed for the officer."""
PREFIX = "TY"
GROUP = 4
MAX_LENGTH = 40
"""``IssueRequest.officer_code``'s limit."""
_NOT_A_KEY = re.compile(r"[\s\-]")


def cleaned(text: str) -> str:
    """A code as typed or scanned, without spaces and dashes, in capitals, cut to what the request takes."""
    return _NOT_A_KEY.sub("", text).upper()[:MAX_LENGTH]


def grouped(code: str) -> str:
    """ "TY7K2MQ9" → "TY-7K2M-Q9", as the officer's card prints it."""
    body = code.removeprefix(PREFIX)
    return "-".join([PREFIX, *(body[i : i + GROUP] for i in range(0, len(body), GROUP))]) if body else PREFIX + "-"


class OfficerEntry:
    def __init__(self) -> None:
        self.typed = PREFIX
        self.recorded = False
        """Confirmed (typed or scanned): the screen says "已记录"."""
        self._code: str | None = None

    def start(self) -> None:
        """The entry opened: a fresh field (a code already recorded stays until used or dropped)."""
        self.typed, self.recorded = PREFIX, False

    def press(self, key: str) -> None:
        if key in KEYS and len(self.typed) < MAX_LENGTH and not self.recorded:
            self.typed += key

    def delete(self) -> None:
        if len(self.typed) > len(PREFIX) and not self.recorded:
            self.typed = self.typed[:-1]

    @property
    def can_confirm(self) -> bool:
        return len(self.typed) > len(PREFIX) and not self.recorded

    def confirm(self) -> None:
        if self.can_confirm:
            self._record(self.typed)

    def on_scanned(self, text: str) -> bool:
        """A code read by the camera: recorded as typed; True when there was something to record."""
        code = cleaned(text)
        if not code or self.recorded:
            return False
        self._record(code)
        return True

    @property
    def shown(self) -> str:
        """The field as the screen draws it: what is being typed, grouped; once recorded, only the prefix."""
        return PREFIX + "-" if self.recorded else grouped(self.typed)

    @property
    def code(self) -> str | None:
        """The code for the next issue request, if one was recorded."""
        return self._code

    def forget(self) -> None:
        """After the ticket was issued, or back at the start: the next citizen carries no code."""
        self.typed, self.recorded, self._code = PREFIX, False, None

    def picture(self) -> tuple[object, ...]:
        return (self.shown, self.recorded, self.can_confirm)

    def _record(self, code: str) -> None:
        self._code, self.recorded, self.typed = cleaned(code), True, PREFIX

"""Sign-ins slowed: beyond ``sign_in_limit`` attempts for one username or ``address_limit`` from one address (moving
windows, the ``limits`` library, in this process's memory) sign-in answers 429 until the window moves on, without
checking the password. Every attempt counts, and is counted before its password is checked: parallel guesses
cannot slip past the limit while argon2 works. Someone else's guesses at a username hold up its owner too, for
the rest of the window (docs/web.md)."""

from __future__ import annotations

import math
import time

import limits
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class SignInThrottle:
    def __init__(self, per_username: str, per_address: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rules = (("username", limits.parse_many(per_username)), ("address", limits.parse_many(per_address)))

    def _keys(self, username: str, address: str) -> list[tuple[str, str, limits.RateLimitItem]]:
        values = {"username": username.casefold(), "address": address}
        return [(kind, values[kind], item) for kind, items in self._rules for item in items]

    def attempt(self, username: str, address: str) -> float | None:
        """Count a sign-in attempt now: None when it may go on to the password check, else the seconds to wait."""
        over = [
            (kind, value, item)
            for kind, value, item in self._keys(username, address)
            if not self._limiter.hit(item, kind, value)
        ]
        if not over:
            return None
        resets = [self._limiter.get_window_stats(item, kind, value).reset_time for kind, value, item in over]
        return max(1.0, math.ceil(max(resets) - time.time()))

"""Failed sign-ins slowed: beyond ``sign_in_limit`` failures for one username or ``address_limit`` from one address
(moving windows, the ``limits`` library, in this process's memory) sign-in answers 429 until the window moves on.
Only failures count, so a manager who types the password right is never held up by someone else's guesses from
another address."""

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

    def wait(self, username: str, address: str) -> float | None:
        """None when a sign-in may be tried now, else the seconds until it may."""
        resets = [
            self._limiter.get_window_stats(item, kind, value).reset_time
            for kind, value, item in self._keys(username, address)
            if not self._limiter.test(item, kind, value)
        ]
        return max(1.0, math.ceil(max(resets) - time.time())) if resets else None

    def failed(self, username: str, address: str) -> None:
        for kind, value, item in self._keys(username, address):
            self._limiter.hit(item, kind, value)

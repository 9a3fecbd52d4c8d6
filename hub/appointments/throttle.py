"""Limits on the public booking API: per client address for every write (booking, code look-up, cancellation), and
per booking for wrong phone numbers (someone who has a booking's id guessing the phone to get its code).

Counted in this hub process's memory over moving windows (the ``limits`` library); behind a reverse proxy the
client address is the proxy's unless the proxy is told to pass it on (docs/appointments.md).
"""

from __future__ import annotations

import math
import time

import limits
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from hub.appointments.rules import AppointmentRules


class Throttle:
    def __init__(self, rules: AppointmentRules) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_client = limits.parse_many(rules.client_limit)
        self._wrong_phone = limits.parse_many(rules.wrong_phone_limit)

    def client_write(self, address: str) -> float | None:
        """Count one write from ``address``: None when allowed, else the seconds until it would be."""
        refused = [item for item in self._per_client if not self._limiter.hit(item, "client", address)]
        return self._wait(refused, "client", address)

    def phone_guesses_left(self, booking_id: str) -> float | None:
        """None when the booking may be asked with a phone number now, else the seconds until it may."""
        refused = [item for item in self._wrong_phone if not self._limiter.test(item, "phone", booking_id)]
        return self._wait(refused, "phone", booking_id)

    def wrong_phone(self, booking_id: str) -> None:
        for item in self._wrong_phone:
            self._limiter.hit(item, "phone", booking_id)

    def _wait(self, refused: list[limits.RateLimitItem], *keys: str) -> float | None:
        if not refused:
            return None
        resets = [self._limiter.get_window_stats(item, *keys).reset_time for item in refused]
        return max(1.0, math.ceil(max(resets) - time.time()))

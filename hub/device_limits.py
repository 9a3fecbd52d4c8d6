"""How many requests the hub takes from one device: a kiosk retrying a full matter in a loop must cost the hub a
counter, not a decision each (docs/decisions/0014-refusals-in-memory-snapshots-aside.md).

Moving windows in this hub process's memory (the ``limits`` library), checked by the gateway before a request is
decided; a request over the limit is answered ``rate_limited`` with the seconds to wait, and nothing is decided.
"""

from __future__ import annotations

import math
import time

import limits
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class DeviceLimits:
    def __init__(self, rate: str) -> None:
        """``rate``: limits' notation, e.g. ``"20/second;600/minute"`` (every one applies)."""
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items = limits.parse_many(rate)

    def take(self, device_id: str) -> float | None:
        """Count one request of the device: None when it may be decided, else the seconds until one may. A refused
        request counts against none of the limits (a burst refused by the per-second one must not use up the
        minute's)."""
        over = [item for item in self._items if not self._limiter.test(item, "device", device_id)]
        if not over:
            for item in self._items:
                self._limiter.hit(item, "device", device_id)
            return None
        reset = max(self._limiter.get_window_stats(item, "device", device_id).reset_time for item in over)
        return max(0.1, math.ceil(10 * (reset - time.time())) / 10)

"""The estimator's own recent errors, by horizon: they correct the replay's raw minutes and give the 80 % range.

Package-internal to ``engine.estimate``; pure.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.estimate import EstimatorConfig

OFFSET = 1.0
"""Minutes added to actual and predicted waits before taking their log-ratio, so that zero waits have one."""


def quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Calibration:
    """Recent errors — log((actual + 1) / (raw + 1)) — per horizon bucket of the raw replay minutes."""

    def __init__(self, config: EstimatorConfig) -> None:
        self.config = config
        self.errors = [deque[float](maxlen=config.errors_kept) for _ in range(len(config.horizons) + 1)]
        self.cached: dict[int, tuple[float, float, float]] = {}

    def add(self, raw: float, actual: float) -> None:
        bucket = bisect_right(self.config.horizons, raw)
        self.errors[bucket].append(math.log((actual + OFFSET) / (raw + OFFSET)))
        self.cached.pop(bucket, None)

    def _quantiles(self, bucket: int) -> tuple[float, float, float]:
        """Low, point and high log-ratio, from the bucket's errors shrunk toward the prior spread."""
        found = self.cached.get(bucket)
        if found is not None:
            return found
        config = self.config
        tail = (1.0 - config.coverage) / 2.0
        prior = (config.prior_errors[0], 0.0, config.prior_errors[1])
        errors = sorted(self.errors[bucket])
        share = len(errors) / (len(errors) + config.prior_errors_weight)
        seen = [quantile(errors, q) for q in (tail, config.point_quantile, 1.0 - tail)] if errors else prior
        low, point, high = (share * s + (1.0 - share) * p for s, p in zip(seen, prior, strict=True))
        found = self.cached[bucket] = (low, point, high)
        return found

    def correct(self, raw: float) -> tuple[float, float, float]:
        """Low, point and high minutes (rounded to 0.1) for raw replay minutes."""
        low, point, high = (
            round(max((raw + OFFSET) * math.exp(q) - OFFSET, 0.0), 1)
            for q in self._quantiles(bisect_right(self.config.horizons, raw))
        )
        return low, point, high

"""The estimator's own recent errors, by horizon: they correct the replay's raw minutes and give the 80 % range.

Package-internal to ``engine.estimate``; pure.

Two corrections are learned. Per horizon bucket of the raw minutes, the quantiles of recent errors (the bias the
replay cannot see at that horizon, and the spread of the range). Across buckets, the *drift*: how far the tickets
called last waited beyond their bucket's usual error (the delay of the last served, relative to what was
promised), an exponentially weighted mean over the last ``drift_calls`` calls. It moves the whole range by
``slope × drift``, where the slope is learned online as the regression of each called ticket's deviation on the
drift at its issue: near 0 in a steady hall, where the drift is noise; larger in a day whose arrivals and staffing
change, where what happened to the last served tells about the next.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.estimate import EstimatorConfig

OFFSET = 1.0
"""Minutes added to actual and predicted waits before taking their log-ratio, so that zero waits have one."""


def quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Promise(NamedTuple):
    """What was promised at a ticket's issue, kept until its first call: raw minutes, the bucket's usual error
    (its median log-ratio) and the drift then."""

    raw: float
    usual: float
    drift: float


class _Bucket(NamedTuple):
    low: float
    point: float
    high: float
    usual: float


class Calibration:
    """Recent errors — log((actual + 1) / (raw + 1)) — per horizon bucket of the raw replay minutes, and the drift
    of the last served."""

    def __init__(self, config: EstimatorConfig) -> None:
        self.config = config
        self.errors = [deque[float](maxlen=config.errors_kept) for _ in range(len(config.horizons) + 1)]
        self.cached: dict[int, _Bucket] = {}
        self.drift = 0.0
        self._moments = (0.0, 0.0)
        """Decayed sums of drift × deviation and drift², for the slope."""

    def new_day(self) -> None:
        """A day opens: the drift of yesterday's last served says nothing of this morning (the buckets' errors and
        the learned slope are kept)."""
        self.drift = 0.0

    def promise(self, raw: float) -> Promise:
        return Promise(raw, self._bucket(bisect_right(self.config.horizons, raw)).usual, self.drift)

    def add(self, promise: Promise, actual: float) -> None:
        """A ticket's first call: its error joins its bucket, and its deviation the drift and the slope."""
        bucket = bisect_right(self.config.horizons, promise.raw)
        error = math.log((actual + OFFSET) / (promise.raw + OFFSET))
        self.errors[bucket].append(error)
        self.cached.pop(bucket, None)
        deviation = error - promise.usual
        decay = self.config.drift_decay
        xy, xx = self._moments
        self._moments = (xy * decay + promise.drift * deviation, xx * decay + promise.drift * promise.drift)
        self.drift += (deviation - self.drift) / self.config.drift_calls

    def slope(self) -> float:
        """How much of the drift the next ticket's error is expected to share, in [0, 1]."""
        xy, xx = self._moments
        return min(max(xy / (xx + self.config.drift_prior), 0.0), 1.0)

    def _bucket(self, bucket: int) -> _Bucket:
        """Low, point and high log-ratio and the usual (median) error, from the bucket's errors. The point and the
        median are shrunk toward no correction with ``point_errors_weight`` (a bias learned from few errors costs
        more than it corrects); the range is the point with the errors' spread around it, shrunk toward the prior
        spread with ``prior_errors_weight`` — so it always holds the point."""
        found = self.cached.get(bucket)
        if found is not None:
            return found
        config = self.config
        tail = (1.0 - config.coverage) / 2.0
        errors = sorted(self.errors[bucket])
        count = len(errors)
        spread = count / (count + config.prior_errors_weight)
        central = count / (count + config.point_errors_weight)
        low, point, high, usual = (
            (quantile(errors, q) for q in (tail, config.point_quantile, 1.0 - tail, 0.5)) if errors else (0.0,) * 4
        )
        prior_low, prior_high = config.prior_errors
        found = self.cached[bucket] = _Bucket(
            low=central * point + spread * (low - point) + (1.0 - spread) * prior_low,
            point=central * point,
            high=central * point + spread * (high - point) + (1.0 - spread) * prior_high,
            usual=central * usual,
        )
        return found

    def correct(self, raw: float) -> tuple[float, float, float]:
        """Low, point and high minutes (rounded to 0.1) for raw replay minutes."""
        found = self._bucket(bisect_right(self.config.horizons, raw))
        shift = self.slope() * self.drift
        low, point, high = (
            round(max((raw + OFFSET) * math.exp(q + shift) - OFFSET, 0.0), 1)
            for q in (found.low, found.point, found.high)
        )
        return low, point, high

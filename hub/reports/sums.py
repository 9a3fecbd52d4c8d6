"""The daily aggregates' histograms as stored (``report_days.waits``/``services``: little-endian int64 triples
``bucket, count, seconds``) and summed by any key in a few vectorised steps (numpy), so that a report of 90 days
merges its some twenty thousand lines in milliseconds instead of one Python dictionary update per bucket.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DTYPE = np.dtype("<i8")
Ints = npt.NDArray[np.int64]


def encode(counts: Counter[int], sums: Counter[int]) -> bytes:
    """A histogram (how many in each bucket, and their seconds) as stored; empty buckets left out."""
    rows = [(value, counts[value], sums[value]) for value in sorted(counts) if counts[value]]
    return np.array(rows, dtype=DTYPE).reshape(-1, 3).tobytes()


def decode(blob: bytes, counts: Counter[int], sums: Counter[int]) -> None:
    """Add a stored histogram to ``counts`` and ``sums``."""
    for value, count, total in np.frombuffer(blob, dtype=DTYPE).reshape(-1, 3).tolist():
        counts[value] += count
        sums[value] += total


@dataclass(slots=True)
class Group:
    """One key's sums: the count columns in the order the lines gave them, and both histograms."""

    counts: list[int]
    waits: Counter[int]
    wait_sums: Counter[int]
    services: Counter[int]
    service_sums: Counter[int]


def bucket(seconds: int) -> int:
    """A time's histogram bucket (its lower bound): the second itself below two minutes, then 5 s up to ten minutes,
    10 s up to an hour, a minute beyond (every bound of ``figures.WAIT_BUCKET_MINUTES`` is one)."""
    if seconds < 120:
        return seconds
    if seconds < 600:
        return seconds // 5 * 5
    if seconds < 3600:
        return seconds // 10 * 10
    return seconds // 60 * 60


def _dense(buckets: Ints) -> Ints:
    """Each bucket's number 0, 1, 2 ... in order (the buckets of ``bucket`` have no gaps between them)."""
    return np.select(
        [buckets < 120, buckets < 600, buckets < 3600],
        [buckets, 120 + (buckets - 120) // 5, 216 + (buckets - 600) // 10],
        516 + (buckets - 3600) // 60,
    )


def _bucket_of(dense: Ints) -> Ints:
    return np.select(
        [dense < 120, dense < 216, dense < 516],
        [dense, 120 + (dense - 120) * 5, 600 + (dense - 216) * 10],
        3600 + (dense - 516) * 60,
    )


class Lines:
    """Lines read for a report: each one's key (a tuple), its count columns and its two stored histograms."""

    def __init__(self, keys: Sequence[tuple[Hashable, ...]], counts: Sequence[Sequence[int]], waits: Sequence[bytes],
                 services: Sequence[bytes], width: int) -> None:  # fmt: skip
        self.keys = keys
        self.counts = np.array(counts, dtype=DTYPE).reshape(-1, width)
        self.width = width
        self.waits = _entries(waits)
        self.services = _entries(services)
        self._codes: dict[int, tuple[Ints, list[Hashable]]] = {}

    def _column(self, position: int) -> tuple[Ints, list[Hashable]]:
        """The lines' values at ``position`` of their keys as numbers, and the values of the numbers."""
        kept = self._codes.get(position)
        if kept is None:
            index: dict[Hashable, int] = {}
            values = (index.setdefault(key[position], len(index)) for key in self.keys)
            kept = self._codes[position] = (np.fromiter(values, np.int64, len(self.keys)), list(index))
        return kept

    def group(self, positions: Sequence[int]) -> dict[tuple[Hashable, ...], Group]:
        """The lines summed by the parts of their keys at ``positions``."""
        columns = [self._column(position) for position in positions]
        combined = np.zeros(len(self.keys), dtype=DTYPE)
        for codes, names in columns:
            combined = combined * len(names) + codes
        found, of_line = np.unique(combined, return_inverse=True)
        of_line = of_line.reshape(-1)
        counts = np.zeros((len(found), self.width), dtype=DTYPE)
        np.add.at(counts, of_line, self.counts)
        groups = [Group(row, Counter(), Counter(), Counter(), Counter()) for row in counts.tolist()]
        entry_lines, entries = self.waits
        for at, bucket_at, count, total in _summed(of_line[entry_lines], entries, len(found)):
            groups[at].waits[bucket_at], groups[at].wait_sums[bucket_at] = count, total
        entry_lines, entries = self.services
        for at, bucket_at, count, total in _summed(of_line[entry_lines], entries, len(found)):
            groups[at].services[bucket_at], groups[at].service_sums[bucket_at] = count, total
        keys: list[tuple[Hashable, ...]] = []
        for combined_code in found.tolist():
            parts, rest = [], combined_code
            for _codes, names in reversed(columns):
                rest, code = divmod(rest, len(names))
                parts.append(names[code])
            keys.append(tuple(reversed(parts)))
        return dict(zip(keys, groups, strict=True))


def _entries(blobs: Sequence[bytes]) -> tuple[Ints, Ints]:
    """Every line's histogram entries one after another: (the line of each, the (bucket, count, seconds) rows)."""
    arrays = [np.frombuffer(blob, dtype=DTYPE).reshape(-1, 3) for blob in blobs]
    if not arrays:
        return np.zeros(0, dtype=DTYPE), np.zeros((0, 3), dtype=DTYPE)
    lengths = np.fromiter((len(array) for array in arrays), np.int64, len(arrays))
    return np.repeat(np.arange(len(arrays), dtype=DTYPE), lengths), np.concatenate(arrays)


def _summed(groups: Ints, values: Ints, size: int) -> list[tuple[int, int, int, int]]:
    """(group, bucket, count, seconds) of the entries summed by group and bucket (a dense group × bucket table)."""
    if not len(values):
        return []
    dense = _dense(values[:, 0])
    span = int(dense.max()) + 1
    cells = groups * span + dense
    counts = np.bincount(cells, weights=values[:, 1], minlength=size * span)
    seconds = np.bincount(cells, weights=values[:, 2], minlength=size * span)
    used = np.flatnonzero(counts)
    buckets = _bucket_of(used % span)
    return list(zip((used // span).tolist(), buckets.tolist(), np.rint(counts[used]).astype(DTYPE).tolist(),
                    np.rint(seconds[used]).astype(DTYPE).tolist(), strict=True))  # fmt: skip

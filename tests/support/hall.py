"""A small district for storage tests and benchmarks, and a store that records what a hub writes.

One site open every day 08:00-20:00 Shanghai time, two windows serving three matters (prefixes A, B, C).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time

from engine.district import District, Matter, Period, Site, Tier, Window
from hub.service import Outcome
from hub.store.base import Entry
from hub.store.memory import MemoryStore

SITE_ID = "S1"
WINDOW_ID = "W1"
OPENING = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
"""10:00 in Shanghai on a Wednesday: the site is open."""

MATTERS = ("A", "B", "C")

_DAY = (Period(time(8), time(20)),)

DISTRICT = District(
    id="D1",
    name_zh="测试区",
    name_en="Test district",
    catalogue=tuple(
        Matter(
            code=code, name_zh=f"事项{code}", name_en=f"Matter {code}", category="test", prefix=code, daily_limit=999
        )
        for code in MATTERS
    ),
    sites=(
        Site(
            id=SITE_ID,
            name_zh="测试站",
            name_en="Test site",
            tier=Tier.COMMUNITY,
            address_zh="测试路1号",
            address_en="1 Test Road",
            latitude=31.2,
            longitude=121.5,
            hours={weekday: _DAY for weekday in range(1, 8)},
            matters=dict.fromkeys(MATTERS, 0),
            windows=tuple(
                Window(
                    id=f"W{n}", number=n, name_zh=f"{n}号窗口", name_en=f"Window {n}", weights=dict.fromkeys(MATTERS, 1)
                )
                for n in (1, 2)
            ),
        ),
    ),
)


def number_of(outcome: Outcome) -> str:
    """The ticket number an answer names (issued or called), or "-" when it names none."""
    for event in outcome.events:
        number = getattr(event, "number", None)
        if number is not None:
            return str(number)
    return "-"


class Recorder(MemoryStore):
    """A memory store that also keeps what was appended, to copy a hub's writes into another store in bulk."""

    def __init__(self) -> None:
        super().__init__()
        self._taken: list[Entry] = []

    def append(self, entries: Sequence[Entry]) -> None:
        super().append(entries)
        self._taken.extend(entries)

    def take(self) -> list[Entry]:
        """The entries appended since the last call."""
        taken, self._taken = self._taken, []
        return taken

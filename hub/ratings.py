"""A site's ratings of one day (好差评) for its managers: how many of each level, the share satisfied, the same per
window, clerk and matter, and every bad rating listed with what its follow-up needs (the rules ask each one to be
verified, put right and answered: docs/queue-rules.md). Read from the event log (``ServiceRated``); a ticket
number, never a name."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from engine.district import Site
from engine.events import ServiceRated

LEVELS = (1, 2, 3, 4, 5)
BAD = frozenset({1, 2})
"""非常不满意 and 不满意: each is followed up."""


def _summary(ratings: Sequence[ServiceRated]) -> dict[str, Any]:
    count = len(ratings)
    return {
        "count": count,
        "average": round(statistics.fmean(r.level for r in ratings), 2) if ratings else None,
        "satisfied": round(sum(r.level >= 4 for r in ratings) / count, 3) if ratings else None,
        "levels": {str(level): sum(r.level == level for r in ratings) for level in LEVELS},
    }


def _by(ratings: Sequence[ServiceRated], key: Callable[[ServiceRated], str]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ServiceRated]] = {}
    for rating in ratings:
        groups.setdefault(key(rating), []).append(rating)
    return {name: _summary(group) for name, group in sorted(groups.items())}


def ratings_report(site: Site, day: date, ratings: Sequence[ServiceRated]) -> dict[str, Any]:
    zone = ZoneInfo(site.timezone)
    bad = [
        {
            "number": rating.ticket_id.rsplit("-", 1)[-1],
            "window_id": rating.window_id,
            "staff_id": rating.staff_id,
            "matter": rating.matter,
            "level": rating.level,
            "at": rating.at.astimezone(zone).isoformat(timespec="seconds"),
        }
        for rating in ratings
        if rating.level in BAD
    ]
    return {
        "ok": True,
        "site_id": site.id,
        "day": day.isoformat(),
        **_summary(ratings),
        "by_window": _by(ratings, lambda rating: rating.window_id),
        "by_staff": _by(ratings, lambda rating: rating.staff_id or "—"),
        "by_matter": _by(ratings, lambda rating: rating.matter),
        "bad": bad,
    }

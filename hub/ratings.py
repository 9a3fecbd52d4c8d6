"""A site's ratings of one day (好差评) for its managers: how many of each level, the share satisfied, the same per
window, clerk and matter, and every bad rating listed with what its follow-up needs (the rules ask each one to be
verified, put right and answered: docs/queue-rules.md), with the sub-indicators' averages and how often each reason
was given. Read from the event log (``ServiceRated``); a ticket number, never a name, a token or a comment. The
citizens' comments are kept apart (``RatingComments``), for the site's manager only (docs/ratings.md)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from engine.commands import RatingReason
from engine.district import Site
from engine.events import ServiceRated
from hub.store.base import EventStore
from hub.store.schema import rating_comments
from hub.store.sql import SqlStore

LEVELS = (1, 2, 3, 4, 5)
BAD = frozenset({1, 2})
"""非常不满意 and 不满意: each is followed up."""
ASPECTS = ("efficiency", "service_level", "attitude")
"""The sub-indicators (办事效率, 服务水平, 服务态度) as ``RatingAspects`` and ``report_ratings`` name them."""


def rating_columns(rating: ServiceRated) -> dict[str, Any]:
    """A rating's sub-indicators, reasons and source as the reports' ``report_ratings`` row keeps them."""
    aspects = rating.aspects
    return {
        **{name: getattr(aspects, name) if aspects is not None else None for name in ASPECTS},
        "reasons": ",".join(rating.reasons),
        "source": str(rating.source),
    }


def _aspect_averages(ratings: Sequence[ServiceRated]) -> dict[str, float | None]:
    """Each sub-indicator's average over the ratings that gave it (an evaluator without them gives none)."""
    given = {name: [level for r in ratings if r.aspects and (level := getattr(r.aspects, name)) is not None]
             for name in ASPECTS}  # fmt: skip
    return {name: round(statistics.fmean(levels), 2) if levels else None for name, levels in given.items()}


def _summary(ratings: Sequence[ServiceRated]) -> dict[str, Any]:
    count = len(ratings)
    return {
        "count": count,
        "average": round(statistics.fmean(r.level for r in ratings), 2) if ratings else None,
        "satisfied": round(sum(r.level >= 4 for r in ratings) / count, 3) if ratings else None,
        "levels": {str(level): sum(r.level == level for r in ratings) for level in LEVELS},
        "aspects": _aspect_averages(ratings),
        "reasons": {str(reason): sum(reason in r.reasons for r in ratings) for reason in RatingReason},
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
            "reasons": list(rating.reasons),
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


class RatingComments:
    """The citizens' free words with their ratings (ticket page, kiosk), in ``rating_comments`` beside the log: for
    the site's manager only. A comment is never logged, put in an event or sent to a device."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def keep(self, site_id: str, seq: int, comment: str, at: datetime) -> None:
        """The comment of the rating event ``seq`` (kept once: a retry changes nothing)."""
        row = {"site_id": site_id, "seq": seq, "comment": comment, "written_at": at}
        with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            connection.execute(dialect.insert(rating_comments).values(row).on_conflict_do_nothing())

    def of(self, site_id: str, seqs: Iterable[int]) -> dict[int, str]:
        """The comments of these rating events of a site, by event seq."""
        wanted = list(seqs)
        if not wanted:
            return {}
        query = sa.select(rating_comments.c.seq, rating_comments.c.comment).where(
            rating_comments.c.site_id == site_id, rating_comments.c.seq.in_(wanted)
        )
        with self.engine.connect() as connection:
            return {row.seq: row.comment for row in connection.execute(query)}


def comments_for(store: EventStore) -> RatingComments | None:
    """The comments kept beside an SQL store (the hub's); None beside another store, which keeps none."""
    return RatingComments(store.engine) if isinstance(store, SqlStore) else None

"""Wall screens: a TV in a hall or the district office that shows the district wall or one site's live hall through
a link, without anyone signing in (decision 0019).

A screen has a label, a scope (the whole district, ``site_id`` None, or one site), who made it and when it was last
seen. Its link ``/wall/<token>`` carries 32 random bytes (URL-safe base64, 43 characters), shown once when it is
made; only their sha256 is kept (the token is random, so a plain hash is enough: there is nothing to guess). A
revoked screen is kept, for the list and the audit, and its token is as unknown as one never made.

``ScreenFeeds`` is the other half, on the event loop: each screen with streams open gets its own feed, the hub's
changes relayed to it, so revoking the screen ends its streams at once, and a check once a minute (which also
marks it seen) ends them when it was revoked elsewhere (another hub on the same database).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hub.hall_feed import HallFeed
from hub.store import EventStore
from hub.store.base import as_utc
from hub.store.schema import wall_screens as table
from hub.store.sql import SqlStore

log = logging.getLogger(__name__)

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
"""What ``secrets.token_urlsafe(32)`` makes; anything else is not looked up."""
LABEL_LIMIT = 64
"""The ``wall_screens.label`` column's length."""
SEEN_EVERY = timedelta(minutes=1)
"""A screen's ``last_seen_at`` is written at most this often; an open stream checks its screen as often."""


class WallScreenError(ValueError):
    """A wall screen the store refuses to make; the message says why, ``code`` which rule (``empty``, ``long``,
    ``lines``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class WallScreen:
    screen_id: str
    label: str
    site_id: str | None
    """None: the whole district (the wall); else the site whose live hall it shows."""
    created_by: str
    created_at: datetime
    last_seen_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_label(label: str) -> str:
    """The label stripped; empty, too long or of several lines is refused."""
    label = label.strip()
    if not label:
        raise WallScreenError("empty", "a wall screen needs a label (where it hangs)")
    if len(label) > LABEL_LIMIT:
        raise WallScreenError("long", f"a label has at most {LABEL_LIMIT} characters")
    if any(not character.isprintable() for character in label):
        raise WallScreenError("lines", "a label is one line of text")
    return label


class WallScreenRows(Protocol):
    def insert(self, screen: WallScreen, hashed: str) -> None: ...

    def get(self, screen_id: str) -> WallScreen | None: ...

    def by_hash(self, hashed: str) -> WallScreen | None: ...

    def all(self) -> list[WallScreen]:
        """Oldest first."""
        ...

    def revoke(self, screen_id: str, at: datetime) -> bool:
        """Mark a screen revoked; False when there is none not revoked yet."""
        ...

    def seen(self, screen_id: str, at: datetime) -> None: ...


class MemoryWallScreenRows:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[WallScreen, str]] = {}

    def insert(self, screen: WallScreen, hashed: str) -> None:
        self._rows[screen.screen_id] = (screen, hashed)

    def get(self, screen_id: str) -> WallScreen | None:
        row = self._rows.get(screen_id)
        return None if row is None else row[0]

    def by_hash(self, hashed: str) -> WallScreen | None:
        return next((screen for screen, kept in self._rows.values() if secrets.compare_digest(kept, hashed)), None)

    def all(self) -> list[WallScreen]:
        return [screen for screen, _hashed in self._rows.values()]

    def revoke(self, screen_id: str, at: datetime) -> bool:
        screen = self.get(screen_id)
        if screen is None or screen.revoked:
            return False
        self._rows[screen_id] = (replace(screen, revoked_at=at), self._rows[screen_id][1])
        return True

    def seen(self, screen_id: str, at: datetime) -> None:
        screen = self.get(screen_id)
        if screen is not None:
            self._rows[screen_id] = (replace(screen, last_seen_at=at), self._rows[screen_id][1])


def _screen(row: sa.Row[tuple[object, ...]]) -> WallScreen:
    mapping = row._mapping
    return WallScreen(
        screen_id=mapping["screen_id"],
        label=mapping["label"],
        site_id=mapping["site_id"],
        created_by=mapping["created_by"],
        created_at=as_utc(mapping["created_at"]),
        last_seen_at=as_utc(mapping["last_seen_at"]) if mapping["last_seen_at"] is not None else None,
        revoked_at=as_utc(mapping["revoked_at"]) if mapping["revoked_at"] is not None else None,
    )


class SqlWallScreenRows:
    """The ``wall_screens`` table of the hub's database (SQLite or PostgreSQL); every time in it is UTC."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def insert(self, screen: WallScreen, hashed: str) -> None:
        row = {
            "screen_id": screen.screen_id, "label": screen.label, "site_id": screen.site_id, "token_hash": hashed,
            "created_by": screen.created_by, "created_at": as_utc(screen.created_at),
        }  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(table.insert(), row)

    def _one(self, where: sa.ColumnElement[bool]) -> WallScreen | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(table).where(where)).one_or_none()
        return None if row is None else _screen(row)

    def get(self, screen_id: str) -> WallScreen | None:
        return self._one(table.c.screen_id == screen_id)

    def by_hash(self, hashed: str) -> WallScreen | None:
        return self._one(table.c.token_hash == hashed)

    def all(self) -> list[WallScreen]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table).order_by(table.c.created_at, table.c.screen_id)).all()
        return [_screen(row) for row in rows]

    def revoke(self, screen_id: str, at: datetime) -> bool:
        where = (table.c.screen_id == screen_id) & table.c.revoked_at.is_(None)
        with self.engine.begin() as connection:
            return connection.execute(table.update().where(where).values(revoked_at=as_utc(at))).rowcount > 0

    def seen(self, screen_id: str, at: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(table.update().where(table.c.screen_id == screen_id).values(last_seen_at=as_utc(at)))


class WallScreens:
    """Make, find by token, list, revoke and mark seen the district's wall screens. Which sites exist is the
    caller's to check (the pages know the district in force)."""

    def __init__(self, rows: WallScreenRows) -> None:
        self.rows = rows
        self._seen: dict[str, datetime] = {}
        """When this process last wrote each screen's ``last_seen_at``: a screen seen again within ``SEEN_EVERY``
        costs no write."""

    def create(self, label: str, site_id: str | None, created_by: str, at: datetime) -> tuple[WallScreen, str]:
        """A new screen and its token (shown once: only its hash is kept)."""
        screen = WallScreen(
            screen_id=f"wall-{secrets.token_hex(6)}", label=check_label(label), site_id=site_id,
            created_by=created_by, created_at=at,
        )  # fmt: skip
        token = secrets.token_urlsafe(32)
        self.rows.insert(screen, token_hash(token))
        return screen, token

    def verify(self, token: str) -> WallScreen | None:
        """The screen whose link this is, or None: malformed, unknown and revoked alike."""
        if not TOKEN.fullmatch(token):
            return None
        screen = self.rows.by_hash(token_hash(token))
        return None if screen is None or screen.revoked else screen

    def visit(self, token: str, at: datetime) -> WallScreen | None:
        """The screen of a link being opened (``verify``), marked seen (``touch``)."""
        screen = self.verify(token)
        if screen is not None:
            self.touch(screen, at)
        return screen

    def get(self, screen_id: str) -> WallScreen | None:
        return self.rows.get(screen_id)

    def list(self, site_id: str | None = None) -> list[WallScreen]:
        """Every screen, oldest first; with ``site_id``, that site's only (not the district's)."""
        screens = self.rows.all()
        return screens if site_id is None else [screen for screen in screens if screen.site_id == site_id]

    def revoke(self, screen_id: str, at: datetime) -> WallScreen | None:
        """The screen revoked (revoked already: as it was); None when there is no such screen."""
        self.rows.revoke(screen_id, at)
        self._seen.pop(screen_id, None)
        return self.rows.get(screen_id)

    def still(self, screen_id: str, at: datetime) -> bool:
        """Whether the screen is still valid (neither revoked nor gone); if so it is marked seen (``touch``)."""
        screen = self.rows.get(screen_id)
        if screen is None or screen.revoked:
            return False
        self.touch(screen, at)
        return True

    def touch(self, screen: WallScreen, at: datetime) -> bool:
        """Mark the screen seen at ``at``, unless it was less than ``SEEN_EVERY`` ago; True when written."""
        last = self._seen.get(screen.screen_id) or screen.last_seen_at
        if last is not None and at - last < SEEN_EVERY:
            return False
        self.rows.seen(screen.screen_id, at)
        self._seen[screen.screen_id] = at
        return True


def wall_screens_for(store: EventStore) -> WallScreens:
    """The wall screens kept beside a store: in its SQL database, or in memory for a memory store."""
    rows: WallScreenRows = SqlWallScreenRows(store.engine) if isinstance(store, SqlStore) else MemoryWallScreenRows()
    return WallScreens(rows)


class _Relay:
    """One screen's feed while it has streams open, and the task that feeds it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.feed = HallFeed(loop)
        self.streams = 0
        self.task: asyncio.Task[None] | None = None

    def end(self) -> None:
        self.feed.close()
        if self.task is not None:
            self.task.cancel()


class ScreenFeeds:
    """The feeds of the wall screens' open streams (on the event loop). ``still(screen_id)`` says, once every
    ``SEEN_EVERY`` while a screen has streams open, whether it is still valid (and marks it seen); a screen that is
    not, or whose feed ``end`` is called for, has its streams ended at once."""

    def __init__(self, still: Callable[[str], Awaitable[bool]], every: timedelta = SEEN_EVERY) -> None:
        self.still = still
        self.every = every.total_seconds()
        self._relays: dict[str, _Relay] = {}
        self._ended: set[str] = set()
        """Screens revoked by this process: a stream that verified its link just before is ended as it opens."""

    @asynccontextmanager
    async def feed(self, screen_id: str, hub: HallFeed, sites: Iterable[str] | None) -> AsyncIterator[HallFeed]:
        """The screen's own feed, for ``hall_feed.stream``: the hub's changes of ``sites`` (None: every site)."""
        relay = self._relays.get(screen_id)
        if relay is None:
            relay = self._relays[screen_id] = _Relay(asyncio.get_running_loop())
            relay.task = asyncio.ensure_future(self._relay(screen_id, relay, hub, sites))
        if screen_id in self._ended:
            relay.feed.close()
        relay.streams += 1
        try:
            yield relay.feed
        finally:
            relay.streams -= 1
            if relay.streams == 0 and self._relays.get(screen_id) is relay:
                del self._relays[screen_id]
                relay.end()

    def end(self, screen_id: str) -> None:
        """The screen is revoked: its open streams end now (each browser's reconnection then gets the 404)."""
        self._ended.add(screen_id)
        relay = self._relays.pop(screen_id, None)
        if relay is not None:
            relay.end()

    @property
    def open(self) -> int:
        """How many screens have streams open."""
        return len(self._relays)

    async def _relay(self, screen_id: str, relay: _Relay, hub: HallFeed, sites: Iterable[str] | None) -> None:
        loop = asyncio.get_running_loop()
        checked = loop.time()
        async with hub.subscribe(sites) as subscription:
            while (changed := await subscription.next(self.every)) is not None:
                for site_id in changed:
                    relay.feed.changed(site_id)
                if loop.time() - checked >= self.every:
                    checked = loop.time()
                    try:
                        if not await self.still(screen_id):
                            break
                    except Exception:  # the database failed for a moment: the streams go on, checked again later
                        log.exception("wall screen %s could not be checked; trying again in a minute", screen_id)
        relay.feed.close()  # the hub is stopping, or the screen is no longer valid

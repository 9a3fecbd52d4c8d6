"""Several hubs on one PostgreSQL, each site decided by exactly one of them at a time (decision 0020).

A hub *holds* a site while its lease connection (one PostgreSQL session of its own, outside any pool) holds the
session advisory lock ``(LOCK_CLASS, lock_key)`` of the site (``site_locks`` gives every site a small key once).
Three rules make "exactly one" true, not only likely:

- **Taking bumps an epoch.** Right after getting a site's lock the hub increments the site's ``epoch`` and
  remembers it. Every append of events (``Fence.check``, inside the append's transaction) reads the site's row
  ``FOR SHARE`` and refuses unless the epoch is still the hub's and its lease session still holds the lock. The
  taker's ``UPDATE`` waits for an append in flight, and an append after it sees the new epoch: no two hubs ever
  store for one site, whatever the clocks say.
- **A hold lapses by itself.** A hub renews its holds with a heartbeat every ``tick_seconds``; a hold is good until
  ``hold_seconds`` after the last heartbeat that was *sent* (not answered), and without it the hub decides nothing
  for the site, not even a refusal or a snapshot answer. A hub whose session was killed, or whose database went
  away, therefore stops answering within ``hold_seconds``.
- **A taker waits out the old hold.** A hub that takes a site another hub held lately waits ``hold_seconds`` (and a
  little more) before deciding for it, so the old holder has stopped by then even if it has not noticed yet.

Which sites a hub tries to take: its preferred sites always; after ``grace_seconds`` from its start, sites nobody
holds, up to its fair share (the sites divided by the hubs seen lately) and not preferred by another live hub. A
hub holding more than its fair share, or a site another live hub prefers, hands sites back (the hub stops deciding
for them first, then unlocks), so a hub that joins gets its share within a few ticks. ``(LOCK_CLASS, 0)`` is the
district's lock: its holder publishes the district summary.

``SiteLeases`` runs on one thread of its own (its connection is not shared); ``holds`` is read from any thread.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import Connection

from hub.store.base import NotOwner

log = logging.getLogger(__name__)

LOCK_CLASS = 1212238924
"""The first key of every advisory lock of ours: 'HALL' as an int4, easy to find in ``pg_locks``."""
DISTRICT_KEY = 0
"""The second key of the district's lock (sites have keys from 1)."""
TAKE_MARGIN = 0.5
"""Seconds a taker waits beyond ``hold_seconds`` (clock rates and scheduling differ a little between machines)."""
STATEMENT_TIMEOUT_MS = 1000
TAKES_PER_TICK = 8
"""Sites taken at most per tick: each is loaded (~0.1 s) before the next heartbeat, which must come well within a
hold (3 s), or the hub's other sites would lapse while it loads (a survivor taking hundreds of a dead hub's sites
takes them over a few dozen ticks instead)."""
APPLICATION = "hall-hub"
"""The lease session's ``application_name`` is this and the hub's id: a hub is alive while its session is."""

_TAKE = """
UPDATE site_locks l SET epoch = l.epoch + 1, owner = %s, taken_at = now()
  FROM (SELECT site_id, owner FROM site_locks WHERE site_id = %s FOR UPDATE) old
 WHERE l.site_id = old.site_id RETURNING l.epoch, old.owner
"""

_ALIVE = """
SELECT h.hub_id, h.prefer, h.sharing, h.address FROM cluster_hubs h
 WHERE h.seen_at > now() - make_interval(secs => %s)
   AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = %s || h.hub_id)
"""

_FENCE = """
SELECT l.site_id, l.epoch,
       EXISTS (SELECT 1 FROM pg_locks p
                WHERE p.locktype = 'advisory' AND p.classid = %(class)s::oid AND p.objid = l.lock_key::oid
                  AND p.objsubid = 2 AND p.pid = %(pid)s AND p.granted) AS held
  FROM site_locks l WHERE l.site_id = ANY(%(sites)s) FOR SHARE OF l
"""


@dataclass(frozen=True, slots=True)
class Hold:
    site_id: str
    lock_key: int
    epoch: int
    usable_at: float
    """Monotonic time from which the hub may decide for the site (later than taking it if another hub held it)."""


@dataclass(frozen=True, slots=True)
class Changes:
    """What one tick changed: sites taken (to load), sites to hand back (stop deciding, then ``release``), sites
    lost (stop at once: the hold is gone already)."""

    taken: tuple[Hold, ...] = ()
    handing_back: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    orphaned: tuple[str, ...] = ()
    """Lost with the database: nobody may decide for them now (this hub answers their requests ``unavailable``,
    and the devices ask again) until a hub holds them again."""
    elsewhere: tuple[str, ...] = ()
    """Orphaned sites another hub holds now: this hub stops answering for them."""


@dataclass(slots=True)
class _Seen:
    """The cluster as one tick read it (``locked``: the lock keys some session holds, this hub's included)."""

    keys: dict[str, int]
    owners: dict[str, str | None]
    locked: set[int]
    alive: dict[str, frozenset[str]] = field(default_factory=dict)
    """Hubs seen lately, with the sites each prefers."""
    sharing: int = 1
    """How many of them take a share of the other sites."""


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://...``) as libpq takes it."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class SiteLeases:
    def __init__(
        self,
        dsn: str,
        hub_id: str,
        *,
        prefer: Sequence[str] = (),
        address: str = "",
        hold_seconds: float = 3.0,
        grace_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dsn, self.hub_id, self.address = dsn, hub_id, address
        self.prefer = frozenset(prefer)
        self.hold_seconds, self.grace_seconds = hold_seconds, grace_seconds
        self._monotonic = monotonic
        self._started = monotonic()
        self._connection: psycopg.Connection[Any] | None = None
        self._guard = threading.Lock()
        self._forfeited: set[str] = set()
        """Sites an append found taken since the last tick (still locked by this session)."""
        self._failing = False
        """The last tick failed (its error was logged; the next ones are not until one succeeds)."""
        self._orphans: set[str] = set()
        """Sites lost with the database, until some hub holds them again."""
        self.holds: dict[str, Hold] = {}
        """The sites held, by id; replaced, never changed in place (read from other threads)."""
        self.valid_until = 0.0
        """Monotonic time after which no hold is good (``hold_seconds`` after the last heartbeat sent)."""
        self.orphaned_until = 0.0
        """Until when the sites lost with the database were still surely nobody else's (their holds' end): this hub
        may answer their requests ``unavailable`` until then, and must keep silent after (another hub may decide
        them by then, and a device must hear that hub's answer, not this one's)."""
        self.backend_pid = 0
        self.leads = False
        """Whether this hub holds the district's lock (and publishes the district summary)."""
        self.holders: dict[str, tuple[str, str]] = {}
        """Each site's holder among the live hubs and its web address, as the last tick saw them."""

    # --- read from any thread -------------------------------------------------------------------------------------

    def holding(self, site_id: str) -> Hold | None:
        """The site's hold if it is good now (held, renewed lately, and past its waiting time)."""
        hold = self.holds.get(site_id)
        now = self._monotonic()
        if hold is None or now >= self.valid_until or now < hold.usable_at:
            return None
        return hold

    def may_refuse(self, site_id: str) -> bool:
        """Held (maybe still waiting out the old holder's hold), or lost with the database less than a hold ago."""
        return site_id in self.holds or self._monotonic() < self.orphaned_until

    def forfeit(self, sites: Iterable[str]) -> None:
        """Stop holding these at once (an append found them taken); the next tick reports them lost and unlocks
        them."""
        gone = set(sites)
        with self._guard:
            self._forfeited |= gone & set(self.holds)
            self.holds = {site: hold for site, hold in self.holds.items() if site not in gone}

    # --- the lease thread -----------------------------------------------------------------------------------------

    def tick(self, sites: Sequence[str]) -> Changes:
        """Renew, then take and hand back sites; on any database error every site is lost (PostgreSQL may have
        released the locks already) and the next tick starts on a new session."""
        with self._guard:
            forfeited, self._forfeited = self._forfeited, set()
        if self._connection is None or self._connection.closed:  # the session that held the locks is gone
            orphaned = self._orphan(forfeited)
            if orphaned:
                return Changes(lost=tuple(sorted(forfeited)), orphaned=orphaned)
        try:
            return self._tick(sites, forfeited)
        except psycopg.Error as error:
            if not self._failing:  # once, not every tick of an outage
                log.error("the lease session failed (%s); this hub decides for no site until it has a new one", error)
            self._failing = True
            orphaned = self._orphan(forfeited)
            self._close()
            return Changes(lost=tuple(sorted(forfeited)), orphaned=orphaned)

    def _orphan(self, forfeited: set[str]) -> tuple[str, ...]:
        """Every hold is gone with its session (PostgreSQL may have released the locks already)."""
        with self._guard:
            orphaned = tuple(sorted(set(self.holds) - forfeited))
            self.orphaned_until = max(self.orphaned_until, self.valid_until)
            self.holds, self.valid_until, self.leads = {}, 0.0, False
        self._orphans |= set(orphaned)
        return orphaned

    def release(self, sites: Iterable[str]) -> None:
        """Give back sites this hub no longer decides for (it stopped first): unlocked at once for the next hub."""
        released = [site for site in sites if site in self.holds]
        if not released:
            return
        keys = [self.holds[site].lock_key for site in released]
        self.forfeit(released)
        if self._connection is None:
            return
        try:
            self._connection.execute(
                "UPDATE site_locks SET owner = NULL WHERE site_id = ANY(%s) AND owner = %s", (released, self.hub_id)
            )
            for key in keys:
                self._connection.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, key))
        except psycopg.Error as error:  # the session is in doubt: the next tick orphans its holds and starts anew
            log.warning("could not hand back %s (%s)", ", ".join(released), error)
            self._close()
        log.info("handed back %s", ", ".join(released))

    def close(self) -> None:
        with self._guard:
            self.holds, self.valid_until, self.leads, self._forfeited = {}, 0.0, False, set()
        self._close()

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(
                self.dsn,
                autocommit=True,
                application_name=f"{APPLICATION} {self.hub_id}"[:63],
                connect_timeout=2,
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
            )
            self.backend_pid = self._connection.info.backend_pid
        return self._connection

    def _tick(self, sites: Sequence[str], forfeited: set[str]) -> Changes:
        connection = self._connect()
        sent = self._monotonic()
        connection.execute(
            "INSERT INTO cluster_hubs (hub_id, address, prefer, sharing, seen_at) VALUES (%s, %s, %s, %s, now())"
            " ON CONFLICT (hub_id) DO UPDATE SET address = EXCLUDED.address, prefer = EXCLUDED.prefer,"
            " sharing = EXCLUDED.sharing, seen_at = now()",
            (self.hub_id, self.address, ",".join(sorted(self.prefer)), self._sharing),
        )
        self.valid_until = sent + self.hold_seconds  # the heartbeat went through on the session holding the locks
        if self._failing:
            log.info("the lease session is back")
            self._failing = False
        lost = tuple(sorted(forfeited))
        seen = self._look(connection, sites)
        for site in lost:
            if site in seen.keys:
                connection.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, seen.keys[site]))
        if not self.leads:
            self.leads = bool(_scalar(connection, "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, DISTRICT_KEY)))
        taken = tuple(self._take(connection, seen, self._wanted(sites, seen)))
        elsewhere = tuple(
            sorted(site for site in self._orphans if site not in self.holds and seen.keys.get(site) in seen.locked)
        )
        self._orphans -= {*elsewhere, *self.holds}
        return Changes(taken=taken, handing_back=self._to_hand_back(sites, seen), lost=lost, elsewhere=elsewhere)

    def _look(self, connection: psycopg.Connection[Any], sites: Sequence[str]) -> _Seen:
        wanted = list(sites)
        rows = connection.execute(
            "SELECT site_id, lock_key, owner FROM site_locks WHERE site_id = ANY(%s)", (wanted,)
        ).fetchall()
        known = {row[0] for row in rows}
        for site in (site for site in wanted if site not in known):
            connection.execute(  # two hubs adding at once: one loses on the unique key and adds it next tick
                "INSERT INTO site_locks (site_id, lock_key, epoch)"
                " SELECT %s, COALESCE(MAX(lock_key), 0) + 1, 0 FROM site_locks ON CONFLICT DO NOTHING",
                (site,),
            )
        if len(known) < len(wanted):
            rows = connection.execute(
                "SELECT site_id, lock_key, owner FROM site_locks WHERE site_id = ANY(%s)", (wanted,)
            ).fetchall()
        locked = connection.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::oid"
            " AND objsubid = 2 AND granted",
            (LOCK_CLASS,),
        ).fetchall()
        hubs = connection.execute(_ALIVE, (2 * self.hold_seconds, APPLICATION + " ")).fetchall()
        alive = {hub: frozenset(filter(None, (prefer or "").split(","))) for hub, prefer, _sharing, _at in hubs}
        alive[self.hub_id] = self.prefer
        sharing = {hub for hub, _prefer, shares, _at in hubs if shares} | ({self.hub_id} if self._sharing else set())
        addresses = {hub: address for hub, _prefer, _sharing, address in hubs}
        self.holders = {row[0]: (row[2], addresses.get(row[2], "")) for row in rows if row[2] in alive}
        return _Seen(
            keys={row[0]: int(row[1]) for row in rows},
            owners={row[0]: row[2] for row in rows},
            locked={int(row[0]) for row in locked},
            alive=alive,
            sharing=len(sharing),
        )

    @property
    def _sharing(self) -> bool:
        """Past its grace period: it takes a share of the sites nobody prefers (and is counted in the shares)."""
        return self._monotonic() - self._started >= self.grace_seconds

    def _fair_share(self, sites: Sequence[str], seen: _Seen) -> int:
        """The sites divided among the hubs that take a share now (a hub in its grace period holds only its own:
        were it counted, sites handed back for it would wait for nobody)."""
        return math.ceil(len(sites) / max(1, seen.sharing))

    def _preferred_elsewhere(self, seen: _Seen) -> frozenset[str]:
        return frozenset().union(*(prefer for hub, prefer in seen.alive.items() if hub != self.hub_id))

    def _wanted(self, sites: Sequence[str], seen: _Seen) -> list[str]:
        """Free sites to try, preferred ones first; others only after the grace period and up to the fair share."""
        free = [site for site in sites if site in seen.keys and seen.keys[site] not in seen.locked]
        mine = [site for site in free if site in self.prefer]
        if not self._sharing:
            return mine[:TAKES_PER_TICK]
        elsewhere = self._preferred_elsewhere(seen)
        others = [site for site in free if site not in self.prefer and site not in elsewhere]
        random.shuffle(others)  # hubs starting together do not all reach for the same sites
        room = self._fair_share(sites, seen) - len(self.holds) - len(mine)
        return (mine + others[: max(0, room)])[:TAKES_PER_TICK]

    def _take(self, connection: psycopg.Connection[Any], seen: _Seen, wanted: list[str]) -> Iterable[Hold]:
        for site in wanted:
            key = seen.keys[site]
            if not _scalar(connection, "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, key)):
                continue
            try:  # the holder before, read under the lock (another hub may have taken and lost it since _look)
                epoch, previous = connection.execute(_TAKE, (self.hub_id, site)).fetchone() or (None, None)
            except psycopg.errors.QueryCanceled:  # an append of the old holder held the row too long: next tick
                connection.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, key))
                continue
            if epoch is None:
                raise psycopg.DataError(f"no lock row for site {site}")
            waits = previous not in (None, self.hub_id)
            usable_at = self._monotonic() + (self.hold_seconds + TAKE_MARGIN if waits else 0.0)
            hold = Hold(site_id=site, lock_key=key, epoch=int(epoch), usable_at=usable_at)
            with self._guard:
                self.holds = {**self.holds, site: hold}
            log.info("took site %s (epoch %d%s)", site, hold.epoch, f", held by {previous} before" if waits else "")
            yield hold

    def _to_hand_back(self, sites: Sequence[str], seen: _Seen) -> tuple[str, ...]:
        """Sites gone from the district, sites another live hub prefers, then sites beyond the fair share."""
        present = set(sites)
        elsewhere = self._preferred_elsewhere(seen) - self.prefer
        back = [site for site in self.holds if site not in present or site in elsewhere]
        spare = sorted(site for site in self.holds if site not in self.prefer and site not in back)
        excess = len(self.holds) - len(back) - self._fair_share(sites, seen)
        return tuple(back + spare[: max(0, excess)])


def _scalar(connection: psycopg.Connection[Any], statement: str, values: tuple[Any, ...]) -> Any:
    row = connection.execute(statement, values).fetchone()
    if row is None:
        raise psycopg.DataError(f"no row from {statement.split(maxsplit=1)[0]}")
    return row[0]


class Fence:
    """The check every append makes inside its transaction (``SqlStore.fence``): the sites are still this hub's."""

    def __init__(self, leases: SiteLeases) -> None:
        self.leases = leases

    def check(self, connection: Connection, sites: Sequence[str]) -> None:
        holds = {site: self.leases.holding(site) for site in sites}
        gone = [site for site, hold in holds.items() if hold is None]
        if not gone:
            rows = connection.exec_driver_sql(
                _FENCE, {"class": LOCK_CLASS, "pid": self.leases.backend_pid, "sites": list(sites)}
            ).all()
            current = {row.site_id: (int(row.epoch), bool(row.held)) for row in rows}
            gone = [site for site, hold in holds.items() if hold and current.get(site) != (hold.epoch, True)]
        if gone:
            self.leases.forfeit(gone)
            raise NotOwner(f"no longer this hub's: {', '.join(sorted(gone))}")


class EverySite:
    """The one hub of a hall or district: it decides for every site."""

    clustered = False

    def decides(self, site_id: str) -> bool:
        return True

    def serves(self, site_id: str) -> bool:
        return True

    def may_refuse(self, site_id: str) -> bool:
        return True

    def taken(self, site_id: str) -> None:
        """A no-op: every site is this hub's from the start."""

    def dropped(self, site_id: str) -> None:
        """A no-op: no site is ever given up."""


class HeldSites:
    """One hub of several: it decides for the sites it holds and has loaded (the writer's ``taken``)."""

    clustered = True

    def __init__(self, leases: SiteLeases) -> None:
        self.leases = leases
        self._loaded: frozenset[str] = frozenset()

    def decides(self, site_id: str) -> bool:
        return site_id in self._loaded and self.leases.holding(site_id) is not None

    def serves(self, site_id: str) -> bool:
        """Taken and loaded (it may still be waiting out the old holder's hold): its retained views are this hub's
        to publish."""
        return site_id in self._loaded

    def may_refuse(self, site_id: str) -> bool:
        """Whether this hub may answer ``unavailable`` for a site it does not decide now: one it holds (waiting out
        the old holder's hold), or one it lost with its database while its hold would still have run. Never later:
        the site's next hub may be deciding, and a device takes the first answer it hears."""
        return self.leases.may_refuse(site_id)

    def taken(self, site_id: str) -> None:
        self._loaded = self._loaded | {site_id}

    def dropped(self, site_id: str) -> None:
        self._loaded = self._loaded - {site_id}


SiteGate = EverySite | HeldSites


def holder_of(gate: SiteGate, site_id: str) -> dict[str, str]:
    """The hub holding a site and its web address, as the last tick saw them (empty while it changes hands)."""
    holder, address = gate.leases.holders.get(site_id, ("", "")) if isinstance(gate, HeldSites) else ("", "")
    return {"hub": holder, "address": address}


def elsewhere(gate: SiteGate, site_id: str, path: str) -> web.HTTPException | None:
    """Among several hubs, the answer for a request about a site this hub does not serve: a redirect (307) to the
    holder's web address when it is known, else 503 (the site is changing hands: ask again in a moment); None when
    this hub serves it."""
    if not isinstance(gate, HeldSites) or gate.serves(site_id):
        return None
    holder, address = gate.leases.holders.get(site_id, ("", ""))
    if address and holder != gate.leases.hub_id:
        return web.HTTPTemporaryRedirect(address.rstrip("/") + path)
    return web.HTTPServiceUnavailable(
        text=f"site {site_id} is decided by another hub now (or is changing hands): try again in a moment",
        headers={"Retry-After": "2"},
    )

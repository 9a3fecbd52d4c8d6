"""Site leases among several hubs on a real PostgreSQL (``hub.cluster``): who holds which site, fencing of appends,
a killed session, waiting out the old hold, handing sites back when a hub joins."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from engine import events as ev
from hub.cluster import TAKES_PER_TICK, Fence, SiteLeases, libpq_url
from hub.store import open_store
from hub.store.base import Entry, NotOwner
from hub.store.sql import SqlStore
from tests.support import postgres

SITES = ["s1", "s2", "s3", "s4", "s5", "s6"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database() -> Iterator[str]:
    with postgres.running_server() as server, postgres.temporary_database(server, "leases") as url:
        open_store(url).close()  # migrated
        yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


def leases(url: str, hub: str, clock: Clock, prefer: tuple[str, ...] = (), grace: float = 0.0) -> SiteLeases:
    return SiteLeases(libpq_url(url), hub, prefer=prefer, hold_seconds=3.0, grace_seconds=grace, monotonic=clock)


def settle(*hubs: SiteLeases, sites: list[str] = SITES, rounds: int = 4) -> None:
    """Tick every hub a few times, handing back what each says it should (as ``hub.main.hold_sites`` does)."""
    for _ in range(rounds):
        for hub in hubs:
            changes = hub.tick(sites)
            hub.release(changes.handing_back)


def issued(site: str, seq: int) -> Entry:
    event = ev.DayOpened(
        site_id=site, seq=seq, at=datetime(2026, 12, 7, 1, tzinfo=UTC), day=datetime(2026, 12, 7).date()
    )
    return Entry(site, f"cmd-{site}-{seq}", [event], b"{}")


def terminate(url: str, pid: int) -> None:
    """``pg_terminate_backend`` and wait until the session is gone (it signals; the backend exits a moment later)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(100):
            if admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,):
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} still there")


def fenced_store(url: str, hub: SiteLeases) -> SqlStore:
    store = open_store(url)
    assert isinstance(store, SqlStore)
    store.fence = Fence(hub).check
    return store


def test_two_hubs_share_the_sites_and_never_hold_one_twice(database: str, clock: Clock) -> None:
    a, b = leases(database, "hub-a", clock), leases(database, "hub-b", clock)
    settle(a, b)
    assert set(a.holds) | set(b.holds) == set(SITES)
    assert not set(a.holds) & set(b.holds)
    assert len(a.holds) == len(b.holds) == 3
    assert a.leads != b.leads  # exactly one publishes the district summary
    a.close(), b.close()


def test_preferred_sites_come_home_when_their_hub_joins(database: str, clock: Clock) -> None:
    b = leases(database, "hub-b", clock)
    settle(b)
    assert set(b.holds) == set(SITES)  # alone, it holds everything
    a = leases(database, "hub-a", clock, prefer=("s1", "s2"), grace=10.0)
    settle(a, b)
    assert {"s1", "s2"} <= set(a.holds)
    assert not set(a.holds) & set(b.holds)
    assert set(a.holds) | set(b.holds) == set(SITES)
    a.close(), b.close()


def test_a_killed_session_stops_the_hub_at_once_and_the_taker_waits_out_the_old_hold(
    database: str, clock: Clock
) -> None:
    a = leases(database, "hub-a", clock, prefer=("s1",), grace=1e9)
    settle(a, sites=["s1"])
    store = fenced_store(database, a)
    store.append([issued("s1", 1)])  # held: stored
    terminate(database, a.backend_pid)
    with pytest.raises(NotOwner):  # its lock went with the session: refused before anyone took the site
        store.append([issued("s1", 2)])
    assert store.last_seq("s1") == 1

    b = leases(database, "hub-b", clock)
    changes = b.tick(["s1"])
    assert [hold.site_id for hold in changes.taken] == ["s1"]
    assert b.holding("s1") is None  # s1 was hub-a's a moment ago: hub-b waits before deciding
    clock.now += 3.6
    b.tick(["s1"])
    assert b.holding("s1") is not None
    assert a.tick(["s1"]).lost == ("s1",)  # hub-a finds out on its next heartbeat
    fenced_store(database, b).append([issued("s1", 2)])
    a.close(), b.close()


def test_an_old_holder_cannot_append_after_the_site_was_taken(database: str, clock: Clock) -> None:
    """Epoch fencing: even with a hold it believes good, an append after another hub took the site is refused."""
    a = leases(database, "hub-a", clock, prefer=("s1",), grace=1e9)
    settle(a, sites=["s1"])
    store = fenced_store(database, a)
    terminate(database, a.backend_pid)
    with psycopg.connect(libpq_url(database), autocommit=True) as other:  # another hub's take, as it does it
        other.execute("SELECT pg_advisory_lock(1212238924, lock_key) FROM site_locks WHERE site_id = 's1'")
        other.execute("UPDATE site_locks SET epoch = epoch + 1, owner = 'hub-x' WHERE site_id = 's1'")
        with pytest.raises(NotOwner):
            store.append([issued("s1", 1)])
    assert a.holding("s1") is None  # forfeited: the hub stops deciding for it
    a.close()


def test_a_hold_lapses_without_heartbeats(database: str, clock: Clock) -> None:
    a = leases(database, "hub-a", clock, prefer=("s1",), grace=1e9)
    settle(a, sites=["s1"])
    assert a.holding("s1") is not None
    clock.now += 3.1  # no tick: the database may be gone
    assert a.holding("s1") is None
    a.tick(["s1"])
    assert a.holding("s1") is not None
    a.close()


def test_a_dead_database_loses_every_site_and_the_hub_takes_them_again(database: str, clock: Clock) -> None:
    a = leases(database, "hub-a", clock)
    settle(a, sites=["s1", "s2"])
    a.dsn = libpq_url(database).rsplit("/", 1)[0] + "/no_such_database"
    a._close()  # the next tick needs a new session, which fails
    changes = a.tick(["s1", "s2"])
    assert set(changes.orphaned) == {"s1", "s2"}  # nobody decides for them now: the hub answers "unavailable"
    assert a.holds == {}
    a.dsn = libpq_url(database)
    b = leases(database, "hub-b", clock)
    b.tick(["s2"])  # s2 went to another hub meanwhile
    changes = a.tick(["s1", "s2"])
    assert [hold.site_id for hold in changes.taken] == ["s1"]
    assert changes.elsewhere == ("s2",)  # hub-a stops answering for it
    assert set(a.holds) == {"s1"}
    a.close(), b.close()


def test_a_hand_back_on_a_dead_session_gives_up_every_hold(database: str, clock: Clock) -> None:
    """The session died while a site was handed back: the other holds went with it, and the next tick says so
    (they are orphaned: nobody decides them until a hub holds them again), before any new session renews them."""
    a = leases(database, "hub-a", clock)
    settle(a, sites=["s1", "s2"])
    terminate(database, a.backend_pid)
    a.release(["s1"])
    changes = a.tick(["s1", "s2"])
    assert changes.orphaned == ("s2",) and a.holds == {}
    assert a.holding("s2") is None
    settle(a, sites=["s1", "s2"])
    assert set(a.holds) == {"s1", "s2"}  # taken again on a new session
    a.close()


def test_a_hub_takes_a_few_sites_a_tick_so_its_heartbeat_keeps_up(database: str, clock: Clock) -> None:
    many = [f"m{n:02d}" for n in range(20)]
    a = leases(database, "hub-a", clock)
    first = a.tick(many)
    assert 0 < len(first.taken) <= TAKES_PER_TICK
    settle(a, sites=many, rounds=5)
    assert set(a.holds) == set(many)
    a.close()

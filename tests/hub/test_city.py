"""A city: three real hub processes sharing 30 sites on one PostgreSQL, devices on a 3-node NATS cluster; then the
same suite with the sample district's six sites on RabbitMQ's MQTT plugin (``hub.cluster``, docs/deployment.md,
decision 0020).

PostgreSQL is a private cluster of this module's own (so that it can be stopped), reached by each hub through a TCP
proxy of its own (so that one hub can be cut off from it). Each hub prefers a third of the sites. Per site a kiosk,
a caller and a board, each on another broker node than its site's hub (``tests/support/city.py``).

What the tests show, in order (they share the city):
- each site is decided by exactly one hub, and a call at every site reaches its board;
- the district summary, merged from the hubs' parts, has every site;
- ``kill -9`` of a hub under load: its sites are taken by the others; every acknowledged ticket is in the log exactly
  once, numbering continues without gap or repeat, the boards of the taken sites converge on the log;
- PostgreSQL stopped for a moment: requests meanwhile are answered ``unavailable`` (or not at all), nothing is
  decided twice, and the hubs decide again by themselves once it is back;
- a hub cut off from the database stops answering for its sites at once, before another hub takes them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from devicekit.link import HubUnreachable
from engine import events as ev
from tests.support import postgres
from tests.support.city import (
    City,
    Desk,
    NatsBrokers,
    RabbitBrokers,
    decides,
    eventually,
    issue,
    open_and_call,
    record,
)
from tests.support.nats_cluster import NATS_SERVER
from tests.support.rabbitmq import RABBITMQ_SERVER

Kind = wire.DeviceKind
pytestmark = pytest.mark.skipif(not Path(NATS_SERVER).exists(), reason="nats-server is not installed")

DATABASE_GONE = (
    "lease session failed",
    "did not answer",
    "not stored",
    "could not read the device registry",
    "could not load",
    "could not settle",
    "Error closing cursor",  # SQLAlchemy's pool, closing a cursor on a connection the stopped server had closed
)
"""What a hub logs, in one line each, while it cannot reach PostgreSQL."""


@pytest.fixture(
    scope="module",
    params=[
        pytest.param((NatsBrokers, 30), id="nats-30-sites"),
        pytest.param(
            (RabbitBrokers, 0),
            id="rabbitmq",
            marks=pytest.mark.skipif(not RABBITMQ_SERVER.exists(), reason="rabbitmq-server is not installed"),
        ),
    ],
)
def city(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[City]:
    """The city of 30 sites on a 3-node NATS cluster, then the sample's six on one RabbitMQ node (its MQTT plugin)."""
    database = postgres.PrivateCluster()
    failure = database.create()
    if failure:
        database.remove()
        pytest.fail(f"no private PostgreSQL: {failure}")
    brokers, sites = request.param
    city = City(tmp_path_factory.mktemp("city"), database, brokers, sites)
    try:
        city.start()
        yield city
    finally:
        city.stop()
        database.remove()
    for name, process in city.hubs.items():
        assert process.log_defects() == [], f"{name} logged a defect (see {process.log_path})"


def check_log(city: City, desk: Desk) -> None:
    """Every acknowledged ticket exactly once; numbers without gap or repeat; seqs without gap."""
    log = city.log(desk.site.id)
    assert [event.seq for event in log] == list(range(1, len(log) + 1))
    tickets = [event for event in log if isinstance(event, ev.TicketIssued)]
    counted = Counter(event.ticket_id for event in tickets)
    assert all(counted[ticket] == 1 for _at, ticket in desk.issued), "an acknowledged ticket is missing or twice"
    for prefix in {event.number.rstrip("0123456789") for event in tickets}:
        numbers = [int(e.number[len(prefix) :]) for e in tickets if e.number.rstrip("0123456789") == prefix]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"{desk.site.id}: {numbers}"


def board_converges(city: City, desk: Desk) -> None:
    def level() -> bool:
        log = city.log(desk.site.id)
        calls = [event for event in log if isinstance(event, ev.TicketCalled)]
        view = desk.board.view if desk.board else None
        if view is None or view.seq != log[-1].seq:
            return False
        return not calls or (view.latest_call is not None and view.latest_call.number == calls[-1].number)

    eventually(level, what=f"the board of {desk.site.id} level with the log")


def gets_a_ticket(desk: Desk) -> bool:
    """A ticket now (the site's day is open and its hub decides)."""
    decides(desk)
    return bool(desk.issued)


def test_each_site_is_decided_by_one_hub_and_its_calls_reach_its_board(city: City) -> None:
    eventually(  # each hub holds its preferred share once all three are up
        city.balanced, what="a share a hub"
    )
    for desk in city.desks.values():
        eventually(lambda desk=desk: gets_a_ticket(desk), what=f"{desk.site.id} open")  # type: ignore[misc]
        called = open_and_call(desk)
        assert called.ok, called.error
        board_converges(city, desk)


def test_the_district_summary_has_every_site_whichever_hub_decides_it(city: City) -> None:
    """Each hub publishes its own sites' part; the hub holding the district lock merges them for the kiosks."""
    desk = next(iter(city.desks.values()))
    assert desk.kiosk is not None
    seen: list[wire.DistrictSummary] = []
    desk.kiosk.follow_retained(wire.DISTRICT_SUMMARY_TOPIC, wire.DistrictSummary, seen.append)
    everywhere = [site.id for site in city.district.sites]
    eventually(lambda: bool(seen) and [entry.site_id for entry in seen[-1].sites] == everywhere, what="every site")
    assert all(entry.open_now for entry in seen[-1].sites)


def test_a_killed_hubs_sites_are_taken_over_under_load(city: City) -> None:
    victim = "hub-b"
    held = {site for site, hub in city.owners().items() if hub == victim}
    victims = held & set(city.desks)  # those with devices
    stop = threading.Event()

    def load(desk: Desk) -> None:
        while not stop.is_set():
            try:
                record(desk, issue(desk))
            except HubUnreachable:
                desk.unanswered += 1
            time.sleep(0.3)  # a small room's daily limit lasts the test

    workers = [threading.Thread(target=load, args=(desk,)) for desk in city.desks.values()]
    for worker in workers:
        worker.start()
    time.sleep(3)
    city.hubs[victim].kill()
    killed_at = time.monotonic()
    eventually(lambda: held <= set(city.owners()) and victim not in city.owners().values(), what="taken over")
    eventually(
        lambda: all(any(at > killed_at for at, _ in city.desks[site].issued) for site in victims), what="answers"
    )
    time.sleep(2)
    stop.set()
    for worker in workers:
        worker.join()
    takeover = max(min(at for at, _ in city.desks[site].issued if at > killed_at) for site in victims) - killed_at
    print(f"takeover: first acknowledged ticket of a taken site {takeover:.1f} s after kill -9")
    for desk in city.desks.values():
        check_log(city, desk)
        called = open_and_call(desk)
        assert called.ok, called.error
        board_converges(city, desk)
    city.hubs[victim].start(timeout=60)  # back for the next tests; it takes its preferred sites home
    eventually(city.balanced, what="rebalanced")


def test_postgres_stopped_for_a_moment_decides_nothing_twice_and_the_hubs_resume(city: City) -> None:
    for process in city.hubs.values():
        for message in DATABASE_GONE:
            process.expect_error(message)
    city.database.stop()
    try:
        answers: list[str] = []
        for desk in list(city.desks.values())[:3]:
            try:
                reply = issue(desk)
                answers.append("ok" if reply.ok else (reply.error.code if reply.error else "error"))
            except HubUnreachable:
                answers.append("unanswered")
        assert set(answers) <= {"unavailable", "unanswered"}, answers
    finally:
        assert city.database.start() is None
    for desk in city.desks.values():
        eventually(lambda desk=desk: decides(desk), what=f"{desk.site.id} decided again")  # type: ignore[misc]
        check_log(city, desk)


def test_a_hub_cut_off_from_the_database_stops_answering_before_another_takes_its_sites(city: City) -> None:
    partitioned = "hub-a"
    eventually(city.balanced, what="all home")
    its_sites = [site for site, hub in city.owners().items() if hub == partitioned and site in city.desks]
    for message in DATABASE_GONE:
        city.hubs[partitioned].expect_error(message)
    desk = city.desks[its_sites[0]]
    board = city.credentials[desk.site.id, Kind.BOARD]
    city.proxies[partitioned].cut()
    try:
        eventually(lambda: partitioned not in city.owners().values(), timeout=20, what="its session gone")
        eventually(  # within its hold (3 s) it stops answering for the site, whoever holds it by then
            lambda: city.hubs[partitioned].fetch(f"/api/v1/sites/{desk.site.id}/snapshot", board)[0] in (503, 307),
            timeout=5,
            what="the cut-off hub no longer answers for its site",
        )
        eventually(lambda: set(its_sites) <= set(city.owners()), what="taken by another hub")
        eventually(lambda: decides(desk), what="answered by the new holder")
    finally:
        city.proxies[partitioned].restore()
    for site in its_sites:
        check_log(city, city.desks[site])

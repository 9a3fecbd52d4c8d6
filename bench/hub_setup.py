"""The hub benchmark's hall, made before the hub starts: a bench district, its history and its devices.

The district has ``sites`` sites shaped like the sample centre (12 windows: four comprehensive ones serving every
matter and eight specialised ones), each offering 24 matters with a prefix of their own (A-X) and the most a prefix
allows a day (999), so a load test can issue ~24,000 tickets a site a day. It is written into the database's
``district_config`` table, where the hub reads it from.

The history is what a hub would have stored on earlier days: each past day every site opens, issues its tickets
(matters in turn, spread over the opening hours), optionally calls and serves them (``serve``: each is called
``QUEUE`` tickets after its issue, so the queue stays short) and closes. It is decided by
``HallService`` on a recording memory store and copied into SQL in large batches (one transaction each); each
site's state snapshot is stored last, as a live hub would have stored one at most 999 events earlier.
"""

from __future__ import annotations

import string
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

import argon2
import msgspec

import hub.devices
from engine.codec import encode_state
from engine.commands import CallNext, CloseDay, Command, IssueTicket, OpenDay, OpenWindow, StartService
from engine.district import District, Matter, Period, QueueRules, Site, Tier, Window
from hub.devices import Credentials, registry_for
from hub.service import HallService
from hub.store.base import EventStore
from tests.support.hall import Recorder

WINDOWS = 12
COMPREHENSIVE = 4
PREFIXES = string.ascii_uppercase[:24]
MATTERS = tuple(f"M{n:02d}" for n in range(1, len(PREFIXES) + 1))
DAILY_LIMIT = 999
QUEUE = 20
PRELOAD_BATCH = 5000
"""Commands decided between two SQL transactions of the preload."""

_DAY = (Period(clock_time(8), clock_time(20)),)
BENCH_DAY = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
"""10:00 in Shanghai on Wednesday 25 November 2026: the hub's clock (HALL_CLOCK_START) starts here."""


def site_id(n: int) -> str:
    return f"s{n:02d}"


def bench_district(sites: int) -> District:
    catalogue = tuple(
        Matter(
            code=code,
            name_zh=f"事项{code}",
            name_en=f"Matter {code}",
            category="bench",
            prefix=prefix,
            daily_limit=DAILY_LIMIT,
        )
        for code, prefix in zip(MATTERS, PREFIXES, strict=True)
    )
    windows = []
    for n in range(1, WINDOWS + 1):
        if n <= COMPREHENSIVE:  # every matter, its own quarter preferred
            weights = {code: 3 if i % COMPREHENSIVE == n - 1 else 1 for i, code in enumerate(MATTERS)}
        else:  # three matters of its own
            own = [MATTERS[(3 * (n - COMPREHENSIVE - 1) + k) % len(MATTERS)] for k in range(3)]
            weights = dict.fromkeys(own, 3)
        windows.append(Window(id=f"w{n:02d}", number=n, name_zh=f"{n}号窗口", name_en=f"Window {n}", weights=weights))
    return District(
        id="bench",
        name_zh="压测区",
        name_en="Bench district",
        catalogue=catalogue,
        sites=tuple(
            Site(
                id=site_id(n),
                name_zh=f"压测站{n}",
                name_en=f"Bench site {n}",
                tier=Tier.CENTRE,
                address_zh=f"测试路{n}号",
                address_en=f"{n} Bench Road",
                latitude=34.2,
                longitude=108.9,
                hours={weekday: _DAY for weekday in range(1, 8)},
                matters=dict.fromkeys(MATTERS, 0),
                windows=tuple(windows),
                rules=QueueRules(stop_issuing_minutes=0),
            )
            for n in range(1, sites + 1)
        ),
    )


def _history(district: District, tickets: int, per_day: int, serve: bool) -> Iterator[Command]:
    """Whole days (the last ending the day before the bench day) of ``per_day`` tickets a site, served at the
    comprehensive windows in turn when ``serve``; tickets still open expire when the day closes."""
    sites = [site.id for site in district.sites]
    days = -(-tickets // (per_day * len(sites)))
    left = tickets
    for day in range(-days, 0):
        opening = BENCH_DAY - timedelta(hours=1) + timedelta(days=day)  # 09:00 local
        for site in sites:
            count = min(per_day, left)
            left -= count
            if count == 0:
                continue
            stem = f"h{day}-{site}"
            yield OpenDay(command_id=f"{stem}-open", site_id=site, at=opening)
            for window in range(1, WINDOWS + 1):
                yield OpenWindow(command_id=f"{stem}-w{window}", site_id=site, at=opening, window_id=f"w{window:02d}")
            step = 10 * 3600 / count  # over ten hours
            calls = 0
            for n in range(count):
                at = opening + timedelta(seconds=n * step)
                matter = MATTERS[n % len(MATTERS)]
                yield IssueTicket(command_id=f"{stem}-i{n}", site_id=site, at=at, matters=(matter,))
                while serve and calls < n + 1 - QUEUE:
                    desk = f"w{calls % COMPREHENSIVE + 1:02d}"  # comprehensive windows serve every matter
                    yield CallNext(command_id=f"{stem}-c{calls}", site_id=site, at=at, window_id=desk)
                    yield StartService(command_id=f"{stem}-s{calls}", site_id=site, at=at, window_id=desk)
                    calls += 1
            yield CloseDay(command_id=f"{stem}-close", site_id=site, at=opening + timedelta(hours=10, minutes=30))


class Preloaded(msgspec.Struct, frozen=True):
    tickets: int
    events: int
    commands: int
    seconds: float


def preload(store: EventStore, district: District, tickets: int, per_day: int = 2000, serve: bool = False) -> Preloaded:
    """Store ``tickets`` tickets of history, decided command by command as a hub would, copied in batches."""
    began = time.perf_counter()
    recorder = Recorder()
    service = HallService(district, recorder)
    issued = events = commands = 0
    for n, command in enumerate(_history(district, tickets, per_day, serve), start=1):
        outcome = service.execute(command)
        assert outcome.accepted, (command, outcome.rejection)
        issued += isinstance(command, IssueTicket)
        if n % PRELOAD_BATCH == 0:
            taken = recorder.take()
            events += sum(len(entry.events) for entry in taken)
            commands += len(taken)
            store.append(taken)
    taken = recorder.take()
    events += sum(len(entry.events) for entry in taken)
    commands += len(taken)
    store.append(taken)
    for site in district.sites:
        state = service.state(site.id)
        if state.seq:
            store.save_snapshot(site.id, state.seq, encode_state(state))
    return Preloaded(tickets=issued, events=events, commands=commands, seconds=time.perf_counter() - began)


def save_district(store: EventStore, district: District) -> None:
    store.save_district(msgspec.json.encode(district))


_CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def provision(  # noqa: PLR0917
    store: EventStore,
    district: District,
    site: str,
    kind: str,
    device_id: str,
    window_id: str | None = None,
    *,
    cheap: bool = False,
) -> Credentials:
    """Provision a device in the hub's database. ``cheap``: a low-cost argon2 hash for the hub's HTTP check (the
    broker checks its own ``$7$`` hash), for the hundreds of boards that only ever speak MQTT."""
    registry = registry_for(store, district)
    if not cheap:
        return registry.provision(site, kind, device_id=device_id, window_id=window_id)
    saved = hub.devices._hasher
    hub.devices._hasher = _CHEAP
    try:
        return registry.provision(site, kind, device_id=device_id, window_id=window_id)
    finally:
        hub.devices._hasher = saved

"""A city-sized district for the city benchmark, made from the sample district, and a day of history for it.

``city_district(2000)`` keeps the sample district's catalogue and calendar and repeats its sites' shapes: the
first ``busy`` sites are copies of the sample centre (12 windows, every matter), the others copies of its stations
and community rooms in turn (1-4 windows). Each copy keeps its template's hours, matters, windows and rules under a
new id (``c0001`` ...) and names (``雁塔区政务服务中心 1号``).

``day_of_history`` is the working day before the bench day at every site, as the hub would have decided it: the day
opens, every window opens, tickets are issued over the morning and each is called at once at a window that serves
its matter and started (the window's next call finishes it), and the day closes. ``store_history`` decides those
commands with ``HallService`` on a recording memory store and copies them into the real store in large batches,
each site's state snapshot last (as a live hub would have stored one).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import msgspec

from engine.codec import encode_state
from engine.commands import CallNext, CloseDay, Command, IssueTicket, OpenDay, OpenWindow, StartService
from engine.district import District, Site, Tier
from engine.district_check import problems
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.service import HallService
from hub.store.base import EventStore
from tests.support.hall import Recorder

BENCH_DAY = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
"""10:00 in Shanghai on Wednesday 25 November 2026: the hub's clock (HALL_CLOCK_START) starts here."""
HISTORY_DAY = BENCH_DAY - timedelta(days=1)
"""Tuesday, 10:00 local: every sample site is open then."""
STORE_BATCH = 20_000
"""Commands decided between two SQL transactions of ``store_history``."""


def city_site_id(n: int) -> str:
    return f"c{n:04d}"


def _copy(template: Site, n: int) -> Site:
    return msgspec.structs.replace(
        template,
        id=city_site_id(n),
        name_zh=f"{template.name_zh} {n}号",
        name_en=f"{template.name_en} no. {n}",
        notice="",
    )


def city_district(sites: int, busy: int = 200) -> District:
    """``sites`` sites shaped like the sample's, the first ``busy`` of them like its centre."""
    if not 0 <= busy <= sites:
        raise ValueError(f"busy sites ({busy}) must be between 0 and the number of sites ({sites})")
    sample = load_district(SAMPLE_DISTRICT)
    centre = next(site for site in sample.sites if site.tier is Tier.CENTRE)
    smaller = itertools.cycle([site for site in sample.sites if site.tier is not Tier.CENTRE])
    made = [_copy(centre if n <= busy else next(smaller), n) for n in range(1, sites + 1)]
    district = msgspec.structs.replace(sample, id="city", name_zh="压测市", name_en="Bench city", sites=tuple(made))
    found = problems(district)
    if found:  # the sample's shapes are valid, so this is the generator's own mistake
        raise ValueError("the city district is not valid: " + "; ".join(problem.en for problem in found[:5]))
    return district


def _site_day(district: District, site: Site, tickets: int) -> Iterator[Command]:
    """One day of ``site``: ``tickets`` tickets over the matters its windows serve, up to each matter's limit."""
    stem = f"h-{site.id}"
    opening = HISTORY_DAY - timedelta(hours=1)  # 09:00 local
    yield OpenDay(command_id=f"{stem}-open", site_id=site.id, at=opening)
    for window in site.windows:
        yield OpenWindow(command_id=f"{stem}-{window.id}", site_id=site.id, at=opening, window_id=window.id)
    served = [code for code in site.matters if any(window.serves(code) for window in site.windows)]
    left = {code: district.daily_limit(site, matter) for code in served if (matter := district.matter(code))}
    desks = {code: itertools.cycle([w.id for w in site.windows if w.serves(code)]) for code in served}
    step = 3 * 3600 / max(1, tickets)  # over the morning: every sample site is open from 09:00 to 12:00
    turn = itertools.cycle(served)
    for n in range(tickets):
        code = next((c for c in itertools.islice(turn, len(served)) if left[c] > 0), None)
        if code is None:
            return  # every matter at its daily limit: the day is as full as the site allows
        left[code] -= 1
        at = opening + timedelta(seconds=n * step)
        desk = next(desks[code])
        yield IssueTicket(command_id=f"{stem}-i{n}", site_id=site.id, at=at, matters=(code,))
        yield CallNext(command_id=f"{stem}-c{n}", site_id=site.id, at=at, window_id=desk)
        yield StartService(command_id=f"{stem}-s{n}", site_id=site.id, at=at, window_id=desk)
    yield CloseDay(command_id=f"{stem}-close", site_id=site.id, at=opening + timedelta(hours=8, minutes=30))


def day_of_history(
    district: District, busy: int, busy_tickets: int = 500, small_tickets: int = 10
) -> Iterator[Command]:
    """The day before the bench day: ``busy_tickets`` tickets at each of the first ``busy`` sites (about four
    events each: issued, called, started, finished), ``small_tickets`` at every other."""
    for n, site in enumerate(district.sites):
        yield from _site_day(district, site, busy_tickets if n < busy else small_tickets)


class Stored(msgspec.Struct, frozen=True):
    commands: int
    events: int
    seconds: float


def store_history(store: EventStore, district: District, commands: Iterable[Command]) -> Stored:
    """Decide ``commands`` as a hub would and copy what they appended into ``store`` in batches (one transaction
    each), then each site's snapshot. Every command must be accepted: history that a hub would refuse is a bug."""
    began = time.perf_counter()
    recorder = Recorder()
    service = HallService(district, recorder)
    stored = events = 0

    def flush() -> None:
        nonlocal stored, events
        taken = recorder.take()
        store.append(taken)
        stored += len(taken)
        events += sum(len(entry.events) for entry in taken)

    for n, command in enumerate(commands, start=1):
        outcome = service.execute(command)
        if not outcome.accepted:
            raise ValueError(f"history command refused: {command!r}: {outcome.rejection!r}")
        if n % STORE_BATCH == 0:
            flush()
    flush()
    for site in district.sites:
        state = service.state(site.id)
        if state.seq:
            store.save_snapshot(site.id, state.seq, encode_state(state))
    return Stored(commands=stored, events=events, seconds=time.perf_counter() - began)

"""The district summary's estimated waits: a site is re-estimated at most once a minute of hall time (a replay of a
long queue holds the hub's writer thread, which every call waits for)."""

from __future__ import annotations

from datetime import timedelta

from engine import commands as cmd
from engine.estimate import WaitEstimator
from hub.service import HallService
from hub.site_info import SummaryWaits, district_summary
from hub.store.memory import MemoryStore
from tests.hub.test_gateway import DISTRICT, WEDNESDAY_10AM

SITE = DISTRICT.sites[0]


class Hall:
    def __init__(self) -> None:
        self.service = HallService(DISTRICT, MemoryStore())
        self.estimators = {site.id: WaitEstimator() for site in DISTRICT.sites}
        self.now = WEDNESDAY_10AM
        self.count = 0
        for site in DISTRICT.sites:
            self.run(cmd.OpenDay, site_id=site.id)
        self.run(cmd.OpenWindow, window_id=SITE.windows[0].id)

    def run(self, kind: type[cmd.Command], site_id: str = SITE.id, **fields: object) -> None:
        self.count += 1
        outcome = self.service.execute(kind(command_id=f"c{self.count}", site_id=site_id, at=self.now, **fields))
        assert outcome.accepted, outcome.rejection
        for event in outcome.events:
            self.estimators[site_id].observe(event, self.service.state(site_id), DISTRICT.site(site_id))  # type: ignore[arg-type]

    def issue(self, count: int, matter: str) -> None:
        for _ in range(count):
            self.run(cmd.IssueTicket, matters=(matter,))

    def summary_wait(self, waits: SummaryWaits, matter: str) -> float | None:
        states = {site.id: self.service.state(site.id) for site in DISTRICT.sites}
        summary = district_summary(DISTRICT, states, waits, self.now)
        return next(site for site in summary.sites if site.site_id == SITE.id).wait_minutes[matter]


def test_a_sites_waits_are_kept_for_a_minute_then_estimated_again() -> None:
    hall = Hall()
    matter = next(code for code in SITE.matters if SITE.windows[0].serves(code))
    waits = SummaryWaits(hall.estimators, max_age_seconds=60)
    first = hall.summary_wait(waits, matter)
    assert first is not None

    hall.issue(30, matter)  # a long queue forms
    hall.now += timedelta(seconds=59)
    assert hall.summary_wait(waits, matter) == first  # still the figure of a minute ago
    assert hall.summary_wait(SummaryWaits(hall.estimators), matter) > first  # type: ignore[operator]

    hall.now += timedelta(seconds=2)
    assert hall.summary_wait(waits, matter) > first  # type: ignore[operator]


def test_the_waiting_counts_are_always_current() -> None:
    hall = Hall()
    matter = next(code for code in SITE.matters if SITE.windows[0].serves(code))
    waits = SummaryWaits(hall.estimators)
    states = {site.id: hall.service.state(site.id) for site in DISTRICT.sites}
    district_summary(DISTRICT, states, waits, hall.now)
    hall.issue(3, matter)
    summary = district_summary(DISTRICT, states, waits, hall.now)
    assert next(site for site in summary.sites if site.site_id == SITE.id).waiting[matter] == 3


def test_a_site_that_closes_and_opens_again_is_estimated_afresh() -> None:
    hall = Hall()
    matter = next(code for code in SITE.matters if SITE.windows[0].serves(code))
    waits = SummaryWaits(hall.estimators, max_age_seconds=60)
    hall.issue(30, matter)
    crowded = hall.summary_wait(waits, matter)
    assert crowded is not None

    hall.now += timedelta(seconds=10)
    hall.run(cmd.CloseDay)  # every waiting ticket expires
    assert hall.summary_wait(waits, matter) is None
    hall.now += timedelta(seconds=10)
    hall.run(cmd.OpenDay)
    hall.run(cmd.OpenWindow, window_id=SITE.windows[0].id)
    hall.now += timedelta(seconds=10)  # 30 s after the crowded figure: it would still be kept
    assert hall.summary_wait(waits, matter) < crowded  # type: ignore[operator]


def test_aged_sites_are_estimated_again_one_per_summary() -> None:
    hall = Hall()
    other = DISTRICT.sites[1]
    hall.run(cmd.OpenWindow, site_id=other.id, window_id=other.windows[0].id)
    matters = {site.id: next(code for code in site.matters if site.windows[0].serves(code)) for site in (SITE, other)}
    waits = SummaryWaits(hall.estimators, max_age_seconds=60)

    def figures() -> dict[str, float | None]:
        states = {site.id: hall.service.state(site.id) for site in DISTRICT.sites}
        summary = district_summary(DISTRICT, states, waits, hall.now)
        return {s.site_id: s.wait_minutes[matters[s.site_id]] for s in summary.sites if s.site_id in matters}

    before = figures()
    for site_id, matter in matters.items():
        for _ in range(30):
            hall.run(cmd.IssueTicket, site_id=site_id, matters=(matter,))
    hall.now += timedelta(seconds=61)
    first = figures()
    assert sum(first[site] != before[site] for site in matters) == 1  # one site a tick, not all at once
    hall.now += timedelta(seconds=3)
    assert all(figures()[site] != before[site] for site in matters)  # the other at the next tick

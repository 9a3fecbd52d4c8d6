"""What kiosks show before anyone touches them: each site's matters (retained per site) and the district summary
of waiting counts and estimated waits for "nearby sites" (the 15-minute service circle)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import contract as wire
from engine.calendar import next_opening, open_period
from engine.commands import Priority
from engine.district import District, Site
from engine.estimate import WaitEstimator
from engine.state import SiteState, waiting_index


def _place(site: Site) -> dict[str, Any]:
    return {
        "site_id": site.id,
        "name_zh": site.name_zh,
        "name_en": site.name_en,
        "tier": site.tier,
        "address_zh": site.address_zh,
        "address_en": site.address_en,
        "latitude": site.latitude,
        "longitude": site.longitude,
    }


def site_info(district: District, site: Site) -> wire.SiteInfo:
    matters = []
    for code in site.matters:
        matter = district.matter(code)
        if matter is None:
            continue
        materials = tuple(
            wire.MaterialInfo(
                name_zh=m.name_zh,
                name_en=m.name_en,
                originals=m.originals,
                copies=m.copies,
                commitment_allowed=m.commitment_allowed,
            )
            for m in matter.materials
        )
        matters.append(
            wire.MatterInfo(
                code=matter.code,
                name_zh=matter.name_zh,
                name_en=matter.name_en,
                category=matter.category,
                materials=materials,
                windows=tuple(window.number for window in site.windows if window.serves(code)),
                daily_limit=district.daily_limit(site, matter),
                appointment_allowed=matter.appointment_allowed,
                green_channel=matter.green_channel,
            )
        )
    return wire.SiteInfo(**_place(site), matters=tuple(matters), target_wait_minutes=site.rules.target_wait_minutes)


class SummaryWaits:
    """The estimated waits per matter the district summary shows, recomputed for a site at most every
    ``max_age_seconds`` of hall time. An estimate replays the site's queue, which for a long queue holds the writer
    thread for tens of milliseconds while calls wait (about 50 ms with 4,000 waiting); a citizen choosing a nearby
    site needs no fresher figure than a minute old. At most one site whose figures have aged is estimated again per
    summary (per ``now``): the others keep theirs a tick longer, so a district of long queues never holds the writer
    for all its sites at once. Used on the writer thread only."""

    def __init__(self, estimators: Mapping[str, WaitEstimator], max_age_seconds: float = 60.0) -> None:
        self.estimators = estimators
        self.max_age_seconds = max_age_seconds
        self._kept: dict[str, tuple[datetime, dict[str, float | None]]] = {}
        self._refreshed_for: datetime | None = None
        """The ``now`` of the summary that already estimated an aged site again."""

    def of(self, district: District, site: Site, state: SiteState, now: datetime) -> dict[str, float | None]:
        kept = self._kept.get(site.id)  # a closed site has none (``closed``): a reopened one is estimated at once
        if kept is not None:
            fresh = 0 <= (now - kept[0]).total_seconds() < self.max_age_seconds
            if fresh or self._refreshed_for == now:
                return kept[1]
            self._refreshed_for = now
        waits: dict[str, float | None] = {}
        for code in site.matters:
            entry = district.matter(code)
            priority = Priority.GREEN if entry is not None and entry.green_channel else Priority.NORMAL
            waits[code] = self.estimators[site.id].estimate_new(state, site, (code,), priority, now).minutes
        self._kept[site.id] = (now, waits)
        return waits

    def closed(self, site: Site) -> dict[str, float | None]:
        """No waits for a site that is not open now; what was kept for it is dropped."""
        self._kept.pop(site.id, None)
        return dict.fromkeys(site.matters)


def district_summary(
    district: District, states: Mapping[str, SiteState], waits: SummaryWaits, now: datetime
) -> wire.DistrictSummary:
    """The summary of the sites ``states`` has (every site with one hub; its own sites' part among several)."""
    sites = []
    for site in district.sites:
        state = states.get(site.id)
        if state is None:
            continue
        waiting = dict.fromkeys(site.matters, 0)
        waiting.update(waiting_index(state).per_matter())
        is_open = state.day_open and open_period(site, district.calendar, now) is not None
        wait_minutes = waits.of(district, site, state, now) if is_open else waits.closed(site)
        sites.append(
            wire.SiteSummary(
                **_place(site),
                open_now=is_open,
                next_opening=None if is_open else next_opening(site, district.calendar, now),
                offered=tuple(site.matters),
                waiting=waiting,
                wait_minutes=wait_minutes,
            )
        )
    return wire.DistrictSummary(at=now, sites=tuple(sites))


def merged_summary(district: District, parts: Iterable[wire.DistrictSummary], now: datetime) -> wire.DistrictSummary:
    """Several hubs' parts as one summary: each site as the newest part has it (a site that changed hands is in the
    old hub's retained part too, until that hub publishes its part again), in the district's order."""
    newest: dict[str, tuple[datetime, wire.SiteSummary]] = {}
    for part in parts:
        for entry in part.sites:
            if entry.site_id not in newest or newest[entry.site_id][0] < part.at:
                newest[entry.site_id] = (part.at, entry)
    ordered = tuple(newest[site.id][1] for site in district.sites if site.id in newest)
    return wire.DistrictSummary(at=now, sites=ordered)

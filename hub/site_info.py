"""What kiosks show before anyone touches them: each site's matters (retained per site) and the district summary
of waiting counts and estimated waits for "nearby sites" (the 15-minute service circle)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import contract as wire
from engine.calendar import next_opening, open_period
from engine.commands import Priority
from engine.district import District, Site
from engine.estimate import WaitEstimator
from engine.state import SiteState


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
            wire.MaterialInfo(name_zh=m.name_zh, name_en=m.name_en, originals=m.originals, copies=m.copies)
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


def district_summary(
    district: District, states: Mapping[str, SiteState], estimators: Mapping[str, WaitEstimator], now: datetime
) -> wire.DistrictSummary:
    sites = []
    for site in district.sites:
        state = states[site.id]
        waiting = dict.fromkeys(site.matters, 0)
        for ticket_id in state.waiting:
            matter = state.tickets[ticket_id].matter
            waiting[matter] = waiting.get(matter, 0) + 1
        is_open = state.day_open and open_period(site, district.calendar, now) is not None
        wait_minutes: dict[str, float | None] = {}
        for code in site.matters:
            entry = district.matter(code)
            priority = Priority.GREEN if entry is not None and entry.green_channel else Priority.NORMAL
            estimate = estimators[site.id].estimate_new(state, site, (code,), priority, now) if is_open else None
            wait_minutes[code] = estimate.minutes if estimate is not None else None
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

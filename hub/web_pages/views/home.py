"""Each role's home: an administrator's district (every site, with its figures and a link), a manager's site (its
windows and waiting per matter), a staff account's window (its state and the waiting it serves). Figures are the
site's live snapshot, the one the boards start from."""

from __future__ import annotations

from typing import Any

from aiohttp import web

import contract as wire
from engine.district import Site
from hub.accounts import Role
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, names, page, refusal, site_of
from hub.web_pages.state import PAGES, HallReader

routes = web.RouteTableDef()


def _window(view: wire.WindowView) -> dict[str, Any]:
    return {
        "window_id": view.window_id, "number": view.number, **names(view), "is_open": view.is_open,
        "paused": view.paused, "current": view.current, "serving": view.serving,
    }  # fmt: skip


def _waiting(hall: HallReader, snapshot: wire.Snapshot, codes: list[str]) -> list[dict[str, Any]]:
    matters = {matter.code: matter for matter in hall.district.catalogue}
    return [
        {"code": code, **names(matters[code]), "waiting": snapshot.waiting.get(code, 0)}
        for code in codes
        if code in matters
    ]


def _site(site: Site, snapshot: wire.Snapshot) -> dict[str, Any]:
    return {
        "site_id": site.id, **names(site), "tier": site.tier.value, "day_open": snapshot.day_open,
        "day": snapshot.day.isoformat() if snapshot.day else None,
        "windows_open": sum(view.is_open for view in snapshot.windows), "windows": len(site.windows),
        "waiting": sum(snapshot.waiting.values()),
    }  # fmt: skip


@add_page(routes, "/")
@allow(*Role)
async def home(request: web.Request) -> web.Response:
    account, hall = me(request), request.app[PAGES].hall
    if account.role == Role.MANAGER:
        raise web.HTTPSeeOther(f"/admin/sites/{account.site_id}")
    if account.role == Role.STAFF:
        raise web.HTTPSeeOther(f"/admin/sites/{account.site_id}/windows/{account.window_id}")
    district = hall.district
    sites = [_site(site, await hall.snapshot(site.id)) for site in district.sites]
    return page(request, "district.html", {"ok": True, "district": {"id": district.id, **names(district)},
                                           "sites": sites})  # fmt: skip


@add_page(routes, "/sites/{site}")
@allow(Role.ADMIN, Role.MANAGER)
async def site_page(request: web.Request) -> web.Response:
    hall = request.app[PAGES].hall
    site = site_of(request)
    snapshot = await hall.snapshot(site.id)
    data = {
        "ok": True, "site": _site(site, snapshot), "windows": [_window(view) for view in snapshot.windows],
        "matters": _waiting(hall, snapshot, list(site.matters)),
    }  # fmt: skip
    return page(request, "site.html", data)


@add_page(routes, "/sites/{site}/windows/{window}")
@allow(*Role)
async def window_page(request: web.Request) -> web.Response:
    hall = request.app[PAGES].hall
    site = site_of(request)
    window = next((window for window in site.windows if window.id == request.match_info["window"]), None)
    if window is None:
        raise refusal(request, 404, "no_window", "No such window")
    snapshot = await hall.snapshot(site.id)
    view = next(view for view in snapshot.windows if view.window_id == window.id)
    served = [code for code, weight in window.weights.items() if weight > 0]
    data = {"ok": True, "site": _site(site, snapshot), "window": _window(view),
            "matters": _waiting(hall, snapshot, served)}  # fmt: skip
    return page(request, "window.html", data)

"""The live hall of a site and the district's wall screen, pushed over server-sent events (never polled).

``GET /admin/sites/{site}/live`` (the site's manager, an administrator) and ``GET /admin/wall`` (administrators)
render the first view on the server, usable without JavaScript; ``static/live.js`` then follows
``.../live/stream`` or ``/admin/wall/stream``. Every stream of the app shares one ``LiveHall``: each site's view is
built once per change of the site (``hall_feed.ViewCache``, and one build in flight shared by every stream that
asks meanwhile), on the writer thread (``hall_view``), so fifty open pages cost one build per change, not fifty.
The wall screens' links (``public``, ``/wall/<token>``) show the same pages from the same ``LiveHall``
(``hall_of``, ``first_view``, ``followed``).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from hub.accounts import Role
from hub.cluster import holder_of
from hub.hall_feed import HallFeed, ViewCache, failed, stream
from hub.web_pages.access import allow
from hub.web_pages.hall_view import Known, SiteViews
from hub.web_pages.render import add_page, page, site_of
from hub.web_pages.state import PAGES, HallReader, Pages
from hub.web_pages.views.follow_ups import overdue_follow_ups

routes = web.RouteTableDef()

KNOWN_SECONDS = 5.0
"""How long the provisioned devices and the clerks' names (database reads, off the event loop) are reused; a device
provisioned or a clerk renamed shows within that, at the site's next change."""
REFRESH_SECONDS = 60.0
"""A site's view is built again at least this often while it is followed (its minutes waited and paused grow),
and one second after its next alert falls due: time alone changes the view then."""
VIEW = "live"
"""The views' key in the ``ViewCache``."""
OVERDUE_SECONDS = 5.0
"""How often a followed site's overdue follow-ups are counted again (one count shared by the site's streams): an
item falling past its deadline, opened or answered shows on the live hall within that."""


class LiveHall:
    """What every live stream of one app shares: the built views, the builds in flight, the registry's devices and
    the clerks' names as last read, and the wake-ups at the moments an alert falls due."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.feed: HallFeed = pages.hall.feed
        self.cache = ViewCache(self.feed)
        self.views = SiteViews(pages.hall.gateway)
        self._known: tuple[float, Known] | None = None
        self._wakeups: dict[str, asyncio.TimerHandle] = {}
        self._overdue: dict[str, tuple[float, asyncio.Future[int]]] = {}

    async def site(self, site_id: str) -> dict[str, Any]:
        """The site's view for a stream: built once per change of the site, whoever asks."""
        view: dict[str, Any] = await self.cache.get(site_id, VIEW, lambda: self._build(site_id))
        return view

    async def wall(self, site: Callable[[str], Awaitable[dict[str, Any]]] | None = None) -> dict[str, Any]:
        """The district and every site's view (``site``: how each is got, the streams' shared one by default)."""
        hall = self.pages.hall
        district, get = hall.district, site or self.site
        here = [each for each in district.sites if hall.sites.serves(each.id)]
        sites = [await get(each.id) for each in here]  # in turn: each is built on the one writer thread
        elsewhere = [  # among several hubs: the others' sites, with where their walls are
            {"site_id": each.id, "name_zh": each.name_zh, "name_en": each.name_en, **holder_of(hall.sites, each.id)}
            for each in district.sites
            if each not in here
        ]
        return {"district_id": district.id, "name_zh": district.name_zh, "name_en": district.name_en,
                "sites": sites, "elsewhere": elsewhere}  # fmt: skip

    async def overdue(self, site_id: str) -> dict[str, Any]:
        """The site's overdue follow-ups (admin pages only, never a wall screen's), counted at most every
        ``OVERDUE_SECONDS`` whoever asks."""
        kept = self._overdue.get(site_id)
        if kept is None or time.monotonic() - kept[0] >= OVERDUE_SECONDS or failed(kept[1]):
            count = asyncio.ensure_future(overdue_follow_ups(self.pages, site_id))
            kept = self._overdue[site_id] = (time.monotonic(), count)
        return {"overdue_follow_ups": await asyncio.shield(kept[1])}

    async def fresh(self, site_id: str) -> dict[str, Any]:
        """The site's view built now: a page opened (HTML or JSON) shows this moment, however quiet the hall."""
        return await self._build(site_id)

    async def _build(self, site_id: str) -> dict[str, Any]:
        hall = self.pages.hall
        known = await self._known_now()
        known = Known(known.devices, dict(hall.statuses), known.clerks)  # copied here: the loop changes them
        now = self.pages.clock()
        view: dict[str, Any] = await hall.on_writer(self.views.site, site_id, known, now)
        self._wake_later(site_id, view["alerts_due_at"], now)
        return view

    async def _known_now(self) -> Known:
        kept = self._known
        if kept is not None and time.monotonic() - kept[0] < KNOWN_SECONDS:
            return kept[1]
        known = await self.pages.off_loop(self._read_known)
        self._known = (time.monotonic(), known)
        return known

    def _read_known(self) -> Known:
        devices = tuple(device for device in self.pages.devices.all() if not device.revoked)
        staff = self.pages.hall.gateway.staff
        clerks = {member.staff_id: member.name for member in staff.all()} if staff is not None else {}
        return Known(devices=devices, clerks=clerks)

    def _wake_later(self, site_id: str, due: str | None, now: datetime) -> None:
        """Tell the feed the site changed in ``REFRESH_SECONDS``, or a second after its next alert falls due if that
        is sooner. Each build sets its site's one wake-up again; one that finds no stream open builds nothing and
        sets none, so a site nobody follows costs nothing."""
        delay = REFRESH_SECONDS
        if due is not None:
            delay = min(delay, max((datetime.fromisoformat(due) - now).total_seconds(), 0.0) + 1.0)
        previous = self._wakeups.pop(site_id, None)
        if previous is not None:
            previous.cancel()
        self._wakeups[site_id] = asyncio.get_running_loop().call_later(delay, self.feed.changed, site_id)


_halls: weakref.WeakKeyDictionary[HallReader, LiveHall] = weakref.WeakKeyDictionary()


def hall_of(pages: Pages) -> LiveHall:
    """The one ``LiveHall`` of the pages' hall (made by its first live request): the admin pages and the wall
    screens' links (``public``) share it, and with it every view built."""
    hall = _halls.get(pages.hall)
    if hall is None:
        hall = _halls[pages.hall] = LiveHall(pages)
    return hall


def live_hall(request: web.Request) -> LiveHall:
    return hall_of(request.app[PAGES])


async def first_view(hall: LiveHall, site_id: str | None) -> tuple[str, dict[str, Any]]:
    """The template and the view built now of a site's live hall, or of the district's wall (``site_id`` None)."""
    if site_id is None:
        return "wall.html", await hall.wall(hall.fresh)
    return "live.html", await hall.fresh(site_id)


def followed(hall: LiveHall, site_id: str | None) -> tuple[list[str] | None, Callable[[], Awaitable[dict[str, Any]]]]:
    """What a stream of a site's live hall (or of the wall: None) follows, and how it gets each view."""
    if site_id is None:
        return None, hall.wall
    return [site_id], lambda: hall.site(site_id)


async def _page(request: web.Request, site_id: str | None, stream_path: str) -> web.Response:
    template, view = await first_view(live_hall(request), site_id)
    data: dict[str, Any] = {"ok": True, "view": view, "stream": stream_path}
    if site_id is not None:
        data["overdue_follow_ups"] = await overdue_follow_ups(request.app[PAGES], site_id)  # now, as the view
    return page(request, template, data)


async def _stream(request: web.Request, site_id: str | None) -> web.StreamResponse:
    hall = live_hall(request)
    sites, view = followed(hall, site_id)
    if site_id is None:
        return await stream(request, hall.feed, sites, view)
    return await stream(request, hall.feed, sites, view, extra=lambda: hall.overdue(site_id),
                        extra_seconds=OVERDUE_SECONDS)  # fmt: skip


@add_page(routes, "/sites/{site}/live")
@allow(Role.ADMIN, Role.MANAGER)
async def live_page(request: web.Request) -> web.Response:
    site_id = site_of(request).id
    return await _page(request, site_id, f"/admin/sites/{site_id}/live/stream")


@routes.get("/sites/{site}/live/stream")
@allow(Role.ADMIN, Role.MANAGER)
async def live_stream(request: web.Request) -> web.StreamResponse:
    return await _stream(request, site_of(request).id)


@add_page(routes, "/wall")
@allow(Role.ADMIN)
async def wall_page(request: web.Request) -> web.Response:
    return await _page(request, None, "/admin/wall/stream")


@routes.get("/wall/stream")
@allow(Role.ADMIN)
async def wall_stream(request: web.Request) -> web.StreamResponse:
    return await _stream(request, None)

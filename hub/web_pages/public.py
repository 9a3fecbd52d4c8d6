"""Public pages without sign-in: the citizen's ticket page (``/t/<token>``) and the web board for smart TVs
(``/board/<site>``), each with its stream of server-sent events (decision 0017).

- ``/t/<token>`` (and ``.json``): the ticket whose status link the kiosk printed (``TicketInfo.status_path``);
  ``/t/<token>/stream`` follows it. An unknown or malformed token gets one friendly 404, the same for every
  token, saying nothing of why. The token is found through ``TicketIndex`` (kept on the writer thread as tickets
  are issued: ``follow_tickets``), the ticket's view is built on the writer (``ticket_view``): each open ticket
  page builds its own small view, no snapshot, when its site changes, a moment later, and every minute
  (``Public.ticket_feed``).
- ``/board/<site>`` (and ``?zone=``, ``.json``): the hall board's content; ``/board/<site>/stream`` follows it.
  Every board of a site shares one snapshot and one built view per change of the site (``ViewCache``).
- ``/wall/<token>`` (and ``.json``): a wall screen's link (``hub.wall_screens``, decision 0019): the district's wall
  or one site's live hall as the admin pages show them (``views.live``, the same ``LiveHall`` and built views), read
  only, without the admin bar; ``/wall/<token>/stream`` follows it through the screen's own feed, which revoking
  the screen ends. A malformed, unknown or revoked token gets one 404, the same for each.

No session, no cookie but the language's, no CSRF: these pages change nothing, but for a service experience
officer's findings on their visit's ticket page (``/t/<token>/officer``, ``views.officers``), which only the
officer's own code in the form lets through. Their answers say how they may be
cached and that no other site may frame them or learn the link (``SECURITY``). The words are in
``web-public.po``; the static files are the admin pages' (``/admin/static/``: they carry no data).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from yarl import URL

from engine.district import Site
from engine.estimate import EstimatorConfig
from hub.cluster import elsewhere
from hub.hall_feed import HallFeed, ViewCache, stream
from hub.store.base import expected_failure
from hub.ticket_ratings import RATINGS, TicketRatings, add_rating_routes
from hub.wall_screens import TOKEN as WALL_TOKEN
from hub.wall_screens import WallScreen
from hub.web_pages import texts
from hub.web_pages.board_view import board_view, zones
from hub.web_pages.render import Handler, add_page, page
from hub.web_pages.state import LANG, Pages
from hub.web_pages.ticket_index import TOKEN, Entry, TicketIndex
from hub.web_pages.ticket_view import RATING_ERRORS, materials, submit_form, ticket_view
from hub.web_pages.views import officers
from hub.web_pages.views.live import first_view, followed, hall_of

log = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("static") / "ticket.worker.js"
"""The ticket page's service worker (it shows the reminders on phones): served under ``/t/`` for its scope."""
SECURITY = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
"""A ticket's page: one citizen's, changing; kept by no cache and indexed by no search engine."""
NO_CACHE = {"Cache-Control": "no-cache"}
"""A board: anyone's, but always asked again."""
FOLLOW_UP_SECONDS = EstimatorConfig().moved_seconds + 1.0
TICK_SECONDS = 60.0


class Public:
    """What the public pages of one hub share: the ticket index and the boards' built views."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.hall = pages.hall
        self.index = TicketIndex(pages.hall.gateway)
        self._boards: ViewCache | None = None
        self._extended: tuple[int, ...] | None = None
        """The sites' feed versions when the index last caught up."""
        self._extending: asyncio.Task[None] | None = None
        self._snapshots: dict[tuple[str, int], asyncio.Task[Any]] = {}
        self._ticket_feed: HallFeed | None = None
        self._tickets: ViewCache | None = None
        self._wakeups: dict[str, asyncio.TimerHandle] = {}

    # -- tickets ---------------------------------------------------------------------------------------------------

    def _versions(self) -> tuple[int, ...]:
        return tuple(self.hall.feed.version(site.id) for site in self.hall.district.sites)

    async def catch_up(self) -> None:
        """Index the tickets issued since the index last caught up, if any site changed since; one run on the
        writer at a time, shared by everyone who asks meanwhile (a burst of unknown tokens costs nothing more)."""
        while (versions := self._versions()) != self._extended:
            if self._extending is None:
                self._extending = asyncio.ensure_future(self._extend(versions))
            await asyncio.shield(self._extending)

    async def _extend(self, versions: tuple[int, ...]) -> None:
        try:
            await self.hall.on_writer(self.index.extend)
            self._extended = versions
        finally:
            self._extending = None

    async def find(self, token: str) -> Entry | None:
        """The ticket of a token; one the index does not have yet is looked for again after it caught up."""
        found = self.index.find(token)
        if found is None and TOKEN.fullmatch(token):
            await self.catch_up()
            found = self.index.find(token)
        return found

    async def ticket(self, entry: Entry, lang: str) -> dict[str, Any] | None:
        return await self.hall.on_writer(ticket_view, self.index, entry, lang, self.pages.clock())

    async def followed_ticket(self, entry: Entry, lang: str) -> dict[str, Any] | None:
        """A ticket's view for its streams: built once per wake-up of its site, however many pages follow it (a
        link shared, or opened in a thousand tabs, costs the writer one build)."""
        if self._tickets is None:
            self._tickets = ViewCache(self.ticket_feed)
        view: dict[str, Any] | None = await self._tickets.get(
            entry.site_id, (entry.ticket_id, lang), lambda: self.ticket(entry, lang)
        )
        return view

    @property
    def ticket_feed(self) -> HallFeed:
        """The ticket pages' own feed (``_follow`` feeds it)."""
        if self._ticket_feed is None:
            self._ticket_feed = HallFeed(asyncio.get_running_loop())
        return self._ticket_feed

    async def follow_tickets(self, _app: web.Application) -> AsyncIterator[None]:
        """While the hub runs, ``_follow``."""
        task = asyncio.ensure_future(self._follow())
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        self._stop_waking()

    async def _follow(self) -> None:
        """After every change of a site (a burst of changes, once): the index catches up, so it has each day's
        tickets, also of a day nobody opened a ticket's page; then the site's ticket pages are told (``_wake``)."""
        async with self.hall.feed.subscribe(None) as subscription:
            changed: set[str] | None = {site.id for site in self.hall.district.sites}
            while changed is not None:
                try:
                    await self.catch_up()
                    for site_id in changed:
                        self._wake(site_id)
                except Exception as error:  # the store failed for a moment: the next change tries again
                    if not expected_failure(error):
                        log.exception("the ticket pages could not catch up; they will at the next change")
                    else:
                        log.warning("the ticket pages could not catch up (the database did not answer)")
                changed = await subscription.next()
        self._stop_waking()  # the hub is stopping: so are the ticket pages' streams

    def _stop_waking(self) -> None:
        for timer in self._wakeups.values():
            timer.cancel()
        self._wakeups.clear()
        self.ticket_feed.close()

    def _wake(self, site_id: str, again: float = FOLLOW_UP_SECONDS) -> None:
        """Tell the site's ticket pages now, and again ``again`` seconds later: after a change,
        ``FOLLOW_UP_SECONDS`` (for a moment after a call the estimator answers from the replay it made before, so
        the view built at once may still count the ticket just called), then every ``TICK_SECONDS`` (the wait
        counts down by itself)."""
        self.ticket_feed.changed(site_id)
        if (previous := self._wakeups.pop(site_id, None)) is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        self._wakeups[site_id] = loop.call_later(again, self._wake, site_id, TICK_SECONDS)

    # -- boards ----------------------------------------------------------------------------------------------------

    @property
    def boards(self) -> ViewCache:
        if self._boards is None:
            self._boards = ViewCache(self.hall.feed)
        return self._boards

    async def board(self, site: Site, zone: str, lang: str) -> dict[str, Any]:
        """The board's view, built once per change of the site for every board of the same zone and language; with
        the hub's time of this answer (the board's clock and highlight go by it, not by the TV's own clock)."""

        async def build() -> dict[str, Any]:
            snapshot = await self.boards.get(site.id, "snapshot", lambda: asyncio.shield(self._snapshot(site.id)))
            return board_view(self.hall.district, site, snapshot, zone, lang)

        view = await self.boards.get(site.id, ("board", zone, lang), build)
        return {**view, "now": self.pages.clock().isoformat()}

    def _snapshot(self, site_id: str) -> asyncio.Task[Any]:
        """One read of the site's snapshot per change, whoever asks while it is read."""
        key = (site_id, self.hall.feed.version(site_id))
        task = self._snapshots.get(key)
        if task is None:
            task = self._snapshots[key] = asyncio.ensure_future(self.hall.snapshot(site_id))
            task.add_done_callback(lambda _done: self._snapshots.pop(key, None))
        return task


PUBLIC = web.AppKey("public", Public)
ticket_routes = web.RouteTableDef()
board_routes = web.RouteTableDef()
wall_routes = web.RouteTableDef()


def _lang(request: web.Request) -> str:
    return request[LANG]


def _missing(request: web.Request, message: str, template: str = "public_missing.html") -> web.Response:
    """The one 404 of a public page: the same answer whatever was wrong."""
    return page(request, template, {"ok": False, "error": {"code": "not_found", "message": message}}, 404)


def _stream_path(request: web.Request, path: str, **query: str) -> str:
    """A path of this hub (never an absolute URL: behind a proxy the browser's scheme and host are not the hub's)."""
    return str(URL.build(path=path, query={**query, "lang": "en" if _lang(request) == texts.ENGLISH else "zh"}))


@ticket_routes.get("/ticket.worker.js")
async def ticket_worker(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(WORKER, headers={"Content-Type": "text/javascript", "Cache-Control": "no-cache"})


@add_page(ticket_routes, "/{token}")
async def ticket_page(request: web.Request) -> web.Response:
    public, token = request.app[PUBLIC], request.match_info["token"]
    entry = await public.find(token)
    if entry is not None and (answer := elsewhere(public.hall.sites, entry.site_id, str(request.rel_url))):
        raise answer  # another hub decides the ticket's site: its page is there
    view = await public.ticket(entry, _lang(request)) if entry is not None else None
    if entry is None or view is None:
        return _missing(request, "No such ticket")
    data = {
        "ok": True,
        "ticket": view,
        "materials": materials(public.hall.district, [matter["code"] for matter in view["matters"]], _lang(request)),
        "stream": _stream_path(request, f"/t/{token}/stream"),
        "officer_path": f"/t/{token}/officer",
        "rating_path": f"/t/{token}/rating",
        "rating_error": RATING_ERRORS.get(request.query.get("rating", ""), ""),
    }
    return page(request, "ticket.html", data)


async def _officer(request: web.Request, answer: Any) -> web.Response:
    """The officer's forms of a ticket page (``views.officers``): the same 404 as the page for an unknown token."""
    public, token = request.app[PUBLIC], request.match_info["token"]
    entry = await public.find(token)
    if entry is None or elsewhere(public.hall.sites, entry.site_id, str(request.rel_url)):
        return _missing(request, "No such ticket")
    response: web.Response = await answer(request, public.pages, entry.ticket_id, f"/t/{token}/officer")
    return response


@ticket_routes.post("/{token}/officer")
async def officer_entry(request: web.Request) -> web.Response:
    return await _officer(request, officers.officer_entry)


@ticket_routes.post("/{token}/officer/findings")
async def officer_findings(request: web.Request) -> web.Response:
    return await _officer(request, officers.officer_findings)


@ticket_routes.post("/{token}/rating")
async def rating_form(request: web.Request) -> web.Response:
    """The ticket page's rating form (plain form POST, no script needed): rated, or why not, then back to the
    page (303, post/redirect/get)."""
    public, token = request.app[PUBLIC], request.match_info["token"]
    entry = await public.find(token)
    if entry is None:
        return _missing(request, "No such ticket")
    if answer := elsewhere(public.hall.sites, entry.site_id, str(request.rel_url)):
        raise answer  # the hub that decides for the ticket's site takes the form
    refused = await submit_form(request, request.app[RATINGS], entry)
    raise web.HTTPSeeOther(f"/t/{token}" + (f"?rating={refused}" if refused else "") + "#rating")


@ticket_routes.get("/{token}/stream")
async def ticket_stream(request: web.Request) -> web.StreamResponse:
    public = request.app[PUBLIC]
    entry = await public.find(request.match_info["token"])
    if entry is None:
        return _missing(request, "No such ticket")
    if answer := elsewhere(public.hall.sites, entry.site_id, str(request.rel_url)):
        raise answer
    lang = _lang(request)
    return await stream(request, public.ticket_feed, [entry.site_id], lambda: public.followed_ticket(entry, lang))


def _board_site(request: web.Request) -> tuple[Site, str] | None:
    site = request.app[PUBLIC].hall.district.site(request.match_info["site"])
    zone = request.query.get("zone", "")
    if site is None or (zone and zone not in zones(site)):
        return None
    return site, zone


@add_page(board_routes, "/{site}")
async def board_page(request: web.Request) -> web.Response:
    found = _board_site(request)
    if found is None:
        return _missing(request, "No such board")
    site, zone = found
    view = await request.app[PUBLIC].board(site, zone, _lang(request))
    stream_path = _stream_path(request, f"/board/{site.id}/stream", **({"zone": zone} if zone else {}))
    return page(request, "board.html", {"ok": True, "board": view, "stream": stream_path})


@board_routes.get("/{site}/stream")
async def board_stream(request: web.Request) -> web.StreamResponse:
    found = _board_site(request)
    if found is None:
        return _missing(request, "No such board")
    site, zone = found
    public, lang = request.app[PUBLIC], _lang(request)
    return await stream(request, public.hall.feed, [site.id], lambda: public.board(site, zone, lang))


async def _wall_screen(request: web.Request) -> WallScreen | None:
    """The screen of the route's token, marked seen; None for a malformed, unknown or revoked token, or a screen of a
    site the district no longer has."""
    pages, token = request.app[PUBLIC].pages, request.match_info["token"]
    if not WALL_TOKEN.fullmatch(token):
        return None
    screen = await pages.off_loop(pages.wall_screens.visit, token, pages.clock())
    if screen is None or (screen.site_id is not None and pages.hall.district.site(screen.site_id) is None):
        return None
    return screen


def _no_screen(request: web.Request) -> web.Response:
    return _missing(request, "No such wall screen", "walls_missing.html")


@add_page(wall_routes, "/{token}")
async def wall_screen_page(request: web.Request) -> web.Response:
    screen = await _wall_screen(request)
    if screen is None:
        return _no_screen(request)
    template, view = await first_view(hall_of(request.app[PUBLIC].pages), screen.site_id)
    stream_path = _stream_path(request, f"/wall/{request.match_info['token']}/stream")
    return page(request, template, {"ok": True, "view": view, "stream": stream_path, "screen": {"label": screen.label}})


@wall_routes.get("/{token}/stream")
async def wall_screen_stream(request: web.Request) -> web.StreamResponse:
    screen = await _wall_screen(request)
    if screen is None:
        return _no_screen(request)
    pages = request.app[PUBLIC].pages
    hall = hall_of(pages)
    sites, view = followed(hall, screen.site_id)
    async with pages.screen_feeds.feed(screen.screen_id, hall.feed, sites) as feed:
        return await stream(request, feed, sites, view)


def _headers_for(request: web.Request) -> dict[str, str]:
    """A ticket's page and a wall screen's are reached by a secret link: kept by no cache."""
    return {**SECURITY, **(NO_STORE if request.path.startswith(("/t/", "/wall/")) else NO_CACHE)}


@web.middleware
async def public_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The language of the answer (kept when chosen), and its caching and security headers."""
    request[LANG] = texts.language(request)
    response = await handler(request)
    if not response.prepared:  # a stream has sent its own headers already
        response.headers.update(_headers_for(request))
        if texts.chosen(request) is not None:
            texts.remember(response, request[LANG])
    return response


def _public_app(public: Public, routes: web.RouteTableDef, environment: jinja2.Environment) -> web.Application:
    app = web.Application(middlewares=[public_answers])
    app[PUBLIC] = public
    app[aiohttp_jinja2.APP_KEY] = environment
    app.router.add_routes(routes)
    return app


def add_public(app: web.Application, pages: Pages) -> None:
    """Mount the public pages on the hub's app: ``/t/``, ``/board/`` and ``/wall/``."""
    public = Public(pages)
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("hub.web_pages", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    tickets = _public_app(public, ticket_routes, environment)
    tickets.cleanup_ctx.append(public.follow_tickets)
    ratings = TicketRatings(public.hall, public.index, public.find, pages.clock)
    add_rating_routes(app, ratings)  # /api/v1/tickets/{token}/rating (the kiosk's, the page's form's)
    tickets[RATINGS] = ratings
    app.add_subapp("/t", tickets)
    app.add_subapp("/board", _public_app(public, board_routes, environment))
    app.add_subapp("/wall", _public_app(public, wall_routes, environment))

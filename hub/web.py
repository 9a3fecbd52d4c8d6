"""The hub's HTTP side (aiohttp): health, readiness, Prometheus metrics, and the REST form of the device API.

``POST /api/v1/sites/{site}/{action}`` takes the same JSON body as the MQTT request topic and answers the same
reply; the device authenticates with HTTP Basic (device id, password). Read models for boards and pages:
``GET /api/v1/sites/{site}/snapshot`` and ``GET /api/v1/district``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import date, datetime

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import contract as wire
from engine import events as ev
from engine.calendar import day_bounds
from engine.district import District
from hub import openapi as api
from hub.appointments.web import add_routes
from hub.archive.store import Archive
from hub.archive.web import add_case_routes
from hub.cluster import elsewhere
from hub.gateway import KnownDevice
from hub.openapi import Answer, Param, describe, describe_each
from hub.ratings import ratings_report
from hub.server import Hub
from hub.store.base import expected_failure
from hub.ticket_ratings import RUN_COMMAND
from hub.web_pages import Pages, add_pages
from hub.web_pages.render import Handler

HUB = web.AppKey("hub", Hub)
PasswordCheck = Callable[[str, str], bool]
CHECK_PASSWORD: web.AppKey[PasswordCheck] = web.AppKey("check_password")
MAX_BODY = wire.MAX_PAYLOAD_BYTES

log = logging.getLogger(__name__)


def _json(message: msgspec.Struct, status: int = 200) -> web.Response:
    return web.Response(body=wire.encode(message), status=status, content_type="application/json")


def _basic_auth(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        device_id, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return device_id, password


@describe("Alive", tag="health", answers=[Answer(200, "The hub answers.", api.Health)])
async def health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@describe("Ready: connected to its broker", tag="health", answers=[
    Answer(200, "Ready.", api.Readiness), Answer(503, "Not connected to the broker.", api.Readiness)])  # fmt: skip
async def ready(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    connected = hub.bridge is not None and hub.bridge.connected.is_set()
    return web.json_response({"ready": connected, "broker": connected}, status=200 if connected else 503)


@web.middleware
async def database_gone(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A page or API answer that needed the database while it does not answer (or a site another hub took meanwhile)
    is a 503 to ask again in a moment, logged in one line, not a traceback and a 500."""
    try:
        return await handler(request)
    except Exception as error:
        if not expected_failure(error):
            raise
        log.warning("%s %s: the database did not answer (%s)", request.method, request.path, type(error).__name__)
        raise web.HTTPServiceUnavailable(
            text="the hub's database did not answer: try again in a moment", headers={"Retry-After": "2"}
        ) from None


@web.middleware
async def site_hub(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Among several hubs, a site's API and pages are its hub's: another hub sends the browser there (307) when it
    knows where that is, and answers 503 otherwise (the site is changing hands: ask again in a moment)."""
    site_id = request.match_info.get("site")
    answer = None if site_id is None else elsewhere(request.app[HUB].sites, site_id, str(request.rel_url))
    if answer is not None:
        raise answer
    return await handler(request)


@describe("Prometheus metrics", tag="health", answers=[Answer(200, "Prometheus text format.", None, "text/plain")])
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[HUB].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@describe_each("action", lambda: api.device_actions(_HTTP_STATUS))
async def command(request: web.Request) -> web.Response:
    credentials = _basic_auth(request)
    if credentials is None or not request.app[CHECK_PASSWORD](*credentials):
        reply = wire.Reply(
            id=None,
            ok=False,
            error=wire.Error(code="unauthorised", zh="设备认证失败", en="Unknown device or wrong password"),
        )
        return _json(reply, status=401)
    payload = await request.content.read(MAX_BODY + 1)
    hub = request.app[HUB]
    reply = await hub.dispatch(
        request.match_info["site"], credentials[0], request.match_info["action"], payload, "http"
    )
    if reply.ok:
        return _json(reply)
    code = reply.error.code if reply.error else ""
    response = _json(reply, status=_HTTP_STATUS.get(code, 409))
    if reply.error is not None and reply.error.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(reply.error.retry_after)))
    return response


_HTTP_STATUS: dict[str, int] = {
    wire.ErrorCode.MALFORMED: 400,
    wire.ErrorCode.TOO_LARGE: 413,
    wire.ErrorCode.UNSUPPORTED_VERSION: 400,
    wire.ErrorCode.UNKNOWN_ACTION: 404,
    wire.ErrorCode.UNAUTHORISED: 403,
    wire.ErrorCode.UNAVAILABLE: 503,
    wire.ErrorCode.RATE_LIMITED: 429,
    wire.ErrorCode.ID_REUSED: 422,
}
"""The HTTP status of each error code of a device request; the engine's refusals are 409."""


@describe("The site's snapshot (what the boards show)", tag="read models", answers=[
    Answer(200, "The site's state now.", wire.Snapshot), api.NO_SITE, api.ELSEWHERE, api.UNAVAILABLE])  # fmt: skip
async def snapshot(request: web.Request) -> web.Response:
    site_id = request.match_info["site"]
    hub = request.app[HUB]
    if hub.gateway.district.site(site_id) is None:
        raise web.HTTPNotFound(text=f"no site {site_id}")
    # built on the writer thread: the states change there, and nowhere else are they read whole
    return _json(await asyncio.get_running_loop().run_in_executor(hub.writer, hub.gateway.snapshot, site_id))


@describe("The district's configuration", tag="read models", answers=[Answer(200, "The district.", District)])
async def district(request: web.Request) -> web.Response:
    return _json(request.app[HUB].gateway.district)


def _signed_in_device(request: web.Request) -> KnownDevice | None:
    """The provisioned device whose credentials (HTTP Basic) the request carries, or None."""
    credentials = _basic_auth(request)
    if credentials is None or not request.app[CHECK_PASSWORD](*credentials):
        return None
    return request.app[HUB].gateway.devices(credentials[0])


@describe("The statuses of the asking device's site's devices", tag="read models", security="device", answers=[
    Answer(200, "The last status each device reported.", list[wire.DeviceStatus]),
    Answer(401, "No device credentials, or wrong ones.", None, "text/plain")])  # fmt: skip
async def devices(request: web.Request) -> web.Response:
    """The last reported statuses (online, printer, help requested) of the devices of the asking device's site.

    Not public: a status tells where a kiosk stands and whether it calls for help. Until the admin's sign-in
    exists, a device credential (HTTP Basic) of the site is what lets one read them."""
    asking = _signed_in_device(request)
    if asking is None:
        raise web.HTTPUnauthorized(
            text="a device of the site (HTTP Basic) sees its devices",
            headers={"WWW-Authenticate": 'Basic realm="hall"'},
        )
    hub = request.app[HUB]
    statuses = sorted(
        (
            status
            for status in hub.device_status.values()
            if (device := hub.gateway.devices(status.device_id)) is not None and device.site_id == asking.site_id
        ),
        key=lambda status: status.device_id,
    )
    return web.Response(body=msgspec.json.encode(statuses), content_type="application/json")


def _staff_device(request: web.Request) -> bool:
    """Whether a request comes from a caller device of its site (Basic auth): only staff see bookings and ratings."""
    device = _signed_in_device(request)
    return (
        device is not None
        and device.kind == wire.DeviceKind.CALLER
        and device.site_id == request.match_info.get("site")
    )


def _ratings(may_see: Callable[[web.Request], bool]) -> Callable[[web.Request], Awaitable[web.Response]]:
    @describe("A day's ratings of the site", tag="read models", security="device", query=[
        Param("day", date, "The site's local day, e.g. 2026-11-25.")], answers=[
        Answer(200, "Counts, shares and the bad ratings (a ticket number, never a name).", api.RatingsReport),
        Answer(400, "No day, or not an ISO date.", None, "text/plain"),
        Answer(401, "Not a caller device of this site.", None, "text/plain"),
        api.NO_SITE, api.ELSEWHERE, api.UNAVAILABLE])  # fmt: skip
    async def ratings(request: web.Request) -> web.Response:
        """GET /api/v1/sites/{site}/ratings?day=2026-11-25: the day's ratings (hub/ratings.py), for staff only."""
        hub = request.app[HUB]
        site = hub.gateway.district.site(request.match_info["site"])
        if site is None:
            raise web.HTTPNotFound(text=f"no site {request.match_info['site']}")
        if not may_see(request):
            raise web.HTTPUnauthorized(text="a caller device of this site (HTTP Basic) sees its ratings")
        try:
            day = date.fromisoformat(request.query.get("day", ""))
        except ValueError:
            raise web.HTTPBadRequest(text="give the day: ?day=2026-11-25") from None
        start, end = day_bounds(site, day)
        store = hub.gateway.service.store
        found = await asyncio.get_running_loop().run_in_executor(
            None, store.events_of_type, site.id, "ServiceRated", start, end
        )
        rated = [event for event in found if isinstance(event, ev.ServiceRated)]
        return web.Response(body=msgspec.json.encode(ratings_report(site, day, rated)), content_type="application/json")

    return ratings


def create_app(
    hub: Hub,
    check_password: Callable[[str, str], bool],
    clock: Callable[[], datetime] | None = None,
    pages: Pages | None = None,
    archive: Archive | None = None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY + 1024, middlewares=[database_gone, site_hub])
    app[HUB] = hub
    app[CHECK_PASSWORD] = check_password
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/v1/district", district)
    app.router.add_get("/api/v1/devices", devices)
    app.router.add_get("/api/v1/sites/{site}/snapshot", snapshot)
    app.router.add_get("/api/v1/sites/{site}/ratings", _ratings(_staff_device))
    if pages is not None:
        app[RUN_COMMAND] = hub.run_command  # a ticket rated on its page: its events published
        add_pages(app, pages)  # /admin/: the people's pages, their sign-in and roles (hub/web_pages)
    if hub.gateway.appointments is not None:  # before the device actions: "appointments" is no action
        add_routes(app, hub.gateway.appointments, clock=clock or hub.gateway.clock, may_list=_staff_device)
    if archive is not None:  # before the device actions: "cases" is no action (hub/archive, docs/documents.md)
        add_case_routes(app, archive, _signed_in_device, clock or hub.gateway.clock)
    api.add_docs(app)  # /api/openapi.json and /api/docs (docs/api.md)
    app.router.add_post("/api/v1/sites/{site}/{action}", command)
    return app

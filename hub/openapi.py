"""The hub's REST API as an OpenAPI 3.1 document, generated from the routes of the running app and the msgspec
schemas their handlers decode and encode (docs/api.md).

A handler says what it is next to its code with ``@describe(...)`` (or ``describe_each`` for a route whose last path
level picks the request type, as the device actions do); ``document(app)`` walks the app's router, so a route and its
description cannot be in two places. The admin pages' JSON twins (``/admin/....json``, hub.web_pages.render) are
listed from the router too, with the roles their ``@allow`` declares. ``undescribed(app)`` names every route under
``/api/`` without a description: a test keeps it empty.

``add_docs(app)`` serves the document at ``/api/openapi.json`` and a reference at ``/api/docs``, drawn by Swagger UI
from ``node_modules/swagger-ui-dist`` (``make deps``), served by the hub itself: the page needs no network.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec
import msgspec.inspect as mi
from aiohttp import web

import contract as wire
from hub.appointments.desk import Booking

__all__ = [
    "Answer",
    "Described",
    "Param",
    "add_docs",
    "describe",
    "describe_each",
    "document",
    "undescribed",
]

DESCRIPTION = "__openapi__"
"""The attribute a described handler carries: a ``Described``, or a ``Variants`` for one route per path value."""
DOCUMENT_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
SWAGGER_UI = Path(__file__).resolve().parents[1] / "node_modules" / "swagger-ui-dist"
SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")
"""The files of swagger-ui-dist the reference page loads, served under ``/api/docs/``."""

Security = Literal["device", "admin", "none"]
H = TypeVar("H", bound=Callable[..., Any])


class Param(msgspec.Struct, frozen=True):
    """A query parameter (path parameters come from the route itself, described by ``PATH_PARAMETERS``)."""

    name: str
    type: Any
    description: str
    required: bool = True


class Answer(msgspec.Struct, frozen=True):
    """One response: its status, what it means, and its JSON body's type (None: a plain-text body)."""

    status: int
    description: str
    body: Any = None
    media: str = "application/json"
    headers: tuple[str, ...] = ()
    """Response headers it carries (``Retry-After``, ``Location``), described by ``HEADERS``."""


@dataclass(frozen=True)
class Described:
    summary: str
    tag: str
    answers: tuple[Answer, ...]
    description: str = ""
    body: Any = None
    """The request body's type (a JSON Schema as a dict for a body that is not JSON), or None."""
    body_media: str = "application/json"
    query: tuple[Param, ...] = ()
    security: Security = "none"
    body_encoding: Mapping[str, Any] | None = None
    """A multipart body's ``encoding`` (OpenAPI's Encoding Object per field: ``{"file": {"contentType": ...}}``)."""


@dataclass(frozen=True)
class Variants:
    """One route, one operation per value of its path parameter ``parameter`` (``/api/v1/sites/{site}/{action}``)."""

    parameter: str
    each: Callable[[], Mapping[str, Described]]
    """Called when the document is made (a module's tables may be defined after its handlers)."""


def describe(
    summary: str,
    *,
    tag: str,
    answers: Iterable[Answer],
    description: str = "",
    body: Any = None,
    query: Iterable[Param] = (),
    security: Security = "none",
    body_media: str = "application/json",
    body_encoding: Mapping[str, Any] | None = None,
) -> Callable[[H], H]:
    """Mark a handler with its description; the handler itself is unchanged."""
    described = Described(
        summary, tag, tuple(answers), description, body, body_media, tuple(query), security, body_encoding
    )

    def mark(handler: H) -> H:
        setattr(handler, DESCRIPTION, described)
        return handler

    return mark


def describe_each(parameter: str, each: Callable[[], Mapping[str, Described]]) -> Callable[[H], H]:
    """Mark a handler whose route ends in ``{parameter}``: one operation per value, each with its own body."""

    def mark(handler: H) -> H:
        setattr(handler, DESCRIPTION, Variants(parameter, each))
        return handler

    return mark


# --- shared pieces of the descriptions -----------------------------------------------------------------------------


class ErrorReply(msgspec.Struct, frozen=True, kw_only=True):
    """``{"ok": false, "error": {...}}``: how the booking API (and every JSON route but the device actions) refuses."""

    ok: Literal[False]
    error: wire.Error


class PageError(msgspec.Struct, frozen=True, kw_only=True):
    """An admin page's refusal as JSON (hub.web_pages.render.refusal)."""

    code: str
    message: str


class PageRefusal(msgspec.Struct, frozen=True, kw_only=True):
    ok: Literal[False]
    error: PageError


TAGS = {
    "device actions": "A provisioned device's requests: the same bodies and replies as over MQTT (docs/protocol.md).",
    "read models": "What boards, kiosks and callers read: the district, a site's snapshot, devices, ratings.",
    "bookings": "Appointments: open slots, booking, the code again, cancelling (docs/appointments.md).",
    "documents handed in at a kiosk": "Cases, their pages and commitments (docs/documents.md).",
    "admin pages (JSON)": "Every admin page's data as JSON, for a signed-in account (docs/web.md).",
    "health": "Liveness, readiness and metrics for the hall's monitoring.",
    "the hub's own API reference": "This document and its rendered reference.",
}
"""The operations' groups, in the reference's order."""

HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": {"description": "Seconds to wait before asking again.", "schema": {"type": "integer"}},
    "Location": {"description": "The hub that holds the site.", "schema": {"type": "string"}},
}

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "site": {"description": "A site of the district (``GET /api/v1/district``: ``sites[].id``), e.g. ``centre``."},
    "booking_id": {"description": "The booking's id, as the booking's answer gave it."},
    "case": {"description": "The case's number (``CaseReceipt.case_number``)."},
    "token": {
        "description": "The ticket's token, as in its QR code's link ``/t/{token}``.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{20}$"},
    },
    "material": {
        "description": "The material's index (``PageRef.material``).",
        "schema": {"type": "integer", "minimum": 0, "maximum": 63},
    },
    "page": {
        "description": "The page within its material, from 1 (``PageRef.page``).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
    },
}

TEXT = "text/plain"
UNAVAILABLE = Answer(503, "The hub's database did not answer, or the site is changing hubs: ask again soon.", None,
                     TEXT, ("Retry-After",))  # fmt: skip
ELSEWHERE = Answer(307, "The site is another hub's: ask there (``Location``).", None, TEXT, ("Location",))
NO_SITE = Answer(404, "No such site.", None, TEXT)


def device_actions(statuses: Mapping[str, int]) -> dict[str, Described]:
    """``POST /api/v1/sites/{site}/{action}``, one operation per ``contract.Action`` with its request type;
    ``statuses``: the HTTP status of each ``ErrorCode`` (hub.web), the engine's refusals being 409."""
    from hub.protocol_doc import attribute_docs  # noqa: PLC0415  (it imports hub.main, which imports this)

    docs = attribute_docs(wire.Action)
    kinds = sorted(kind.value for kind in wire.DeviceKind)
    by_status: dict[int, list[str]] = {}
    for code, status in statuses.items():
        by_status.setdefault(status, []).append(f"``{code}``")
    errors = [
        Answer(status, f"Refused: {', '.join(sorted(codes))}.", wire.Reply, headers=("Retry-After",) * (status == 429))
        for status, codes in sorted(by_status.items())
    ]
    described = {}
    for action in wire.Action:
        allowed = [kind for kind in kinds if action in wire.ALLOWED_ACTIONS[wire.DeviceKind(kind)]]
        described[action.value] = Described(
            summary=_first_sentence(docs.get(action.name, action.value)),
            tag="device actions",
            description=f"{docs.get(action.name, '')}\n\nDevices that may ask: {', '.join(allowed)}. The body and the "
            "reply are the MQTT request's and reply's (docs/protocol.md); a retry with the same ``id`` gets the "
            "first answer.",
            body=wire.REQUEST_TYPES[action],
            security="device",
            answers=(
                Answer(200, "Done: the reply with what it changed.", wire.Reply),
                Answer(401, "Unknown device or wrong password (``unauthorised``).", wire.Reply),
                *errors,
                Answer(409, "Refused by the queue rules (the engine's reason in ``error.code``).", wire.Reply),
                ELSEWHERE,
                UNAVAILABLE,
            ),
        )
    return described


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.;])\s", text.strip(), maxsplit=1)[0].rstrip(".;")


# --- the reply shapes the hub builds as plain JSON (their code builds dicts: these say what the dicts hold) ------


class Health(msgspec.Struct, frozen=True):
    ok: bool


class Readiness(msgspec.Struct, frozen=True):
    ready: bool
    broker: bool
    """Whether the hub is connected to its MQTT broker."""


class RatingSummary(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    average: float | None
    satisfied: float | None
    """The share of ratings 4 满意 or 5 非常满意."""
    levels: dict[str, int]
    """How many of each level, ``"1"`` to ``"5"``."""
    aspects: dict[str, float | None]
    """Each sub-indicator's average (``efficiency``, ``service_level``, ``attitude``), None when none gave it."""
    reasons: dict[str, int]
    """How many ratings gave each reason (``RatingReason``)."""


class BadRating(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    window_id: str
    staff_id: str | None
    matter: str
    level: int
    reasons: list[str]
    at: str


class RatingsReport(RatingSummary, frozen=True, kw_only=True):
    """hub.ratings.ratings_report: a site's ratings of one day."""

    ok: Literal[True]
    site_id: str
    day: date
    by_window: dict[str, RatingSummary]
    by_staff: dict[str, RatingSummary]
    by_matter: dict[str, RatingSummary]
    bad: list[BadRating]


class OpenSlot(msgspec.Struct, frozen=True, kw_only=True):
    start: str
    end: str
    label: str
    capacity: int
    remaining: int


class Slots(msgspec.Struct, frozen=True, kw_only=True):
    ok: Literal[True]
    site_id: str
    matter: str
    day: date
    slots: list[OpenSlot]


class BookedReply(msgspec.Struct, frozen=True, kw_only=True):
    ok: Literal[True]
    appointment: Booking
    code: str
    """The text of the booking's QR code, for check-in at a kiosk."""


class CancelledReply(msgspec.Struct, frozen=True, kw_only=True):
    ok: Literal[True]
    appointment: Booking


class DayBookings(msgspec.Struct, frozen=True, kw_only=True):
    ok: Literal[True]
    day: date
    appointments: list[Booking]


# --- the document --------------------------------------------------------------------------------------------------

_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def _routes(app: web.Application) -> Iterable[tuple[str, str, Any, web.AbstractResource]]:
    for route in app.router.routes():
        resource = route.resource
        if route.method == "HEAD" or resource is None or isinstance(resource, web.StaticResource):
            continue
        yield route.method, _PARAMETER.sub(r"{\1}", resource.canonical), route.handler, resource


def _is_admin_json(method: str, path: str) -> bool:
    return method == "GET" and path.startswith("/admin/") and path.endswith(".json")


def undescribed(app: web.Application) -> list[str]:
    """``METHOD /path`` of every route under ``/api/`` whose handler has no description."""
    return [
        f"{method} {path}"
        for method, path, handler, _ in _routes(app)
        if path.startswith("/api/") and getattr(handler, DESCRIPTION, None) is None
    ]


def _admin_page(handler: Any) -> Described:
    access = getattr(handler, "access", None)  # hub.web_pages.access.allow
    roles = sorted(role.value for role in access.roles) if access is not None else []
    summary = ((handler.__doc__ or "").strip().splitlines() or ["An admin page's data"])[0]
    return Described(
        summary=summary.rstrip("."),
        tag="admin pages (JSON)",
        description="The data the page shows, as JSON (the same path without ``.json`` is the page). "
        + (f"Roles: {', '.join(roles)}." if roles else "Public."),
        security="admin" if roles else "none",
        answers=(
            Answer(200, "The page's data.", dict[str, Any]),
            Answer(401, "Not signed in.", PageRefusal),
            Answer(403, "The account's role or site may not see this page.", PageRefusal),
            Answer(404, "No such site or thing.", PageRefusal),
        ),
    )


class _Schemas:
    """Collects the types the operations use; msgspec makes their schemas (and components) in one go."""

    def __init__(self) -> None:
        self.types: list[Any] = []
        self.slots: list[tuple[dict[str, Any], str]] = []

    def of(self, kind: Any, holder: dict[str, Any] | None = None) -> dict[str, Any]:
        """``holder`` (or a new dict), whose ``schema`` ``fill`` sets to the type's schema (a ``$ref`` for a
        Struct)."""
        holder = {} if holder is None else holder
        self.types.append(kind)
        self.slots.append((holder, "schema"))
        return holder

    def fill(self, field_docs: Callable[[type], Mapping[str, str]] | None = None) -> dict[str, Any]:
        """Set every placeholder's schema; the components, each field given the docstring written under it in the
        code (``field_docs(struct)``: by attribute name) as its description."""
        schemas, components = msgspec.json.schema_components(self.types, ref_template="#/components/schemas/{name}")
        for (holder, key), schema in zip(self.slots, schemas, strict=True):
            holder[key] = schema
        _ecma_patterns([components, schemas])
        if field_docs is not None:
            for kind in _structs(self.types):
                properties = components.get(kind.__name__, {}).get("properties", {})
                for field in msgspec.structs.fields(kind):
                    text = field_docs(kind).get(field.name)
                    if text and field.encode_name in properties and "description" not in properties[field.encode_name]:
                        properties[field.encode_name]["description"] = text
        return components


def _ecma_patterns(schema: Any) -> None:
    """msgspec's patterns are Python's: ``\\Z`` (the very end) is ``$`` in JSON Schema's ECMA-262 dialect."""
    if isinstance(schema, dict):
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("\\Z"):
            schema["pattern"] = pattern[:-2] + "$"
        for value in schema.values():
            _ecma_patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            _ecma_patterns(value)


def _structs(types: Iterable[Any]) -> list[type[msgspec.Struct]]:
    """Every Struct class in ``types``, nested ones too."""
    found: dict[type[msgspec.Struct], None] = {}

    def walk(info: mi.Type) -> None:
        if isinstance(info, mi.StructType):
            if info.cls in found:
                return
            found[info.cls] = None
            for field in info.fields:
                walk(field.type)
            return
        for name in ("item_type", "key_type", "value_type"):
            if isinstance(getattr(info, name, None), mi.Type):
                walk(getattr(info, name))
        for nested in getattr(info, "item_types", ()) or getattr(info, "types", ()):
            walk(nested)

    for info in mi.multi_type_info(list(types)):
        walk(info)
    return list(found)


def _operation(
    method: str, path: str, described: Described, schemas: _Schemas, fixed: Mapping[str, str]
) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
         **PATH_PARAMETERS.get(name, {})}
        for name in _PARAMETER.findall(path)
        if name not in fixed
    ]  # fmt: skip
    for param in described.query:
        given = {"name": param.name, "in": "query", "required": param.required, "description": param.description}
        parameters.append(schemas.of(param.type, given))
    responses: dict[str, Any] = {}
    for answer in described.answers:  # two answers of one status (JSON, and text from a middleware): one response
        reply = responses.setdefault(str(answer.status), {"description": answer.description})
        if answer.description not in reply["description"]:
            reply["description"] += " Or: " + answer.description
        if answer.body is not None:
            reply.setdefault("content", {})[answer.media] = schemas.of(answer.body)
        elif answer.media != "":
            reply.setdefault("content", {})[answer.media] = {"schema": {"type": "string"}}
        if answer.headers:
            reply.setdefault("headers", {}).update({name: HEADERS[name] for name in answer.headers})
    operation: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{method.lower()}{path}").strip("_"),
        "summary": described.summary,
        "tags": [described.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if described.description:
        operation["description"] = described.description
    if described.body is not None:
        media = {"schema": described.body} if isinstance(described.body, dict) else schemas.of(described.body)
        if described.body_encoding is not None:
            media["encoding"] = dict(described.body_encoding)
        operation["requestBody"] = {"required": True, "content": {described.body_media: media}}
    operation["security"] = {"device": [{"deviceBasic": []}], "admin": [{"adminSession": []}], "none": []}[
        described.security
    ]
    return operation


def _cached(function: Callable[[type], dict[str, str]]) -> Callable[[type], Mapping[str, str]]:
    known: dict[type, dict[str, str]] = {}

    def cached(kind: type) -> Mapping[str, str]:
        if kind not in known:
            try:
                known[kind] = function(kind)
            except (OSError, TypeError):  # no source to read (a class made at run time)
                known[kind] = {}
        return known[kind]

    return cached


def document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s described routes and its admin pages' JSON twins."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for method, path, handler, _ in _routes(app):
        found = getattr(handler, DESCRIPTION, None)
        if found is None and _is_admin_json(method, path):
            found = _admin_page(handler)
        if isinstance(found, Described):
            paths.setdefault(path, {})[method.lower()] = _operation(method, path, found, schemas, {})
        elif isinstance(found, Variants):
            for value, described in found.each().items():
                concrete = path.replace("{" + found.parameter + "}", value)
                fixed = {found.parameter: value}
                paths.setdefault(concrete, {})[method.lower()] = _operation(method, concrete, described, schemas, fixed)
    from hub.protocol_doc import attribute_docs  # noqa: PLC0415  (it imports hub.main, which imports this)

    components = schemas.fill(_cached(attribute_docs))
    from hub.web_pages.sessions import COOKIE  # noqa: PLC0415  (the pages' package imports this module)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Service hall hub API",
            "version": f"v{wire.PROTOCOL_VERSION}",
            "description": "The hub's REST API: devices' requests (the same bodies and replies as over MQTT, "
            "docs/protocol.md), read models, bookings, and the admin pages' data. Errors carry "
            "``code``, ``zh`` and ``en`` (``Error``).",
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "deviceBasic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "A provisioned device: its id and password (``hall-hub device add``).",
                },
                "adminSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": COOKIE,
                    "description": "The admin pages' session cookie, from signing in at ``/admin/sign-in``.",
                },
            },
        },
    }


# --- serving it ----------------------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>服务大厅 API 参考 · Hub API reference</title>
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/start.js"></script>
</body>
</html>
"""

_START = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""

_DOCUMENT: web.AppKey[dict[str, bytes]] = web.AppKey("openapi_document", dict)
_OWN = "the hub's own API reference"
_ANSWERS_DOC = (Answer(200, "The OpenAPI 3.1 document.", dict[str, Any]),)
_ANSWERS_PAGE = (Answer(200, "The reference page.", None, "text/html"),
                 Answer(503, "Swagger UI is not installed (``make deps``).", None, TEXT))  # fmt: skip


@describe("This document", tag=_OWN, answers=_ANSWERS_DOC)
async def _openapi_json(request: web.Request) -> web.Response:
    cache = request.app[_DOCUMENT]
    if "body" not in cache:  # the routes are frozen once the app runs
        cache["body"] = msgspec.json.encode(document(request.app))
    return web.Response(body=cache["body"], content_type="application/json")


@describe("The API reference (Swagger UI, served by the hub)", tag=_OWN, answers=_ANSWERS_PAGE)
async def _docs_page(_request: web.Request) -> web.Response:
    if not (SWAGGER_UI / "swagger-ui-bundle.js").is_file():
        raise web.HTTPServiceUnavailable(text="Swagger UI is not installed: run `make deps`")
    return web.Response(text=_PAGE, content_type="text/html")


@describe("The reference page's script", tag=_OWN, answers=(Answer(200, "JavaScript.", None, "text/javascript"),))
async def _docs_start(_request: web.Request) -> web.Response:
    return web.Response(text=_START, content_type="text/javascript")


def _asset(name: str) -> Callable[[web.Request], Any]:
    @describe(f"Swagger UI's {name}", tag=_OWN, answers=(Answer(200, name, None, "application/octet-stream"),))
    async def asset(_request: web.Request) -> web.StreamResponse:
        path = SWAGGER_UI / name
        if not path.is_file():
            raise web.HTTPServiceUnavailable(text="Swagger UI is not installed: run `make deps`")
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})

    return asset


def add_docs(app: web.Application) -> None:
    """Serve the document and the reference page (before any catch-all ``/api/...`` route)."""
    app[_DOCUMENT] = {}
    app.router.add_get(DOCUMENT_PATH, _openapi_json)
    app.router.add_get(DOCS_PATH, _docs_page)
    app.router.add_get(f"{DOCS_PATH}/start.js", _docs_start)
    for name in SWAGGER_FILES:
        app.router.add_get(f"{DOCS_PATH}/{name}", _asset(name))

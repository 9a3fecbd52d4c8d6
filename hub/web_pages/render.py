"""Every page answers HTML or JSON (Datasette's way): ``/admin/sites/centre.json``, or ``Accept: application/json``.
A view returns its data (plain JSON values); the template shows the same data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from engine.district import Site
from hub.web_pages import texts
from hub.web_pages.state import ACCOUNT, CSRF, LANG, PAGES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def wants_json(request: web.Request) -> bool:
    if request.path.endswith(".json"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def page(request: web.Request, template: str, data: dict[str, Any], status: int = 200) -> web.Response:
    if wants_json(request):
        return web.json_response(data, status=status)
    lang = request.get(LANG, texts.CHINESE)
    english = lang == texts.ENGLISH
    context = {
        **data,
        "_": texts.translator(lang),
        "name": lambda thing: thing["name_en"] if english else thing["name_zh"],
        "lang": lang,
        "english": english,
        "me": request.get(ACCOUNT),
        "csrf": request.get(CSRF, ""),
        "path": request.path,
    }
    return aiohttp_jinja2.render_template(template, request, context, status=status)


_ERRORS: dict[int, type[web.HTTPException]] = {
    error.status_code: error
    for error in (
        web.HTTPBadRequest,
        web.HTTPUnauthorized,
        web.HTTPForbidden,
        web.HTTPNotFound,
        web.HTTPTooManyRequests,
        web.HTTPServiceUnavailable,
    )
}


def refusal(request: web.Request, status: int, code: str, message_en: str) -> web.HTTPException:
    """An error to raise, as a page or as JSON ``{"ok": false, "error": {"code": ..., "message": ...}}``."""
    response = page(request, "error.html", {"ok": False, "error": {"code": code, "message": message_en}}, status)
    return _ERRORS[status](text=response.text, content_type=response.content_type)


def add_page(routes: web.RouteTableDef, path: str) -> Callable[[Handler], Handler]:
    """Register a GET page at ``path`` and at its JSON twin (``path.json``, or ``index.json`` for a folder)."""

    def register(handler: Handler) -> Handler:
        routes.get(path + "index.json" if path.endswith("/") else path + ".json")(handler)
        routes.get(path)(handler)
        return handler

    return register


def names(thing: Any) -> dict[str, str]:
    """A district's, site's, window's or matter's names, for ``name()`` in the templates."""
    return {"name_zh": thing.name_zh, "name_en": thing.name_en}


def site_of(request: web.Request) -> Site:
    """The route's site (the guard checked it is the account's own); unknown: 404."""
    site = request.app[PAGES].hall.district.site(request.match_info["site"])
    if site is None:
        raise refusal(request, 404, "no_site", "No such site")
    return site

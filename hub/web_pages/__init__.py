"""The hub's web pages for people: district administrators, hall managers and staff (docs/web.md).

Server-rendered (aiohttp-jinja2 templates in ``templates/``, a stylesheet in ``static/``, no JavaScript needed), Chinese
first with English available (``texts``). ``add_pages`` mounts them under ``/admin/`` of the hub's web app, with their
own middlewares: the encrypted session cookie (``sessions``), then ``access.guard`` (session expiry, CSRF, role and
site scope). One module per area in ``views/``; every page also answers JSON (``render``).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware

from hub.web_pages import public, sessions
from hub.web_pages.access import guard
from hub.web_pages.state import PAGES, HallReader, Pages
from hub.web_pages.views import (
    appointment_settings,
    archive,
    audit,
    configure,
    devices,
    follow_ups,
    home,
    live,
    officers,
    people,
    reports,
    sign_in,
    voice,
    walls,
)

__all__ = ["PREFIX", "HallReader", "Pages", "add_pages", "pages_app"]

PREFIX = "/admin"
STATIC = Path(__file__).with_name("static")


def pages_app(pages: Pages) -> web.Application:
    app = web.Application(
        middlewares=[session_middleware(sessions.cookie_storage(pages.secret, pages.settings)), guard],
    )
    app[PAGES] = pages
    loader = jinja2.PackageLoader("hub.web_pages", "templates")
    aiohttp_jinja2.setup(app, loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    for module in (
        sign_in,
        home,
        audit,
        live,
        devices,
        people,
        configure,
        voice,
        appointment_settings,
        walls,
        reports,
        follow_ups,
        officers,
        archive,
    ):
        app.router.add_routes(module.routes)
    app.router.add_static("/static/", STATIC, name="static")
    return app


def add_pages(app: web.Application, pages: Pages) -> None:
    """Mount the pages under ``/admin/`` of the hub's app."""
    app.add_subapp(PREFIX, pages_app(pages))
    public.add_public(app, pages)

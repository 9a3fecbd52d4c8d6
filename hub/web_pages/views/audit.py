"""The audit page: sign-ins, sign-outs and expired sessions, newest first; an administrator sees every entry, a
manager their own site's."""

from __future__ import annotations

from aiohttp import web

from hub.accounts import Role
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, page
from hub.web_pages.state import PAGES

routes = web.RouteTableDef()


@add_page(routes, "/audit")
@allow(Role.ADMIN, Role.MANAGER)
async def audit_page(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    site_id = None if account.role == Role.ADMIN else account.site_id
    entries = await pages.off_loop(pages.audit.entries, site_id)
    return page(request, "audit.html", {"ok": True, "site_id": site_id, "entries": [e.as_json() for e in entries]})

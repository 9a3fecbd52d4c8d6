"""The electronic archive of handed-in documents: search, case view, decisions (issue 15; hub.archive)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

"""The live hall of a site and the district's wall screen, fed by server-sent events."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

"""Service experience officers (体验官): enrolment, codes, visits and findings (issue 14; hub.officers)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

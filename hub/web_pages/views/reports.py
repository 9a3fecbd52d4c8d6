"""Reports by day, week, month or range with charts and exports (issue 14; hub.reports)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

"""The district configuration: sites, windows, matters, the window-matter grid, notices."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

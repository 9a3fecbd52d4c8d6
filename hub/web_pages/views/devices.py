"""Devices of a site: provision, revoke, rotate credentials."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

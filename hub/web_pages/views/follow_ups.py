"""Ratings follow-up (好差评 整改) and appeals (issue 14; hub.follow_ups)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

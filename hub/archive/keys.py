"""The app key the hub's web app keeps its archive under (the kiosks' routes and the pages read it)."""

from __future__ import annotations

from aiohttp import web

from hub.archive.store import Archive

ARCHIVE = web.AppKey("archive", Archive)

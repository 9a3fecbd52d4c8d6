"""Public pages without sign-in: the citizen's ticket page (``/t/<token>``) and the web board for smart TVs."""

from __future__ import annotations

from aiohttp import web

from hub.web_pages.state import Pages


def add_public(app: web.Application, pages: Pages) -> None:
    """Mount the public pages on the hub's app."""

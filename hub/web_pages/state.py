"""What the pages work with: the accounts, the audit trail, the hall's live state, the settings and the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

import contract as wire
from engine.district import District
from hub.accounts import Account, Accounts
from hub.audit import AuditEntry, AuditLog
from hub.cluster import EverySite, SiteGate
from hub.config import WebConfig
from hub.configuration import Configuration
from hub.devices import DeviceRegistry
from hub.gateway import Gateway
from hub.hall_feed import HallFeed
from hub.wall_screens import ScreenFeeds, WallScreens, wall_screens_for
from hub.web_pages.throttle import SignInThrottle

T = TypeVar("T")


class HallReader:
    """The district in force and a site's live snapshot, read on the thread that changes the states (the hub's
    writer) as ``GET /api/v1/sites/{site}/snapshot`` does; the feed of changes for live pages, and the devices'
    retained statuses (the hub's own dictionary, kept up to date by it)."""

    def __init__(
        self,
        gateway: Gateway,
        executor: Executor | None,
        feed: HallFeed | None = None,
        statuses: Mapping[str, wire.DeviceStatus] | None = None,
        sites: SiteGate | None = None,
    ) -> None:
        self.gateway = gateway
        self.sites: SiteGate = sites or EverySite()
        """The sites this hub serves (all of them, but among several hubs)."""
        self.executor = executor
        self._feed = feed
        self.statuses: Mapping[str, wire.DeviceStatus] = statuses if statuses is not None else {}

    @property
    def feed(self) -> HallFeed:
        """The hub's feed; without a hub (the pages' own tests), one of the running event loop."""
        if self._feed is None:
            self._feed = HallFeed(asyncio.get_running_loop())
        return self._feed

    async def on_writer(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work`` where the hall's states change (they are read by no other thread)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, work, *args)

    @property
    def district(self) -> District:
        return self.gateway.district

    async def snapshot(self, site_id: str) -> wire.Snapshot:
        return await self.on_writer(self.gateway.snapshot, site_id)


@dataclass
class Pages:
    accounts: Accounts
    audit: AuditLog
    hall: HallReader
    devices: DeviceRegistry
    configuration: Configuration
    settings: WebConfig
    secret: bytes
    """The hub's secret (``hub-secret``); the session key is derived from it (``sessions.session_key``)."""
    clock: Callable[[], datetime]
    broker_port: int = 1884
    """The port the devices reach the broker at (the managed Mosquitto's, or the external broker's): the devices
    page writes it into a new device's settings."""
    throttle: SignInThrottle = field(init=False)
    wall_screens: WallScreens = field(init=False)
    """The wall screens, kept beside the configuration's store."""
    screen_feeds: ScreenFeeds = field(init=False)
    """The open streams of the wall screens' links (``/wall/<token>``), ended when a screen is revoked."""

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("the pages need the hub's secret (at least 16 bytes) for their session key")
        self.throttle = SignInThrottle(self.settings.sign_in_limit, self.settings.address_limit)
        self.wall_screens = wall_screens_for(self.configuration.store)
        self.screen_feeds = ScreenFeeds(lambda screen_id: self.off_loop(self.wall_screens.still, screen_id,
                                                                        self.clock()))  # fmt: skip

    async def off_loop(self, work: Callable[..., T], *args: Any) -> T:
        """Database and password-hash work, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, work, *args)

    async def record(self, entry: AuditEntry) -> None:
        await self.off_loop(self.audit.record, entry)


PAGES = web.AppKey("pages", Pages)
ACCOUNT: web.RequestKey[Account | None] = web.RequestKey("account")
"""The signed-in account of a request (``access.guard`` sets it), or None."""
LANG = web.RequestKey("lang", str)
CSRF = web.RequestKey("csrf", str)

"""Which sites changed, from the hub's writer thread to the web pages' live streams (server-sent events).

The writer says ``changed(site_id)`` after a site's events (or a device's status, or a new configuration); every
subscription of that site wakes on the event loop. Changes coalesce: a stream that is still sending the last view
gets one wake-up for everything since, so a burst of calls costs a slow phone one view, not fifty. Each site has a
version that grows with every change, for pages to share one built view among all their subscribers
(``ViewCache``). Nothing here holds the hall's state: the views are built from it on the writer thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

HEARTBEAT_SECONDS = 15.0
"""A comment line this often keeps proxies and phones from closing an idle stream."""
RETRY_MILLISECONDS = 2000
"""How soon a browser's EventSource reconnects after losing the stream (it resumes by itself, no reload)."""


class Subscription:
    def __init__(self, sites: frozenset[str] | None) -> None:
        self.sites = sites
        """None: every site."""
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self.closed = False

    def wants(self, site_id: str) -> bool:
        return self.sites is None or site_id in self.sites

    def push(self, site_id: str) -> None:
        self._pending.add(site_id)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def next(self, timeout: float | None = None) -> set[str] | None:
        """The sites changed since the last call (waiting for one); empty after ``timeout`` seconds of nothing; None
        once the feed is closed (the hub is stopping)."""
        if not self._pending and not self.closed:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return set()
        if self.closed:
            return None
        changed, self._pending = self._pending, set()
        self._wake.clear()
        return changed


class HallFeed:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._subscriptions: set[Subscription] = set()
        self._versions: dict[str, int] = {}
        self._closed = False

    def changed(self, site_id: str) -> None:
        """From any thread."""
        self._loop.call_soon_threadsafe(self._push, site_id)

    def close(self) -> None:
        """End every stream (before the web server stops, which would otherwise wait for them), and any that
        opens from now on."""
        self._closed = True
        for subscription in self._subscriptions:
            subscription.close()

    def version(self, site_id: str) -> int:
        return self._versions.get(site_id, 0)

    def _push(self, site_id: str) -> None:
        self._versions[site_id] = self.version(site_id) + 1
        for subscription in self._subscriptions:
            if subscription.wants(site_id):
                subscription.push(site_id)

    @asynccontextmanager
    async def subscribe(self, sites: Iterable[str] | None) -> AsyncIterator[Subscription]:
        subscription = Subscription(None if sites is None else frozenset(sites))
        if self._closed:
            subscription.close()
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    @property
    def listeners(self) -> int:
        return len(self._subscriptions)


class ViewCache:
    """Views built once per site version and shared by every stream that shows them: streams woken together by one
    change share the one build in flight, and a stream that goes away meanwhile does not cancel it for the rest."""

    def __init__(self, feed: HallFeed) -> None:
        self.feed = feed
        self._built: dict[Any, tuple[int, asyncio.Future[Any]]] = {}

    async def get(self, site_id: str, key: Any, build: Callable[[], Awaitable[Any]]) -> Any:
        version = self.feed.version(site_id)
        cached = self._built.get((site_id, key))
        if cached is None or cached[0] != version or failed(cached[1]):
            cached = self._built[(site_id, key)] = (version, asyncio.ensure_future(build()))
        return await asyncio.shield(cached[1])


def failed(build: asyncio.Future[Any]) -> bool:
    """A shared build or read that ended without a result (to be started again, not reused)."""
    return build.done() and (build.cancelled() or build.exception() is not None)


def event(name: str, data: Any, event_id: int | None = None) -> bytes:
    """One server-sent event: its data is one line of JSON."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def stream(
    request: web.Request,
    feed: HallFeed,
    sites: Iterable[str] | None,
    view: Callable[[], Awaitable[Any]],
    name: str = "view",
    *,
    extra: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    extra_seconds: float = HEARTBEAT_SECONDS,
) -> web.StreamResponse:
    """Answer ``request`` with a stream of server-sent events: ``view()`` at once, then again after every change of
    one of ``sites`` (None: any), until the browser goes away. A browser that reconnects gets the whole view
    first, so nothing it missed meanwhile matters.

    ``extra``: figures the hall's events do not change (the overdue follow-ups of the live hall), added to each view
    (a dict view) and read again every ``extra_seconds``; the view is sent again when they changed."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache, no-store",
            "X-Accel-Buffering": "no",  # nginx in front: pass each event on at once
        }
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()

    async def whole(added: dict[str, Any] | None) -> bytes:
        shown = await view()
        return event(name, shown if added is None else {**shown, **added})

    async with feed.subscribe(sites) as subscription:
        try:
            await response.write(f"retry: {RETRY_MILLISECONDS}\n\n".encode())
            added = await extra() if extra is not None else None
            await response.write(await whole(added))
            written = loop.time()
            wait = min(extra_seconds, HEARTBEAT_SECONDS) if extra is not None else HEARTBEAT_SECONDS
            while (changed := await subscription.next(wait)) is not None:
                now_added = await extra() if extra is not None else None
                if changed or now_added != added:
                    added = now_added
                    await response.write(await whole(added))
                elif loop.time() - written >= HEARTBEAT_SECONDS - wait / 2:
                    await response.write(b": keep-alive\n\n")
                else:
                    continue
                written = loop.time()
        except ConnectionResetError:
            pass  # the browser went away
    return response

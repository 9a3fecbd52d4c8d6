"""The caller's side of the wire, without Kivy: a ``DeviceLink`` that follows the site (snapshot, events, resync), plus
the site's retained info (matter names and materials) and every event of the site handed to callbacks, and the
blocking ``send`` of a model's request. ``drive`` runs a request and its follow-ups to the end (tests, tools); the
app does the same one request at a time from worker threads.

Callbacks run on paho's network thread: the app moves them onto the Kivy thread before touching the model.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, cast

import msgspec
import paho.mqtt.client as mqtt

import contract as wire
from caller.model import CallerModel, Request
from devicekit.link import DeviceLink, HubUnreachable
from engine import events as ev

log = logging.getLogger(__name__)

Send = Callable[[Request], wire.Reply | None]
"""Send a request and wait for its answer; None when the hub stayed silent (the link's retries included)."""


class CallerLink:
    def __init__(self, link: DeviceLink) -> None:
        self.link = link
        self.info: wire.SiteInfo | None = None
        self.on_info: Callable[[wire.SiteInfo], None] = lambda info: None
        self.on_event: Callable[[ev.Event], None] = lambda event: None
        client, site = link.client, link.site_id
        self._info_topic, self._events_topic = wire.info_topic(site), wire.events_topic(site)
        link.follow_retained(self._info_topic, wire.SiteInfo, self._on_info)
        link_on_message = cast(Callable[..., None], client.on_message)

        def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
            link_on_message(client, userdata, message)  # the link's site view first
            if message.topic == self._events_topic:
                self._on_event(bytes(message.payload))

        client.on_message = on_message

    def start(self, wait: float = 5.0) -> bool:
        return self.link.start(wait=wait)

    def stop(self) -> None:
        self.link.stop()

    @property
    def online(self) -> bool:
        return self.link.connected.is_set() and self.link.hub_online

    def send(self, request: Request, on_retry: Callable[[int], None] | None = None) -> wire.Reply | None:
        """Blocks through the link's retries (never call it on the UI thread); ``on_retry`` as ``DeviceLink.request``
        calls it, before each send after the first."""
        try:
            return self.link.request(request.action, request.body, request_id=request.request_id, on_retry=on_retry)
        except HubUnreachable:
            return None

    def _on_info(self, info: wire.SiteInfo) -> None:
        self.info = info
        self.on_info(info)

    def _on_event(self, payload: bytes) -> None:
        try:
            events = wire.decode_events(payload).events
        except msgspec.DecodeError:
            return  # the link has logged it
        for event in events:
            self.on_event(event)


def drive(
    model: CallerModel, send: Send, request: Request | None, guard: AbstractContextManager[Any] | None = None
) -> None:
    """Send a request and every follow-up it brings, one after another, applying each answer to the model (under
    ``guard``, a lock other threads take to touch the model; never held while waiting for the hub)."""
    pending = [request] if request is not None else []
    while pending:
        current = pending.pop(0)
        reply = send(current)
        with guard or contextlib.nullcontext():
            pending += model.on_reply(current, reply) if reply is not None else model.on_unreachable(current)

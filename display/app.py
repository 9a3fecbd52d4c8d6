"""The hall display board app: a DeviceLink that follows the site (snapshot + events, resync after a gap), the site's
retained info for matter names, and the Kivy view redrawn on the Kivy thread.

paho's network thread only schedules work (``Clock.schedule_once``); the model and the view are touched on the Kivy
thread alone. A 1-second tick moves the clock on and ends a call's highlight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import msgspec
import paho.mqtt.client as mqtt
from kivy.app import App
from kivy.clock import Clock

import contract as wire
from devicekit.link import DeviceLink, link_for
from display.announcer import Announcer
from display.board_model import BoardModel
from display.board_view import BoardView
from display.config import BoardConfig
from kiosk.view import use_font

log = logging.getLogger(__name__)


class BoardApp(App):  # type: ignore[misc]  # Kivy has no type hints
    def __init__(
        self, settings: BoardConfig, link: DeviceLink | None = None, announcer: Announcer | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.link = link if link is not None else link_for(settings, wire.DeviceKind.BOARD)
        self.announcer = announcer
        self.model = BoardModel(settings.site, highlight_seconds=settings.highlight_seconds, recent=settings.recent)
        self.view: BoardView | None = None

    @staticmethod
    def now() -> datetime:
        return datetime.now().astimezone()

    def build(self) -> BoardView:
        use_font(self.settings.font)
        self.title = "Board"
        self.view = BoardView(portrait=self.settings.portrait)
        self._listen()
        self._refresh()
        Clock.schedule_interval(lambda _dt: self._refresh(), 1.0)
        if self.announcer is not None:
            self.announcer.start()
            self.link.on_call = self.announcer.announce  # thread-safe: the announcer has its own queue
        self.link.start(wait=0)
        return self.view

    def on_stop(self) -> None:
        self.link.stop()
        if self.announcer is not None:
            self.announcer.stop()

    def _listen(self) -> None:
        """Besides what DeviceLink dispatches: the site's retained info (matter and site names)."""
        client, topic = self.link.client, wire.info_topic(self.settings.site)
        client.message_callback_add(topic, self._on_info)
        link_on_connect = cast(Callable[..., None], client.on_connect)

        def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
            link_on_connect(client, userdata, flags, reason, properties)
            if not getattr(reason, "is_failure", False):
                client.subscribe([(topic, 1)])  # again after every reconnect: the session is clean

        client.on_connect = on_connect
        self.link.on_change = lambda: Clock.schedule_once(lambda _dt: self._refresh())

    def _on_info(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if not message.payload:
            return  # a cleared retained message
        try:
            info = wire.decode_as(wire.SiteInfo, bytes(message.payload))
        except msgspec.DecodeError as error:
            log.warning("unreadable message on %s: %s", message.topic, error)
            return
        Clock.schedule_once(lambda _dt: self._take_info(info))

    def _take_info(self, info: wire.SiteInfo) -> None:
        self.model.on_info(info)
        self._refresh()

    def _refresh(self) -> None:
        """On the Kivy thread: draw the link's view as it is now."""
        self.model.hub_online = self.link.connected.is_set() and self.link.hub_online
        if self.view is not None and self.link.view is not None:
            self.view.show(self.model.board(self.link.view, self.now()))

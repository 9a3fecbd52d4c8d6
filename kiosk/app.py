"""The kiosk app: one place that wires the model, the Kivy view and the link to the hub.

Threads: paho's network thread receives (snapshot, hub status, site info, district summary) and hands every change
to the Kivy thread with ``Clock.schedule_once``; an issue request runs in a worker thread (``DeviceLink.request``
blocks through its retries), and so does printing; only the Kivy thread touches the model and the view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import msgspec
import paho.mqtt.client as mqtt
from kivy.app import App
from kivy.clock import Clock
from kivy.config import Config

import contract as wire
from devicekit.link import DeviceLink, HubUnreachable, link_for
from devicekit.window import configure_window as configure_device_window
from kiosk.config import KioskConfig
from kiosk.model import KioskModel
from kiosk.texts import Texts
from kiosk.view import KioskView, use_font

log = logging.getLogger(__name__)


def configure_window(config: KioskConfig) -> None:
    """The common window settings, and no multitouch dots on a long press."""
    configure_device_window(config)
    Config.set("input", "mouse", "mouse,multitouch_on_demand")


class KioskApp(App):  # type: ignore[misc]  # Kivy has no type hints
    def __init__(self, settings: KioskConfig, link: DeviceLink | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.link = link if link is not None else link_for(settings, wire.DeviceKind.KIOSK)
        self.model = KioskModel(settings.site, Texts(settings.language))
        self.view: KioskView | None = None

    @staticmethod
    def now() -> datetime:
        return datetime.now().astimezone()

    def build(self) -> KioskView:
        use_font(self.settings.font)
        self.title = "Kiosk"
        self.view = KioskView(self.model, now=self.now, issue=self.issue)
        self._listen()
        Clock.schedule_interval(self._tick, 1.0)
        self.link.start(wait=0)
        return self.view

    def on_stop(self) -> None:
        self.link.stop()

    # -- the hub (network thread -> Kivy thread) ------------------------------------------------------------------

    def _listen(self) -> None:
        """Besides what DeviceLink dispatches: the site's retained info and the district summary."""
        client, site = self.link.client, self.settings.site
        extra = [(wire.info_topic(site), 1), (wire.DISTRICT_SUMMARY_TOPIC, 1)]
        client.message_callback_add(wire.info_topic(site), self._retained(wire.SiteInfo, self.model.on_info))
        client.message_callback_add(
            wire.DISTRICT_SUMMARY_TOPIC, self._retained(wire.DistrictSummary, self.model.on_summary)
        )
        link_on_connect = cast(Callable[..., None], client.on_connect)

        def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
            link_on_connect(client, userdata, flags, reason, properties)
            if not getattr(reason, "is_failure", False):
                client.subscribe(extra)  # again after every reconnect: the session is clean

        client.on_connect = on_connect
        self.link.on_change = lambda: Clock.schedule_once(self._link_changed)

    def _retained(self, kind: type[Any], apply: Callable[[Any], None]) -> Callable[..., None]:
        def on_message(_client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
            if not message.payload:
                return  # a cleared retained message
            try:
                decoded = wire.decode_as(kind, bytes(message.payload))
            except msgspec.DecodeError as error:
                log.warning("unreadable message on %s: %s", message.topic, error)
                return
            Clock.schedule_once(lambda _dt: self._apply(apply, decoded))

        return on_message

    def _link_changed(self, _dt: float) -> None:
        view = self.link.view
        if view is not None and view.snapshot is not None:
            self.model.on_snapshot(view.snapshot)
        self._refresh()

    # -- the Kivy thread -----------------------------------------------------------------------------------------

    def _apply(self, change: Callable[..., None], *args: Any) -> None:
        change(*args)
        self._refresh()

    def _refresh(self) -> None:
        self.model.hub_online = self.link.connected.is_set() and self.link.hub_online
        if self.view is not None:
            self.view.update()

    def _tick(self, _dt: float) -> None:
        self.model.tick(self.now())
        self._refresh()

    # -- issuing (worker thread) ---------------------------------------------------------------------------------

    def issue(self, body: dict[str, Any]) -> None:
        """Send an issue request off the Kivy thread; the model shows WORKING until the answer is applied."""
        threading.Thread(target=self._issue, args=(body,), name="kiosk-issue", daemon=True).start()

    def _issue(self, body: dict[str, Any]) -> None:
        try:
            reply = self.link.request(wire.Action.ISSUE, body)
        except HubUnreachable:
            Clock.schedule_once(lambda _dt: self._apply(self.model.on_unreachable))
            return
        printed = self.on_ticket(reply) if reply.ok and reply.ticket is not None else True
        Clock.schedule_once(lambda _dt: self._apply(self.model.on_issue_reply, reply, printed))

    def on_ticket(self, reply: wire.Reply) -> bool:
        """Print the ticket of an accepted issue request (worker thread); True when it printed.

        The printer adapter (kiosk/printer.py, kiosk/ticket_print.py) plugs in here. With no printer configured this
        says "printed": the screen shows the number either way, and a "printing failed" line on every kiosk that
        has no printer would be false. Only a configured printer that fails may return False.
        """
        return True

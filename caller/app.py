"""The counter caller app: the one place that wires the model, the Kivy view and the link to the hub.

Threads: paho's network thread receives (snapshot, events, hub status, site info) and hands every change to the Kivy
thread with ``Clock.schedule_once``; every request to the hub runs in a worker thread (``DeviceLink.request`` blocks
through its retries) and its answer is applied on the Kivy thread; only the Kivy thread touches the model and the
view. The queue is refreshed when the site changes, after every accepted action, after a reconnect and on a timer.
The documents handed in with the ticket at the window (caller/documents.py, HTTP) are read by a worker thread when
the ticket changes and again on the timer.

    python -m caller.app [caller.toml]      (or the console script hall-caller)
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.config import Config

import contract as wire
from caller.config import CallerConfig, ConfigError, load_config
from caller.documents import CaseReader
from caller.hub_link import CallerLink
from caller.model import CallerModel, Request
from caller.texts import Texts
from caller.view import CallerView
from devicekit import heap
from devicekit.link import DeviceLink, link_for
from devicekit.widgets import use_font
from devicekit.window import configure_window as configure_device_window
from engine import events as ev

log = logging.getLogger(__name__)


def configure_window(config: CallerConfig) -> None:
    """The common window settings at the size the caller starts with (offscreen it cannot be resized later)."""
    configure_device_window(config)
    width, height = config.window_size
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("input", "mouse", "mouse,multitouch_on_demand")


class CallerApp(App):  # type: ignore[misc]  # Kivy has no type hints
    def __init__(self, settings: CallerConfig, link: DeviceLink | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.hub = CallerLink(link if link is not None else link_for(settings, wire.DeviceKind.CALLER))
        self.model = CallerModel(
            settings.site,
            settings.window,
            Texts(settings.language),
            target_wait_minutes=settings.target_wait_minutes,
            compact=settings.compact,
        )
        self.documents = CaseReader(settings.http_url, settings.site, settings.device_id, settings.password)
        self.view: CallerView | None = None
        self._seen_seq = -2
        self._was_online = False

    @staticmethod
    def now() -> datetime:
        return datetime.now().astimezone()

    def build(self) -> CallerView:
        use_font(self.settings.font)
        self.title = f"Caller {self.settings.window}"
        self.view = CallerView(self.model, send=self.send, now=self.now, resized=self._resize)
        self.view.bind_keys()
        self.hub.on_info = lambda info: self._later(self._info, info)
        self.hub.on_event = lambda event: self._later(self._event, event)
        self.hub.link.on_change = lambda: Clock.schedule_once(lambda _dt: self._link_changed())
        Clock.schedule_interval(lambda _dt: self._tick(), 1.0)
        Clock.schedule_interval(lambda _dt: self._refresh(), self.settings.queue_refresh_seconds)
        self.hub.start(wait=0)
        heap.keep_trimmed()
        return self.view

    def on_stop(self) -> None:
        if self.view is not None:
            self.view.unbind_keys()
        self.hub.stop()

    # -- the hub (network thread -> Kivy thread) ------------------------------------------------------------------

    def _info(self, info: wire.SiteInfo) -> None:
        if self.model.on_info(info):
            self.send(self.model.queue_request())

    def _later(self, change: Callable[..., None], *args: Any) -> None:
        Clock.schedule_once(lambda _dt: self._apply(change, *args))

    def _apply(self, change: Callable[..., None], *args: Any) -> None:
        change(*args)
        self._redraw()

    def _event(self, event: ev.Event) -> None:
        self.model.on_event(event)

    def _link_changed(self) -> None:
        """A snapshot, an event or the hub's status arrived: take the snapshot, and refresh the queue when the site
        moved on or the hub is back."""
        view = self.hub.link.view
        if view is not None and view.snapshot is not None:
            self.model.on_snapshot(view.snapshot)
        online = self.hub.online
        self.model.set_online(online)
        seq = view.seq if view is not None else -1
        if online and (seq != self._seen_seq or not self._was_online):
            self._seen_seq = seq
            self.send(self.model.queue_request())
        self._was_online = online
        self._redraw()

    def _tick(self) -> None:
        self.model.set_online(self.hub.online)
        self._redraw()

    def _refresh(self) -> None:
        self.send(self.model.queue_request())
        self._ask_documents(again=True)

    def _redraw(self) -> None:
        """Every change of the model ends here: ask for the documents of a ticket new at the window, then draw."""
        self._ask_documents()
        if self.view is not None:
            self.view.update()

    def _ask_documents(self, again: bool = False) -> None:
        """The cases handed in with the ticket at the window, read over HTTP off the Kivy thread."""
        ticket = self.model.documents_request(again)
        if ticket is None:
            return

        def read() -> None:
            cases = self.documents.cases(ticket)
            Clock.schedule_once(lambda _dt: self._apply(self.model.on_documents, ticket, cases))

        threading.Thread(target=read, name="caller-documents", daemon=True).start()

    # -- requests (worker threads) --------------------------------------------------------------------------------

    def send(self, request: Request | None) -> None:
        """Send off the Kivy thread; the answer (or the silence) is applied back on it."""
        if request is None:
            return
        threading.Thread(target=self._send, args=(request,), name=f"caller-{request.purpose}", daemon=True).start()

    def _send(self, request: Request) -> None:
        def retrying(_attempt: int) -> None:
            Clock.schedule_once(lambda _dt: self._retrying(request))

        reply = self.hub.send(request, on_retry=retrying)
        Clock.schedule_once(lambda _dt: self._answered(request, reply))

    def _retrying(self, request: Request) -> None:
        self.model.on_retrying(request)
        self._redraw()

    def _answered(self, request: Request, reply: wire.Reply | None) -> None:
        follow = self.model.on_reply(request, reply) if reply is not None else self.model.on_unreachable(request)
        for next_request in follow:
            self.send(next_request)
        self._redraw()

    def _resize(self, compact: bool) -> None:
        """The clerk switched layouts: resize the window where the platform lets us (a desktop window)."""
        width, height = (
            (self.settings.compact_width, self.settings.compact_height)
            if compact
            else (self.settings.width, self.settings.height)
        )
        EventLoop.window.size = (width, height)


def main(argv: list[str] | None = None) -> int:
    """``hall-caller [caller.toml]``: settings from the file (optional) and ``CALLER_*`` variables."""
    args = sys.argv[1:] if argv is None else argv
    try:
        settings = load_config(Path(args[0]) if args else None)
    except (ConfigError, OSError) as error:
        print(f"hall-caller: {error}", file=sys.__stderr__)  # Kivy may hold sys.stderr
        return 2
    configure_window(settings)
    CallerApp(settings).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

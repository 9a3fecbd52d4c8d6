"""The hall display board's Kivy app: the ``BoardFeed`` (display/feed.py) drawn by ``BoardView`` on the Kivy thread.

paho's network thread only schedules work (``Clock.schedule_once``); the model and the view are touched on the Kivy
thread alone. A 1-second tick moves the clock on and ends a call's highlight. Started by ``display.app.main``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kivy.app import App
from kivy.clock import Clock

from devicekit import heap
from devicekit.widgets import use_font
from display.board_view import BoardView
from display.config import BoardConfig
from display.feed import BoardFeed


class BoardApp(App):  # type: ignore[misc]  # Kivy has no type hints
    def __init__(self, settings: BoardConfig, feed: BoardFeed, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.feed = feed
        self.view: BoardView | None = None
        self.frames = 0
        """Board frames drawn (tests, health)."""

    @staticmethod
    def now() -> datetime:
        return datetime.now().astimezone()

    def build(self) -> BoardView:
        use_font(self.settings.font)
        self.title = "Board"
        self.view = BoardView(portrait=self.settings.portrait)
        self.feed.on_change = lambda: Clock.schedule_once(lambda _dt: self._refresh())
        self._refresh()
        Clock.schedule_interval(lambda _dt: self._refresh(), 1.0)
        heap.keep_trimmed()
        self.feed.start(wait=0)
        return self.view

    def on_stop(self) -> None:
        self.feed.stop()

    def _refresh(self) -> None:
        """On the Kivy thread: draw the site as the feed sees it now."""
        if self.view is not None:
            self.view.show(self.feed.frame(self.now()))
            self.frames += 1

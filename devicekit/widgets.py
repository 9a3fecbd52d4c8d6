"""The Kivy pieces every device screen is built of: fonts, colours, a coloured box, columns and scrolling.

Imports Kivy: only device apps' views and entry points import this module.
"""

from __future__ import annotations

from typing import Any

from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.graphics import Color, Rectangle
from kivy.metrics import dp
from kivy.resources import resource_find
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from devicekit.look import RGB

NUMBER_FONT = resource_find("data/fonts/Roboto-Bold.ttf")
"""Ticket numbers are Latin letters and digits: Kivy's bundled bold face draws them best."""


def use_font(path: str) -> None:
    """Make ``path`` the default font of every label (Kivy's own has no Chinese glyphs)."""
    LabelBase.register(DEFAULT_FONT, path)


def rgba(rgb: RGB, alpha: float = 1.0) -> tuple[float, float, float, float]:
    return rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, alpha


class Panel(BoxLayout):  # type: ignore[misc]  # Kivy has no type hints
    """A box with a flat background colour."""

    def __init__(self, bg: RGB, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bg = bg
        with self.canvas.before:
            self._colour = Color(*rgba(bg))
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._redraw, size=self._redraw)

    def paint(self, bg: RGB) -> None:
        self.bg = bg
        self._colour.rgba = rgba(bg)

    def _redraw(self, *_: object) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size


def vertical(**kwargs: Any) -> BoxLayout:
    """A column as tall as its content."""
    box = BoxLayout(orientation="vertical", size_hint_y=None, **kwargs)
    box.bind(minimum_height=box.setter("height"))
    return box


def scrolling(content: Widget) -> ScrollView:
    scroll = ScrollView(do_scroll_x=False, bar_width=dp(10), scroll_type=["bars", "content"])
    scroll.add_widget(content)
    return scroll

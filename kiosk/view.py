"""The kiosk's Kivy widgets: draw a ``KioskModel`` and forward taps to it. The view decides no domain rule.

Every screen is rebuilt from the model after a tap or a model change (``update``); the header clock ticks in place.
Labels and buttons carry their ``role`` (caption, body, wait, main, title, hero, number) and colour ``pair`` so the
screenshot tests can measure them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.metrics import dp
from kivy.properties import NumericProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from devicekit.look import RGB
from devicekit.widgets import NUMBER_FONT, Panel, rgba, scrolling, vertical
from kiosk import officer_view, rating_view
from kiosk.documents import view as documents_view
from kiosk.model import Effect, KioskModel, MatterTile, NearbySite, Screen
from kiosk.theme import LINE_HEIGHT, Pair, Theme, theme_for

CATEGORY_NAMES = {
    "business": "Business registration and permits",
    "social_insurance": "Social insurance",
    "medical_insurance": "Medical insurance",
    "household": "Household registration",
    "civil_affairs": "Civil affairs",
    "health": "Family health",
    "housing": "Housing",
    "investment": "Major projects (green channel)",
}
"""Message ids of the catalogue's category codes (the site info carries the code only)."""

FONT_HEIGHT = 1.17
"""A line's height per font size (ascent + descent) of WQY Micro Hei and Roboto."""

IssueRequest = Callable[[dict[str, Any]], None]
EffectHandler = Callable[[Effect], None]


class Text(Label):  # type: ignore[misc]  # Kivy has no type hints
    """A themed label. ``fit="height"`` wraps to the width and grows to the text's height; ``fit="width"`` is one
    line as wide as its text. Paragraphs get 1.3 line spacing; single lines (headings, facts) none."""

    def __init__(
        self,
        text: str,
        pair: Pair,
        size: float,
        role: str,
        *,
        fit: str = "height",
        halign: str = "left",
        strong: bool = False,
        paragraph: bool = True,
        **kwargs: Any,
    ) -> None:
        line_height = LINE_HEIGHT if paragraph else 1.0
        # Kivy puts a line's extra height below it, the last line's too: as much above centres the text in its box.
        above = round((line_height - 1) * dp(size) * FONT_HEIGHT)
        super().__init__(
            text=text,
            font_size=dp(size),
            color=rgba(pair.fg),
            halign=halign,
            valign="middle",
            line_height=line_height,
            padding=(0, above, 0, 0),
            **kwargs,
        )
        self.role, self.pair = role, pair
        if strong:  # the CJK font has no bold face: a thin outline in the text colour stands in
            self.outline_width = max(1, round(dp(size) / 48))
            self.outline_color = rgba(pair.fg)
        if fit == "height":
            self.size_hint_y = None
            self.bind(width=self._wrap, texture_size=self._grow_height)
        else:
            self.size_hint = (None, None)
            self.bind(texture_size=self._grow_both)

    def _wrap(self, _label: Label, width: float) -> None:
        self.text_size = (width, None)

    def _grow_height(self, _label: Label, size: tuple[float, float]) -> None:
        self.height = size[1]

    def _grow_both(self, _label: Label, size: tuple[float, float]) -> None:
        self.size = size


class FlatButton(Button):  # type: ignore[misc]  # Kivy has no type hints
    """A flat, themed button; ``fit=True`` makes it as wide as its label (never under the minimum target)."""

    def __init__(
        self,
        text: str,
        pair: Pair,
        size: float,
        theme: Theme,
        on_tap: Callable[[], None],
        *,
        fit: bool = False,
        role: str = "main",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            text=text,
            font_size=dp(size),
            color=rgba(pair.fg),
            background_normal="",
            background_down="",
            background_color=rgba(pair.bg),
            halign="center",
            valign="middle",
            outline_width=max(1, round(dp(size) / 48)),
            outline_color=rgba(pair.fg),
            **kwargs,
        )
        self.role, self.pair, self.theme = role, pair, theme
        self.bind(on_release=lambda *_: on_tap(), state=self._pressed)
        self._pressed_bg = rgba((round(pair.bg[0] * 0.8), round(pair.bg[1] * 0.8), round(pair.bg[2] * 0.8)))
        self._padding = dp(theme.spacing)
        if fit:
            self.size_hint_x = None
            self.bind(texture_size=self._fit)
        else:
            self.bind(size=self._wrap)

    def _wrap(self, *_: object) -> None:
        self.text_size = (self.width - 2 * self._padding, None)

    def _fit(self, _button: Button, size: tuple[float, float]) -> None:
        self.width = max(size[0] + 2 * self._padding, dp(self.theme.min_target))

    def _pressed(self, _button: Button, state: str) -> None:
        self.background_color = self._pressed_bg if state == "down" else rgba(self.pair.bg)


class Tile(ButtonBehavior, Panel):  # type: ignore[misc]  # Kivy has no type hints
    """A tappable panel (a matter); its content stacks from the top."""

    def __init__(self, bg: RGB, on_tap: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(bg=bg, orientation="vertical", size_hint_y=None, **kwargs)
        self.bind(on_release=lambda *_: on_tap())


class Spinner(Widget):  # type: ignore[misc]  # Kivy has no type hints
    """A turning arc while the hub answers."""

    angle = NumericProperty(0)

    def __init__(self, rgb: RGB, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            Color(*rgba(rgb))
            self._arc = Line(width=dp(8), cap="round")
        self.bind(pos=self._draw, size=self._draw, angle=self._draw)
        self._event = Clock.schedule_interval(self._turn, 1 / 30)

    def _turn(self, dt: float) -> None:
        self.angle = (self.angle + 300 * dt) % 360

    def _draw(self, *_: object) -> None:
        radius = max(min(self.size) / 2 - dp(10), dp(10))
        self._arc.circle = (self.center_x, self.center_y, radius, self.angle, self.angle + 270)

    def stop(self) -> None:
        self._event.cancel()


class QrTarget(Widget):  # type: ignore[misc]  # Kivy has no type hints
    """Where to hold the code: four corner brackets and a sketch of a QR code's finder squares."""

    def __init__(self, rgb: RGB, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rgb = rgb
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: object) -> None:
        self.canvas.clear()
        side = min(self.width, self.height) * 0.9
        x0, y0 = self.center_x - side / 2, self.center_y - side / 2
        arm, width = side * 0.18, dp(6)
        with self.canvas:
            Color(*rgba(self.rgb))
            for cx, cy, dx, dy in (
                (x0, y0, 1, 1),
                (x0 + side, y0, -1, 1),
                (x0, y0 + side, 1, -1),
                (x0 + side, y0 + side, -1, -1),
            ):
                Line(points=[cx + dx * arm, cy, cx, cy, cx, cy + dy * arm], width=width)
            finder = side * 0.2
            inset = side * 0.18
            for fx, fy in (
                (x0 + inset, y0 + side - inset - finder),
                (x0 + side - inset - finder, y0 + side - inset - finder),
                (x0 + inset, y0 + inset),
            ):
                Line(rectangle=(fx, fy, finder, finder), width=dp(4))
                Rectangle(pos=(fx + finder * 0.3, fy + finder * 0.3), size=(finder * 0.4, finder * 0.4))


def row_of(*labels: Text, spacing: float) -> BoxLayout:
    """Labels side by side, as tall as the tallest."""
    row = BoxLayout(size_hint_y=None, spacing=spacing)
    for label in labels:
        row.add_widget(label)
        label.bind(height=lambda *_: setattr(row, "height", max(child.height for child in labels)))
    return row


def line_up(tiles: list[Tile]) -> None:
    """Tiles side by side as tall as the tallest of them (one with a note)."""

    def even_out(*_: object) -> None:
        tallest = max(tile.minimum_height for tile in tiles)
        for tile in tiles:
            tile.height = tallest

    for tile in tiles:
        tile.bind(minimum_height=even_out)


def shrink_to_fit(label: Label, column: BoxLayout, padding: float) -> None:
    """Keep a one-line label (the ticket number) inside its column: smaller type rather than a broken line or an
    overflowing column. Call it once the column is filled; plain ``Widget`` children of the column are spacers."""
    full = label.font_size

    def fit(*_: object) -> None:
        label.font_size = full
        label.texture_update()
        width, height = label.texture_size
        others = [w for w in column.children if w is not label and type(w) is not Widget]
        room_w = column.width - 2 * padding
        room_h = column.height - 2 * padding - sum(w.height for w in others) - column.spacing * len(others)
        scale = min(1.0, room_w / max(width, 1), room_h / max(height, 1))
        if scale > 0:
            label.font_size = full * scale

    refit = Clock.create_trigger(fit)
    column.bind(size=refit)
    for child in column.children:
        if child is not label:
            child.bind(height=refit)


class KioskView(Panel):
    """The whole kiosk screen. ``now`` gives the time of a tap; ``issue`` sends an issue request (off this thread);
    ``effect`` carries out what a tap asks of the world (call staff, camera on or off); ``on_render`` is called after
    every new picture (read-aloud follows what is drawn)."""

    def __init__(
        self,
        model: KioskModel,
        now: Callable[[], datetime],
        issue: IssueRequest,
        effect: EffectHandler | None = None,
        on_render: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(theme_for(model.elder_mode).colours.page.bg, orientation="vertical", **kwargs)
        self.model, self.now, self.issue = model, now, issue
        self.effect: EffectHandler = effect or (lambda _effect: None)
        self.on_render: Callable[[], None] = on_render or (lambda: None)
        self.nearby_code: str | None = None
        """The matter whose nearby sites are listed (the model's nearby screen has no matter of its own)."""
        self._rendered: tuple[object, ...] = ()
        self._clock: Text | None = None
        self._spinner: Spinner | None = None
        self._scroll: ScrollView | None = None
        self.bind(size=lambda *_: self.update())

    @property
    def theme(self) -> Theme:
        return theme_for(self.model.elder_mode)

    @property
    def portrait(self) -> bool:
        return bool(self.height > self.width)

    # -- taps -----------------------------------------------------------------------------------------------------

    def tap(self, action: str) -> None:
        effect = self.model.tap(action, self.now())
        self.render()
        if effect is not None:
            self.effect(effect)

    def choose(self, code: str) -> None:
        body = self.model.choose_matter(code, self.now())
        if body is not None:
            self.issue(body)  # first: the request leaves while the screen is drawn
        self.render()

    def more_time(self) -> None:
        self.model.touch(self.now())
        self.render()

    def act(self, change: Callable[[], None]) -> None:
        """A tap on a step of a flow (rating, the officer's keys): someone is there; the flow changes; redraw."""
        self.model.touch(self.now())
        change()
        self.render()

    def pick_nearby(self, code: str) -> None:
        self.model.touch(self.now())
        self.nearby_code = code
        self.render()

    def on_touch_down(self, touch: Any) -> bool:
        self.model.touch(self.now())  # any touch counts as someone being there
        return bool(super().on_touch_down(touch))

    # -- drawing --------------------------------------------------------------------------------------------------

    def _picture(self) -> tuple[object, ...]:
        """What the screen shows, apart from the clock (compared by value: the same picture draws nothing new). The
        hub's summary and snapshot count only through what is drawn of them: the district summary is sent again
        every few seconds with a new time and wait figures that round to the same text, and rebuilding the screen
        each time kept an idle kiosk busy and growing."""
        m = self.model
        return (
            m.screen,
            m.elder_mode,
            m.texts.language,
            m.message,
            m.retry_action,
            m.warning_seconds_left,
            m.hub_online,
            m.ticket,
            m.info,
            m.closed_text(),
            tuple(m.matter_tiles()),
            m.card_note(),
            tuple(m.nearby(self._nearby_code())) if m.screen == Screen.NEARBY else (),
            documents_view.picture(m.documents) if m.screen == Screen.DOCUMENTS and m.documents else (),
            m.rating.picture() if m.screen == Screen.RATING and m.rating else (),
            m.officer.picture() if m.screen == Screen.OFFICER else (),
            self.nearby_code,
            tuple(self.size),
        )

    def update(self) -> None:
        """After ``model.tick`` or new data: rebuild when the picture changed, else just move the clock."""
        if self._picture() != self._rendered:
            self.render()
        elif self._clock is not None:
            self._clock.text = self.now().strftime("%H:%M")

    def render(self) -> None:
        keep_scroll = (
            self._scroll.scroll_y if self._scroll is not None and self._rendered[:1] == (self.model.screen,) else None
        )
        if self._spinner is not None:
            self._spinner.stop()
        self._spinner = self._scroll = None
        self.clear_widgets()
        theme = self.theme
        self.paint(theme.colours.page.bg)
        self.add_widget(self._header(theme))
        if not self.model.hub_online:
            self.add_widget(
                self._bar(self.model.texts("No connection to the service system"), theme.colours.alert, theme)
            )
        warning = self.model.warning_text()
        if warning is not None:
            self.add_widget(self._warning(warning, theme))
        screens = {
            Screen.HOME: self._home,
            Screen.MATTERS: self._matters,
            Screen.WORKING: self._working,
            Screen.TICKET: self._ticket,
            Screen.NEARBY: self._nearby,
            Screen.MESSAGE: self._message,
            Screen.CHECKIN: self._checkin,
            Screen.DOCUMENTS: self._documents,
            Screen.RATING: self._rating,
            Screen.OFFICER: self._officer,
        }
        body = BoxLayout(orientation="vertical", padding=dp(theme.padding), spacing=dp(theme.spacing))
        screens[self.model.screen](body, theme)
        self.add_widget(body)
        if keep_scroll is not None and self._scroll is not None:
            self._scroll.scroll_y = keep_scroll
        self._rendered = self._picture()
        self.on_render()

    def _header(self, theme: Theme) -> BoxLayout:
        c, t = theme.colours, self.model.texts
        info = self.model.info
        name = t.pick(info.name_zh, info.name_en) if info else self.model.site_id
        now = self.now()
        site = Text(name, c.header, theme.title, "title", strong=True, pos_hint={"center_y": 0.5}, paragraph=False)
        self._clock = Text(
            now.strftime("%H:%M"), c.header, theme.main, "main", fit="width", strong=True, paragraph=False
        )
        date = Text(now.strftime("%Y-%m-%d"), c.header, theme.caption, "caption", fit="width", paragraph=False)
        clock = BoxLayout(orientation="vertical", size_hint=(None, None), pos_hint={"center_y": 0.5})
        clock.bind(minimum_height=clock.setter("height"))
        clock.bind(minimum_width=clock.setter("width"))
        clock.add_widget(self._clock)
        clock.add_widget(date)
        buttons: list[Widget] = []
        if self.model.screen != Screen.HOME:
            buttons.append(
                FlatButton(t("Call staff for help"), c.help, theme.main, theme, lambda: self.tap("help"), fit=True)
            )
        mode = t("Standard mode") if self.model.elder_mode else t("Elder-friendly mode")
        buttons.append(FlatButton(mode, c.secondary, theme.main, theme, lambda: self.tap("elder"), fit=True))
        other = "English" if t.language.startswith("zh") else "中文"
        buttons.append(FlatButton(other, c.secondary, theme.main, theme, lambda: self.tap("language"), fit=True))
        pad, gap = dp(theme.padding), dp(theme.spacing)
        row_height = dp(theme.header_height) - 1.5 * gap
        for button in buttons:
            button.size_hint_y, button.height, button.pos_hint = None, row_height, {"center_y": 0.5}
        header = Panel(c.header.bg, orientation="vertical", size_hint_y=None, padding=(pad, gap * 0.75), spacing=gap)
        header.bind(minimum_height=header.setter("height"))
        top = BoxLayout(spacing=gap * 1.5, size_hint_y=None, height=row_height)
        site.bind(height=lambda _site, height: setattr(top, "height", max(height, row_height)))  # a long name wraps
        top.add_widget(site)
        top.add_widget(clock)
        header.add_widget(top)
        row = top
        if self.portrait:  # the buttons on a line of their own, to the right
            row = BoxLayout(spacing=gap, size_hint_y=None, height=row_height)
            row.add_widget(Widget())
            header.add_widget(row)
        for button in buttons:
            row.add_widget(button)
        return header

    def _bar(self, text: str, pair: Pair, theme: Theme, *buttons: Widget) -> BoxLayout:
        pad = dp(theme.spacing)
        bar = Panel(pair.bg, size_hint_y=None, padding=(dp(theme.padding), pad / 2), spacing=pad)
        label = Text(text, pair, theme.main, "main", strong=True, pos_hint={"center_y": 0.5})
        bar.add_widget(label)
        for button in buttons:
            bar.add_widget(button)
        least = dp(theme.button_height) * 0.8
        label.bind(height=lambda _l, height: setattr(bar, "height", max(height, least) + pad))
        bar.height = least + pad
        return bar

    def _warning(self, text: str, theme: Theme) -> BoxLayout:
        more = FlatButton(
            self.model.texts("More time"), theme.colours.primary, theme.main, theme, self.more_time, fit=True
        )
        more.size_hint_y = None
        more.height = dp(theme.button_height) * 0.8
        return self._bar(text, theme.colours.warning, theme, more)

    def _title_row(self, body: BoxLayout, title: str, theme: Theme, *extra: Widget) -> None:
        """The screen's heading, then ``extra`` buttons and "返回"."""
        c = theme.colours
        row = BoxLayout(size_hint_y=None, height=dp(theme.button_height), spacing=dp(theme.spacing))
        heading = Text(title, c.page, theme.title, "title", strong=True, paragraph=False, pos_hint={"center_y": 0.5})
        row.add_widget(heading)
        for widget in extra:
            row.add_widget(widget)
        back = FlatButton(self.model.texts("Back"), c.secondary, theme.main, theme, lambda: self.tap("back"))
        back.size_hint_x, back.width = None, dp(theme.button_height) * 2.5
        row.add_widget(back)
        body.add_widget(row)

    # -- screens --------------------------------------------------------------------------------------------------

    def _home(self, body: BoxLayout, theme: Theme) -> None:
        c, t = theme.colours, self.model.texts
        actions = self.model.home_actions()
        hero_action, hero_label = actions[0]
        others = [(a, label) for a, label in actions[1:] if a != "help"]
        help_label = next((label for a, label in actions if a == "help"), None)
        closed = self.model.closed_text()
        if closed:
            body.add_widget(self._notice(closed, c.alert, theme))
        else:
            body.add_widget(Text(t("Hello! What would you like to do?"), c.page, theme.title, "title", strong=True))
        hero = FlatButton(hero_label, c.primary, theme.hero, theme, lambda: self.tap(hero_action), role="hero")
        side = BoxLayout(orientation="vertical", spacing=dp(theme.spacing))
        grid = GridLayout(cols=2 if len(others) > 2 else 1, spacing=dp(theme.spacing))
        for action, label in others:
            grid.add_widget(FlatButton(label, c.secondary, theme.main, theme, self._tapper(action)))
        side.add_widget(grid)
        if help_label is not None:
            help_button = FlatButton(help_label, c.help, theme.main, theme, lambda: self.tap("help"))
            help_button.size_hint_y = None
            help_button.height = dp(theme.button_height) * 1.2
            side.add_widget(help_button)
        row = BoxLayout(orientation="vertical" if self.portrait else "horizontal", spacing=dp(theme.spacing) * 1.5)
        row.add_widget(hero)
        row.add_widget(side)
        body.add_widget(row)

    def _tapper(self, action: str) -> Callable[[], None]:
        return lambda: self.tap(action)

    def _notice(self, text: str, pair: Pair, theme: Theme, halign: str = "left") -> BoxLayout:
        pad = dp(theme.spacing)
        panel = Panel(pair.bg, size_hint_y=None, padding=pad)
        panel.bind(minimum_height=panel.setter("height"))
        panel.add_widget(Text(text, pair, theme.main, "main", strong=True, halign=halign))
        return panel

    def _matters(self, body: BoxLayout, theme: Theme) -> None:
        c, t = theme.colours, self.model.texts
        self._title_row(body, t("Choose your matter"), theme, officer_view.officer_button(self, theme))
        card = self.model.card_note()
        if card is not None:
            body.add_widget(self._notice(card, c.tile, theme))
        gap = dp(theme.spacing)
        columns = max(1, int((self.width - 2 * dp(theme.padding) + gap) // (dp(theme.tile_width) + gap)))
        content = vertical(spacing=gap, padding=(0, 0, dp(20), 0))
        for category, tiles in _by_category(self.model.matter_tiles()):
            name = t(CATEGORY_NAMES.get(category, category))
            content.add_widget(Text(name, c.page, theme.main, "main", strong=True, paragraph=False))
            grid = GridLayout(cols=columns, spacing=gap, size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            widgets = [self._tile(tile, theme) for tile in tiles]
            for start in range(0, len(widgets), columns):
                line_up(widgets[start : start + columns])
            for widget in widgets:
                grid.add_widget(widget)
            for _ in range(-len(tiles) % columns):  # keep every row's tiles as wide as a full row's
                grid.add_widget(Widget(size_hint_y=None, height=0))
            content.add_widget(grid)
        self._scroll = scrolling(content)
        body.add_widget(self._scroll)

    def _tile(self, tile: MatterTile, theme: Theme) -> Tile:
        c, t = theme.colours, self.model.texts
        pair = c.tile if tile.available else c.unavailable
        pad = dp(theme.spacing)
        widget = Tile(pair.bg, lambda: self.choose(tile.code), padding=pad, spacing=pad / 2)
        widget.add_widget(Text(tile.name, pair, theme.main, "main", strong=True))
        waiting = Text(
            t("{count} waiting", count=tile.waiting), pair, theme.wait, "wait", size_hint_x=0.4, paragraph=False
        )
        wait = Text(tile.wait_text, pair, theme.wait, "wait", halign="right", size_hint_x=0.6, paragraph=False)
        widget.add_widget(row_of(waiting, wait, spacing=pad))
        if tile.note:
            widget.add_widget(Text(tile.note, pair, theme.body, "body", strong=True))
        widget.add_widget(Widget())  # takes the room left when a neighbour is taller: the text stays on top
        return widget

    def _working(self, body: BoxLayout, theme: Theme) -> None:
        c = theme.colours
        body.add_widget(Widget())
        self._spinner = Spinner(
            c.primary.bg, size_hint=(None, None), size=(dp(160), dp(160)), pos_hint={"center_x": 0.5}
        )
        body.add_widget(self._spinner)
        body.add_widget(Text(self.model.message, c.page, theme.title, "title", halign="center", strong=True))
        body.add_widget(Widget())

    def _ticket(self, body: BoxLayout, theme: Theme) -> None:
        ticket = self.model.ticket
        if ticket is None:
            return
        c, t = theme.colours, self.model.texts
        gap, pad = dp(theme.spacing), dp(theme.padding)
        card = Panel(c.card.bg, orientation="vertical", padding=pad, spacing=gap / 2)
        size = theme.number * (1.8 if self.portrait else 1.0)  # a portrait card is wide: room for more
        number = Text(ticket.number, c.card, size, "number", fit="width", font_name=NUMBER_FONT, paragraph=False)
        number.pos_hint = {"center_x": 0.5}
        card.add_widget(Widget())
        for widget in (
            Text(t("Your number"), c.card, theme.main, "main", halign="center", paragraph=False),
            number,
            Text(ticket.matter_names, c.card, theme.main, "main", halign="center", strong=True, paragraph=False),
            *(
                [Text(ticket.appointment, c.card, theme.main, "main", halign="center", strong=True, paragraph=False)]
                if ticket.appointment
                else []
            ),
            Text(ticket.people_ahead_text, c.card, theme.main, "wait", halign="center", paragraph=False),
            Text(ticket.wait_text, c.card, theme.main, "wait", halign="center", paragraph=False),
        ):
            card.add_widget(widget)
        card.add_widget(Widget())
        shrink_to_fit(number, card, pad)
        details = BoxLayout(orientation="vertical", spacing=gap)
        fixed: list[Widget] = [Text(ticket.windows_text, c.page, theme.title, "main", strong=True, paragraph=False)]
        if ticket.printed is False:
            note = ticket.print_note or t("The printer failed: please note your number on the screen.")
            fixed.append(self._notice(note, c.alert, theme))
        elif ticket.printed is None:
            fixed.append(self._notice(t("Printing your ticket…"), c.tile, theme))
        heading = Text(t("Please have ready:"), c.tile, theme.main, "main", strong=True, paragraph=False)
        lines = vertical(spacing=gap / 2, padding=(0, 0, dp(20), 0))
        for line in ticket.materials:
            lines.add_widget(Text(f"• {line}", c.tile, theme.body, "body"))
        self._scroll = scrolling(lines)
        materials = Panel(c.tile.bg, orientation="vertical", size_hint_y=None, padding=pad, spacing=gap / 2)
        materials.add_widget(heading)
        materials.add_widget(self._scroll)
        done = FlatButton(t("Done"), c.primary, theme.main, theme, lambda: self.tap("home"), size_hint_y=None)
        done.height = dp(theme.button_height)
        fixed.append(done)

        def fit_materials(*_: object) -> None:
            """As tall as the list, or the room left (then it scrolls)."""
            room = details.height - sum(w.height for w in fixed) - gap * len(fixed)
            materials.height = max(min(heading.height + lines.height + 2 * pad + gap / 2, room), 0)

        for widget in (details, heading, lines, *fixed):
            widget.bind(height=fit_materials)
        for widget in (*fixed[:-1], materials, Widget(), done):
            details.add_widget(widget)
        row = BoxLayout(orientation="vertical" if self.portrait else "horizontal", spacing=gap * 1.5)
        card.size_hint = (1, 0.55) if self.portrait else (0.5, 1)
        row.add_widget(card)
        row.add_widget(details)
        body.add_widget(row)

    def _nearby(self, body: BoxLayout, theme: Theme) -> None:
        c, t = theme.colours, self.model.texts
        self._title_row(body, t("Nearby service sites"), theme)
        tiles = self.model.matter_tiles()
        code = self._nearby_code()
        gap = dp(theme.spacing)
        matters = vertical(spacing=gap / 2, padding=(0, 0, dp(20), 0))
        for tile in tiles:
            pair = c.primary if tile.code == code else c.secondary
            button = FlatButton(tile.name, pair, theme.main, theme, self._nearby_picker(tile.code), size_hint_y=None)
            button.height = dp(theme.button_height)
            matters.add_widget(button)
        sites = vertical(spacing=gap, padding=(0, 0, dp(20), 0))
        options = self.model.nearby(code)
        if not options:
            sites.add_widget(Text(t("No other site offers this matter now."), c.page, theme.main, "main"))
        for site in options:
            sites.add_widget(self._site(site, theme))
        row = BoxLayout(orientation="vertical" if self.portrait else "horizontal", spacing=gap * 1.5)
        picker = scrolling(matters)
        picker.size_hint = (1, 0.35) if self.portrait else (0.35, 1)
        row.add_widget(picker)
        self._scroll = scrolling(sites)
        row.add_widget(self._scroll)
        body.add_widget(row)

    def _nearby_code(self) -> str:
        """The matter whose nearby sites are shown: the one picked there, else the one chosen, else the first."""
        tiles = self.model.matter_tiles()
        return self.nearby_code or self.model.chosen or (tiles[0].code if tiles else "")

    def _nearby_picker(self, code: str) -> Callable[[], None]:
        return lambda: self.pick_nearby(code)

    def _site(self, site: NearbySite, theme: Theme) -> BoxLayout:
        c, t = theme.colours, self.model.texts
        pad = dp(theme.spacing)
        panel = Panel(c.tile.bg, orientation="vertical", size_hint_y=None, padding=pad, spacing=pad / 2)
        panel.bind(minimum_height=panel.setter("height"))
        panel.add_widget(Text(site.name, c.tile, theme.main, "main", strong=True, paragraph=False))
        panel.add_widget(Text(site.address, c.tile, theme.body, "body"))
        facts = "    ".join(
            (t("{km} km away", km=site.distance_km), t("{count} waiting", count=site.waiting), site.wait_text)
        )
        panel.add_widget(Text(facts, c.tile, theme.wait, "wait"))
        return panel

    def _message(self, body: BoxLayout, theme: Theme) -> None:
        c, t = theme.colours, self.model.texts
        body.add_widget(Widget())
        retry = self.model.retry_action
        if retry is not None:  # a refusal: in the alert colours, so it cannot be taken for a confirmation
            body.add_widget(self._notice(self.model.message, c.alert, theme, halign="center"))
        else:
            body.add_widget(Text(self.model.message, c.page, theme.title, "title", halign="center", strong=True))
        buttons: list[tuple[str, Pair, Callable[[], None]]] = []
        if retry is not None:
            buttons.append((t("Scan again"), c.primary, self._tapper(retry)))
        buttons.append((t("Back"), c.secondary if retry else c.primary, lambda: self.tap("back")))
        gap, height = dp(theme.spacing), dp(theme.button_height)
        row = BoxLayout(size_hint=(None, None), height=height, spacing=gap, pos_hint={"center_x": 0.5})
        row.width = len(buttons) * height * 4 + (len(buttons) - 1) * gap
        for label, pair, on_tap in buttons:
            row.add_widget(FlatButton(label, pair, theme.main, theme, on_tap))
        body.add_widget(row)
        body.add_widget(Widget())

    def _checkin(self, body: BoxLayout, theme: Theme) -> None:
        """The camera looks; the citizen holds up the booking's QR code (the picture says where)."""
        c, t = theme.colours, self.model.texts
        self._title_row(body, t("Check in an appointment"), theme)
        gap = dp(theme.spacing)
        row = BoxLayout(orientation="vertical" if self.portrait else "horizontal", spacing=gap * 1.5)
        frame = Panel(c.tile.bg, orientation="vertical", padding=dp(theme.padding))
        frame.add_widget(QrTarget(c.primary.bg))
        frame.size_hint = (1, 0.5) if self.portrait else (0.45, 1)
        row.add_widget(frame)
        words = BoxLayout(orientation="vertical", spacing=gap)
        words.add_widget(Widget())
        words.add_widget(
            Text(t("Hold the QR code of your appointment up to the camera."), c.page, theme.title, "main", strong=True)
        )
        words.add_widget(Text(t("The code is in the appointment message on your phone."), c.page, theme.body, "body"))
        looking = BoxLayout(size_hint_y=None, height=dp(theme.button_height), spacing=gap)
        self._spinner = Spinner(c.primary.bg, size_hint=(None, None), size=(dp(theme.button_height),) * 2)
        looking.add_widget(self._spinner)
        looking.add_widget(
            Text(t("Looking for the code…"), c.page, theme.main, "main", pos_hint={"center_y": 0.5}, paragraph=False)
        )
        words.add_widget(looking)
        words.add_widget(Widget())
        row.add_widget(words)
        body.add_widget(row)

    def _documents(self, body: BoxLayout, theme: Theme) -> None:
        """Handing in documents: the flow's step (kiosk/documents/view.py)."""
        documents_view.draw(self, body, theme)

    def _rating(self, body: BoxLayout, theme: Theme) -> None:
        """Rating a service by the ticket's QR code (kiosk/rating_view.py)."""
        rating_view.draw_rating(self, body, theme)

    def _officer(self, body: BoxLayout, theme: Theme) -> None:
        """The service experience officer's code (kiosk/officer_view.py)."""
        officer_view.draw_officer(self, body, theme)


def _by_category(tiles: Iterable[MatterTile]) -> list[tuple[str, list[MatterTile]]]:
    """Tiles grouped by category, in the catalogue's order."""
    groups: dict[str, list[MatterTile]] = {}
    for tile in tiles:
        groups.setdefault(tile.category, []).append(tile)
    return list(groups.items())

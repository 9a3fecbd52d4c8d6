"""The Kivy widgets of the rating screens (服务评价): draw ``KioskModel.rating`` (kiosk/rating.py) and forward taps.

``draw_rating`` fills the body of ``KioskView`` for the flow's step; it decides no rule. A chosen button is drawn in
the primary colours *and* marked "√", so colour is never the only cue (elder-friendly rules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

import contract as wire
import kiosk.view as kv
from devicekit.widgets import Panel
from kiosk.rating import RatingFlow, Step
from kiosk.theme import Pair, Theme

if TYPE_CHECKING:
    from kiosk.view import KioskView

CHOSEN = "√"


def mark(label: str, chosen: bool) -> str:
    return CHOSEN + label if chosen else label


def draw_rating(view: KioskView, body: BoxLayout, theme: Theme) -> None:
    flow = view.model.rating
    if flow is None:
        return
    view._title_row(body, view.model.texts("Rate our service"), theme)
    if flow.step == Step.SCAN:
        _scan(view, flow, body, theme)
    elif flow.step == Step.FORM:
        _form(view, flow, body, theme)
    elif flow.step == Step.THANKS:
        _said(view, body, theme, view.model.texts("Thank you for your rating."), [])
    elif flow.step == Step.MESSAGE:
        t, c = view.model.texts, theme.colours
        buttons = [(t("Try again"), c.primary, lambda: view.act(flow.retry))] if flow.can_retry else []
        buttons += [
            (t("Scan another ticket"), c.secondary if buttons else c.primary, lambda: view.tap("rate")),
            (t("Back to the start"), c.secondary, lambda: view.tap("home")),
        ]
        _said(view, body, theme, flow.message, buttons)
    else:  # LOOKING, SENDING
        _working(view, body, theme)


def _scan(view: KioskView, flow: RatingFlow, body: BoxLayout, theme: Theme) -> None:
    c, t = theme.colours, view.model.texts
    gap = dp(theme.spacing)
    row = BoxLayout(orientation="vertical" if view.portrait else "horizontal", spacing=gap * 1.5)
    frame = Panel(c.tile.bg, orientation="vertical", padding=dp(theme.padding))
    frame.add_widget(kv.QrTarget(c.primary.bg))
    frame.size_hint = (1, 0.5) if view.portrait else (0.45, 1)
    row.add_widget(frame)
    words = BoxLayout(orientation="vertical", spacing=gap)
    words.add_widget(Widget())
    words.add_widget(
        kv.Text(t("Hold the QR code on your ticket up to the camera."), c.page, theme.title, "main", strong=True)
    )
    words.add_widget(
        kv.Text(t("The rating does not ask who you are: staff never see who rated them."), c.page, theme.body, "body")
    )
    if flow.note:
        words.add_widget(view._notice(flow.note, c.alert, theme))
    words.add_widget(looking(view, theme))
    words.add_widget(Widget())
    row.add_widget(words)
    body.add_widget(row)


def _form(view: KioskView, flow: RatingFlow, body: BoxLayout, theme: Theme) -> None:
    c, t = theme.colours, view.model.texts
    gap, height = dp(theme.spacing), dp(theme.button_height)
    head = kv.Text(flow.service_text(), c.page, theme.main, "main", strong=True, paragraph=False)
    body.add_widget(head)
    body.add_widget(
        kv.Text(t("How satisfied are you with this service?"), c.page, theme.title, "title", paragraph=False)
    )
    levels = BoxLayout(size_hint_y=None, height=height * 1.2, spacing=gap)
    for button in flow.levels():
        pair = c.primary if button.chosen else c.secondary
        levels.add_widget(
            kv.FlatButton(mark(button.label, button.chosen), pair, theme.main, theme, _level(view, flow, button.level))
        )
    body.add_widget(levels)
    details = BoxLayout(orientation="vertical" if view.portrait else "horizontal", spacing=gap * 1.5)
    details.add_widget(_aspects(view, flow, theme))
    details.add_widget(_reasons(view, flow, theme))
    body.add_widget(details)
    send_pair = c.primary if flow.can_send else c.unavailable
    send = kv.FlatButton(t("Send my rating"), send_pair, theme.main, theme, lambda: view.act(flow.send))
    send.size_hint, send.height, send.pos_hint = (0.4, None), height, {"center_x": 0.5}
    body.add_widget(send)


def _aspects(view: KioskView, flow: RatingFlow, theme: Theme) -> BoxLayout:
    """The three sub-indicators, each a row of the five levels in smaller type (optional)."""
    c, t = theme.colours, view.model.texts
    gap, height = dp(theme.spacing), dp(theme.button_height) * 0.75
    column = BoxLayout(orientation="vertical", spacing=gap / 2, size_hint_x=0.62)
    column.add_widget(kv.Text(t("Each part of the service (optional)"), c.page, theme.body, "body", paragraph=False))
    for aspect, name, given in flow.aspect_rows():
        row = BoxLayout(size_hint_y=None, height=height, spacing=gap / 2)
        label = kv.Text(name, c.page, theme.body, "body", paragraph=False, size_hint_x=None, pos_hint={"center_y": 0.5})
        label.width = dp(theme.body) * 4.4  # four characters
        row.add_widget(label)
        for level in flow.levels():
            chosen = given == level.level
            pair = c.primary if chosen else c.tile
            on_tap = _aspect(view, flow, aspect, level.level)
            row.add_widget(kv.FlatButton(mark(level.label, chosen), pair, theme.body, theme, on_tap, role="body"))
        column.add_widget(row)
    column.add_widget(Widget())
    return column


def _reasons(view: KioskView, flow: RatingFlow, theme: Theme) -> BoxLayout:
    """Why not satisfied, for 基本满意 and worse (optional, several)."""
    c, t = theme.colours, view.model.texts
    gap, height = dp(theme.spacing), dp(theme.button_height) * 0.75
    column = BoxLayout(orientation="vertical", spacing=gap / 2, size_hint_x=0.38)
    chips = flow.reason_chips()
    if not chips:
        column.add_widget(Widget())
        return column
    column.add_widget(kv.Text(t("What went wrong? (optional)"), c.page, theme.body, "body", paragraph=False))
    columns = 3 if t.chinese else 2  # short Chinese words; the English ones need the width
    grid = GridLayout(
        cols=columns, spacing=gap / 2, size_hint_y=None, row_default_height=height, row_force_default=True
    )
    grid.bind(minimum_height=grid.setter("height"))
    for reason, label, chosen in chips:
        pair = c.primary if chosen else c.tile
        on_tap = _reason_tap(view, flow, reason)
        grid.add_widget(kv.FlatButton(mark(label, chosen), pair, theme.body, theme, on_tap, role="body"))
    column.add_widget(grid)
    column.add_widget(Widget())
    return column


def _said(
    view: KioskView, body: BoxLayout, theme: Theme, text: str, buttons: list[tuple[str, Pair, Callable[[], None]]]
) -> None:
    """A plain sentence in the middle, and its buttons under it."""
    c = theme.colours
    body.add_widget(Widget())
    body.add_widget(kv.Text(text, c.page, theme.title, "title", halign="center", strong=True))
    if buttons:
        gap, height = dp(theme.spacing), dp(theme.button_height)
        row = BoxLayout(size_hint=(None, None), height=height, spacing=gap, pos_hint={"center_x": 0.5})
        row.width = len(buttons) * height * 4 + (len(buttons) - 1) * gap
        for label, pair, on_tap in buttons:
            row.add_widget(kv.FlatButton(label, pair, theme.main, theme, on_tap))
        body.add_widget(row)
    body.add_widget(Widget())


def looking(view: KioskView, theme: Theme) -> BoxLayout:
    """A turning spinner and "正在识别…": the camera is looking."""
    c, gap = theme.colours, dp(theme.spacing)
    row = BoxLayout(size_hint_y=None, height=dp(theme.button_height), spacing=gap)
    view._spinner = kv.Spinner(c.primary.bg, size_hint=(None, None), size=(dp(theme.button_height),) * 2)
    row.add_widget(view._spinner)
    row.add_widget(
        kv.Text(
            view.model.texts("Looking for the code…"), c.page, theme.main, "main", pos_hint={"center_y": 0.5},
            paragraph=False,
        )
    )  # fmt: skip
    return row


def _working(view: KioskView, body: BoxLayout, theme: Theme) -> None:
    c = theme.colours
    body.add_widget(Widget())
    view._spinner = kv.Spinner(
        c.primary.bg, size_hint=(None, None), size=(dp(160), dp(160)), pos_hint={"center_x": 0.5}
    )
    body.add_widget(view._spinner)
    body.add_widget(kv.Text(view.model.texts("Working…"), c.page, theme.title, "title", halign="center", strong=True))
    body.add_widget(Widget())


def _level(view: KioskView, flow: RatingFlow, level: int) -> Callable[[], None]:
    return lambda: view.act(lambda: flow.choose_level(level))


def _aspect(view: KioskView, flow: RatingFlow, aspect: str, level: int) -> Callable[[], None]:
    return lambda: view.act(lambda: flow.choose_aspect(aspect, level))


def _reason_tap(view: KioskView, flow: RatingFlow, reason: wire.RatingReason) -> Callable[[], None]:
    return lambda: view.act(lambda: flow.toggle_reason(reason))

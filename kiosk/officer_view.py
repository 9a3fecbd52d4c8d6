"""The Kivy widgets of the officer's code entry (体验官): draw ``KioskModel.officer`` (kiosk/officer_code.py).

The way in is a quiet button on the matters screen's title row; the entry itself has the code's keys, the camera's
target for the code's QR, and then only "已记录" — the same for every code, known or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

import kiosk.rating_view as rv
import kiosk.view as kv
from devicekit.widgets import NUMBER_FONT, Panel
from kiosk.officer_code import KEYS
from kiosk.theme import Theme

if TYPE_CHECKING:
    from collections.abc import Callable

    from kiosk.view import KioskView

KEY_COLUMNS = 8


def officer_button(view: KioskView, theme: Theme) -> kv.FlatButton:
    """The discreet way in: small, muted, beside "返回"."""
    button = kv.FlatButton(
        view.model.texts("Officer"), theme.colours.muted, theme.body, theme, lambda: view.tap("officer"), fit=True,
        role="body",
    )  # fmt: skip
    return button


def draw_officer(view: KioskView, body: BoxLayout, theme: Theme) -> None:
    c, t = theme.colours, view.model.texts
    entry = view.model.officer
    gap, height = dp(theme.spacing), dp(theme.button_height)
    row = BoxLayout(size_hint_y=None, height=height, spacing=gap)
    row.add_widget(
        kv.Text(t("Service experience officer"), c.page, theme.title, "title", strong=True, paragraph=False,
                pos_hint={"center_y": 0.5})
    )  # fmt: skip
    back = kv.FlatButton(t("Back"), c.secondary, theme.main, theme, lambda: view.tap("take"))
    back.size_hint_x, back.width = None, height * 2.5
    row.add_widget(back)
    body.add_widget(row)
    if entry.recorded:
        body.add_widget(Widget())
        body.add_widget(kv.Text(t("Recorded."), c.page, theme.title, "title", halign="center", strong=True))
        go_on = kv.FlatButton(t("Go on to the matters"), c.primary, theme.main, theme, lambda: view.tap("take"))
        go_on.size_hint, go_on.height, go_on.pos_hint = (0.4, None), height, {"center_x": 0.5}
        body.add_widget(go_on)
        body.add_widget(Widget())
        return
    columns = BoxLayout(orientation="vertical" if view.portrait else "horizontal", spacing=gap * 1.5)
    columns.add_widget(_keypad(view, theme))
    camera = BoxLayout(orientation="vertical", spacing=gap, size_hint_x=0.34)
    frame = Panel(c.tile.bg, orientation="vertical", padding=dp(theme.padding))
    frame.add_widget(kv.QrTarget(c.primary.bg))
    camera.add_widget(frame)
    camera.add_widget(kv.Text(t("Or hold the code's QR up to the camera."), c.page, theme.body, "body"))
    camera.add_widget(rv.looking(view, theme))
    columns.add_widget(camera)
    body.add_widget(columns)


def _keypad(view: KioskView, theme: Theme) -> BoxLayout:
    c, t = theme.colours, view.model.texts
    entry = view.model.officer
    gap, height = dp(theme.spacing), dp(theme.button_height) * 0.8
    pad = BoxLayout(orientation="vertical", spacing=gap / 2)
    pad.add_widget(kv.Text(t("Type your officer code:"), c.page, theme.main, "main", paragraph=False))
    field = Panel(c.tile.bg, size_hint_y=None, height=height * 1.2, padding=(gap, 0))
    field.add_widget(
        kv.Text(entry.shown, c.tile, theme.main, "main", font_name=NUMBER_FONT, paragraph=False,
                pos_hint={"center_y": 0.5})
    )  # fmt: skip
    pad.add_widget(field)
    grid = GridLayout(cols=KEY_COLUMNS, spacing=gap / 2, size_hint_y=None, row_default_height=height)
    grid.row_force_default = True
    grid.bind(minimum_height=grid.setter("height"))
    for key in KEYS:
        grid.add_widget(kv.FlatButton(key, c.secondary, theme.main, theme, _press(view, key)))
    pad.add_widget(grid)
    actions = BoxLayout(size_hint_y=None, height=height, spacing=gap)
    actions.add_widget(
        kv.FlatButton(t("Officer code: delete"), c.secondary, theme.main, theme, lambda: view.act(entry.delete))
    )
    ok_pair = c.primary if entry.can_confirm else c.unavailable
    actions.add_widget(
        kv.FlatButton(t("Officer code: confirm"), ok_pair, theme.main, theme, lambda: view.act(entry.confirm))
    )
    pad.add_widget(actions)
    pad.add_widget(Widget())
    return pad


def _press(view: KioskView, key: str) -> Callable[[], None]:
    return lambda: view.act(lambda: view.model.officer.press(key))

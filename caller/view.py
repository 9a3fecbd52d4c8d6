"""The caller's Kivy widgets: draw a ``CallerScreen`` (caller/screen.py) and forward taps and keys to the model. The
view decides no rule of the hall.

Two layouts: the normal one (a staff monitor; header, the current ticket with its materials and the action buttons
on the left, the queue on the right) and the compact one (a narrow window, 360×640 by default, beside the clerk's
main application: the number, the buttons, the next numbers). Every label carries a ``role`` so the screenshot
tests can find it. Keys: ``SHORTCUTS`` in caller/model.py, bound to the window here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kivy.base import EventLoop
from kivy.factory import Factory
from kivy.graphics import Color, Line
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from caller.model import CallerModel, Panel, Request, Status
from caller.screen import Button as Action
from caller.screen import CallerScreen, CaseLine, QueueLine
from devicekit.look import RGB, hex_rgb
from devicekit.widgets import NUMBER_FONT, rgba, scrolling, vertical
from devicekit.widgets import Panel as Box

PAGE = hex_rgb("#EEF2F7")
HEADER = hex_rgb("#0B3D91")
CARD = hex_rgb("#FFFFFF")
INK = hex_rgb("#1A1A1A")
MUTED = hex_rgb("#4A5260")
WHITE = hex_rgb("#FFFFFF")
NAVY = hex_rgb("#0B3D91")
PRIMARY = hex_rgb("#1553B6")
SECONDARY = hex_rgb("#D9E4F5")
DISABLED = hex_rgb("#D4D4D4")
DISABLED_INK = hex_rgb("#5C5C5C")
WARNING = hex_rgb("#FFC940")
ALERT = hex_rgb("#A3161A")
INFO = hex_rgb("#DDF0E0")
ERROR = hex_rgb("#FDE2E1")
ERROR_INK = hex_rgb("#8B0F12")
INFO_INK = hex_rgb("#14532D")
SELECTED = hex_rgb("#CFE0FF")
OVERDUE = hex_rgb("#FFE9A8")
CASE_COLOURS: dict[str, tuple[RGB, RGB]] = {
    "returned": (ERROR_INK, ERROR),
    "accepted": (INFO_INK, INFO),
}
"""A case's ink and background by its state; the others (waiting for review, still being sent) are pale blue."""
STATUS_COLOURS: dict[Status, tuple[RGB, RGB]] = {
    Status.SIGNED_OUT: (WHITE, hex_rgb("#5C6B80")),
    Status.IDLE: (WHITE, hex_rgb("#2E7D32")),
    Status.CALLED: (INK, WARNING),
    Status.SERVING: (WHITE, PRIMARY),
    Status.PAUSED: (WHITE, ALERT),
}

Send = Callable[[Request | None], None]
"""Send a request the model made (off the Kivy thread); None only redraws."""

KEY_NAMES = {
    **{282 + n: f"f{n + 1}" for n in range(12)},
    273: "up",
    274: "down",
    27: "escape",
    **{ord(digit): digit for digit in "1234"},
}
"""Kivy's key codes (``Keyboard.keycodes``) of the keys the caller uses (every key of ``SHORTCUTS``)."""


class Text(Label):  # type: ignore[misc]  # Kivy has no type hints
    """One line filling its box, cut with an ellipsis rather than spilling out; ``wrap`` makes it a paragraph as tall
    as its text instead."""

    def __init__(
        self,
        text: str,
        size: float,
        colour: RGB,
        role: str,
        *,
        halign: str = "left",
        number: bool = False,
        wrap: bool = False,
        bold: bool = False,
        **kw: Any,
    ) -> None:
        if number:
            kw["font_name"] = NUMBER_FONT
        super().__init__(
            text=text, font_size=dp(size), color=rgba(colour), halign=halign, valign="middle", shorten=not wrap, **kw
        )
        self.role = role
        if bold:  # the CJK font has no bold face: a thin outline in the text colour stands in
            self.outline_width = max(1, round(dp(size) / 40))
            self.outline_color = rgba(colour)
        if wrap:
            self.size_hint_y = None
            self.bind(width=self._wrap, texture_size=self._grow)
        else:
            self.bind(size=self._fit)

    def _fit(self, *_: object) -> None:
        self.text_size = self.size

    def _wrap(self, _label: Label, width: float) -> None:
        self.text_size = (width, None)

    def _grow(self, _label: Label, size: tuple[float, float]) -> None:
        self.height = size[1]


class KeyButton(Button):  # type: ignore[misc]  # Kivy has no type hints
    """A flat button with its label and, smaller, its key; greyed (and inert) when the action makes no sense now."""

    def __init__(
        self,
        label: str,
        key: str,
        size: float,
        on_tap: Callable[[], None],
        *,
        kind: str = "normal",
        enabled: bool = True,
    ) -> None:
        fg, bg = {"primary": (WHITE, PRIMARY), "warning": (INK, WARNING)}.get(kind, (NAVY, SECONDARY))
        if not enabled:
            fg, bg = DISABLED_INK, DISABLED
        text = f"{label}\n[size={round(dp(size * 0.62))}]{key}[/size]" if key else label
        super().__init__(
            text=text,
            markup=True,
            font_size=dp(size),
            color=rgba(fg),
            background_normal="",
            background_down="",
            background_disabled_normal="",
            background_disabled_down="",
            background_color=rgba(bg),
            disabled_color=rgba(fg),
            halign="center",
            valign="middle",
            disabled=not enabled,
        )
        self.role, self.label, self.key, self.bg = "button", label, key, bg
        self._pressed = rgba((round(bg[0] * 0.8), round(bg[1] * 0.8), round(bg[2] * 0.8)))
        self.bind(on_release=lambda *_: on_tap(), state=self._press, size=self._wrap)

    def _wrap(self, *_: object) -> None:
        self.text_size = (self.width - dp(8), None)

    def _press(self, _button: Button, state: str) -> None:
        self.background_color = self._pressed if state == "down" else rgba(self.bg)


class Row(Box):
    """A queue line: tap to choose it."""

    def __init__(self, bg: RGB, on_tap: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(bg, **kwargs)
        self.on_tap = on_tap

    def on_touch_down(self, touch: Any) -> bool:
        if self.collide_point(*touch.pos):
            self.on_tap()
            return True
        return bool(super().on_touch_down(touch))


def outlined(widget: Widget, colour: RGB, width: float) -> None:
    with widget.canvas.after:
        Color(*rgba(colour))
        frame = Line(width=width)

    def draw(*_: object) -> None:
        frame.rectangle = (widget.x + width, widget.y + width, widget.width - 2 * width, widget.height - 2 * width)

    widget.bind(pos=draw, size=draw)
    draw()


class CallerView(Box):
    """The whole caller window. ``send`` sends a request (off this thread); ``now`` gives the clock's time;
    ``resized`` is told when the clerk switches between the normal and the compact layout."""

    def __init__(
        self,
        model: CallerModel,
        send: Send,
        now: Callable[[], datetime] | None = None,
        resized: Callable[[bool], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(PAGE, orientation="vertical", **kwargs)
        self.model = model
        self.screen = CallerScreen(model)
        self.send = send
        self.now = now or (lambda: datetime.now().astimezone())
        self.resized = resized or (lambda _compact: None)
        self.staff_input: Any = None
        self.pin_input: Any = None
        """The sign-in form's TextInputs while it shows."""
        self._clock: Text | None = None
        self._rendered: tuple[object, ...] = ()
        self.k = 1.0
        """The layout's scale: its design size (1280×800 normal, 360×640 compact) fitted to the window."""
        self._compact = model.compact
        self.bind(size=lambda *_: self.update())

    # -- input ----------------------------------------------------------------------------------------------------

    def bind_keys(self) -> None:
        EventLoop.window.bind(on_key_down=self._on_key)  # the window exists once the app builds

    def unbind_keys(self) -> None:
        EventLoop.window.unbind(on_key_down=self._on_key)

    def _on_key(self, _window: Any, key: int, _scancode: int, _codepoint: str, modifiers: list[str]) -> bool:
        name = KEY_NAMES.get(key)
        if name is None or modifiers:
            return False
        if name in "1234" and self.model.panel is not Panel.PAUSE:
            return False  # typing digits (the PIN)
        self.key(name)
        return True

    def key(self, name: str) -> None:
        self.act(self.model.shortcut(name))

    def tap(self, command: str, **params: str | None) -> None:
        self.act(self.model.command(command, **params))

    def act(self, request: Request | None) -> None:
        self.send(request)
        self.update()

    def sign_in(self) -> None:
        if self.staff_input is None or self.pin_input is None:
            return
        request = self.model.sign_in(self.staff_input.text, self.pin_input.text)
        self.pin_input.text = ""
        self.act(request)

    def choose(self, ticket_id: str) -> None:
        self.model.select(None if self.model.selected == ticket_id else ticket_id)
        self.update()

    # -- drawing --------------------------------------------------------------------------------------------------

    def update(self) -> None:
        """After a change of the model or a tick: rebuild when the picture changed, else move the clock on."""
        if self.model.compact != self._compact:
            self._compact = self.model.compact
            self.resized(self._compact)
        if (self.screen.picture(), self._wait_picture(), tuple(self.size)) != self._rendered:
            self.render()
        elif self._clock is not None:
            self._clock.text = self.now().strftime("%H:%M")

    def _wait_picture(self) -> tuple[object, ...]:
        return tuple((line.waited_text, line.overdue) for line in self.screen.queue_lines())

    def u(self, value: float) -> float:
        """A length of the layout's design size (1280×800 normal, 360×640 compact) at the window's size, in pixels."""
        return float(dp(value * self.k))

    def render(self) -> None:
        typed = self.staff_input.text if self.staff_input is not None else ""
        self.clear_widgets()
        self._clock = self.staff_input = self.pin_input = None
        compact = self.model.compact
        design = (360, 640) if compact else (1280, 800)
        fit = min(self.width / dp(design[0]), self.height / dp(design[1]))
        self.k = max(0.8, min(fit, 1.6))
        self.add_widget(self._header(compact))
        for bar in self._bars(compact):
            self.add_widget(bar)
        if self.model.clerk is None:
            self.add_widget(self._sign_in(compact, typed))
        elif compact:
            self.add_widget(self._compact_body())
        else:
            self.add_widget(self._main_body())
        self._rendered = (self.screen.picture(), self._wait_picture(), tuple(self.size))

    def text(self, text: str, size: float, colour: RGB, role: str, **kw: Any) -> Text:
        return Text(text, size * self.k, colour, role, **kw)

    def button(self, label: str, key: str, size: float, on_tap: Callable[[], None], **kw: Any) -> KeyButton:
        return KeyButton(label, key, size * self.k, on_tap, **kw)

    def _header(self, compact: bool) -> Box:
        s, u = self.screen, self.u
        size = 17 if compact else 22
        header = Box(HEADER, orientation="horizontal", size_hint_y=None, height=u(52 if compact else 64))
        header.padding, header.spacing = (u(10), u(6)), u(10)
        title = s.window_name() if compact else f"{s.window_name()} · {s.site_name()}"
        names = BoxLayout(orientation="vertical")
        names.add_widget(self.text(title, size, WHITE, "window", bold=True))
        if self.model.clerk is not None:
            names.add_widget(self.text(s.clerk_text(), size * 0.72, WHITE, "clerk"))
        header.add_widget(names)
        fg, bg = STATUS_COLOURS[self.model.status]
        chip = Box(bg, size_hint=(None, 1), width=u(104 if compact else 170))
        chip.add_widget(self.text(s.status_text(), size * 0.85, fg, "status", halign="center", bold=True))
        header.add_widget(chip)
        if not compact:
            self._clock = self.text(self.now().strftime("%H:%M"), size, WHITE, "clock", halign="center", number=True)
            self._clock.size_hint_x, self._clock.width = None, u(76)
            header.add_widget(self._clock)
            t = self.model.texts
            for command, label, key in (
                ("compact", t("Compact"), "F10"),
                ("language", "English" if t.chinese else "中文", "F12"),
            ):
                header.add_widget(self._header_button(label, key, command))
            if self.model.clerk is not None:
                header.add_widget(self._header_button(t("Sign out"), "", "sign_out"))
        return header

    def _header_button(self, label: str, key: str, command: str) -> KeyButton:
        button = self.button(label, key, 15, lambda: self.tap(command))
        button.size_hint_x, button.width = None, self.u(104)
        return button

    def _bars(self, compact: bool) -> list[Box]:
        s, bars = self.screen, []
        size = 15 if compact else 18
        if s.connection_text():
            bars.append(self._bar(s.connection_text(), WHITE, ALERT, size, "connection"))
        alert = s.alert() if self.model.clerk is not None else None
        if alert is not None:
            bars.append(self._bar(alert.text, INK, WARNING, size, "alert"))
        message = s.message()
        if message:
            fg, bg = (ERROR_INK, ERROR) if self.model.message_is_error else (INFO_INK, INFO)
            bars.append(self._bar(message, fg, bg, size, "message"))
        return bars

    def _bar(self, text: str, fg: RGB, bg: RGB, size: float, role: str) -> Box:
        u = self.u
        bar = Box(bg, size_hint_y=None, padding=(u(10), u(3)))
        label = self.text(text, size, fg, role, wrap=True, bold=True)
        bar.add_widget(label)
        least = u(size * 1.5)
        label.bind(height=lambda _l, height: setattr(bar, "height", max(height, least) + u(6)))
        bar.height = least + u(6)
        return bar

    # -- signing in -----------------------------------------------------------------------------------------------

    def _sign_in(self, compact: bool, typed: str) -> BoxLayout:
        t, s, u = self.model.texts, self.screen, self.u
        size = 17 if compact else 20
        outer = BoxLayout(orientation="vertical", padding=u(12 if compact else 32))
        card = Box(CARD, orientation="vertical", size_hint=(1, None) if compact else (None, None), spacing=u(8))
        card.padding = u(12 if compact else 24)
        card.width = u(440)
        card.pos_hint = {"center_x": 0.5}
        heights = [u(size * 1.8)]
        card.add_widget(
            self.text(t("Sign in at {window}", window=s.window_name()), size * 1.2, NAVY, "title", bold=True)
        )
        for attribute, label, secret in (("staff_input", t("Staff ID"), False), ("pin_input", t("PIN"), True)):
            card.add_widget(self.text(label, size * 0.8, MUTED, "caption", size_hint_y=None, height=u(size * 1.3)))
            field = Factory.TextInput(  # importing TextInput opens the window: only once the app runs
                text=typed if not secret else "",
                password=secret,
                multiline=False,
                write_tab=False,
                font_size=u(size),
                size_hint_y=None,
                height=u(size * 2.2),
                input_filter="int" if secret else None,
            )
            field.bind(on_text_validate=lambda *_: self.sign_in())
            setattr(self, attribute, field)
            card.add_widget(field)
            heights += [u(size * 1.3), u(size * 2.2)]
        button = self.button(t("Sign in"), "Enter", size, self.sign_in, kind="primary")
        button.size_hint_y, button.height = None, u(size * 3)
        card.add_widget(button)
        heights.append(button.height)
        card.height = sum(heights) + u(8) * (len(heights) - 1) + 2 * card.padding[1]
        outer.add_widget(Widget())
        outer.add_widget(card)
        outer.add_widget(Widget())
        if self.staff_input is not None and not typed:
            self.staff_input.focus = True
        return outer

    # -- the normal layout ----------------------------------------------------------------------------------------

    def _main_body(self) -> BoxLayout:
        u = self.u
        body = BoxLayout(orientation="horizontal", padding=u(12), spacing=u(12))
        left = BoxLayout(orientation="vertical", spacing=u(12), size_hint_x=0.52)
        left.add_widget(self._current())
        left.add_widget(self._buttons(columns=3, size=19, size_hint_y=0.46))
        body.add_widget(left)
        side = {Panel.TRANSFER: self._transfer, Panel.PAUSE: self._pause}.get(self.model.panel, self._queue)
        body.add_widget(side(size_hint_x=0.48))
        return body

    def _current(self) -> Box:
        s, u = self.screen, self.u
        card = Box(CARD, orientation="vertical", padding=u(14), spacing=u(6))
        top = BoxLayout(orientation="horizontal", size_hint_y=None, height=u(112), spacing=u(12))
        heading = BoxLayout(orientation="vertical", size_hint_x=0.46)
        heading.add_widget(self.text(self.model.texts("Current ticket"), 16, MUTED, "caption"))
        number = s.current_number() or "—"
        heading.add_widget(self.text(number, 66, NAVY, "number", number=True, size_hint_y=2.6))
        top.add_widget(heading)
        facts = BoxLayout(orientation="vertical", size_hint_x=0.54)
        facts.add_widget(self.text(s.current_detail(), 19, INK, "detail", bold=True))
        facts.add_widget(self.text(s.current_matters(), 19, INK, "matter", bold=True))
        top.add_widget(facts)
        card.add_widget(top)
        documents = s.documents()
        if documents:
            title = self.model.texts("Handed in at a kiosk")
            card.add_widget(self.text(title, 16, NAVY, "documents-title", bold=True, size_hint_y=None, height=u(26)))
            for case in documents:
                card.add_widget(self._case(case))
        materials = s.materials()
        if materials:
            title = self.model.texts("Materials to check")
            card.add_widget(self.text(title, 16, NAVY, "title", bold=True, size_hint_y=None, height=u(26)))
            lines = vertical(spacing=u(3), padding=(0, 0, u(10), 0))
            for line in materials:
                lines.add_widget(self.text(f"• {line}", 15, INK, "material", wrap=True))
            card.add_widget(scrolling(lines))
        else:
            card.add_widget(Widget())
        return card

    def _case(self, line: CaseLine) -> Box:
        """One case: its state, number and size on a line, then what to correct when it was returned."""
        u = self.u
        ink, bg = CASE_COLOURS.get(line.state, (NAVY, SELECTED))
        box = Box(bg, orientation="vertical", size_hint_y=None, padding=(u(10), u(4)), spacing=u(2))
        head = BoxLayout(orientation="horizontal", size_hint_y=None, height=u(28), spacing=u(12))
        state_width = u(130 if self.model.texts.chinese else 215)  # 退回补正 / Returned for correction
        state = self.text(line.state_text, 17, ink, "case-state", bold=True, size_hint_x=None, width=state_width)
        head.add_widget(state)
        number = self.text(line.case_number, 16, INK, "case-number", number=True, size_hint_x=None, width=u(215))
        head.add_widget(number)
        head.add_widget(self.text(line.detail, 15, INK, "case-detail"))
        box.add_widget(head)
        heights = [head.height]
        if line.reason:
            reason = self.text(line.reason, 16, ink, "case-reason", wrap=True, bold=True)
            box.add_widget(reason)
            reason.bind(height=lambda _l, height: setattr(box, "height", head.height + height + u(10)))
            heights.append(u(22))
        box.height = sum(heights) + u(8) + u(2) * (len(heights) - 1)
        return box

    def _buttons(self, columns: int, size: float, **kwargs: Any) -> GridLayout:
        grid = GridLayout(cols=columns, spacing=self.u(8), **kwargs)
        for action in self.screen.buttons():
            grid.add_widget(self._action_button(action, size))
        return grid

    def _action_button(self, action: Action, size: float) -> KeyButton:
        return self.button(
            action.label,
            action.key,
            size,
            lambda: self.tap(action.command),
            kind=action.kind,
            enabled=action.enabled and self.model.working is None,
        )

    COLUMNS = ((0.16, "Number"), (0.41, "Matter"), (0.14, "Class"), (0.15, "Waited"), (0.14, "State"))

    def _queue(self, **kwargs: Any) -> Box:
        s, t, u = self.screen, self.model.texts, self.u
        block = Box(CARD, orientation="vertical", padding=u(12), spacing=u(6), **kwargs)
        block.add_widget(self.text(s.queue_title(), 20, NAVY, "queue-title", bold=True, size_hint_y=None, height=u(30)))
        head = BoxLayout(size_hint_y=None, height=u(22), padding=(u(6), 0, u(16), 0))
        for share, title in self.COLUMNS:
            head.add_widget(self.text(t(title), 14, MUTED, "caption", size_hint_x=share))
        block.add_widget(head)
        rows = vertical(spacing=u(3), padding=(0, 0, u(10), 0))
        lines = s.queue_lines()
        if not lines:
            rows.add_widget(self.text(t("Nobody is waiting"), 17, MUTED, "empty", size_hint_y=None, height=u(40)))
        for line in lines:
            rows.add_widget(self._queue_row(line))
        block.add_widget(scrolling(rows))
        hint = t("Tap a ticket, then F7 to call it (特呼), call it back (回呼) or reactivate it")
        block.add_widget(self.text(hint, 13, MUTED, "hint", wrap=True))
        return block

    def _queue_row(self, line: QueueLine) -> Row:
        u = self.u
        bg = SELECTED if line.selected else OVERDUE if line.overdue else PAGE
        row = Row(bg, lambda: self.choose(line.ticket_id), size_hint_y=None, height=u(36), padding=(u(6), 0))
        cells: tuple[tuple[str, float, RGB, str, dict[str, bool]], ...] = (
            (line.number, 19, NAVY, "queue-number", {"number": True}),
            (line.matter_text, 15, INK, "queue-matter", {}),
            (line.priority_text, 14, INK, "queue-class", {}),
            (line.waited_text, 15, ALERT if line.overdue else INK, "queue-waited", {"bold": line.overdue}),
            (line.status_text, 14, INK, "queue-state", {}),
        )
        for (share, _title), (text, size, colour, role, extra) in zip(self.COLUMNS, cells, strict=True):
            row.add_widget(self.text(text, size, colour, role, size_hint_x=share, **extra))
        if line.selected:
            outlined(row, PRIMARY, u(2))
        return row

    def _transfer(self, **kwargs: Any) -> Box:
        t, u = self.model.texts, self.u
        block = Box(CARD, orientation="vertical", padding=u(12), spacing=u(6), **kwargs)
        title = t("Transfer {number} to", number=self.screen.current_number())
        block.add_widget(self.text(title, 20, NAVY, "title", bold=True, size_hint_y=None, height=u(30)))
        targets = vertical(spacing=u(5), padding=(0, 0, u(10), 0))
        kind = ""
        for target in self.screen.transfer_targets():
            if target.kind != kind:
                kind = target.kind
                heading = t("To a window") if kind == "to_window" else t("To a matter")
                targets.add_widget(self.text(heading, 15, MUTED, "caption", size_hint_y=None, height=u(26)))
            button = self.button(target.label, "", 16, self._transferrer(target.kind, target.code))
            button.size_hint_y, button.height = None, u(40)
            targets.add_widget(button)
        block.add_widget(scrolling(targets))
        block.add_widget(self._cancel())
        return block

    def _transferrer(self, kind: str, code: str) -> Callable[[], None]:
        return lambda: self.tap("transfer", **{kind: code})

    def _pause(self, **kwargs: Any) -> Box:
        t, u = self.model.texts, self.u
        block = Box(CARD, orientation="vertical", padding=u(12), spacing=u(8), **kwargs)
        block.add_widget(self.text(t("Pause reason"), 20, NAVY, "title", bold=True, size_hint_y=None, height=u(30)))
        for n, reason in enumerate(self.screen.pause_reasons(), start=1):
            button = self.button(reason, str(n), 18, self._pauser(n))
            button.size_hint_y, button.height = None, u(58)
            block.add_widget(button)
        block.add_widget(Widget())
        block.add_widget(self._cancel())
        return block

    def _pauser(self, n: int) -> Callable[[], None]:
        return lambda: self.act(self.model.pause_with(n))

    def _cancel(self) -> KeyButton:
        button = self.button(self.model.texts("Cancel"), "Esc", 16, lambda: self.tap("close_panel"))
        button.size_hint_y, button.height = None, self.u(52)
        return button

    # -- the compact layout ---------------------------------------------------------------------------------------

    def _compact_body(self) -> BoxLayout:
        s, t, u = self.screen, self.model.texts, self.u
        body = BoxLayout(orientation="vertical", padding=u(8), spacing=u(8))
        card = Box(CARD, orientation="vertical", size_hint_y=None, height=u(140), padding=(u(10), u(6)))
        number = s.current_number() or "—"
        card.add_widget(self.text(number, 60, NAVY, "number", number=True, halign="center", size_hint_y=1.8))
        card.add_widget(self.text(s.current_matters() or s.current_detail(), 17, INK, "matter", halign="center"))
        card.add_widget(
            self.text(s.current_detail() if s.current_matters() else "", 15, MUTED, "detail", halign="center")
        )
        body.add_widget(card)
        if self.model.panel is Panel.TRANSFER:
            body.add_widget(self._transfer())
        elif self.model.panel is Panel.PAUSE:
            grid = GridLayout(cols=2, spacing=u(6))
            for n, reason in enumerate(s.pause_reasons(), start=1):
                grid.add_widget(self.button(reason, str(n), 16, self._pauser(n)))
            grid.add_widget(self._cancel())
            body.add_widget(grid)
        else:
            grid = GridLayout(cols=2, spacing=u(6))
            for action in s.buttons():
                grid.add_widget(self._action_button(action, 16))
            grid.add_widget(self.button(t("Full view"), "F10", 16, lambda: self.tap("compact")))
            body.add_widget(grid)
        upcoming = " ".join(s.next_numbers()) or "—"
        chosen = self.model.chosen()
        foot = Box(CARD, orientation="vertical", size_hint_y=None, height=u(52), padding=(u(10), u(4)))
        foot.add_widget(self.text(s.queue_title(), 16, NAVY, "queue-title", bold=True))
        if chosen is not None:  # chosen with the arrow keys, for F7
            foot.add_widget(self.text(t("Chosen: {number} (F7)", number=chosen.number), 15, PRIMARY, "queue-chosen"))
        else:
            foot.add_widget(self.text(t("Next: {numbers}", numbers=upcoming), 15, INK, "queue-next"))
        body.add_widget(foot)
        return body

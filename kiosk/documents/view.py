"""The kiosk's screens for handing in documents (材料提交) in Kivy: they draw ``DocumentFlow``'s step and forward taps
to it; every rule stays in kiosk/documents/flow.py.

``KioskView`` calls ``draw(view, body, theme)`` for ``Screen.DOCUMENTS`` and compares ``picture(flow)`` to know when
to rebuild. The live camera preview is the exception to rebuilding: ``Preview`` copies the viewfinder's newest frame
into its texture on its own clock (and the prompt under it, "光线过暗", in place), so the picture stays smooth while the
frames are analysed on the viewfinder's threads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from devicekit.widgets import Panel, rgba, scrolling, vertical
from kiosk.documents.flow import DocumentFlow, Step
from kiosk.theme import Pair, Theme

if TYPE_CHECKING:
    from kiosk.view import KioskView

PREVIEW_FPS = 20
PREVIEW_WIDTH = 960
"""The preview is drawn from every other pixel of a wider frame: the screen shows it smaller anyway."""
QR_QUIET = 4
"""Modules of white around the QR code (the standard's quiet zone)."""


def picture(flow: DocumentFlow) -> tuple[object, ...]:
    """What the documents screen shows, compared by value (the preview and its prompt update in place)."""
    return (
        flow.step,
        flow.message,
        flow.title(),
        tuple(flow.checklist()),
        flow.commitment_hint(),
        flow.current,
        tuple(tuple(state.pages) for state in flow.materials),
        flow.progress,
        flow.receipt,
        flow.card is not None,
        tuple(matter.code for matter in flow.matters()),
    )


def draw(view: KioskView, body: BoxLayout, theme: Theme) -> None:
    """The flow's step into ``body``."""
    flow = view.model.documents
    assert flow is not None
    steps: dict[Step, Callable[[StepScreen], None]] = {
        Step.MATTERS: StepScreen.matters,
        Step.CHECKLIST: StepScreen.checklist,
        Step.CAPTURE: StepScreen.capture,
        Step.REVIEW: StepScreen.review,
        Step.COMMITMENT: StepScreen.commitment,
        Step.SUBMITTING: StepScreen.submitting,
        Step.RECEIPT: StepScreen.receipt,
        Step.MESSAGE: StepScreen.message,
    }
    steps[flow.step](StepScreen(view, flow, body, theme))


def stop_when_gone(widget: Widget, stop: Callable[[], None], grace: float = 3.0) -> None:
    """Stop a widget's clock once the screen it was on has been rebuilt without it (or it never showed)."""
    state = {"shown": False, "waited": 0.0}

    def check(dt: float) -> bool:
        if widget.get_root_window() is not None:
            state["shown"] = True
            return True
        state["waited"] += dt
        if state["shown"] or state["waited"] > grace:
            stop()
            return False
        return True

    Clock.schedule_interval(check, 0.25)


class StepScreen:
    """One drawing of one step (made afresh at every render)."""

    def __init__(self, view: KioskView, flow: DocumentFlow, body: BoxLayout, theme: Theme) -> None:
        self.view, self.flow, self.body, self.theme = view, flow, body, theme
        self.t = view.model.texts
        self.c = theme.colours
        self.gap, self.pad = dp(theme.spacing), dp(theme.padding)

    # -- building blocks ------------------------------------------------------------------------------------------

    def act(self, tap: Callable[[], object]) -> Callable[[], None]:
        """A tap: the flow does it, the screen follows (a touch also keeps the kiosk from going back home)."""

        def run() -> None:
            self.view.model.touch(self.view.now())
            tap()
            self.view.render()

        return run

    def back(self) -> None:
        if not self.flow.back():
            self.view.tap("home")
            return
        self.view.render()

    def button(self, text: str, pair: Pair, tap: Callable[[], object], **kwargs: Any) -> Widget:
        from kiosk.view import FlatButton  # noqa: PLC0415 (kiosk.view imports this module)

        button = FlatButton(text, pair, self.theme.main, self.theme, self.act(tap), size_hint_y=None, **kwargs)
        button.height = dp(self.theme.button_height)
        return button

    def text(self, text: str, pair: Pair, size: float, role: str, **kwargs: Any) -> Widget:
        from kiosk.view import Text  # noqa: PLC0415 (kiosk.view imports this module)

        return Text(text, pair, size, role, **kwargs)

    def title_row(self) -> None:
        row = BoxLayout(size_hint_y=None, height=dp(self.theme.button_height), spacing=self.gap)
        row.add_widget(
            self.text(
                self.flow.title(), self.c.page, self.theme.title, "title", strong=True, paragraph=False,
                pos_hint={"center_y": 0.5},
            )
        )  # fmt: skip
        if self.flow.step not in (Step.SUBMITTING, Step.RECEIPT):
            back = self.button(self.t("Back"), self.c.secondary, self.back)
            back.size_hint_x, back.width = None, dp(self.theme.button_height) * 2.5
            row.add_widget(back)
        self.body.add_widget(row)

    def notice(self, text: str, pair: Pair) -> Panel:
        panel = Panel(pair.bg, size_hint_y=None, padding=self.gap)
        panel.bind(minimum_height=panel.setter("height"))
        panel.add_widget(self.text(text, pair, self.theme.main, "main", strong=True))
        return panel

    def buttons(self, *buttons: Widget) -> BoxLayout:
        row = BoxLayout(size_hint_y=None, height=dp(self.theme.button_height), spacing=self.gap)
        for button in buttons:
            row.add_widget(button)
        return row

    def columns(self) -> BoxLayout:
        return BoxLayout(orientation="vertical" if self.view.portrait else "horizontal", spacing=self.gap * 1.5)

    # -- the steps ------------------------------------------------------------------------------------------------

    def matters(self) -> None:
        from kiosk.view import Tile, line_up  # noqa: PLC0415 (kiosk.view imports this module)

        self.title_row()
        card = self.view.model.card_note()
        if card is not None:
            self.body.add_widget(self.notice(card, self.c.tile))
        columns = max(1, int((self.view.width - 2 * self.pad + self.gap) // (dp(self.theme.tile_width) + self.gap)))
        grid = GridLayout(cols=columns, spacing=self.gap, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        tiles = []
        for matter in self.flow.matters():
            choose = self.act(partial(self.flow.choose_matter, matter.code))
            tile = Tile(self.c.tile.bg, choose, padding=self.gap, spacing=self.gap / 2)
            name = self.t.pick(matter.name_zh, matter.name_en)
            tile.add_widget(self.text(name, self.c.tile, self.theme.main, "main", strong=True))
            count = self.t("{count} material(s)", count=len(matter.materials))
            tile.add_widget(self.text(count, self.c.tile, self.theme.body, "body", paragraph=False))
            tile.add_widget(Widget())
            tiles.append(tile)
            grid.add_widget(tile)
        for start in range(0, len(tiles), columns):
            line_up(tiles[start : start + columns])
        for _ in range(-len(tiles) % columns):
            grid.add_widget(Widget(size_hint_y=None, height=0))
        content = vertical(padding=(0, 0, dp(20), 0))
        content.add_widget(grid)
        self.body.add_widget(scrolling(content))

    def checklist(self) -> None:
        flow, c, t = self.flow, self.c, self.t
        self.title_row()
        hint = flow.commitment_hint()
        if hint:
            self.body.add_widget(self.notice(hint, c.tile))
        rows = vertical(spacing=self.gap / 2, padding=(0, 0, dp(20), 0))
        for index, (line, status, offer) in enumerate(flow.checklist()):
            state = flow.materials[index]
            buttons = []
            if state.committed:
                buttons.append(self.button(t("Withdraw the commitment"), c.secondary, partial(flow.withdraw, index)))
            else:
                label = t("Take more pages") if state.pages else t("Capture")
                buttons.append(self.button(label, c.primary, partial(flow.capture, index)))
            if state.pages:
                buttons.append(self.button(t("Check pages"), c.secondary, partial(flow.review, index)))
            if offer == "commit":
                buttons.append(self.button(t("Sign a commitment instead"), c.secondary, partial(flow.commit, index)))
            rows.add_widget(self.material_row(line, status, state.handed_in, buttons))
        self.body.add_widget(scrolling(rows))
        missing = flow.missing()
        if missing:
            names = ("、" if t.chinese else ", ").join(missing)
            self.body.add_widget(self.notice(t("Not handed in yet: {materials}", materials=names), c.warning))
        if flow.can_submit():
            self.body.add_widget(self.button(t("Hand in"), c.primary, flow.submit))

    def material_row(self, line: str, status: str, done: bool, buttons: list[Widget]) -> Panel:
        c, theme = self.c, self.theme
        row = Panel(c.tile.bg, size_hint_y=None, padding=self.gap, spacing=self.gap)
        words = BoxLayout(orientation="vertical", size_hint_y=None, spacing=self.gap / 4, pos_hint={"center_y": 0.5})
        words.bind(minimum_height=words.setter("height"))
        words.add_widget(self.text(line, c.tile, theme.main, "main", strong=True))
        words.add_widget(self.text(("✓ " if done else "") + status, c.tile, theme.body, "body", paragraph=False))
        row.add_widget(words)
        side = BoxLayout(
            orientation="vertical", size_hint=(None, None), width=dp(theme.button_height) * 4, spacing=self.gap / 2,
            pos_hint={"center_y": 0.5},
        )  # fmt: skip
        for button in buttons:
            side.add_widget(button)
        side.height = len(buttons) * dp(theme.button_height) + (len(buttons) - 1) * self.gap / 2
        row.add_widget(side)

        def fit(*_: object) -> None:
            row.height = max(words.height, side.height) + 2 * self.gap

        words.bind(height=fit)
        fit()
        return row

    def capture(self) -> None:
        flow, c, t, theme = self.flow, self.c, self.t, self.theme
        self.title_row()
        row = self.columns()
        frame = Panel((40, 40, 40), orientation="vertical", padding=self.gap / 2)
        frame.size_hint = (1, 0.55) if self.view.portrait else (0.62, 1)
        words = BoxLayout(
            orientation="vertical", spacing=self.gap, size_hint=(1, 0.45) if self.view.portrait else (0.38, 1)
        )
        prompt = Panel(c.warning.bg, size_hint_y=None, padding=self.gap)
        prompt.bind(minimum_height=prompt.setter("height"))
        said = self.text("", c.warning, theme.title * 1.3, "title", strong=True, halign="center")
        prompt.add_widget(said)
        preview = Preview(flow, prompt, said, lambda ok: c.primary if ok else c.warning, t("Looking for the page…"))
        frame.add_widget(preview)
        row.add_widget(frame)
        words.add_widget(self.text(t("Lay the page under the camera."), c.page, theme.main, "main", strong=True))
        words.add_widget(prompt)
        words.add_widget(Widget())
        words.add_widget(self.button(t("Take the picture now"), c.primary, flow.take_now))
        current = flow.materials[flow.current] if flow.current is not None else None
        if current is not None and current.pages:
            words.add_widget(self.button(t("Finish this material"), c.secondary, flow.done_material))
        row.add_widget(words)
        self.body.add_widget(row)
        stop_when_gone(preview, preview.stop)

    def review(self) -> None:
        flow, c, t, theme = self.flow, self.c, self.t, self.theme
        self.title_row()
        assert flow.current is not None
        pages = flow.materials[flow.current].pages
        width = dp(theme.tile_width)
        grid = GridLayout(
            cols=max(1, int((self.view.width - 2 * self.pad) // (width + self.gap))),
            spacing=self.gap,
            size_hint_y=None,
        )
        grid.bind(minimum_height=grid.setter("height"))
        for number, page in enumerate(pages):
            card = Panel(c.tile.bg, orientation="vertical", size_hint=(None, None), padding=self.gap / 2)
            card.spacing = self.gap / 2
            card.width = width
            picture_height = width * 0.75
            image = Image(texture=texture_of(page.thumbnail), size_hint_y=None, height=picture_height)
            image.fit_mode = "contain"
            card.add_widget(image)
            card.add_widget(
                self.text(t("Page {page}", page=number + 1), c.tile, theme.main, "main", halign="center",
                          paragraph=False)
            )  # fmt: skip
            buttons = self.buttons(
                self.button(t("Retake"), c.secondary, partial(flow.retake, number)),
                self.button(t("Remove"), c.secondary, partial(flow.remove_page, number)),
            )
            card.add_widget(buttons)
            card.height = picture_height + dp(theme.main) * 1.6 + buttons.height + 2 * self.gap
            grid.add_widget(card)
        content = vertical(padding=(0, 0, dp(20), 0))
        content.add_widget(grid)
        self.body.add_widget(scrolling(content))
        self.body.add_widget(
            self.buttons(
                self.button(t("Add a page"), c.secondary, flow.add_page),
                self.button(t("Finish this material"), c.primary, flow.done_material),
            )
        )

    def commitment(self) -> None:
        flow, c, t, theme = self.flow, self.c, self.t, self.theme
        self.title_row()
        panel = Panel(c.tile.bg, orientation="vertical", size_hint_y=None, padding=self.pad, spacing=self.gap)
        panel.bind(minimum_height=panel.setter("height"))
        panel.add_widget(self.text(flow.commitment_text(), c.tile, theme.main, "main"))
        if flow.card is not None:
            signer = t("Signed by: {name} {number}", name=flow.card.masked_name, number=flow.card.masked_number)
            panel.add_widget(self.text(signer, c.tile, theme.body, "body", paragraph=False))
        content = vertical()
        content.add_widget(panel)
        self.body.add_widget(scrolling(content))
        self.body.add_widget(
            self.buttons(
                self.button(t("Back"), c.secondary, self.back),
                self.button(t("I agree and sign the commitment"), c.primary, flow.consent),
            )
        )

    def submitting(self) -> None:
        from kiosk.view import Spinner  # noqa: PLC0415 (kiosk.view imports this module)

        c, theme = self.c, self.theme
        self.title_row()
        self.body.add_widget(Widget())
        spinner = Spinner(c.primary.bg, size_hint=(None, None), size=(dp(160), dp(160)), pos_hint={"center_x": 0.5})
        stop_when_gone(spinner, spinner.stop)
        self.body.add_widget(spinner)
        self.body.add_widget(self.text(self.flow.message, c.page, theme.title, "title", halign="center", strong=True))
        sent, total = self.flow.progress
        self.body.add_widget(Progress(c.secondary.bg, c.primary.bg, sent / total if total else 0.0, height=dp(24)))
        self.body.add_widget(Widget())

    def receipt(self) -> None:
        from kiosk.view import shrink_to_fit  # noqa: PLC0415 (kiosk.view imports this module)

        flow, c, t, theme = self.flow, self.c, self.t, self.theme
        receipt = flow.receipt
        assert receipt is not None
        self.title_row()
        row = self.columns()
        card = Panel(c.card.bg, orientation="vertical", padding=self.pad, spacing=self.gap / 2)
        card.size_hint = (1, 0.55) if self.view.portrait else (0.55, 1)
        card.add_widget(Widget())
        card.add_widget(self.text(receipt.matter_name, c.card, theme.main, "main", halign="center", strong=True))
        if receipt.saved_only:
            saved = t("Your documents are saved on this kiosk and will be sent by themselves.")
            card.add_widget(self.text(saved, c.card, theme.title, "title", halign="center", strong=True))
        else:
            card.add_widget(self.text(t("Case number"), c.card, theme.main, "main", halign="center", paragraph=False))
            number = self.text(
                receipt.case_number, c.card, theme.title * 1.4, "number", fit="width", strong=True, paragraph=False,
                pos_hint={"center_x": 0.5},
            )  # fmt: skip
            card.add_widget(number)
        card.add_widget(Widget())
        if not receipt.saved_only:
            shrink_to_fit(number, card, self.pad)  # one line, smaller type on a narrow card: never broken
        row.add_widget(card)
        side = BoxLayout(orientation="vertical", spacing=self.gap)
        if receipt.status_url:
            qr = Image(texture=qr_texture(receipt.status_url))
            qr.fit_mode = "contain"
            side.add_widget(qr)
            side.add_widget(
                self.text(t("Scan the code on the receipt to follow your case."), c.page, theme.main, "main",
                          halign="center")
            )  # fmt: skip
        if receipt.printed is None and receipt.status_url:
            side.add_widget(self.notice(t("Printing your receipt…"), c.tile))
        elif receipt.printed is False:
            side.add_widget(self.notice(t("The printer failed: please note your case number."), c.alert))
        if not receipt.status_url:
            side.add_widget(Widget())
        side.add_widget(self.button(t("Done"), c.primary, lambda: self.view.tap("home")))
        row.add_widget(side)
        self.body.add_widget(row)

    def message(self) -> None:
        c, t = self.c, self.t
        self.title_row()
        self.body.add_widget(Widget())
        self.body.add_widget(self.notice(self.flow.message, c.alert))
        self.body.add_widget(Widget())
        self.body.add_widget(self.buttons(Widget(), self.button(t("Back"), c.primary, self.back), Widget()))


class Preview(Widget):  # type: ignore[misc]  # Kivy has no type hints
    """The camera's newest frame, fitted into the widget, redrawn ``PREVIEW_FPS`` times a second; the prompt label
    (and its panel's colour) follows the flow's latest verdict in place."""

    def __init__(
        self,
        flow: DocumentFlow,
        panel: Panel,
        label: Any,
        pair_for: Callable[[bool], Pair],
        waiting: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.flow, self.panel, self.label, self.pair_for, self.waiting = flow, panel, label, pair_for, waiting
        self._frame: Any = None
        self._texture: Texture | None = None
        with self.canvas:
            Color(1, 1, 1, 1)
            self._rect = Rectangle()
            self._outline_colour = Color(1, 1, 1, 0)
            self._outline = Line(width=dp(3))
        self.bind(pos=self._place, size=self._place)
        self._event = Clock.schedule_interval(self._tick, 1 / PREVIEW_FPS)
        self._tick(0)

    def stop(self) -> None:
        self._event.cancel()

    def _tick(self, _dt: float) -> None:
        camera = self.flow.camera
        frame = camera.latest() if camera is not None else None
        if frame is not None and frame is not self._frame:
            self._frame = frame
            image = np.asarray(frame)
            while image.shape[1] > PREVIEW_WIDTH:
                image = image[::2, ::2]
            self._texture = texture_of(image, self._texture)
            self._rect.texture = self._texture
            self._place()
        prompt = self.flow.prompt or self.waiting
        if self.label.text != prompt:
            pair = self.pair_for(self.flow.page_ok)
            self.label.text, self.label.color, self.label.outline_color = prompt, rgba(pair.fg), rgba(pair.fg)
            self.label.pair = pair
            self.panel.paint(pair.bg)
            self._outline_colour.rgba = (*rgba(pair.bg)[:3], 1) if self.flow.page_ok else (1, 1, 1, 0)

    def _place(self, *_: object) -> None:
        texture = self._texture
        if texture is None or not self.width or not self.height:
            self._rect.pos, self._rect.size = self.pos, (0, 0)
            return
        scale = min(self.width / texture.width, self.height / texture.height)
        width, height = texture.width * scale, texture.height * scale
        x, y = self.center_x - width / 2, self.center_y - height / 2
        self._rect.pos, self._rect.size = (x, y), (width, height)
        self._outline.rectangle = (x, y, width, height)


class Progress(Widget):  # type: ignore[misc]  # Kivy has no type hints
    """A bar filled to ``share`` (0–1)."""

    def __init__(self, back: tuple[int, int, int], fill: tuple[int, int, int], share: float, **kwargs: Any) -> None:
        super().__init__(size_hint_y=None, **kwargs)
        self.share = max(0.0, min(1.0, share))
        with self.canvas:
            Color(*rgba(back))
            self._back = Rectangle()
            Color(*rgba(fill))
            self._fill = Rectangle()
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: object) -> None:
        self._back.pos, self._back.size = self.pos, self.size
        self._fill.pos, self._fill.size = self.pos, (self.width * self.share, self.height)


def texture_of(image: np.ndarray, reuse: Texture | None = None) -> Texture:
    """A BGR (or grey) image as a Kivy texture (RGBA: every row a multiple of four bytes), into ``reuse`` when it
    has the same size."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    height, width = image.shape[:2]
    rgba_image = np.empty((height, width, 4), np.uint8)
    rgba_image[:, :, :3] = image[::-1, :, 2::-1]  # Kivy's rows run upwards; BGR to RGB
    rgba_image[:, :, 3] = 255
    texture = reuse if reuse is not None and reuse.size == (width, height) else Texture.create(size=(width, height))
    texture.blit_buffer(rgba_image.tobytes(), colorfmt="rgba", bufferfmt="ubyte")
    return texture


def qr_texture(text: str) -> Texture:
    """The QR code of ``text``, one texel a module and its quiet zone, drawn sharp at any size."""
    modules = cv2.QRCodeEncoder.create().encode(text)
    code = np.pad(modules, QR_QUIET, constant_values=255).astype(np.uint8)
    texture = texture_of(code)
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    return texture

"""The hall display board's Kivy widgets: draw a ``Board`` (display/board_model.py), decide nothing.

Landscape (1920×1080): the header (site, the zone of a zone board, date, clock), the newest call very large on the
left, the recent calls and the waiting counts on the right, the notice along the bottom. Portrait (1080×1920): the
same blocks stacked. Light text on a dark hall-board background; the newest call turns yellow while it is
highlighted. Every label carries a ``role`` so the screenshot tests can measure it.
"""

from __future__ import annotations

from typing import Any

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from devicekit.look import RGB, hex_rgb
from devicekit.widgets import NUMBER_FONT, Panel, rgba
from display.board_model import Board, CallLine, WaitingLine

PAGE = hex_rgb("#070B18")
HEADER = hex_rgb("#0B3D91")
CARD = hex_rgb("#111A33")
CELL = hex_rgb("#17223F")
HIGHLIGHT = hex_rgb("#FFD400")
ALERT = hex_rgb("#A3161A")
WHITE = hex_rgb("#FFFFFF")
INK = hex_rgb("#0A0A0A")
YELLOW = hex_rgb("#FFD400")
CYAN = hex_rgb("#7CE0FF")
GREEN = hex_rgb("#8CFFA8")
GREY = hex_rgb("#C8D0E0")


class Text(Label):  # type: ignore[misc]  # Kivy has no type hints
    """One line of text filling its box, cut with an ellipsis rather than spilling out of it."""

    def __init__(
        self, text: str, size: float, colour: RGB, role: str, *, halign: str = "center", number: bool = False, **kw: Any
    ) -> None:
        if number:
            kw["font_name"] = NUMBER_FONT
        super().__init__(
            text=text, font_size=dp(size), color=rgba(colour), halign=halign, valign="middle", shorten=True, **kw
        )
        self.role = role
        self.bind(size=self._fit)

    def _fit(self, *_: object) -> None:
        self.text_size = self.size


class Cell(Panel):
    """A grid cell of two labels whose texts change in place."""

    def __init__(self, left: Text, right: Text) -> None:
        super().__init__(CELL, orientation="horizontal", padding=(dp(20), 0))
        self.first, self.second = left, right  # (Widget.right and .x are taken: positions)
        self.add_widget(left)
        self.add_widget(right)

    def set(self, left: str, right: str) -> None:
        self.first.text, self.second.text = left, right


class BoardView(Panel):
    """Builds its widgets once (again only when the layout itself changes: a zone name, the status line, the first
    call of the day) and afterwards only changes texts and colours, so a call costs a few label textures, not a
    new widget tree."""

    def __init__(self, portrait: bool = False, **kwargs: Any) -> None:
        super().__init__(PAGE, orientation="vertical", **kwargs)
        self.portrait = portrait
        self.shown: tuple[object, ...] | None = None
        self.layout: tuple[object, ...] | None = None
        self.rebuilds = 0
        self.labels: dict[str, Text] = {}
        self.card: Panel | None = None
        self.recent_cells: list[Cell] = []
        self.waiting_cells: list[Cell] = []

    @property
    def clock(self) -> Text | None:
        return self.labels.get("clock")

    def show(self, board: Board) -> None:
        """Rebuild when the layout changed; else change what changed (only the clock, most seconds)."""
        layout = (bool(board.zone_name), bool(board.status_text), board.latest is None)
        if layout != self.layout:
            self._build(board)
            self.layout = layout
            self.shown = None
        if board.key() != self.shown:
            self._fill(board)
            self.shown = board.key()
        self.labels["clock"].text = board.clock_text

    # -- building --------------------------------------------------------------------------------------------------

    def _text(self, role: str, size: float, colour: RGB, **kw: Any) -> Text:
        label = Text("", size, colour, role, **kw)
        self.labels[role] = label
        return label

    def _build(self, board: Board) -> None:
        self.rebuilds += 1
        self.clear_widgets()
        self.labels = {}
        self.add_widget(self._header(board))
        if board.status_text:
            status = Panel(ALERT, size_hint_y=None, height=dp(64), padding=(dp(24), 0))
            status.add_widget(self._text("status", 36, WHITE))
            self.add_widget(status)
        if self.portrait:
            body = BoxLayout(orientation="vertical", padding=dp(24), spacing=dp(24))
            body.add_widget(self._latest(board, size_hint_y=0.42))
            body.add_widget(self._recent(columns=2, rows=4, size_hint_y=0.3))
            body.add_widget(self._waiting(columns=1, rows=5, size_hint_y=0.28))
        else:
            body = BoxLayout(orientation="horizontal", padding=dp(24), spacing=dp(24))
            body.add_widget(self._latest(board, size_hint_x=0.5))
            side = BoxLayout(orientation="vertical", spacing=dp(24), size_hint_x=0.5)
            side.add_widget(self._recent(columns=2, rows=4, size_hint_y=0.52))
            side.add_widget(self._waiting(columns=1, rows=5, size_hint_y=0.48))
            body.add_widget(side)
        self.add_widget(body)
        notice = Panel(CARD, size_hint_y=None, height=dp(84), padding=(dp(32), 0))
        notice.add_widget(self._text("notice", 30 if self.portrait else 36, WHITE, halign="left"))
        self.add_widget(notice)

    def _header(self, board: Board) -> Panel:
        height = 150 if self.portrait else 120
        header = Panel(HEADER, orientation="horizontal", size_hint_y=None, height=dp(height), padding=(dp(32), 0))
        if board.zone_name:  # a zone board: the zone stands out under the site's name
            names = BoxLayout(orientation="vertical", size_hint_x=0.6, padding=(0, dp(10)))
            names.add_widget(self._text("site", 36, WHITE, halign="left"))
            names.add_widget(self._text("zone", 46, YELLOW, halign="left"))
            header.add_widget(names)
        else:
            header.add_widget(self._text("site", 52, WHITE, halign="left", size_hint_x=0.6))
        when = BoxLayout(orientation="vertical", size_hint_x=0.4, padding=(0, dp(12)))
        when.add_widget(self._text("date", 32, WHITE, halign="right"))
        when.add_widget(self._text("clock", 52, WHITE, halign="right", number=True))
        header.add_widget(when)
        return header

    def _latest(self, board: Board, **size: Any) -> Panel:
        self.card = card = Panel(CARD, orientation="vertical", padding=dp(24), **size)
        if board.latest is None:
            card.add_widget(self._text("idle", 96, GREY))
            return card
        big = 300 if self.portrait else 280
        card.add_widget(self._text("caption", 48, WHITE, size_hint_y=0.14))
        card.add_widget(self._text("number", big, YELLOW, number=True, size_hint_y=0.44))
        card.add_widget(self._text("window", 140, WHITE, size_hint_y=0.28))
        card.add_widget(self._text("announcement", 48, WHITE, size_hint_y=0.14))
        return card

    def _recent(self, columns: int, rows: int, **size: Any) -> BoxLayout:
        block = BoxLayout(orientation="vertical", spacing=dp(12), **size)
        title = Text("最近呼叫", 40, GREY, "title", halign="left", size_hint_y=None, height=dp(56))
        block.add_widget(title)
        grid = GridLayout(cols=columns, rows=rows, spacing=dp(12))
        self.recent_cells = [
            Cell(
                Text("", 72, WHITE, "recent-number", number=True, size_hint_x=0.5),
                Text("", 48, CYAN, "recent-window", size_hint_x=0.5),
            )
            for _ in range(columns * rows)
        ]
        for cell in self.recent_cells:
            grid.add_widget(cell)
        block.add_widget(grid)
        return block

    def _waiting(self, columns: int, rows: int, **size: Any) -> BoxLayout:
        block = BoxLayout(orientation="vertical", spacing=dp(12), **size)
        title = BoxLayout(orientation="horizontal", size_hint_y=None, height=dp(56))
        title.add_widget(Text("等候人数", 40, GREY, "title", halign="left"))
        title.add_widget(self._text("waiting-total", 40, GREEN, halign="right"))
        block.add_widget(title)
        grid = GridLayout(cols=columns, rows=rows, spacing=dp(12))
        self.waiting_cells = [
            Cell(
                Text("", 30, WHITE, "matter", halign="left", size_hint_x=0.68),
                Text("", 36, GREEN, "count", halign="right", size_hint_x=0.32),
            )
            for _ in range(columns * rows)
        ]
        for cell in self.waiting_cells:
            grid.add_widget(cell)
        block.add_widget(grid)
        return block

    # -- filling ---------------------------------------------------------------------------------------------------

    def _fill(self, board: Board) -> None:
        labels = self.labels
        labels["site"].text = board.site_name or "政务服务中心"
        if "zone" in labels:
            labels["zone"].text = board.zone_name
        labels["date"].text = board.date_text
        if "status" in labels:
            labels["status"].text = board.status_text
        labels["notice"].text = board.notice or "请按号码顺序等候，留意叫号"
        labels["waiting-total"].text = board.waiting_total_text
        if board.latest is None:
            labels["idle"].text = board.idle_text
        else:
            self._fill_latest(board.latest, board.highlighted)
        calls: list[CallLine] = list(board.recent[: len(self.recent_cells)])
        for n, cell in enumerate(self.recent_cells):
            cell.set(*((calls[n].number, calls[n].window_text) if n < len(calls) else ("", "")))
        lines: list[WaitingLine] = list(board.waiting[: len(self.waiting_cells)])
        for n, cell in enumerate(self.waiting_cells):
            cell.set(*((lines[n].name, lines[n].count_text) if n < len(lines) else ("", "")))

    def _fill_latest(self, call: CallLine, lit: bool) -> None:
        labels, ink = self.labels, INK if lit else WHITE
        assert self.card is not None
        self.card.paint(HIGHLIGHT if lit else CARD)
        labels["caption"].text = "正在呼叫" if lit else "最新叫号"
        labels["number"].text = call.number
        labels["window"].text = call.window_text
        labels["announcement"].text = call.announcement
        for role in ("caption", "window", "announcement"):
            labels[role].color = rgba(ink)
        labels["number"].color = rgba(INK if lit else YELLOW)

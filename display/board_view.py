"""The hall display board's Kivy widgets: draw a ``Board`` (display/board_model.py), decide nothing.

Landscape (1920×1080): the header (site, date, clock), the newest call very large on the left, the recent calls and the
waiting counts on the right, the notice along the bottom. Portrait (1080×1920): the same blocks stacked. Light text
on a dark hall-board background; the newest call turns yellow while it is highlighted. Every label carries a
``role`` so the screenshot tests can measure it.
"""

from __future__ import annotations

from typing import Any

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from display.board_model import Board, CallLine, WaitingLine
from kiosk.theme import RGB, hex_rgb
from kiosk.view import NUMBER_FONT, Panel, rgba

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


class BoardView(Panel):
    def __init__(self, portrait: bool = False, **kwargs: Any) -> None:
        super().__init__(PAGE, orientation="vertical", **kwargs)
        self.portrait = portrait
        self.shown: tuple[object, ...] | None = None
        self.clock: Text | None = None

    def show(self, board: Board) -> None:
        """Rebuild when anything but the time changed; else move the clock on."""
        if board.key() == self.shown and self.clock is not None:
            self.clock.text = board.clock_text
            return
        self.shown = board.key()
        self.clear_widgets()
        self.add_widget(self._header(board))
        if board.status_text:
            status = Panel(ALERT, size_hint_y=None, height=dp(64), padding=(dp(24), 0))
            status.add_widget(Text(board.status_text, 36, WHITE, "status"))
            self.add_widget(status)
        if self.portrait:
            body = BoxLayout(orientation="vertical", padding=dp(24), spacing=dp(24))
            body.add_widget(self._latest(board, size_hint_y=0.42))
            body.add_widget(self._recent(board, columns=2, rows=4, size_hint_y=0.3))
            body.add_widget(self._waiting(board, columns=1, rows=5, size_hint_y=0.28))
        else:
            body = BoxLayout(orientation="horizontal", padding=dp(24), spacing=dp(24))
            body.add_widget(self._latest(board, size_hint_x=0.5))
            side = BoxLayout(orientation="vertical", spacing=dp(24), size_hint_x=0.5)
            side.add_widget(self._recent(board, columns=2, rows=4, size_hint_y=0.52))
            side.add_widget(self._waiting(board, columns=1, rows=5, size_hint_y=0.48))
            body.add_widget(side)
        self.add_widget(body)
        notice = Panel(CARD, size_hint_y=None, height=dp(84), padding=(dp(32), 0))
        text = board.notice or "请按号码顺序等候，留意叫号"
        notice.add_widget(Text(text, 30 if self.portrait else 36, WHITE, "notice", halign="left"))
        self.add_widget(notice)

    # -- the blocks ----------------------------------------------------------------------------------------------

    def _header(self, board: Board) -> Panel:
        height = 150 if self.portrait else 120
        header = Panel(HEADER, orientation="horizontal", size_hint_y=None, height=dp(height), padding=(dp(32), 0))
        header.add_widget(Text(board.site_name or "政务服务中心", 52, WHITE, "site", halign="left", size_hint_x=0.6))
        when = BoxLayout(orientation="vertical", size_hint_x=0.4, padding=(0, dp(12)))
        when.add_widget(Text(board.date_text, 32, WHITE, "date", halign="right"))
        self.clock = Text(board.clock_text, 52, WHITE, "clock", halign="right", number=True)
        when.add_widget(self.clock)
        header.add_widget(when)
        return header

    def _latest(self, board: Board, **size: Any) -> Panel:
        lit = board.highlighted
        card = Panel(HIGHLIGHT if lit else CARD, orientation="vertical", padding=dp(24), **size)
        ink = INK if lit else WHITE
        if board.latest is None:
            card.add_widget(Text(board.idle_text, 96, GREY, "idle"))
            return card
        call: CallLine = board.latest
        big = 300 if self.portrait else 280
        card.add_widget(Text("正在呼叫" if lit else "最新叫号", 48, ink, "caption", size_hint_y=0.14))
        card.add_widget(Text(call.number, big, INK if lit else YELLOW, "number", number=True, size_hint_y=0.44))
        card.add_widget(Text(call.window_text, 140, ink, "window", size_hint_y=0.28))
        card.add_widget(Text(call.announcement, 48, ink, "announcement", size_hint_y=0.14))
        return card

    def _recent(self, board: Board, columns: int, rows: int, **size: Any) -> BoxLayout:
        block = BoxLayout(orientation="vertical", spacing=dp(12), **size)
        block.add_widget(Text("最近呼叫", 40, GREY, "title", halign="left", size_hint_y=None, height=dp(56)))
        grid = GridLayout(cols=columns, rows=rows, spacing=dp(12))
        calls = list(board.recent[: columns * rows])
        for n in range(columns * rows):
            cell = Panel(CELL, orientation="horizontal", padding=(dp(20), 0))
            if n < len(calls):
                cell.add_widget(Text(calls[n].number, 72, WHITE, "recent-number", number=True, size_hint_x=0.5))
                cell.add_widget(Text(calls[n].window_text, 48, CYAN, "recent-window", size_hint_x=0.5))
            grid.add_widget(cell)
        block.add_widget(grid)
        return block

    def _waiting(self, board: Board, columns: int, rows: int, **size: Any) -> BoxLayout:
        block = BoxLayout(orientation="vertical", spacing=dp(12), **size)
        title = BoxLayout(orientation="horizontal", size_hint_y=None, height=dp(56))
        title.add_widget(Text("等候人数", 40, GREY, "title", halign="left"))
        title.add_widget(Text(board.waiting_total_text, 40, GREEN, "waiting-total", halign="right"))
        block.add_widget(title)
        grid = GridLayout(cols=columns, rows=rows, spacing=dp(12))
        lines: list[WaitingLine] = list(board.waiting[: columns * rows])
        for n in range(columns * rows):
            cell = Panel(CELL, orientation="horizontal", padding=(dp(20), 0))
            if n < len(lines):
                cell.add_widget(Text(lines[n].name, 30, WHITE, "matter", halign="left", size_hint_x=0.68))
                cell.add_widget(Text(lines[n].count_text, 36, GREEN, "count", halign="right", size_hint_x=0.32))
            grid.add_widget(cell)
        block.add_widget(grid)
        return block

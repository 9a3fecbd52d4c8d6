"""Render the hall display board in a real (offscreen) Kivy window; save a screenshot and its labels' measurements.

One process can open one Kivy window, so the tests run this as a subprocess per render:

    python -m tests.display.render_board WIDTHxHEIGHT OUT.png [--json OUT.json] [--font FONT] [--offline] [--zone]
    python -m tests.display.render_board --all docs/screenshots      # the screenshots kept in the repository

The board is fed by the hub's real gateway on the sample district (2026-11-25 10:00): tickets taken, a few calls,
the newest one still highlighted, a notice. The JSON lists every label's text, role, font size in dp and box.
"""

from __future__ import annotations

# Importing render_kiosk sets Kivy's environment (offscreen window, no logs, a temporary KIVY_HOME) before Kivy loads.
from tests.kiosk.render_kiosk import label_facts, save_window, size_window  # isort: skip

import argparse
import json
import subprocess
import sys
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.label import Label

from devicekit.look import CJK_FONT
from devicekit.widgets import use_font
from display.board_model import Board, BoardModel, Zone
from display.board_view import BoardView
from tests.display.test_board_model import BoardHall

NOTICE = "温馨提示：请提前备好身份证件和申请材料；过号请到服务台重新取号。"
ZONE = Zone(name="社保医保区", windows=frozenset({"w07", "w08"}))
"""The zone board of the screenshots: windows 7 and 8 (social security and medical insurance)."""
SCREENSHOTS = {
    "board-landscape.png": ("1920x1080", []),
    "board-portrait.png": ("1080x1920", []),
    "board-zone-portrait.png": ("1080x1920", ["--zone"]),
}


def build_board(offline: bool = False, zone: bool = False) -> tuple[Board, Board]:
    """The board a minute after its fourth call (nothing highlighted), and the board of the screenshot."""
    hall = BoardHall()
    hall.take(*["A02"] * 5, *["B01"] * 6, *["C01"] * 3, *["D01"] * 4, "E01", *["F01"] * 2)
    model = BoardModel(hall.site_id, highlight_seconds=10, zone=ZONE if zone else None)
    model.on_info(hall.info)
    model.hub_online = not offline
    earlier: Board | None = None
    windows = ("w01", "w07", "w08", "w09", "w05", "w02", "w10", "w03", *(("w07", "w08", "w07") if zone else ()))
    for n, window in enumerate(windows):
        hall.call(window)
        hall.deliver()
        model.board(hall.view, hall.now)
        if n == 3:
            model.hub_online = True
            earlier = model.board(hall.view, hall.now + timedelta(minutes=1))
            model.hub_online = not offline
    snapshot = hall.snapshot()
    hall.view.apply_snapshot(msgspec.structs.replace(snapshot, notice=NOTICE))
    assert earlier is not None
    return earlier, model.board(hall.view, hall.now + timedelta(seconds=3))


def measure(root: Any) -> list[dict[str, Any]]:
    return [label_facts(w) for w in root.walk(restrict=True) if isinstance(w, Label) and w.text.strip()]


def render(size: str, out: Path, measurements: Path | None, font: str, *, offline: bool, zone: bool) -> None:
    width, height = (int(v) for v in size.split("x"))
    size_window(width, height)
    earlier, board = build_board(offline, zone)
    use_font(font)

    class Shot(App):  # type: ignore[misc]  # Kivy has no type hints
        def build(self) -> BoardView:
            self.view = BoardView(portrait=height > width)
            self.view.show(earlier)  # drawn first, then changed in place into the board of the screenshot
            self.updated = False
            Clock.schedule_interval(self.check, 0)
            return self.view

        def check(self, _dt: float) -> bool:
            if not self.updated and Clock.frames_displayed >= 2:
                self.view.show(board)
                self.updated = Clock.frames_displayed
            if not self.updated or Clock.frames_displayed < self.updated + 4:  # labels settle their sizes
                return True
            save_window(out, width, height)
            if measurements is not None:
                data = {
                    "size": [width, height],
                    "font": font,
                    "labels": measure(self.view),
                    "texts": board.texts(),
                    "rebuilds": self.view.rebuilds,
                }
                measurements.write_text(json.dumps(data, ensure_ascii=False, indent=1))
            self.stop()
            return False

    try:
        Shot().run()
    except BaseException:
        traceback.print_exc(file=sys.__stderr__)
        raise


def render_all(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (size, extra) in SCREENSHOTS.items():
        command = [sys.executable, "-m", "tests.display.render_board", size, str(folder / name), *extra]
        subprocess.run(command, check=True)
        print(folder / name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--all", type=Path, metavar="FOLDER", help="write the repository's screenshots here")
    parser.add_argument("size", nargs="?", default="1920x1080")
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument("--font", default=CJK_FONT, help="the default font (a non-CJK one shows the boxes)")
    parser.add_argument("--offline", action="store_true", help="the hub is unreachable")
    parser.add_argument("--zone", action="store_true", help="a zone board (windows 7 and 8)")
    args = parser.parse_args(argv)
    if args.all is not None:
        render_all(args.all)
    elif args.out:
        render(args.size, args.out, args.json, args.font, offline=args.offline, zone=args.zone)
    else:
        parser.error("give SIZE OUT, or --all FOLDER")


if __name__ == "__main__":
    main()

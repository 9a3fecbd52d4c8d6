"""Render one kiosk screen in a real (offscreen) Kivy window, save a screenshot and the measurements of what it drew.

One process can open one Kivy window, so the tests run this as a subprocess per screen:

    python -m tests.kiosk.render_kiosk SCENE WIDTHxHEIGHT OUT.png [--json OUT.json] [--font FONT]
    python -m tests.kiosk.render_kiosk --all docs/screenshots      # the screenshots kept in the repository

The model is fed the sample district at 2026-11-25 10:00 (Wednesday) by the hub's real builders, with every site's
windows open, tickets waiting and one matter sold out. The JSON lists every label (text, role, font size in dp,
colour, the background it is drawn on, its box and its text's size), every tappable widget's size in dp and the
theme's colour pairs in use.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Kivy reads its environment when it is imported: set it first.
os.environ.pop("DISPLAY", None)  # the bundled SDL2 then opens an offscreen EGL window
os.environ.update(KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_NO_FILELOG="1", SDL_AUDIODRIVER="dummy")
if "KIVY_HOME" not in os.environ:  # else importing Kivy writes ~/.kivy
    os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")
    atexit.register(shutil.rmtree, os.environ["KIVY_HOME"], ignore_errors=True)

import argparse
import json
import subprocess
import sys
import traceback
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.config import Config
from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from PIL import Image

from kiosk.model import KioskModel
from kiosk.theme import CJK_FONT
from kiosk.view import KioskView, Panel, use_font
from tests.kiosk.test_model import DISTRICT, WEDNESDAY_10AM, Hall

WAITING = {"A02": 3, "B01": 6, "C01": 2, "D01": 4, "E01": 1, "F01": 5}
SOLD_OUT = "B03"


@dataclass(frozen=True)
class Scene:
    elder: bool = False
    steps: tuple[str, ...] = ()
    """Taps on the model before the screenshot."""
    issue: str | None = None
    """Take a ticket for this matter."""
    printed: bool = True
    warn: bool = False
    """Let the screen idle into its elder-mode warning."""


SCENES = {
    "home": Scene(),
    "matters": Scene(steps=("take",)),
    "nearby": Scene(steps=("nearby",)),
    "ticket": Scene(steps=("take",), issue="B01"),
    "ticket-unprinted": Scene(steps=("take",), issue="B01", printed=False),
    "message": Scene(steps=("help",)),
    "elder-home": Scene(elder=True),
    "elder-matters": Scene(elder=True, steps=("take",)),
    "elder-ticket": Scene(elder=True, steps=("take",), issue="B01", warn=True),
    "elder-english-ticket": Scene(elder=True, steps=("language", "take"), issue="B01", printed=False),
}

SCREENSHOTS = {
    "kiosk-home.png": ("home", "1920x1080"),
    "kiosk-matters.png": ("matters", "1920x1080"),
    "kiosk-ticket.png": ("ticket", "1366x768"),
    "kiosk-elder-home.png": ("elder-home", "1366x768"),
    "kiosk-elder-ticket.png": ("elder-ticket", "1920x1080"),
    "kiosk-ticket-portrait.png": ("ticket-unprinted", "1080x1920"),
}


def build_model(scene: Scene) -> KioskModel:
    hall = Hall()
    for site in DISTRICT.sites:
        hall.open_windows(site.id)
    for code, count in WAITING.items():
        for n in range(count):
            assert hall.issue({"matters": [code]}, f"{code}-{n}").ok
    sold_out = next(m for m in hall.kiosk.info.matters if m.code == SOLD_OUT)  # type: ignore[union-attr]
    for n in range(sold_out.daily_limit):
        assert hall.issue({"matters": [SOLD_OUT]}, f"{SOLD_OUT}-{n}").ok
    hall.refresh()
    model, now = hall.kiosk, hall.now
    if scene.elder:
        model.tap("elder", now)
    for action in scene.steps:
        model.tap(action, now)
    if scene.issue is not None:
        body = model.choose_matter(scene.issue, now)
        assert body is not None
        model.on_issue_reply(hall.issue(body, "mine"), printed=scene.printed)
    if scene.warn:
        model.tick(now + timedelta(seconds=model.timing.elder_idle_seconds - 15))
    return model


def size_window(width: int, height: int) -> None:
    """Before the window opens: offscreen, a window cannot be resized later."""
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0")
    Config.set("kivy", "exit_on_escape", "0")


def measure(root: Any) -> dict[str, Any]:
    def rgb(rgba: Any) -> list[int]:
        return [round(c * 255) for c in rgba[:3]]

    def box(widget: Any) -> list[float]:
        """x, y (from the bottom), width and height in window pixels."""
        x, y = widget.to_window(widget.x, widget.y)
        return [x, y, widget.width, widget.height]

    def ancestors(widget: Any) -> list[Any]:
        chain = []
        while widget.parent is not None and widget.parent is not widget:
            widget = widget.parent
            chain.append(widget)
        return chain

    def drawn_on(widget: Any) -> Any:
        """What paints the background behind a label: its own button face, else the nearest panel."""
        return next(w for w in (widget, *ancestors(widget)) if isinstance(w, Button | Panel))

    def background(owner: Any) -> list[int]:
        return rgb(owner.background_color) if isinstance(owner, Button) else list(owner.bg)

    unit = dp(1)
    labels, buttons, pairs = [], [], set()
    for widget in root.walk(restrict=True):
        if isinstance(widget, Label):
            owner = drawn_on(widget)
            labels.append(
                {
                    "text": widget.text,
                    "role": getattr(widget, "role", None),
                    "font_dp": widget.font_size / unit,
                    "color": rgb(widget.color),
                    "bg": background(owner),
                    "box": box(widget),
                    "panel": box(owner),
                    "texture": list(widget.texture_size),
                    "scrolls": any(isinstance(a, ScrollView) for a in ancestors(widget)),
                }
            )
        if isinstance(widget, ButtonBehavior):
            texts = [w.text for w in widget.walk(restrict=True) if isinstance(w, Label)]
            buttons.append(
                {"text": " ".join(texts), "width_dp": widget.width / unit, "height_dp": widget.height / unit}
            )
        if hasattr(widget, "pair"):
            pairs.add(widget.pair)
    return {
        "theme": root.theme.name,
        "labels": labels,
        "buttons": buttons,
        "pairs": {
            name: {"fg": list(pair.fg), "bg": list(pair.bg)}
            for name, pair in root.theme.colours.pairs().items()
            if pair in pairs
        },
    }


def save_window(out: Path, width: int, height: int) -> None:
    """The window's pixels as an RGB PNG. (``Window.screenshot`` skews windows whose RGB rows are not a multiple of
    4 bytes wide, such as 1366 pixels.)"""
    pixels = glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE)
    image = Image.frombytes("RGBA", (width, height), pixels).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    image.convert("RGB").save(out, optimize=True)


def render(scene_name: str, size: str, out: Path, measurements: Path | None, font: str) -> None:
    width, height = (int(v) for v in size.split("x"))
    size_window(width, height)
    model = build_model(SCENES[scene_name])
    use_font(font)

    class Shot(App):  # type: ignore[misc]  # Kivy has no type hints
        def build(self) -> KioskView:
            self.view = KioskView(model, now=lambda: WEDNESDAY_10AM, issue=lambda _body: None)
            Clock.schedule_interval(self.check, 0)
            return self.view

        def check(self, _dt: float) -> bool:
            if Clock.frames_displayed < 5:  # the first frames may be black; labels settle their sizes in between
                return True
            save_window(out, width, height)
            if measurements is not None:
                data = {"scene": scene_name, "size": [width, height], "font": font, **measure(self.view)}
                measurements.write_text(json.dumps(data, ensure_ascii=False, indent=1))
            self.stop()
            return False

    try:
        Shot().run()
    except BaseException:
        traceback.print_exc(file=sys.__stderr__)  # Kivy's logger holds sys.stderr while console logs are off
        raise


def render_all(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (scene, size) in SCREENSHOTS.items():
        subprocess.run([sys.executable, "-m", "tests.kiosk.render_kiosk", scene, size, str(folder / name)], check=True)
        print(folder / name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", type=Path, metavar="FOLDER", help="write the repository's screenshots here")
    parser.add_argument("scene", nargs="?", choices=sorted(SCENES))
    parser.add_argument("size", nargs="?", default="1920x1080")
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument("--font", default=CJK_FONT, help="the default font (a non-CJK one shows the boxes)")
    args = parser.parse_args(argv)
    if args.all is not None:
        render_all(args.all)
    elif args.scene and args.out:
        render(args.scene, args.size, args.out, args.json, args.font)
    else:
        parser.error("give SCENE SIZE OUT, or --all FOLDER")


if __name__ == "__main__":
    main()

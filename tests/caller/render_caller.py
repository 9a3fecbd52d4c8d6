"""Render the counter caller in a real (offscreen) Kivy window; save a screenshot and its labels' measurements.

One process can open one Kivy window, so the tests run this as a subprocess per render:

    python -m tests.caller.render_caller SCENE WIDTHxHEIGHT OUT.png [--json OUT.json] [--font FONT]
    python -m tests.caller.render_caller --all docs/screenshots      # the screenshots kept in the repository

The model is fed by the hub's real gateway in memory (tests/caller/hall.py) on the sample district, Wednesday
2026-11-25: tickets taken from 09:30, window 1 open by 李敏 at 10:00 with a ticket in service, three tickets past the
15-minute target, one ticket parked, one chosen in the queue. The JSON lists every label's text, role, font size
in dp, box and text size, and every button's label and size.
"""

from __future__ import annotations

# Importing render_kiosk sets Kivy's environment (offscreen window, no logs, a temporary KIVY_HOME) before Kivy loads.
from tests.kiosk.render_kiosk import label_facts, save_window, size_window  # isort: skip

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
from kivy.metrics import dp
from kivy.uix.button import Button
from kivy.uix.label import Label

import contract as wire
from caller.model import CallerModel
from caller.view import CallerView
from devicekit.look import CJK_FONT
from devicekit.widgets import use_font
from tests.caller.hall import WEDNESDAY_10AM, Hall

START = WEDNESDAY_10AM - timedelta(minutes=30)


@dataclass(frozen=True)
class Scene:
    compact: bool = False
    signed_in: bool = True
    offline: bool = False
    language: str = "zh_CN"
    returned_case: bool = False
    """The citizen at the window handed in documents at a kiosk, and a clerk returned them for correction."""


SCENES = {
    "main": Scene(),
    "compact": Scene(compact=True),
    "sign-in": Scene(signed_in=False, offline=True),
    "offline": Scene(offline=True),
    "compact-english": Scene(compact=True, language="en"),
    "case-returned": Scene(returned_case=True),
    "case-returned-english": Scene(returned_case=True, language="en"),
}
SCREENSHOTS = {
    "caller-main.png": ("main", "1920x1080"),
    "caller-compact.png": ("compact", "360x640"),
    "caller-case-returned.png": ("case-returned", "1280x800"),
}
RETURN_REASON = "营业执照正本照片反光看不清，请补交营业执照副本复印件并加盖公章"


def build_model(scene: Scene) -> CallerModel:
    hall = Hall(now=START, language=scene.language)
    for minutes, matter, priority in (
        (0, "A02", "normal"),
        (0, "A01", "normal"),
        (8, "B01", "normal"),
        (10, "A03", "elderly"),
        (16, "C01", "normal"),
        (18, "A02", "appointment"),
        (22, "E01", "normal"),
        (25, "A04", "normal"),
        (27, "B02", "elderly"),
        (28, "D01", "normal"),
    ):
        hall.now = START + timedelta(minutes=minutes)
        hall.issue(matter, priority=priority)
    hall.now = WEDNESDAY_10AM
    if not scene.signed_in:
        hall.do(hall.model.sign_in("li01", "0000"))  # a wrong PIN: the hub's refusal shows
    else:
        hall.sign_in()
        hall.do(hall.model.command("call_next"))
        hall.do(hall.model.command("start"))
        hall.do(hall.model.command("park"))  # the first citizen fetches a missing paper
        hall.do(hall.model.command("call_next"))
        hall.do(hall.model.command("start"))
        hall.model.select_step(1)
        hall.model.select_step(1)
        hall.model.shortcut("f3")  # the clerk presses F3 again: the model says the last action is still working
        hall.model.working = None
        hall.model.message, hall.model.message_is_error = "", False
    if scene.returned_case:
        hand_in_returned(hall.model)
    hall.model.compact = scene.compact
    hall.model.set_online(not scene.offline)
    return hall.model


def hand_in_returned(model: CallerModel) -> None:
    """The hub's answer about the ticket at the window: one case handed in at 09:42, returned at 09:55."""
    ticket = model.documents_request()
    assert ticket is not None and model.current is not None
    case = wire.TicketCase(
        case_number="CENTRE-20261125-0007", matter=model.current.matters[0], state=wire.CaseState.RETURNED, pages=4,
        reason=RETURN_REASON, handed_in_at=START + timedelta(minutes=12), decided_at=START + timedelta(minutes=25),
    )  # fmt: skip
    model.on_documents(ticket, (case,))


def measure(root: Any) -> dict[str, Any]:
    unit = dp(1)
    labels, buttons = [], []
    for widget in root.walk(restrict=True):
        if isinstance(widget, Label) and widget.text.strip():
            labels.append({**label_facts(widget), "button": isinstance(widget, Button)})
        if isinstance(widget, Button):
            buttons.append(
                {
                    "label": getattr(widget, "label", widget.text),
                    "key": getattr(widget, "key", ""),
                    "enabled": not widget.disabled,
                    "width_dp": widget.width / unit,
                    "height_dp": widget.height / unit,
                }
            )
    return {"labels": labels, "buttons": buttons}


def render(scene_name: str, size: str, out: Path, measurements: Path | None, font: str) -> None:
    width, height = (int(v) for v in size.split("x"))
    size_window(width, height)
    model = build_model(SCENES[scene_name])
    use_font(font)

    class Shot(App):  # type: ignore[misc]  # Kivy has no type hints
        def build(self) -> CallerView:
            self.view = CallerView(model, send=lambda _request: None, now=lambda: WEDNESDAY_10AM)
            self.view.render()
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
        command = [sys.executable, "-m", "tests.caller.render_caller", scene, size, str(folder / name)]
        subprocess.run(command, check=True)
        print(folder / name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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

"""Drive the real kiosk app (``kiosk.app.build_app``) in an offscreen Kivy window through handing in documents, by
touches on the screen: home tile → matter → capture (the document camera a folder of photographs) → elder mode on →
hand in → receipt → home. Run by tests/kiosk/test_document_screens.py (one Kivy window per process):

    python -m tests.kiosk.drive_documents --config kiosk.toml --out result.json --shots DIR

``result.json`` says which steps were seen, the case number, and the window pictures taken on the way.
"""

# ruff: noqa: I001  (render_kiosk first: it sets Kivy's environment, read when Kivy is imported)
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.kiosk import render_kiosk  # first: it sets Kivy's environment for an offscreen window

from kivy.app import App
from kivy.clock import Clock
from kivy.tests.common import UnitTestTouch
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label

from kiosk.app import build_app, configure_window
from kiosk.config import load_config
from kiosk.documents.flow import DocumentFlow, Step
from kiosk.documents.view import Preview
from kiosk.model import Screen

STEP_SECONDS = 30.0


def tappable(root: Any, text: str) -> Any:
    """The button (or tile) that shows ``text``, or None."""
    for widget in root.walk(restrict=True):
        if isinstance(widget, ButtonBehavior):
            labels = [w.text for w in widget.walk(restrict=True) if isinstance(w, Label)]
            if text in labels:
                return widget
    return None


def preview_drawn(view: Any) -> bool:
    """The live camera picture has a frame in it (a loaded machine may take a while for the first one)."""
    return any(isinstance(w, Preview) and w._texture is not None for w in view.walk(restrict=True))


def touch(widget: Any) -> None:
    """A finger down and up on the middle of ``widget``, through the window's input."""
    x, y = widget.to_window(widget.center_x, widget.center_y)
    finger = UnitTestTouch(x, y)
    finger.touch_down()
    finger.touch_up()


def script(app: Any, flow: DocumentFlow, shots: Path, seen: dict[str, Any]) -> Iterator[Callable[[], bool]]:
    """Conditions to wait for, each followed by what a citizen then does (the generator's code between them)."""
    model = app.model

    def tap(text: str) -> None:
        widget = tappable(app.view, text)
        assert widget is not None, f"no {text!r} on the screen ({model.screen}, {flow.step})"
        touch(widget)

    def shot(name: str) -> None:
        path = shots / f"{name}.png"
        render_kiosk.save_window(path, *app.root_window.size)
        seen["shots"].append(str(path))

    yield lambda: model.hub_online and model.info is not None and tappable(app.view, "材料提交") is not None
    tap("材料提交")
    yield lambda: model.screen == Screen.DOCUMENTS and flow.step == Step.MATTERS and bool(flow.matters())
    seen["steps"].append("matters")
    tap("居住证办理")
    yield lambda: flow.step == Step.CHECKLIST
    seen["steps"].append("checklist")
    tap("拍摄")
    yield lambda: flow.step == Step.CAPTURE and app.view is not None and bool(flow.prompt) and preview_drawn(app.view)
    yield lambda: True  # one frame more: the texture just filled is on the screen
    seen["steps"].append("capture")
    seen["prompt"] = flow.prompt
    shot("capture")
    yield lambda: flow.step == Step.REVIEW  # the page lay still: taken by itself
    seen["steps"].append("review")
    seen["pages"] = len(flow.materials[0].pages)
    tap("完成本项材料")
    yield lambda: flow.step == Step.CHECKLIST
    tap("长辈模式")  # elder mode from here on: larger type and targets, the same flow
    yield lambda: model.elder_mode
    tap("确认提交")
    yield lambda: flow.step == Step.RECEIPT and flow.receipt is not None and flow.receipt.printed is not None
    seen["steps"].append("receipt")
    assert flow.receipt is not None
    seen["case_number"], seen["printed"] = flow.receipt.case_number, flow.receipt.printed
    seen["status_url"] = flow.receipt.status_url
    shot("receipt")
    tap("完成")
    yield lambda: model.screen == Screen.HOME
    seen["steps"].append("home")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shots", type=Path, required=True)
    args = parser.parse_args()
    settings = load_config(args.config)
    configure_window(settings)
    app = build_app(settings)
    flow = app.model.documents
    assert flow is not None, "documents are off in the configuration"
    seen: dict[str, Any] = {"steps": [], "shots": [], "error": None}
    steps = script(app, flow, args.shots, seen)
    state: dict[str, Any] = {"until": None, "deadline": time.monotonic() + STEP_SECONDS}

    def drive(_dt: float) -> bool:
        try:
            if state["until"] is None or state["until"]():
                state["until"] = next(steps)
                state["deadline"] = time.monotonic() + STEP_SECONDS
            elif time.monotonic() > state["deadline"]:
                raise TimeoutError(f"stuck at {app.model.screen} / {flow.step} ({seen['steps']})")
        except StopIteration:
            App.get_running_app().stop()
            return False
        except Exception as error:  # the test reads it from the result
            seen["error"] = f"{type(error).__name__}: {error}"
            App.get_running_app().stop()
            return False
        return True

    Clock.schedule_interval(drive, 0.1)
    try:
        app.run()
    finally:
        args.out.write_text(json.dumps(seen, ensure_ascii=False))


if __name__ == "__main__":
    main()

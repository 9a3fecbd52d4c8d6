"""Run the real caller app (``caller.app.CallerApp``: Kivy, worker threads, the link) against a running hub in an
offscreen window, play a clerk's keystrokes on it and write down what it showed.

    python -m tests.caller.run_app OUT.json OUT.png     (the hub and the device come from CALLER_* variables)

The clerk types the staff id and PIN into the sign-in form and presses Enter, then F1 (call next), F3 (start) and
F10 (compact), delivered to the window as key events. Each step waits until the app has applied the hub's answer on
the Kivy thread; the last one until the documents of the ticket at the window were read (HTTP, ``CALLER_HUB_URL``).
"""

from __future__ import annotations

# Importing render_kiosk sets Kivy's environment (offscreen window, no logs, a temporary KIVY_HOME) before Kivy loads.
from tests.kiosk.render_kiosk import save_window  # isort: skip

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from kivy.base import EventLoop
from kivy.clock import Clock

from caller.app import CallerApp, configure_window
from caller.config import load_config
from caller.model import SHORTCUTS, Status
from caller.view import KEY_NAMES


def main(out: Path, png: Path) -> None:
    assert set(SHORTCUTS) <= set(KEY_NAMES.values()), "a shortcut without a key code"
    settings = load_config()
    configure_window(settings)
    app = CallerApp(settings)
    model = app.model
    steps: list[tuple[str, Callable[[], bool], Callable[[], None]]] = [
        ("connected", lambda: app.hub.online and model.info is not None, lambda: None),
        ("sign in", lambda: app.view is not None and app.view.staff_input is not None, lambda: sign_in(app)),
        ("signed in", lambda: model.clerk is not None and bool(model.queue), lambda: press("f1")),
        ("called", lambda: model.status is Status.CALLED and model.working is None, lambda: press("f3")),
        ("serving", lambda: model.status is Status.SERVING and model.working is None, lambda: press("f10")),
        ("compact", lambda: model.compact, lambda: None),
        ("documents", lambda: model.documents_of is not None, lambda: None),  # read over HTTP for the ticket
    ]
    done: list[str] = []
    deadline = time.monotonic() + float(os.environ.get("RUN_APP_TIMEOUT", "20"))

    def step(_dt: float) -> bool:
        if steps and steps[0][1]():
            name, _ready, act = steps.pop(0)
            done.append(name)
            act()
        if not steps or time.monotonic() > deadline:
            width, height = settings.window_size
            save_window(png, width, height)
            current = model.current
            result = {
                "steps": done,
                "clerk": model.clerk.name if model.clerk else None,
                "current": current.number if current else None,
                "serving": bool(current and current.serving),
                "queue": [ticket.number for ticket in model.queue],
                "message": model.message,
                "compact": model.compact,
                "documents_of": model.documents_of,
                "ticket_id": current.ticket_id if current else None,
            }
            out.write_text(json.dumps(result, ensure_ascii=False))
            app.stop()
            return False
        return True

    Clock.schedule_interval(step, 0.05)
    app.run()


def press(key: str) -> None:
    """A key press as the keyboard delivers it to the window (Kivy's key codes)."""
    code = next(code for code, name in KEY_NAMES.items() if name == key)
    EventLoop.window.dispatch("on_key_down", code, 0, "", [])


def sign_in(app: CallerApp) -> None:
    view = app.view
    assert view is not None and view.staff_input is not None and view.pin_input is not None
    view.staff_input.text = os.environ["RUN_APP_STAFF"]
    view.pin_input.text = os.environ["RUN_APP_PIN"]
    view.pin_input.dispatch("on_text_validate")  # Enter in the PIN field


if __name__ == "__main__":
    try:
        main(Path(sys.argv[1]), Path(sys.argv[2]))
    except BaseException:
        traceback.print_exc(file=sys.__stderr__)  # Kivy's logger holds sys.stderr while console logs are off
        raise

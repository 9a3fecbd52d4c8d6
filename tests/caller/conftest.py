"""The caller's screenshots take a few seconds of Kivy per render: they start with the first caller test, in the
background, so they are ready (or nearly) by the time ``test_screens.py`` looks at them. Under pytest-xdist they
start when ``test_screens.py`` needs them, on the worker that runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from devicekit.look import CJK_FONT
from tests.kiosk.test_screens import ROBOTO, Render

ROOT = Path(__file__).resolve().parents[2]
RENDERS: dict[str, tuple[str, str, str]] = {
    "main": ("main", "1920x1080", CJK_FONT),
    "main-roboto": ("main", "1920x1080", ROBOTO),
    "compact": ("compact", "360x640", CJK_FONT),
    "sign-in": ("sign-in", "1280x800", CJK_FONT),
    "case-returned": ("case-returned", "1280x800", CJK_FONT),
}
"""name -> (scene of render_caller.py, window size, default font)."""


class Renders:
    """The renders, two at a time (one per core of a small machine), in the background."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pool: ThreadPoolExecutor | None = None
        self.futures: dict[str, Future[subprocess.CompletedProcess[str]]] = {}

    def start(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="caller-render")
        for name, (scene, size, font) in RENDERS.items():
            png, data = self.folder / f"{name}.png", self.folder / f"{name}.json"
            command = [sys.executable, "-m", "tests.caller.render_caller", scene, size, str(png), "--json", str(data)]
            self.futures[name] = self.pool.submit(
                subprocess.run,
                [*command, "--font", font],
                check=False,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )

    def result(self, name: str) -> Render:
        done = self.futures[name].result()
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        return Render(self.folder / f"{name}.png", json.loads((self.folder / f"{name}.json").read_text()))

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session", autouse=True)
def caller_renders(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Renders]:
    renders = Renders(tmp_path_factory.mktemp("caller-screens"))
    screens = any(
        item.path.name == "test_screens.py" and item.path.parent.name == "caller" for item in request.session.items
    )
    if screens and "PYTEST_XDIST_WORKER" not in os.environ:  # a worker of xdist may not run test_screens.py at all
        renders.start()
    try:
        yield renders
    finally:
        renders.stop()

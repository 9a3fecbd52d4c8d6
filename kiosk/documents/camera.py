"""The document camera (高拍仪) as the ``Viewfinder`` reads it: ``read() -> (ok, frame)`` and ``release()``.

``open_document_camera(source)`` opens an OpenCV ``VideoCapture`` on a device index, a video file or a stream URL,
or, for ``folder:PATH``, a ``FolderCamera`` that shows the photographs of a folder in turn, for ever: a kiosk
without the hardware (a demo, a test) hands in documents all the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.documents.flow import Capture
from kiosk.qr_scan import open_camera

DOCUMENT_CAMERA_SIZE = (1920, 1080)
"""Asked of a document camera: the page analysis and the corrected pages are made for 1080p."""
PICTURES = (".jpg", ".jpeg", ".png")


class FolderCamera:
    """The pictures of a folder (sorted by name) as camera frames, each ``seconds`` long, ``fps`` frames a second."""

    def __init__(
        self,
        folder: Path,
        *,
        seconds: float = 6.0,
        fps: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in PICTURES) if folder.is_dir() else []
        pictures = (cv2.imread(str(path), cv2.IMREAD_COLOR) for path in paths)
        self.frames: list[np.ndarray] = [picture for picture in pictures if picture is not None]
        self.seconds, self.interval, self.clock = seconds, 1 / fps, clock
        self._start = clock()

    def read(self) -> tuple[bool, Any]:
        if not self.frames:
            return False, None
        time.sleep(self.interval)
        index = int((self.clock() - self._start) // self.seconds) % len(self.frames)
        return True, self.frames[index]

    def release(self) -> None:
        self.frames = []


def open_document_camera(source: str) -> Capture:
    """``folder:PATH``, a device index ("1") or a video file / stream URL."""
    if source.startswith("folder:"):
        return FolderCamera(Path(source.removeprefix("folder:")))
    width, height = DOCUMENT_CAMERA_SIZE
    return open_camera(int(source) if source.isdigit() else source, width=width, height=height)

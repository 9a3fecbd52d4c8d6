"""Reading appointment QR codes from the kiosk camera (OpenCV), for a worker thread of the kiosk.

``decode_frame(frame)`` gives the text of a QR code in one image, or None; it never raises for a bad image. It tries
the frame downscaled to ``max_width`` (detection on a 1080p photo costs ~150 ms, at 960 px ~40 ms), then
preprocessed versions for glare, blur and low contrast: grayscale, sharpened, adaptive threshold.

``QrScanner`` reads frames from anything with ``read() -> (ok, frame)`` and ``release()``: a ``cv2.VideoCapture``
(a camera index, a video file, an image-sequence pattern ``img_%02d.png``), or ``FrameSource`` over any iterable of
frames (tests, a stand-in camera). ``poll()`` reads one frame; ``scan(timeout)`` polls until a code is read. The same
text is not returned again within ``repeat_after`` seconds, so a phone held in front of the camera checks in once.

A kiosk worker thread::

    scanner = QrScanner(open_camera(0, width=1280, height=720))
    while running:
        text = scanner.scan(timeout=0.5)
        if text and text.startswith("HQ1."):          # an appointment code: the hub checks it (action check-in)
            loop.call_soon_threadsafe(model.code_scanned, text)
    scanner.close()

This module is the camera adapter: it alone imports cv2.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import cv2
import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MAX_WIDTH = 960


class Capture(Protocol):
    """What ``cv2.VideoCapture`` offers and the scanner needs."""

    def read(self) -> tuple[bool, Any]: ...

    def release(self) -> None: ...


class FrameSource:
    """A ``Capture`` over an iterable of frames (BGR or gray arrays); ``read`` gives (False, None) at the end."""

    def __init__(self, frames: Iterable[Any]) -> None:
        self._frames: Iterator[Any] = iter(frames)

    def read(self) -> tuple[bool, Any]:
        frame = next(self._frames, None)
        return (frame is not None, frame)

    def release(self) -> None:
        self._frames = iter(())


def open_camera(source: int | str, width: int | None = None, height: int | None = None) -> Capture:
    """A ``cv2.VideoCapture`` on a device index, a file, a stream URL or an image-sequence pattern; a camera is
    asked for ``width`` x ``height`` when given (frames wider than ``max_width`` are downscaled anyway)."""
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        log.warning("camera %r could not be opened", source)
    if width is not None:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
    if height is not None:
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    return capture


def _gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _downscaled(image: np.ndarray, max_width: int) -> np.ndarray:
    width = image.shape[1]
    if width <= max_width:
        return image
    scale = max_width / width
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _sharpened(gray: np.ndarray) -> np.ndarray:
    blurred = cv2.GaussianBlur(gray, (0, 0), 3)
    return cv2.addWeighted(gray, 1.8, blurred, -0.8, 0)


def _thresholded(gray: np.ndarray) -> np.ndarray:
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5)


_ATTEMPTS: tuple[Callable[[np.ndarray], np.ndarray], ...] = (lambda gray: gray, _sharpened, _thresholded)


def _as_image(frame: object) -> np.ndarray | None:
    if not isinstance(frame, np.ndarray) or frame.size == 0 or frame.ndim not in (2, 3):
        return None
    if frame.ndim == 3 and frame.shape[2] not in (1, 3, 4):
        return None
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.dtype != np.uint8:
        values = np.nan_to_num(frame.astype(np.float64))
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        frame = scaled.astype(np.uint8)
    return frame


def decode_frame(
    frame: object,
    detector: cv2.QRCodeDetector | None = None,
    max_width: int = DEFAULT_MAX_WIDTH,
    fallback: cv2.QRCodeDetectorAruco | None = None,
) -> str | None:
    """The text of a QR code in the frame, or None (no code, unreadable, or not an image at all).

    OpenCV's classic detector, on the frame, sharpened and thresholded; then its ArUco-based detector, which reads
    the ~1 in 200 clean codes whose finder patterns the classic one misses."""
    image = _as_image(frame)
    if image is None:
        return None
    detector = detector or cv2.QRCodeDetector()
    try:
        gray = _downscaled(_gray(image), max_width)
        for attempt in _ATTEMPTS:
            text, _points, _straight = detector.detectAndDecode(attempt(gray))
            if text:
                return text
        text, _points, _straight = (fallback or cv2.QRCodeDetectorAruco()).detectAndDecode(gray)
        if text:
            return str(text)
    except cv2.error as error:
        log.debug("QR decoding failed: %s", error)
    return None


class QrScanner:
    def __init__(
        self,
        capture: Capture,
        *,
        max_width: int = DEFAULT_MAX_WIDTH,
        repeat_after: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capture = capture
        self.max_width = max_width
        self.repeat_after = repeat_after
        self.clock = clock
        self._detector = cv2.QRCodeDetector()
        self._fallback = cv2.QRCodeDetectorAruco()
        self._last: tuple[str, float] | None = None
        self.exhausted = False
        """The capture gave no frame (a file or a frame source at its end, or a camera unplugged)."""

    def poll(self) -> str | None:
        """Read one frame; the text of a new QR code in it, or None."""
        ok, frame = self.capture.read()
        if not ok:
            self.exhausted = True
            return None
        text = decode_frame(frame, self._detector, self.max_width, self._fallback)
        if text is None:
            return None
        now = self.clock()
        repeated = self._last is not None and self._last[0] == text and now - self._last[1] < self.repeat_after
        self._last = (text, now)  # a code left in view stays quiet until it has been away for repeat_after
        return None if repeated else text

    def forget(self) -> None:
        """Let the last code be read again at once (e.g. after its check-in failed for a reason it can retry)."""
        self._last = None

    def scan(self, timeout: float) -> str | None:
        """Poll until a code is read, the capture runs dry or ``timeout`` seconds pass."""
        deadline = self.clock() + timeout
        while not self.exhausted and self.clock() < deadline:
            text = self.poll()
            if text is not None:
                return text
        return None

    def close(self) -> None:
        self.capture.release()

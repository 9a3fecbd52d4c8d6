"""The check-in camera as the controller sees it: ``scan()`` looks once and gives a QR code's text or None.

It wraps ``kiosk.qr_scan.QrScanner`` (OpenCV), imported and opened at the first look, so a kiosk without a camera
or without OpenCV starts, and says so only when someone tries to check in (the controller turns the exception into
"摄像头暂时无法使用" and a ``camera: unavailable`` status).
"""

from __future__ import annotations

import importlib
from typing import Any

CAMERA_SIZE = (1280, 720)
"""Asked of a camera: enough for a phone's QR code at arm's length; larger frames are downscaled anyway."""


class CameraUnavailable(RuntimeError):
    pass


class CameraScan:
    def __init__(self, source: int | str) -> None:
        self.source = source
        self._scanner: Any = None  # kiosk.qr_scan.QrScanner

    def __call__(self) -> str | None:
        scanner = self._open()
        code = scanner.poll()
        if code is None and scanner.exhausted:
            self.close()
            raise CameraUnavailable(f"camera {self.source!r} gives no frames")
        return str(code) if code else None

    def forget(self) -> None:
        """Read the last code again (the citizen asked to scan again)."""
        if self._scanner is not None:
            self._scanner.forget()

    def close(self) -> None:
        if self._scanner is not None:
            self._scanner.close()
            self._scanner = None

    def _open(self) -> Any:
        if self._scanner is None:
            try:
                qr_scan = importlib.import_module("kiosk.qr_scan")
            except ImportError as error:
                raise CameraUnavailable(
                    f"check-in needs kiosk.qr_scan and OpenCV (opencv-python-headless): {error}"
                ) from error
            width, height = CAMERA_SIZE
            self._scanner = qr_scan.QrScanner(qr_scan.open_camera(self.source, width=width, height=height))
        return self._scanner

"""QR check-in from camera images: a phone held at an angle and out of focus, a forged code, no code at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from hub.appointments import AppointmentDesk, CheckInReason, CheckInRefused, Keyring
from hub.appointments.codes import CodeBody, sign
from kiosk.qr_scan import FrameSource, QrScanner, decode_frame, open_camera
from tests.appointments.conftest import DAY, NOW, PHONE, SECRETS, SITE_ID, local

TEN = local(DAY, 10)
AT = local(DAY, 9, 50)


def qr_image(text: str, module_px: int = 6, border: int = 4) -> np.ndarray:
    """A clean black-on-white QR code as a phone shows it (gray, uint8)."""
    encoder = cv2.QRCodeEncoder.create()
    modules = encoder.encode(text)
    big = cv2.resize(modules, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    pad = border * module_px
    return cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)


def camera_photo(text: str, seed: int = 7) -> np.ndarray:
    """The code as the kiosk camera sees a phone held at an angle: perspective-warped into a 1280x720 colour frame
    of a grey counter, slightly blurred, with sensor noise."""
    code = qr_image(text)
    h, w = code.shape
    frame_w, frame_h = 1280, 720
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    seen = np.array([[430, 140], [870, 190], [840, 620], [400, 570]], np.float32)
    warp = cv2.getPerspectiveTransform(corners, seen)
    counter = np.full((frame_h, frame_w), 90, np.uint8)
    mask = cv2.warpPerspective(np.full_like(code, 255), warp, (frame_w, frame_h))
    warped = cv2.warpPerspective(code, warp, (frame_w, frame_h))
    photo = np.where(mask > 0, warped, counter)
    photo = cv2.GaussianBlur(photo, (5, 5), 1.2)
    noise = np.random.default_rng(seed).normal(0, 6, photo.shape)
    photo = np.clip(photo.astype(np.float64) + noise, 0, 255).astype(np.uint8)
    return cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR)


def camera_frames(text: str, count: int = 6) -> QrScanner:
    """A camera that sees the code in ``count`` successive frames (each its own sensor noise). One frame of a
    warped, blurred code fails to decode about 1 time in 30; a kiosk polls several frames a second."""
    return QrScanner(FrameSource(camera_photo(text, seed) for seed in range(count)))


def blank_frame() -> np.ndarray:
    return np.full((720, 1280, 3), 120, np.uint8)


@pytest.fixture
def code(sqlite_desk: AppointmentDesk) -> str:
    return sqlite_desk.book(SITE_ID, "A", TEN, PHONE, NOW).code


def test_a_code_photographed_at_an_angle_and_out_of_focus_checks_in(sqlite_desk: AppointmentDesk, code: str) -> None:
    read = camera_frames(code).scan(timeout=10)

    assert read == code
    check_in = sqlite_desk.check_in(SITE_ID, read, AT, command_id="kiosk-1:qr")
    assert check_in.slot_label == "10:00-10:30"


def test_a_forged_code_reads_as_a_qr_code_and_is_refused(sqlite_desk: AppointmentDesk, code: str) -> None:
    booking_id = sqlite_desk.bookings(SITE_ID, DAY)[0].booking_id
    forged = sign(Keyring({"k1": b"f" * 32}, "k1"), CodeBody(booking_id, SITE_ID, "A", TEN, local(DAY, 10, 30)))

    read = camera_frames(forged).scan(timeout=10)

    assert read == forged
    with pytest.raises(CheckInRefused) as refused:
        sqlite_desk.check_in(SITE_ID, read, AT, command_id="kiosk-1:qr")
    assert refused.value.reason == CheckInReason.FORGED_CODE


def test_a_badly_focused_photo_is_read_by_the_sharpening_fallback() -> None:
    body = CodeBody("Xy3_bK9-aQ2r", SITE_ID, "A", TEN, local(DAY, 10, 30))
    code = sign(SECRETS.keyring, body)  # fixed: whether plain detection fails depends on the pattern
    photo = cv2.GaussianBlur(cv2.cvtColor(camera_photo(code), cv2.COLOR_BGR2GRAY), (0, 0), 3.0)
    photo = cv2.addWeighted(photo, 0.5, np.full_like(photo, 100), 0.5, 0)  # and washed out

    downscaled = cv2.resize(photo, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    assert cv2.QRCodeDetector().detectAndDecode(downscaled)[0] == ""  # plain detection fails (OpenCV 5.0)
    assert decode_frame(photo) == code


def test_codes_the_classic_detector_misses_are_read_by_the_fallback() -> None:
    code = "HQ1.k1.WyJHZkN3YUZONi15R2MiLCJTMSIsIkEiLDE3OTU1NzIwMDAsMzBd.gHfKx8CD6IUqtTYXMLRPlg"
    assert cv2.QRCodeDetector().detectAndDecode(qr_image(code))[0] == ""  # OpenCV 5.0's classic detector
    assert decode_frame(qr_image(code)) == code


def test_an_image_without_a_code_gives_none() -> None:
    assert decode_frame(blank_frame()) is None
    scene = blank_frame()
    cv2.rectangle(scene, (300, 200), (700, 500), (0, 0, 0), -1)
    cv2.putText(scene, "HQ1", (320, 650), cv2.FONT_HERSHEY_SIMPLEX, 3, (0, 0, 0), 5)
    assert decode_frame(scene) is None


@pytest.mark.parametrize(
    "frame",
    [
        None,
        "not an image",
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((10, 10, 3, 2), np.uint8),
        np.zeros((10, 10, 7), np.uint8),
        np.random.default_rng(1).random((240, 320)),  # float image
        np.ones((1, 1), np.uint8),
    ],
)
def test_unreadable_frames_give_none_without_raising(frame: object) -> None:
    assert decode_frame(frame) is None


def test_float_and_four_channel_frames_are_read(code: str) -> None:
    clean = qr_image(code)
    assert decode_frame(clean.astype(np.float32) / 255.0) == code
    assert decode_frame(cv2.cvtColor(clean, cv2.COLOR_GRAY2BGRA)) == code


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_scanner_returns_the_first_code_in_a_stream_of_frames(code: str) -> None:
    frames = [blank_frame(), blank_frame(), camera_photo(code), blank_frame()]

    scanner = QrScanner(FrameSource(frames))

    assert scanner.scan(timeout=5) == code
    assert scanner.scan(timeout=5) is None and scanner.exhausted
    scanner.close()


def test_a_code_left_in_view_is_read_once_until_it_has_been_away(code: str) -> None:
    clock = Clock()
    photo = qr_image(code)

    def frames() -> Iterator[np.ndarray]:
        while True:
            yield photo

    scanner = QrScanner(FrameSource(frames()), repeat_after=3.0, clock=clock)
    assert scanner.poll() == code
    for _ in range(5):
        clock.now += 1.0
        assert scanner.poll() is None  # still in view: quiet
    clock.now += 3.5
    assert scanner.poll() == code  # gone for longer than repeat_after, shown again
    scanner.forget()
    assert scanner.poll() == code


def test_scanning_gives_up_after_the_timeout() -> None:
    clock = Clock()

    def frames() -> Iterator[np.ndarray]:
        while True:
            clock.now += 0.5
            yield blank_frame()

    scanner = QrScanner(FrameSource(frames()), clock=clock)
    assert scanner.scan(timeout=2.0) is None
    assert 2.0 <= clock.now <= 3.0 and not scanner.exhausted


def test_an_opencv_capture_of_an_image_file_is_a_camera(tmp_path: Path, code: str) -> None:
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), camera_photo(code))

    scanner = QrScanner(open_camera(str(path)))

    assert scanner.poll() == code
    scanner.close()

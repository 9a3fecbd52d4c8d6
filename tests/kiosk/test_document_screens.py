"""Handing in documents on the kiosk's screen: the real app (``build_app``) in an offscreen Kivy window, touched from
the home screen's tile to the receipt, with generated photographs under the document camera, against a real hub; the
receipt printed with its QR code to the case's status page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
from PIL import Image, ImageStat

import contract as wire
from kiosk.documents.camera import FolderCamera
from kiosk.documents.uploader import Credentials
from tests.kiosk.test_document_spool import SITE, case_of, kiosk, real_hub  # noqa: F401  (fixtures)
from tests.support.documents import photograph
from tests.support.escpos_reader import read
from tests.support.hub_process import HubProcess

ROOT = Path(__file__).resolve().parents[2]


def test_a_citizen_hands_in_documents_from_the_home_tile_to_the_printed_receipt(
    real_hub: HubProcess,  # noqa: F811
    kiosk: Credentials,  # noqa: F811
    tmp_path: Path,
) -> None:
    camera = tmp_path / "under-the-camera"
    camera.mkdir()
    cv2.imwrite(str(camera / "card.png"), photograph(1, kind="card").frame)  # the ID card lies under the camera
    tickets, shots = tmp_path / "printer.bin", tmp_path / "shots"
    shots.mkdir()
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'host = "127.0.0.1"\nport = {real_hub.broker_port}\nsite = "{SITE}"\n'
        f'device_id = "{kiosk.device_id}"\npassword = "{kiosk.password}"\n'
        "fullscreen = false\nwidth = 1920\nheight = 1080\nvoice = false\n"
        'public_url = "http://hall.example.cn"\n'
        f'hub_url = "http://127.0.0.1:{real_hub.http_port}"\n'
        f'printer = "file:{tickets}"\n'
        f'documents = true\ndocument_camera = "folder:{camera}"\ndocument_spool = "{tmp_path / "spool"}"\n'
    )
    out = tmp_path / "result.json"
    env = os.environ | {"KIVY_HOME": str(tmp_path / "kivy")}
    done = subprocess.run(
        [sys.executable, "-m", "tests.kiosk.drive_documents", "--config", str(config), "--out", str(out),
         "--shots", str(shots)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert out.exists(), done.stderr[-3000:]
    seen = json.loads(out.read_text())
    assert seen["error"] is None, (seen, done.stderr[-3000:])
    assert seen["steps"] == ["matters", "checklist", "capture", "review", "receipt", "home"]
    assert seen["pages"] == 1 and seen["printed"] is True
    assert seen["prompt"] in ("请保持不动，将自动拍照", "画面模糊，请保持不动")

    preview = Image.open(shots / "capture.png").convert("L").crop((40, 240, 1150, 1040))  # the live picture
    assert ImageStat.Stat(preview).stddev[0] > 15, "the camera's picture is not drawn"

    number = seen["case_number"]
    assert number.startswith("JIXIANGCUN-") and seen["status_url"].startswith("http://hall.example.cn/case/")
    assert case_of(real_hub, kiosk, number).state == wire.CaseState.SUBMITTED
    printed = read(tickets.read_bytes(), chinese_at_start=True)
    assert number in printed.texts and "材料提交回执" in printed.texts
    assert printed.qr_codes[0].payload == seen["status_url"]


def test_a_folder_camera_shows_its_photographs_in_turn_and_none_without_any(tmp_path: Path) -> None:
    for n in range(2):
        cv2.imwrite(str(tmp_path / f"{n}.png"), photograph(n, kind="text", size=(320, 180)).frame)
    now = [0.0]
    camera = FolderCamera(tmp_path, seconds=2, fps=1000, clock=lambda: now[0])
    first = camera.read()[1]
    now[0] = 2.5
    ok, second = camera.read()
    now[0] = 4.5
    assert ok and second.shape == (180, 320, 3) and (first != second).any() and camera.read()[1] is first
    assert FolderCamera(tmp_path / "missing").read() == (False, None)

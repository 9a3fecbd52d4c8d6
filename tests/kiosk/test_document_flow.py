"""Handing in documents at the kiosk: the flow driven with generated photographs through the camera interface, the
analysis off the UI thread, and the submission sent to a real hub."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

import contract as wire
from devicekit.backoff import Backoff
from devicekit.texts import catalog
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.site_info import site_info
from kiosk.documents import vision
from kiosk.documents.flow import (
    COMMITMENT_TEXT_KEY,
    DocumentFlow,
    Receipt,
    Step,
    Viewfinder,
    build_receipt,
    shape_for,
)
from kiosk.documents.spool import Spool, SpoolState
from kiosk.documents.uploader import Credentials, Uploader
from kiosk.id_reader import IdCard
from kiosk.model import KioskModel, Screen
from kiosk.printer_profile import profile_named
from kiosk.texts import Texts
from tests.kiosk.test_controller import UiThread
from tests.kiosk.test_document_spool import SITE, case_of, kiosk, real_hub  # noqa: F401  (fixtures)
from tests.support.documents import photograph
from tests.support.hub_process import HubProcess

MATTER = "B01"  # 社会保障卡申领/补换: 居民身份证, 证件照, 原社会保障卡
RESIDENCE = "D01"  # 居住证办理: the catalogue lets a commitment replace its proofs of residence and of work (3, 4)
NOW = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
CITIZEN = "11010519491231002X"
LISTED = "110101199003074477"  # put on the district's list of broken commitments by a test below


def card(number: str = CITIZEN) -> IdCard:
    return IdCard(
        name="张三丰", gender="1", nation="汉", birth="19491231", address="陕西省西安市雁塔区", id_number=number,
        authority="西安市公安局雁塔分局", valid_from="20200101", valid_to="长期",
    )  # fmt: skip


class Camera:
    """A document camera that shows whatever photograph lies under it now (``frame``), about 60 frames a second."""

    def __init__(self, frame: np.ndarray) -> None:
        self.frame: np.ndarray | None = frame
        self.reads = 0
        self.released = False

    def read(self) -> tuple[bool, Any]:
        time.sleep(0.015)
        self.reads += 1
        return (self.frame is not None, self.frame)

    def release(self) -> None:
        self.released = True


def at(flow: DocumentFlow) -> Step:
    """The flow's step now (a function, so that the type checker does not pin it between taps)."""
    return flow.step


def screen_of(model: KioskModel) -> Screen:
    return model.screen


def worker(work: Callable[[], None]) -> None:
    threading.Thread(target=work, daemon=True).start()


SHARP = photograph(3, kind="text", variant="sharp").frame
CARD = photograph(1, kind="card", variant="sharp").frame
DARK = photograph(3, kind="text", variant="dark").frame


@pytest.fixture
def info() -> wire.SiteInfo:
    district = load_district(SAMPLE_DISTRICT)
    site = district.site(SITE)
    assert site is not None
    return site_info(district, site)


@pytest.fixture
def ui() -> UiThread:
    return UiThread()


def flow_for(
    hub: HubProcess, credentials: Credentials, tmp_path: Path, ui: UiThread, info: wire.SiteInfo, **options: Any
) -> tuple[DocumentFlow, Camera]:
    spool = Spool(tmp_path / "spool")
    uploader = Uploader(
        spool, options.pop("hub_url", f"http://127.0.0.1:{hub.http_port}"), options.pop("auth", credentials),
        site=SITE, timeout=5, backoff=lambda: Backoff(0.05, 0.4),
    )  # fmt: skip
    flow = DocumentFlow(
        SITE, options.pop("texts", Texts()), spool, uploader, run=worker, post=ui.post,
        public_url="http://hall.example.cn", **options,
    )  # fmt: skip
    flow.on_info(info)
    camera = Camera(SHARP)
    viewfinder = Viewfinder(
        camera, ui.post, flow.on_verdict, flow.on_captured, lambda _why: flow.on_camera_failed(),
        steady=vision.SteadyCapture(hold=0.3),
    )  # fmt: skip
    flow.attach(viewfinder)
    return flow, camera


def test_a_material_is_captured_by_itself_once_steady_reviewed_retaken_and_handed_in(
    real_hub: HubProcess,  # noqa: F811
    kiosk: Credentials,  # noqa: F811
    tmp_path: Path,
    ui: UiThread,
    info: wire.SiteInfo,
) -> None:
    printed: list[Receipt] = []

    def print_receipt(receipt: Receipt) -> bool:
        printed.append(receipt)
        return True

    flow, camera = flow_for(real_hub, kiosk, tmp_path, ui, info, print_receipt=print_receipt)
    flow.start()
    assert at(flow) == Step.MATTERS and MATTER in [matter.code for matter in flow.matters()]
    flow.choose_matter(MATTER)
    assert at(flow) == Step.CHECKLIST and len(flow.checklist()) == 3
    assert flow.checklist()[0][0].startswith("居民身份证") and flow.checklist()[0][1] == "尚未提交"
    assert not flow.can_submit() and flow.commitment_hint() == ""  # no commitments for this matter

    camera.frame = CARD
    flow.capture(0)  # the ID card: corrected to ID-1
    assert at(flow) == Step.CAPTURE and flow.camera_wanted and flow.title() == "居民身份证: 第 1 页"
    ui.pump_until(lambda: at(flow) == Step.REVIEW, timeout=10)  # the page lay still: taken by itself
    first = flow.materials[0].pages[0]
    assert first.shape == wire.PageShape.ID_CARD and first.jpeg.startswith(b"\xff\xd8")
    assert first.thumbnail.shape[1] == 240 and not flow.camera_wanted
    flow.add_page()
    ui.pump_until(lambda: at(flow) == Step.REVIEW, timeout=10)
    assert len(flow.materials[0].pages) == 2
    flow.retake(0)
    assert flow.title() == "居民身份证: 第 1 页"
    ui.pump_until(lambda: at(flow) == Step.REVIEW, timeout=10)
    assert len(flow.materials[0].pages) == 2 and flow.materials[0].pages[0] is not first
    flow.remove_page(1)
    flow.done_material()
    assert flow.checklist()[0][1] == "已拍摄 1 页" and flow.can_submit()

    camera.frame = SHARP
    flow.capture(1)
    ui.pump_until(lambda: at(flow) == Step.REVIEW, timeout=10)
    flow.done_material()
    assert flow.missing() == ["原社会保障卡（换卡时交回）"]
    flow.submit()
    assert at(flow) == Step.SUBMITTING
    ui.pump_until(lambda: at(flow) == Step.RECEIPT and flow.receipt is not None and flow.receipt.printed is True)
    receipt = flow.receipt
    assert receipt is not None and receipt.case_number.startswith("JIXIANGCUN-")
    assert receipt.status_url.startswith("http://hall.example.cn/case/")
    assert printed == [Receipt(receipt.case_number, receipt.status_url, "社会保障卡申领/补换", printed=None)]
    assert flow.progress == (2, 2)
    hub_case = case_of(real_hub, kiosk, receipt.case_number)
    assert hub_case.state == wire.CaseState.SUBMITTED and hub_case.missing == ()
    assert flow.submission_id is not None
    ui.pump_until(lambda: flow.spool.load(str(flow.submission_id)).state == SpoolState.DONE)
    assert camera.reads > 0


def test_the_prompt_says_what_is_wrong_and_nothing_is_taken(
    real_hub: HubProcess,  # noqa: F811
    kiosk: Credentials,  # noqa: F811
    tmp_path: Path,
    ui: UiThread,
    info: wire.SiteInfo,
) -> None:
    flow, camera = flow_for(real_hub, kiosk, tmp_path, ui, info)
    flow.start()
    flow.choose_matter(MATTER)
    camera.frame = DARK
    flow.capture(1)
    ui.pump_until(lambda: flow.prompt == "光线过暗", timeout=10)
    time.sleep(0.5)  # longer than the steady hold: a dark page is never taken
    ui.pump_until(lambda: True)
    assert at(flow) == Step.CAPTURE and flow.materials[1].pages == []
    assert "光线过暗" in flow.spoken().sentences
    camera.frame = SHARP
    ui.pump_until(lambda: flow.prompt == "请保持不动，将自动拍照", timeout=10)
    flow.take_now()
    ui.pump_until(lambda: at(flow) == Step.REVIEW, timeout=10)
    assert len(flow.materials[1].pages) == 1
    assert flow.back() and at(flow) == Step.CHECKLIST
    assert flow.back() and at(flow) == Step.MATTERS
    camera.frame = None  # the camera is gone
    flow.choose_matter(MATTER)
    flow.capture(0)
    ui.pump_until(lambda: at(flow) == Step.MESSAGE, timeout=10)
    assert flow.message == "摄像头暂时无法使用，请咨询工作人员。"


def test_the_viewfinder_analyses_off_the_ui_thread_and_skips_stale_frames() -> None:
    posted: list[Callable[[], None]] = []
    verdicts: list[vision.Verdict] = []
    taken: list[Any] = []
    threads: set[str] = set()

    def on_verdict(verdict: vision.Verdict) -> None:
        verdicts.append(verdict)

    class Watched(Viewfinder):
        def step(self, frame: Any, at: float) -> vision.Verdict:
            threads.add(threading.current_thread().name)
            return super().step(frame, at)

    camera = Camera(SHARP)
    viewfinder = Watched(camera, posted.append, on_verdict, taken.append, steady=vision.SteadyCapture(hold=0.2))
    viewfinder.arm(wire.PageShape.A4)
    deadline = time.monotonic() + 10
    while not any(True for _ in taken) and time.monotonic() < deadline:
        for change in list(posted):
            posted.remove(change)
            change()
        time.sleep(0.01)
    viewfinder.close()
    assert taken and threads == {"document-analysis"} and camera.released
    assert viewfinder.latest() is SHARP
    assert viewfinder.analysed <= camera.reads  # never more analyses than frames; slower ones skip frames
    assert all(verdict.ok for verdict in verdicts)


def test_a_commitment_is_offered_only_to_a_citizen_the_hub_allows(
    real_hub: HubProcess,  # noqa: F811
    kiosk: Credentials,  # noqa: F811
    tmp_path: Path,
    ui: UiThread,
    info: wire.SiteInfo,
) -> None:
    flow, _camera = flow_for(real_hub, kiosk, tmp_path, ui, info)
    flow.start()
    flow.choose_matter(RESIDENCE)
    assert flow.commitment_hint() == "将身份证放在读卡区，可用告知承诺代替部分材料。"
    assert [offer for *_, offer in flow.checklist()] == [""] * 5
    flow.on_card(card())
    ui.pump_until(lambda: flow.commitment_allowed is True)
    assert [offer for *_, offer in flow.checklist()] == ["", "", "", "commit", "commit"]  # the catalogue's flags
    flow.commit(1)  # not a material the district lets a commitment replace
    assert at(flow) == Step.CHECKLIST
    flow.commit(4)
    assert at(flow) == Step.COMMITMENT and "本人承诺" in flow.commitment_text()
    assert flow.commitment_text() in flow.spoken().sentences
    flow.consent()
    assert at(flow) == Step.CHECKLIST and flow.checklist()[4][1] == "已以告知承诺代替"
    flow.capture(0)
    ui.pump_until(lambda: at(flow) == Step.REVIEW, timeout=10)
    flow.done_material()
    flow.submit()
    ui.pump_until(lambda: at(flow) == Step.RECEIPT and flow.receipt is not None)
    receipt = flow.receipt
    assert receipt is not None and receipt.case_number
    assert case_of(real_hub, kiosk, receipt.case_number).state == wire.CaseState.SUBMITTED
    manifest = flow.spool.load(str(flow.submission_id))
    assert manifest.commitment_text == COMMITMENT_TEXT_KEY and manifest.materials[-1].commitment
    for path in (tmp_path / "spool" / manifest.submission_id).iterdir():
        assert CITIZEN.encode() not in path.read_bytes()

    # a citizen on the district's list of broken commitments is not offered one
    listed = subprocess.run(
        [sys.executable, "-m", "hub.cli", "archive", "deny-commitments", "add", LISTED],
        env=real_hub.env, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    flow.start(card=card(LISTED))
    flow.choose_matter(RESIDENCE)
    ui.pump_until(lambda: flow.commitment_allowed is False)
    assert [offer for *_, offer in flow.checklist()] == [""] * 5
    assert flow.commitment_hint() == "您暂不能使用告知承诺，请提交全部材料。"
    flow.commit(4)
    assert at(flow) == Step.CHECKLIST


def test_a_refusal_shows_the_hubs_reason_and_a_hub_away_keeps_the_documents(
    real_hub: HubProcess,  # noqa: F811
    kiosk: Credentials,  # noqa: F811
    tmp_path: Path,
    ui: UiThread,
    info: wire.SiteInfo,
) -> None:
    wrong = Credentials(kiosk.device_id, "not-the-password")
    flow, _camera = flow_for(real_hub, kiosk, tmp_path / "a", ui, info, auth=wrong)
    flow.start()
    flow.choose_matter(MATTER)
    flow.capture(1)
    ui.pump_until(lambda: at(flow) == Step.REVIEW, timeout=10)
    flow.done_material()
    flow.submit()
    ui.pump_until(lambda: at(flow) == Step.MESSAGE)
    assert flow.message == "设备认证失败"
    assert flow.spool.all()[0].state == SpoolState.FAILED

    away, _camera = flow_for(real_hub, kiosk, tmp_path / "b", ui, info, hub_url="http://127.0.0.1:9", attempts=2)
    away.start()
    away.choose_matter(MATTER)
    away.capture(1)
    ui.pump_until(lambda: at(away) == Step.REVIEW, timeout=10)
    away.done_material()
    away.submit()
    ui.pump_until(lambda: at(away) == Step.RECEIPT, timeout=15)
    assert away.receipt is not None and away.receipt.saved_only and away.receipt.case_number == ""
    assert [m.submission_id for m in away.spool.pending()] == [away.submission_id]
    assert "您的材料已保存在本机，将自动发送。" in away.spoken().sentences


def test_elder_mode_reads_each_step_aloud_in_the_screens_language(
    real_hub: HubProcess,  # noqa: F811
    kiosk: Credentials,  # noqa: F811
    tmp_path: Path,
    ui: UiThread,
    info: wire.SiteInfo,
) -> None:
    flow, _camera = flow_for(real_hub, kiosk, tmp_path, ui, info, texts=Texts("en"))
    flow.start()
    spoken = flow.spoken()
    assert spoken.language == "en" and spoken.sentences[0] == "Which matter are the documents for?"
    assert "Social security card application or replacement" in spoken.sentences
    flow.choose_matter(MATTER)
    assert flow.spoken().sentences[1].startswith("Resident identity card")
    flow.capture(0)
    assert flow.spoken().sentences[:2] == ("Resident identity card: page 1", "Lay the page under the camera.")
    flow.back()
    flow.texts.language = "zh_CN"
    assert flow.spoken().language == "zh" and flow.spoken().sentences[0] == "社会保障卡申领/补换 的材料"


def test_the_kiosks_documents_tile_opens_the_flow(
    real_hub: HubProcess,  # noqa: F811
    kiosk: Credentials,  # noqa: F811
    tmp_path: Path,
    ui: UiThread,
    info: wire.SiteInfo,
) -> None:
    model = KioskModel(SITE)
    model.tap("documents", NOW)
    assert model.screen == Screen.MESSAGE  # no document camera configured: not open here
    flow, _camera = flow_for(real_hub, kiosk, tmp_path, ui, info)
    model.documents = flow
    model.on_card(card(), NOW)
    model.tap("documents", NOW)
    assert screen_of(model) == Screen.DOCUMENTS and at(flow) == Step.MATTERS and flow.card is not None
    assert model.spoken().sentences[0] == "请选择要提交材料的事项"
    flow.choose_matter(MATTER)
    model.tap("home", NOW)
    assert screen_of(model) == Screen.HOME and at(flow) == Step.MATTERS and flow.card is None


def test_a_material_is_corrected_to_its_shape_and_the_receipt_prints_its_case_number(info: wire.SiteInfo) -> None:
    matter = next(m for m in info.matters if m.code == MATTER)
    shapes = {m.name_zh: shape_for(m) for m in matter.materials}
    assert list(shapes.values()) == [wire.PageShape.ID_CARD, wire.PageShape.A4, wire.PageShape.ID_CARD]
    site = msgspec.structs.replace(
        wire.SitePlace(site_id="x", name_zh="吉祥村社区便民服务室", name_en="Jixiangcun Community Service Room",
                       tier="community", address_zh="", address_en="", latitude=0, longitude=0)
    )  # fmt: skip
    receipt = Receipt("JIXIANGCUN-20261125-0001", "http://hall.example.cn/case/abc", "社会保障卡申领/补换")
    data = build_receipt(profile_named("pos58"), site, receipt)
    assert b"JIXIANGCUN-20261125-0001" in data and b"http://hall.example.cn/case/abc" in data
    assert "材料提交回执".encode("gb18030") in data


def test_every_word_of_the_flow_has_its_chinese() -> None:
    source = "\n".join(path.read_text() for path in Path("kiosk/documents").glob("*.py"))
    used = set(re.findall(r'\b(?:t|texts|self\.texts)\(\s*"([^"]+)"', source))
    assert len(used) > 20
    chinese = catalog("kiosk", "zh_CN")
    assert [message for message in used if chinese.gettext(message) == message] == []

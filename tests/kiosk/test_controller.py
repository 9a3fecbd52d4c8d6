"""The kiosk's controller without Kivy: the test's thread plays the UI thread (it runs what workers post back),
the hub is the real gateway in memory behind a stand-in link, the printer a real ``TicketPrinter`` on a pty whose
peer answers DLE EOT like a printer, the camera a callable. Nothing here may block the UI thread."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import contract as wire
from devicekit.link import HubUnreachable
from devicekit.voice import RecordingPlayer
from kiosk.controller import KioskController, Printing
from kiosk.model import Screen
from kiosk.speech import ScreenReader
from tests.kiosk.printer_peer import COVER_OPEN, NEAR_END, PAPER_OUT, POS58, READY, SILENT, StartPrinter
from tests.kiosk.test_model import Hall, appointment_reply, refusal
from tests.support.escpos_reader import read

PUBLIC_URL = "https://hall.example.cn/"

ANSWER_DELAY = 0.2
"""Seconds the fake link takes at least to answer: a tap returning sooner did not wait for it."""


class UiThread:
    """The test's own thread as the UI thread: ``post`` queues from any thread, ``pump_until`` runs the queue."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self.thread = threading.current_thread()

    def post(self, change: Callable[[], None]) -> None:
        self.queue.put(change)

    def pump_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the UI thread waited in vain")
            try:
                change = self.queue.get(timeout=0.01)
            except queue.Empty:
                continue
            assert threading.current_thread() is self.thread
            change()


class FakeLink:
    """DeviceLink's surface: requests go to ``answer`` (which may sleep or raise HubUnreachable)."""

    def __init__(self, answer: Callable[[wire.Action, dict[str, Any], str], wire.Reply]) -> None:
        self.answer = answer
        self.connected = threading.Event()
        self.connected.set()
        self.hub_online = True
        self.requests: list[tuple[wire.Action, dict[str, Any], str]] = []
        self.reports: list[dict[str, str]] = []

    def request(
        self,
        action: wire.Action,
        body: Mapping[str, Any] | None = None,
        *,
        request_id: str | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
        on_retry: Callable[[int], None] | None = None,
    ) -> wire.Reply:
        assert request_id is not None
        self.requests.append((action, dict(body or {}), request_id))
        return self.answer(action, dict(body or {}), request_id)

    def report(self, **detail: str) -> None:
        self.reports.append(detail)


def hub_answer(hall: Hall, delay: float = 0.0) -> Callable[[wire.Action, dict[str, Any], str], wire.Reply]:
    def answer(action: wire.Action, body: dict[str, Any], request_id: str) -> wire.Reply:
        time.sleep(delay)
        payload = json.dumps({"v": 1, "id": request_id, **body}).encode()
        return hall.gateway.handle(hall.site_id, "kiosk-1", action, payload)[0]

    return answer


def controller_for(hall: Hall, link: FakeLink, ui: UiThread, **kwargs: Any) -> KioskController:
    return KioskController(hall.kiosk, link, ui.post, now=lambda: hall.now, **kwargs)


def take_ticket(hall: Hall, controller: KioskController, code: str = "A02") -> float:
    """Tap "take" and a matter as the view would; the seconds the UI thread spent in the taps."""
    started = time.perf_counter()
    hall.kiosk.tap("take", hall.now)
    body = hall.kiosk.choose_matter(code, hall.now)
    assert body is not None
    controller.issue(body)
    return time.perf_counter() - started


def test_the_ui_thread_never_waits_for_the_hub_and_the_ticket_prints_with_its_qr_code(
    serial_printer: StartPrinter,
) -> None:
    hall, ui = Hall(), UiThread()
    printer, peer = serial_printer(READY)
    link = FakeLink(hub_answer(hall, delay=0.5))
    controller = controller_for(hall, link, ui, printing=Printing(printer, POS58, PUBLIC_URL))
    assert take_ticket(hall, controller) < ANSWER_DELAY  # the taps return before the link's first answer
    assert hall.kiosk.screen == Screen.WORKING
    ui.pump_until(lambda: hall.kiosk.ticket is not None and hall.kiosk.ticket.printed is not None)
    ticket = hall.kiosk.ticket
    assert ticket is not None and (ticket.number, ticket.printed) == ("A001", True)
    assert link.reports == [{"printer": "ok"}]
    document = read(bytes(peer.stop().received), chinese_at_start=True)
    [qr] = document.qr_codes
    assert qr.payload.startswith("https://hall.example.cn/t/") and len(qr.payload) > len("https://hall.example.cn/t/")
    assert (
        document.texts[0] == "雁塔区政务服务中心"
        and "A001" in document.texts
        and "个体工商户设立登记" in document.texts
    )
    assert controller.printed == [bytes(peer.received)]


@pytest.mark.parametrize(
    ("answers", "status", "note"),
    [
        (PAPER_OUT, "paper_out", "打印机缺纸，请记下屏幕上的号码"),
        (COVER_OPEN, "cover_open", "打印机纸仓盖未关好，请记下屏幕上的号码"),
        (SILENT, "offline", "打印机无响应，请记下屏幕上的号码"),
    ],
    ids=["paper out", "cover open", "offline"],
)
def test_a_failed_print_keeps_the_number_on_screen_says_so_and_reports_the_printer(
    serial_printer: StartPrinter, answers: Mapping[int, bytes], status: str, note: str
) -> None:
    hall, ui = Hall(), UiThread()
    printer, peer = serial_printer(answers)
    link = FakeLink(hub_answer(hall))
    controller = controller_for(hall, link, ui, printing=Printing(printer, POS58, PUBLIC_URL))
    take_ticket(hall, controller)
    ui.pump_until(lambda: hall.kiosk.ticket is not None and hall.kiosk.ticket.printed is False)
    ticket = hall.kiosk.ticket
    assert ticket is not None and ticket.number == "A001" and ticket.print_note == note
    assert hall.kiosk.screen == Screen.TICKET
    assert link.reports == [{"printer": status}]
    assert peer.stop().received == b"" and controller.printed == []
    assert hall.service.state("centre").tickets  # issued and valid: it will be called


def test_paper_low_prints_and_an_idle_status_check_reports_only_changes(serial_printer: StartPrinter) -> None:
    hall, ui = Hall(), UiThread()
    printer, _peer = serial_printer(NEAR_END)
    link = FakeLink(hub_answer(hall))
    controller = controller_for(hall, link, ui, printing=Printing(printer, POS58, PUBLIC_URL))
    take_ticket(hall, controller)
    ui.pump_until(lambda: hall.kiosk.ticket is not None and hall.kiosk.ticket.printed is True)
    controller.check_printer()
    time.sleep(0.3)
    assert link.reports == [{"printer": "paper_low"}]


def test_an_unanswered_request_confirms_nothing_and_asking_again_reuses_its_id() -> None:
    hall, ui = Hall(), UiThread()
    down = threading.Event()
    down.set()

    def answer(action: wire.Action, body: dict[str, Any], request_id: str) -> wire.Reply:
        if down.is_set():
            time.sleep(ANSWER_DELAY)
            raise HubUnreachable("no reply")
        return hub_answer(hall)(action, body, request_id)

    link = FakeLink(answer)
    controller = controller_for(hall, link, ui)
    assert take_ticket(hall, controller) < ANSWER_DELAY  # the taps return before the link's first answer
    ui.pump_until(lambda: hall.kiosk.screen == Screen.MESSAGE)
    assert "暂时无法连接" in hall.kiosk.message and hall.kiosk.ticket is None
    take_ticket(hall, controller)  # the citizen tries again: the same request, the same id
    ui.pump_until(lambda: len(link.requests) == 2 and hall.kiosk.screen == Screen.MESSAGE)
    down.clear()
    take_ticket(hall, controller)
    ui.pump_until(lambda: hall.kiosk.screen == Screen.TICKET)
    take_ticket(hall, controller, "B01")
    ui.pump_until(lambda: hall.kiosk.ticket is not None and hall.kiosk.ticket.number == "B001")
    take_ticket(hall, controller)  # answered before: a new request
    ui.pump_until(lambda: hall.kiosk.ticket is not None and hall.kiosk.ticket.number == "A002")
    ids = [request_id for _, _, request_id in link.requests]
    assert ids[0] == ids[1] == ids[2] and len(set(ids)) == 3
    assert controller.request_ids == ids


def test_check_in_reads_the_camera_in_a_worker_and_prints_the_slot(serial_printer: StartPrinter) -> None:
    hall, ui = Hall(), UiThread()
    printer, peer = serial_printer(READY)
    looks = iter([None, None, "", "APPT-7F3K"])
    scanned_on: list[threading.Thread] = []

    def scan() -> str | None:
        scanned_on.append(threading.current_thread())
        return next(looks, None)

    link = FakeLink(lambda action, body, request_id: appointment_reply())
    controller = controller_for(hall, link, ui, printing=Printing(printer, POS58, PUBLIC_URL), scan=scan)
    effect = hall.kiosk.tap("checkin", hall.now)
    assert effect is not None
    controller.effect(effect)
    ui.pump_until(lambda: hall.kiosk.ticket is not None and hall.kiosk.ticket.printed is True)
    assert [(action, body) for action, body, _ in link.requests] == [(wire.Action.CHECK_IN, {"code": "APPT-7F3K"})]
    assert hall.kiosk.ticket is not None and hall.kiosk.ticket.appointment == "预约时段 10:00-10:30"
    assert threading.current_thread() not in scanned_on and len(scanned_on) == 4
    document = read(bytes(peer.stop().received), chinese_at_start=True)
    assert "预约时段 10:00-10:30" in document.texts and "A005" in document.texts
    assert [qr.payload for qr in document.qr_codes] == ["https://hall.example.cn/t/Q7J2M"]


def test_a_refused_check_in_shows_the_reason_and_scans_again() -> None:
    hall, ui = Hall(), UiThread()
    codes = ["FORGED", "GOOD"]
    link = FakeLink(
        lambda action, body, request_id: (
            refusal("预约码无效", "This appointment code is not valid")
            if body["code"] == "FORGED"
            else appointment_reply()
        )
    )
    controller = controller_for(hall, link, ui, scan=lambda: codes.pop(0) if codes else None)
    controller.effect(hall.kiosk.tap("checkin", hall.now))  # type: ignore[arg-type]
    ui.pump_until(lambda: hall.kiosk.screen == Screen.MESSAGE)
    assert hall.kiosk.message == "预约码无效" and hall.kiosk.retry_action == "checkin"
    controller.effect(hall.kiosk.tap("checkin", hall.now))  # type: ignore[arg-type]
    ui.pump_until(lambda: hall.kiosk.screen == Screen.TICKET)
    assert [body["code"] for _, body, _ in link.requests] == ["FORGED", "GOOD"]


@pytest.mark.parametrize("camera", ["missing", "failing"])
def test_without_a_working_camera_check_in_says_so_and_reports_it(camera: str) -> None:
    hall, ui = Hall(), UiThread()

    def broken() -> str | None:
        raise RuntimeError("check-in needs kiosk.qr_scan and OpenCV")

    link = FakeLink(hub_answer(hall))
    controller = controller_for(hall, link, ui, scan=None if camera == "missing" else broken)
    controller.effect(hall.kiosk.tap("checkin", hall.now))  # type: ignore[arg-type]
    ui.pump_until(lambda: hall.kiosk.screen == Screen.MESSAGE)
    assert hall.kiosk.message == "摄像头暂时无法使用，请咨询工作人员。"
    ui.pump_until(lambda: {"camera": "unavailable"} in link.reports)
    assert link.requests == []


def test_help_reports_a_request_and_withdraws_it_later() -> None:
    hall, ui = Hall(), UiThread()
    link = FakeLink(hub_answer(hall))
    controller = controller_for(hall, link, ui, help_seconds=0.2)
    effect = hall.kiosk.tap("help", hall.now)
    assert effect is not None
    controller.effect(effect)
    ui.pump_until(lambda: bool(link.reports))
    assert link.reports == [{"help": "requested", "help_at": "2026-11-25T10:00:00+08:00"}]
    assert hall.kiosk.message == "已通知工作人员，请在此稍候。"
    time.sleep(0.25)
    controller.tick()
    ui.pump_until(lambda: len(link.reports) == 2)
    assert link.reports[1] == {"help": "none"} and link.requests == []


class Voice:
    """A speech source that writes a short silent WAV per sentence (the real engine is tested in test_speech)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.texts: list[str] = []

    def warm_up(self) -> None: ...

    def synthesize(self, text: str, voice: str, rate: int, volume: float) -> Path:
        import wave  # noqa: PLC0415

        self.texts.append(text)
        path = self.folder / f"{len(self.texts)}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(22050)
            out.writeframes(b"\0\0" * 2205)
        return path


def test_elder_mode_reads_each_new_screen_once_and_standard_mode_reads_nothing(tmp_path: Path) -> None:
    hall, ui = Hall(), UiThread()
    voice = Voice(tmp_path)
    reader = ScreenReader(voice, RecordingPlayer(time_scale=0.01))
    reader.start()
    try:
        controller = controller_for(hall, FakeLink(hub_answer(hall)), ui, reader=reader)
        controller.changed()
        assert reader.wait_idle(5) and voice.texts == []  # standard mode: silent
        hall.kiosk.tap("elder", hall.now)
        controller.changed()
        controller.changed()  # the same screen again (a clock tick): not read twice
        assert reader.wait_idle(5)
        assert voice.texts == ["您好，请选择要办理的业务", "取号", "预约签到", "呼叫工作人员"]
        take_ticket(hall, controller)
        ui.pump_until(lambda: hall.kiosk.screen == Screen.TICKET)
        assert reader.wait_idle(5)
        assert (
            "您的号码是 A 零零一" in voice.texts and [s.sentences[0] for s in reader.read][-1] == "您的号码是 A 零零一"
        )
    finally:
        reader.stop()


def test_the_camera_reads_a_booking_code_from_frames_and_checks_it_in(tmp_path: Path) -> None:
    """``CameraScan`` over OpenCV's image-sequence capture (a stand-in camera): two empty frames, then a phone's QR
    code; the controller sends it as a check-in. At the end of the frames the camera counts as gone."""
    import qrcode  # noqa: PLC0415  (python-escpos's dependency)
    from PIL import Image  # noqa: PLC0415

    from kiosk.camera import CameraScan, CameraUnavailable  # noqa: PLC0415

    code = "HQ1.centre.20261125.A02.7F3K2QW9"
    Image.new("RGB", (640, 480), "white").save(tmp_path / "frame_00.png")
    Image.new("RGB", (640, 480), "grey").save(tmp_path / "frame_01.png")
    picture = Image.new("RGB", (640, 480), "white")
    picture.paste(qrcode.make(code).get_image().convert("RGB").resize((300, 300)), (170, 90))
    picture.save(tmp_path / "frame_02.png")
    camera = CameraScan(str(tmp_path / "frame_%02d.png"))
    hall, ui = Hall(), UiThread()
    link = FakeLink(lambda action, body, request_id: appointment_reply())
    controller = controller_for(hall, link, ui, scan=camera)
    controller.effect(hall.kiosk.tap("checkin", hall.now))  # type: ignore[arg-type]
    ui.pump_until(lambda: hall.kiosk.screen == Screen.TICKET, timeout=10)
    assert [body for _, body, _ in link.requests] == [{"code": code}]
    with pytest.raises(CameraUnavailable, match="no frames"):
        while camera() is None:
            pass

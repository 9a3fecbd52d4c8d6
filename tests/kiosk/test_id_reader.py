"""The kiosk's ID card reader: the card's text block, the reader's three requests over a real pty (a peer that
answers as a GA/T 467 reader does), a silent or faulty reader, and a card laid on the reader registering the ticket
to that citizen at the real hub, where the same card cannot take a second ticket for the same matter. The number
is never logged nor stored in clear, and the screen shows it masked."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from devicekit.frames import FrameCodec, FrameReader
from devicekit.serial_profile import serial_profile
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.site_info import site_info
from kiosk.controller import KioskController
from kiosk.id_reader import IdCardReader, IdReaderError, parse_text
from kiosk.model import KioskModel, Screen
from kiosk.texts import Texts
from tests.kiosk.test_controller import FakeLink, UiThread
from tests.kiosk.test_hub_link import NOW
from tests.support.hub_process import HubProcess
from tests.support.pty_port import PtyPort
from tests.support.waits import eventually

PROFILE = serial_profile("id_readers", "gat467")
ID_NUMBER = "11010519491231002X"
FIELDS = (  # (text, bytes) in the order of the card's text block
    ("张三丰", 30), ("1", 2), ("01", 4), ("19491231", 16), ("北京市朝阳区某某路1号", 70), (ID_NUMBER, 36),
    ("北京市公安局朝阳分局", 30), ("20200101", 16), ("长期", 16), ("", 36),
)  # fmt: skip


def text_block(number: str = ID_NUMBER) -> bytes:
    """The card's 256 bytes: each field in UTF-16-LE, padded with spaces to its length."""
    texts = [number if text == ID_NUMBER else text for text, _ in FIELDS]
    return b"".join(
        (text + " " * (size // 2 - len(text))).encode("utf-16-le")
        for text, (_, size) in zip(texts, FIELDS, strict=True)
    )


class ReaderPeer(PtyPort):
    """The reader's end of a pty: answers find, select and read for the card lying on it (``card``: a text block)."""

    def __init__(self) -> None:
        super().__init__()
        self.card: bytes | None = None
        self.mode = "answer"  # or "silent", or "fault" (SW3 41, read failed)
        self.empty_looks = 0
        """Finds answered "no card"."""
        self.codec, self.reader = FrameCodec(PROFILE), FrameReader(PROFILE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        os.set_blocking(self.host, False)
        while not self._stop.wait(0.005):
            try:
                chunk = os.read(self.host, 256)
            except (BlockingIOError, OSError):
                continue
            for frame in self.reader.feed(chunk):
                answer = self._answer(frame.data[:2])
                if answer is not None:
                    os.write(self.host, self.codec.encode(answer))

    def _answer(self, command: bytes) -> bytes | None:
        if self.mode == "silent":
            return None
        if self.mode == "fault":
            return bytes.fromhex("00 00 41")
        if command == bytes.fromhex("20 01"):
            self.empty_looks += not self.card
            return bytes.fromhex("00 00 9F 00 00 00 00") if self.card else bytes.fromhex("00 00 80")
        if command == bytes.fromhex("20 02"):
            return bytes.fromhex("00 00 90") + bytes(8) if self.card else bytes.fromhex("00 00 81")
        assert command == bytes.fromhex("30 01") and self.card is not None
        return bytes.fromhex("00 00 90 01 00 04 00") + self.card + bytes(1024)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        super().close()


@pytest.fixture
def peer() -> Iterator[ReaderPeer]:
    made = ReaderPeer()
    yield made
    made.close()


def test_the_text_block_is_read_field_by_field_and_shown_only_masked() -> None:
    card = parse_text(text_block())
    assert (card.name, card.gender, card.birth, card.id_number, card.valid_to) == (
        "张三丰", "1", "19491231", ID_NUMBER, "长期",
    )  # fmt: skip
    assert (card.masked_name, card.masked_number) == ("张*丰", "1101**********002X")
    assert repr(card) == "IdCard(张*丰, 1101**********002X)" and ID_NUMBER not in f"{card!r} {card}"
    with pytest.raises(IdReaderError, match="a text block of 10 bytes"):
        parse_text(bytes(10))


def test_a_card_on_the_reader_is_read_and_none_when_it_is_taken_away(peer: ReaderPeer) -> None:
    reader = IdCardReader(peer.path, PROFILE)
    try:
        assert reader.read_card() is None
        peer.card = text_block()
        card = reader.read_card()
        assert card is not None and card.id_number == ID_NUMBER and card.name == "张三丰"
        peer.card = None
        assert reader.read_card() is None
    finally:
        reader.close()


@pytest.mark.parametrize(("mode", "problem"), [("silent", "no answer from the reader"), ("fault", "read failed")])
def test_a_silent_or_faulty_reader_says_so(peer: ReaderPeer, mode: str, problem: str) -> None:
    peer.mode = mode
    reader = IdCardReader(peer.path, PROFILE, timeout=0.3)
    try:
        with pytest.raises(IdReaderError, match=problem):
            reader.read_card()
    finally:
        reader.close()


def test_a_card_laid_on_the_reader_registers_the_ticket_at_the_real_hub(
    hub: HubProcess, peer: ReaderPeer, caplog: pytest.LogCaptureFixture
) -> None:
    account = hub.provision("centre", "kiosk")
    hub.start()
    link = hub.link(account, "centre", wire.DeviceKind.KIOSK, follow_site=True)
    eventually(lambda: link.hub_online, timeout=10)
    district = load_district(SAMPLE_DISTRICT)
    centre = district.site("centre")
    assert centre is not None
    model = KioskModel("centre", Texts("zh_CN"))
    model.on_info(site_info(district, centre))
    ui = UiThread()
    reader = IdCardReader(peer.path, PROFILE)
    controller = KioskController(model, link, ui.post, now=lambda: NOW, cards=reader, card_interval=0.05)
    try:
        controller.watch_cards()
        peer.card = text_block()
        ui.pump_until(lambda: model.card is not None, timeout=5)
        assert model.screen == Screen.MATTERS and model.card_note() == "已读取身份证：张*丰 1101**********002X"
        body = model.choose_matter("A02", NOW)
        assert body is not None and body["id_number"] == ID_NUMBER
        controller.issue(body)
        ui.pump_until(lambda: model.screen == Screen.TICKET)
        assert model.card is None  # the next citizen starts without it

        peer.card, looks = None, peer.empty_looks  # taken away, then laid again: the same citizen
        eventually(lambda: peer.empty_looks > looks)
        peer.card = text_block()
        ui.pump_until(lambda: model.card is not None, timeout=5)
        again = model.choose_matter("A02", NOW)
        assert again is not None
        controller.issue(again)
        ui.pump_until(lambda: model.screen == Screen.MESSAGE)
        assert "已有" in model.message  # one open ticket per citizen and matter
    finally:
        controller.close()
        reader.close()
    assert ID_NUMBER not in caplog.text and ID_NUMBER not in hub.log_path.read_text()
    database = Path(hub.db_url.removeprefix("sqlite:///"))
    stored = b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))  # with the WAL
    assert b"citizen_ref" in stored and ID_NUMBER.encode() not in stored and ID_NUMBER.lower().encode() not in stored


def test_a_reader_unplugged_and_back_is_reported_in_the_kiosks_status(tmp_path: Path) -> None:
    port = tmp_path / "ttyUSB1"  # the adapter's stable name; nothing there yet
    link = FakeLink(lambda *_: wire.Reply(id="x", ok=True))
    model = KioskModel("centre", Texts("zh_CN"))
    ui = UiThread()
    reader = IdCardReader(str(port), PROFILE, timeout=0.3)
    controller = KioskController(model, link, ui.post, now=lambda: NOW, cards=reader, card_interval=0.05)
    replugged = None
    try:
        controller.watch_cards()
        eventually(lambda: link.reports == [{"id_reader": "offline"}])
        replugged = ReaderPeer()
        port.symlink_to(replugged.path)
        eventually(lambda: link.reports == [{"id_reader": "offline"}, {"id_reader": "ok"}])
    finally:
        controller.close()
        reader.close()
        if replugged is not None:
            replugged.close()

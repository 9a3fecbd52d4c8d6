"""The kiosk's ID card reader: the card's text block, the reader's three requests over a real pty (a peer that
answers as a GA/T 467 reader does), a silent or faulty reader, and a card laid on the reader registering the ticket
to that citizen at the real hub, where the same card cannot take a second ticket for the same matter. The number
is never logged nor stored in clear, and the screen shows it masked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from devicekit.serial_profile import serial_profile
from devicekit.serial_try.id_reader import CardText, IdReaderPeer
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.site_info import site_info
from kiosk.controller import KioskController
from kiosk.id_reader import IdCardReader, IdReaderError, parse_text
from kiosk.model import KioskModel, Screen
from kiosk.texts import Texts
from tests.kiosk.test_controller import FakeLink, UiThread
from tests.kiosk.test_hub_link import NOW
from tests.support.hub_process import HubProcess
from tests.support.waits import eventually

PROFILE = serial_profile("id_readers", "gat467")
ID_NUMBER = "11010519491231002X"
CARD = CardText(
    name="张三丰", birth="19491231", address="北京市朝阳区某某路1号", id_number=ID_NUMBER,
    authority="北京市公安局朝阳分局", valid_to="长期",
)  # fmt: skip


@pytest.fixture
def peer() -> Iterator[IdReaderPeer]:
    made = IdReaderPeer(PROFILE, CARD)
    made.serve()
    yield made
    made.close()


def test_the_text_block_is_read_field_by_field_and_shown_only_masked() -> None:
    card = parse_text(CARD.block())
    assert (card.name, card.gender, card.birth, card.id_number, card.valid_to) == (
        "张三丰", "1", "19491231", ID_NUMBER, "长期",
    )  # fmt: skip
    assert (card.masked_name, card.masked_number) == ("张*丰", "1101**********002X")
    assert repr(card) == "IdCard(张*丰, 1101**********002X)" and ID_NUMBER not in f"{card!r} {card}"
    with pytest.raises(IdReaderError, match="a text block of 10 bytes"):
        parse_text(bytes(10))


def test_a_card_on_the_reader_is_read_and_none_when_it_is_taken_away(peer: IdReaderPeer) -> None:
    reader = IdCardReader(peer.path, PROFILE)
    try:
        assert reader.read_card() is None
        peer.command(["lay"])
        card = reader.read_card()
        assert card is not None and card.id_number == ID_NUMBER and card.name == "张三丰"
        peer.command(["take"])
        assert reader.read_card() is None
    finally:
        reader.close()


@pytest.mark.parametrize(("mode", "problem"), [("silent", "no answer from the reader"), ("fault 41", "read failed")])
def test_a_silent_or_faulty_reader_says_so(peer: IdReaderPeer, mode: str, problem: str) -> None:
    peer.command(mode.split())
    reader = IdCardReader(peer.path, PROFILE, timeout=0.3)
    try:
        with pytest.raises(IdReaderError, match=problem):
            reader.read_card()
    finally:
        reader.close()


def test_a_card_laid_on_the_reader_registers_the_ticket_at_the_real_hub(
    hub: HubProcess, peer: IdReaderPeer, caplog: pytest.LogCaptureFixture
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
        peer.command(["lay"])
        ui.pump_until(lambda: model.card is not None, timeout=5)
        assert model.screen == Screen.MATTERS and model.card_note() == "已读取身份证：张*丰 1101**********002X"
        body = model.choose_matter("A02", NOW)
        assert body is not None and body["id_number"] == ID_NUMBER
        controller.issue(body)
        ui.pump_until(lambda: model.screen == Screen.TICKET)
        assert model.card is None  # the next citizen starts without it

        peer.command(["take"])  # taken away, then laid again: the same citizen
        looks = peer.empty_looks
        eventually(lambda: peer.empty_looks > looks)
        peer.command(["lay"])
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
        replugged = IdReaderPeer(PROFILE)
        replugged.serve()
        port.symlink_to(replugged.path)
        eventually(lambda: link.reports == [{"id_reader": "offline"}, {"id_reader": "ok"}])
    finally:
        controller.close()
        reader.close()
        if replugged is not None:
            replugged.close()

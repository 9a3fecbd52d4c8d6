"""Which calls a board announces, and its zone: a BoardFeed whose link receives the hub's real events and snapshots
(the in-memory gateway of the sample district) through the same dispatch the network uses, with no broker."""

from __future__ import annotations

import hashlib
import time
import wave
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

import contract as wire
from devicekit.link import DeviceLink
from devicekit.voice import Announcer, RecordingPlayer, VoiceConfig
from display.board_model import Board as BoardFrame
from display.board_model import BoardModel, CallLine, Zone
from display.feed import LATE_CALL_SECONDS, BoardFeed
from tests.display.test_board_model import SITE, BoardHall


class ToneSpeech:
    """A SpeechSource without espeak-ng: every sentence becomes a short silent WAV named after its text."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.texts: dict[Path, str] = {}
        self.made: list[str] = []
        self.voices: tuple[str, ...] = ()

    def warm_up(self, voices: tuple[str, ...] = ()) -> None:
        self.voices = voices

    def synthesize(self, text: str, voice: str, rate: int, volume: float) -> Path:
        path = self.folder / f"{hashlib.sha1(text.encode()).hexdigest()[:16]}.wav"
        if not path.exists():
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(8000)
                out.writeframes(b"\0\0" * 400)  # 0.05 s
            self.made.append(text)
        self.texts[path] = text
        return path


class Board:
    """A hall in memory and a board following it: ``deliver`` hands the hub's new events (and, when asked, the
    retained snapshot) to the board's link as the broker would."""

    def __init__(self, folder: Path, zone: Zone | None = None, hall: BoardHall | None = None) -> None:
        self.hall = hall or BoardHall()
        self.link = DeviceLink(
            host="127.0.0.1", port=9, site_id=SITE, device_id="board-t", password="-", kind=wire.DeviceKind.BOARD,
            follow_site=True,
        )  # fmt: skip
        self.model = BoardModel(SITE, zone=zone)
        self.speech = ToneSpeech(folder)
        self.player = RecordingPlayer(time_scale=0.0)
        self.announcer = Announcer(VoiceConfig(languages=("zh",), repeat=1, chime=False), self.speech, self.player)
        self.announcer.start()
        self.feed = BoardFeed(self.link, self.model, self.announcer, clock=lambda: self.hall.now)
        self.changes = 0
        self.feed.on_change = self._count
        self.model.on_info(self.hall.info)
        self.snapshot()

    def _count(self) -> None:
        self.changes += 1

    def snapshot(self) -> None:
        self.link._dispatch(wire.snapshot_topic(SITE), wire.encode(self.hall.snapshot()))

    def deliver(self, snapshot: bool = False) -> None:
        for event in self.hall.events:
            self.link._dispatch(wire.events_topic(SITE), wire.encode(wire.SiteEvents(site_id=SITE, events=(event,))))
        self.hall.events = []
        if snapshot:
            self.snapshot()

    def spoken(self) -> list[str]:
        assert self.announcer.wait_idle(timeout=10)
        return [self.speech.texts[played.path] for played in self.player.played]


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Board]:
    made = Board(tmp_path)
    yield made
    made.announcer.stop()


def zh(number: str, window: int) -> str:
    from devicekit.voice import utterances  # noqa: PLC0415
    from engine.events import CallKind  # noqa: PLC0415

    return utterances(number, window, CallKind.NEXT, VoiceConfig(languages=("zh",)))[0].text


def test_each_call_is_announced_once_in_order_and_a_recall_again(board: Board) -> None:
    board.hall.take("A02", "B01", "C01")
    for window in ("w01", "w07"):
        board.hall.call(window)
        board.deliver(snapshot=True)  # the retained snapshot follows every change: no second announcement
    board.hall.call("w01", "recall")
    board.deliver()
    board.snapshot()
    assert board.spoken() == [zh("A001", 1), zh("B001", 7), zh("A001", 1)]
    assert board.feed.late_skipped == 0


def test_calls_on_the_board_at_start_are_not_announced_but_their_recalls_are_prepared(board: Board) -> None:
    board.hall.take("A02", "B01")
    board.hall.call("w01")
    board.hall.call("w07")
    folder = board.speech.folder / "late"
    folder.mkdir()
    late = Board(folder, hall=board.hall)  # a board started now, on a hall that already called
    try:
        assert late.announcer.prewarm([]).result(timeout=5) == 0  # runs after the prewarm of the first snapshot
        assert sorted(late.speech.made) == sorted([zh("A001", 1), zh("B001", 7)])
        assert late.spoken() == []
    finally:
        late.announcer.stop()


def test_a_snapshot_that_overtakes_its_event_announces_the_call_once(board: Board) -> None:
    board.hall.take("A02")
    board.hall.call("w01")
    board.snapshot()  # the retained snapshot first ...
    board.deliver()  # ... then the event: a duplicate
    assert board.spoken() == [zh("A001", 1)]


def test_after_missing_several_calls_only_the_newest_three_recent_ones_are_announced(board: Board) -> None:
    board.hall.take(*["A02"] * 3, *["B01"] * 3)
    for window in ("w01", "w02", "w03", "w07", "w08"):
        board.hall.call(window)
    board.hall.events = []  # the broker was down: every event lost
    board.snapshot()  # the retained snapshot after the reconnect
    frame = board.feed.frame(board.hall.now)
    assert frame.latest is not None and [frame.latest, *frame.recent][:5] == [
        CallLine("B002", 8),
        CallLine("B001", 7),
        CallLine("A003", 3),
        CallLine("A002", 2),
        CallLine("A001", 1),
    ]
    assert board.spoken() == [zh("A003", 3), zh("B001", 7), zh("B002", 8)]
    assert board.feed.late_skipped == 2


def test_missed_calls_made_long_ago_are_shown_but_not_announced(board: Board) -> None:
    board.hall.take("A02", "A02")
    board.hall.call("w01")
    board.hall.call("w02")
    board.hall.events = []
    board.hall.now += timedelta(seconds=LATE_CALL_SECONDS + 1)
    board.snapshot()
    assert board.spoken() == []
    assert board.feed.late_skipped == 2
    assert board.feed.frame(board.hall.now).latest == CallLine("A002", 2)


def test_a_zone_board_shows_and_announces_only_its_windows_and_matters(tmp_path: Path) -> None:
    zone = Board(tmp_path, zone=Zone(name="社保医保区", windows=frozenset({"w07", "8"})))
    try:
        zone.hall.take("A02", "A02", "B01", "B01", "B02", "C01")
        for window in ("w01", "w07", "w02", "w08"):
            zone.hall.call(window)
            zone.deliver()
        zone.snapshot()
        frame = zone.feed.frame(zone.hall.now)
        assert frame.zone_name == "社保医保区"
        assert (frame.latest, frame.recent) == (CallLine("B002", 8), (CallLine("B001", 7),))
        assert zone.spoken() == [zh("B001", 7), zh("B002", 8)]
        served = {m.code for m in zone.hall.info.matters if {7, 8} & set(m.windows)}
        assert {line.code for line in frame.waiting} <= served
        assert "A02" not in {line.code for line in frame.waiting}
        assert zone.link.view is not None and zone.link.view.recent >= 48
    finally:
        zone.announcer.stop()


def _hall_called_at_w07_and_w01() -> BoardHall:
    """A02, B01, B01, C01 taken; w07 then w01 call; the board's view has the events and the snapshot."""
    hall = BoardHall()
    hall.take("A02", "B01", "B01", "C01")
    hall.call("w07")
    hall.call("w01")
    hall.deliver()
    hall.view.apply_snapshot(hall.snapshot())
    return hall


def _windows_shown(frame: BoardFrame) -> list[int]:
    return [call.window_number for call in ([frame.latest] if frame.latest else []) + list(frame.recent)]


def test_a_zone_of_matters_takes_the_windows_that_serve_them() -> None:
    hall = _hall_called_at_w07_and_w01()
    serving_b01 = {n for m in hall.info.matters if m.code == "B01" for n in m.windows}
    model = BoardModel(SITE, zone=Zone(matters=frozenset({"B01"})))
    model.on_info(hall.info)
    frame = model.board(hall.view, hall.now)
    assert [line.code for line in frame.waiting] == ["B01"]
    shown = _windows_shown(frame)
    assert shown and set(shown) <= serving_b01
    whole = BoardModel(SITE)
    whole.on_info(hall.info)
    assert [line.code for line in whole.board(hall.view, hall.now).waiting] == ["B01", "C01"]


def test_a_zone_named_only_takes_the_windows_the_hub_places_in_it() -> None:
    hall = _hall_called_at_w07_and_w01()
    model = BoardModel(SITE, zone=Zone(name="社保医保区"))  # w07 and w08 in the sample centre
    model.on_info(hall.info)
    assert _windows_shown(model.board(hall.view, hall.now)) == [7]
    assert Zone(name="no such zone").windows_in(hall.view.snapshot) == frozenset()  # shows the whole site


def test_the_prewarm_makes_the_announcement_a_cache_hit(board: Board) -> None:
    from engine.events import CallKind  # noqa: PLC0415

    call = wire.CallView(
        seq=99, number="C012", window_id="w09", window_number=9, kind=CallKind.NEXT, at=board.hall.now
    )  # fmt: skip
    assert board.announcer.prewarm([call]).result(timeout=5) == 1
    made = list(board.speech.made)
    board.announcer.announce(msgspec.structs.replace(call, kind=CallKind.RECALL))
    assert board.spoken() == [zh("C012", 9)]
    assert board.speech.made == made  # nothing synthesised at announcement time
    started = time.perf_counter()
    board.announcer.stop()
    assert time.perf_counter() - started < 2

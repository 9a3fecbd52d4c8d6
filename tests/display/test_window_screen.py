"""A window's LED strip: what it shows (from the site view), its frames on a real pty read back by the codec, a
port that goes away and comes back, and the whole path from a caller's press through the real hub to the strip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from devicekit.frames import FrameReader
from devicekit.serial_profile import serial_profile
from devicekit.serial_try.led import LedPeer
from display.led_strip import LedStrip
from display.window_screen import WindowScreen
from display.window_screen_app import WindowScreenSettings, main, wire_screen
from tests.display.test_board_model import BoardHall
from tests.support.hub_process import HubProcess
from tests.support.waits import eventually

SLZC = serial_profile("led_strips", "slzc")


@pytest.fixture
def peer() -> Iterator[LedPeer]:
    made = LedPeer(SLZC, address=3)
    yield made
    made.close()


def test_the_strip_shows_the_call_here_a_pause_and_the_window_otherwise() -> None:
    hall = BoardHall()
    screen = WindowScreen()
    assert screen.text(hall.view, "w01") == "1号窗口 欢迎您"
    hall.take("A02", "A02")
    hall.call("w02")
    hall.deliver()
    assert screen.text(hall.view, "w01") == "1号窗口 欢迎您"  # a call at another window changes nothing here
    hall.call("w01")
    hall.deliver()
    assert screen.text(hall.view, "w01") == "请A002号到1号窗口"
    hall.call("w01", "finish")
    hall.deliver()
    assert hall.request("caller-w01", "pause", {"window_id": "w01", "reason": "午休"}).ok
    hall.view.apply_snapshot(hall.snapshot())
    assert screen.text(hall.view, "w01") == "1号窗口 暂停服务"
    assert screen.text(hall.view, "w99") is None


def test_the_strip_gets_the_text_in_frames_of_its_profile(peer: LedPeer) -> None:
    strip = LedStrip(peer.path, SLZC, 3)
    try:
        strip.show("请A001号到3号窗口")
        eventually(lambda: peer.shown() == ["请A001号到3号窗口"])
        assert strip.status == "ok" and not peer.reader.dropped
    finally:
        strip.stop()


def test_a_strip_unplugged_reports_offline_and_shows_the_newest_text_when_back(tmp_path: Path) -> None:
    first, link = LedPeer(SLZC, address=3), tmp_path / "ttyUSB0"  # the adapter's stable name, as udev gives it
    link.symlink_to(first.path)
    statuses: list[str] = []
    strip = LedStrip(str(link), SLZC, 3, on_status=statuses.append, retry_seconds=0.1)
    second = None
    try:
        strip.show("请A001号到3号窗口")
        eventually(lambda: first.shown() == ["请A001号到3号窗口"])
        first.close()  # pulled out: the port is gone
        link.unlink()
        strip.show("请A002号到3号窗口")
        eventually(lambda: strip.status == "offline")
        strip.show("请A001号到3号窗口")  # back to the text shown before the port went: it must still go out again
        second = LedPeer(SLZC, address=3)  # plugged in again (a strip powered off and on shows nothing of it)
        link.symlink_to(second.path)
        eventually(lambda: second is not None and second.shown() == ["请A001号到3号窗口"])
        assert statuses == ["ok", "offline", "ok"]
    finally:
        strip.stop()
        if second is not None:
            second.close()


def test_a_call_reaches_the_windows_strip_through_the_hub(hub: HubProcess, peer: LedPeer) -> None:
    kiosk = hub.provision("centre", "kiosk")
    caller = hub.provision("centre", "caller", "w01")
    screen = hub.provision("centre", "window_screen", "w01")
    hub.add_staff("centre", "li")
    hub.start()
    settings = WindowScreenSettings(
        port=hub.broker_port, site="centre", device_id=screen.device_id, password=screen.password,
        serial_port=peer.path, address=3,
    )  # fmt: skip
    link, strip = wire_screen(settings)
    try:
        assert link.start(wait=10)
        eventually(lambda: peer.shown()[-1:] == ["1号窗口 暂停服务"], timeout=10)  # nobody signed in yet
        kiosk_link = hub.link(kiosk, "centre", wire.DeviceKind.KIOSK)
        caller_link = hub.link(caller, "centre", wire.DeviceKind.CALLER)
        number = kiosk_link.request(wire.Action.ISSUE, {"matters": ["A02"]}).ticket.number  # type: ignore[union-attr]
        assert caller_link.request(wire.Action.OPEN_WINDOW, {"window_id": "w01", "staff_id": "li", "pin": "2468"}).ok
        assert caller_link.request(wire.Action.CALL_NEXT, {"window_id": "w01"}).ok
        eventually(lambda: peer.shown()[-1:] == [f"请{number}号到1号窗口"])

        def reported() -> dict[str, str]:
            return dict(hub.statuses(screen).get(screen.device_id, {}).get("detail", {}))

        eventually(lambda: reported().get("led") == "ok")
    finally:
        link.stop()
        strip.stop()


@pytest.mark.parametrize(
    ("profile", "problem"),
    [("nope", "no such serial device profile; known: onbon-bx, slzc"), ("onbon-bx", "with a [text] format")],
)
def test_a_strip_profile_that_cannot_show_text_stops_the_screen_with_a_message(
    profile: str, problem: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCREEN_PROFILE", profile)
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2 and problem in capsys.readouterr().err


def test_a_text_longer_than_the_strip_takes_is_cut_not_dropped() -> None:
    strip = LedStrip("/dev/null", SLZC, 3)
    try:
        frame = strip.frame("请" * 400)  # 3 bytes a character on the wire: more than the 512 the strip takes
        (decoded,) = FrameReader(SLZC).feed(frame)
        assert SLZC.text is not None and SLZC.text.text(decoded.data, "gbk") == "请" * (SLZC.frame.max_data // 3)
    finally:
        strip.stop()


def test_a_text_with_an_unknown_placeholder_stops_the_screen_with_a_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCREEN_CALLED", "请{name}到{window}号窗口")
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2 and "called: only {number} and {window}" in capsys.readouterr().err

"""Caller keypads (呼叫器) on an RS-485 bus: the keys drive the same caller model as the software caller, through an
in-memory hub; then the bus over a real pty against the real hub and Mosquitto: frames acknowledged, a clerk
signing in with digits, a call shown on the keypad's display."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from caller.keypad import KeypadBus, KeypadPad
from caller.keypads_app import BusDevice, KeypadsConfig, load_keypads, wire_bus
from devicekit.frames import Decoded
from devicekit.link import DeviceLink
from devicekit.serial_profile import serial_profile
from devicekit.serial_try.bus import KEY_FUNCTION, BusPeer, shown
from tests.caller.hall import SITE, Hall
from tests.support.hub_process import HubProcess
from tests.support.waits import eventually

PROFILE = serial_profile("keypads", "ff68")
KEY = {name: int(code, 16) for code, name in PROFILE.keys.items()}


def key_data(digits: str, key: str) -> bytes:
    return bytes(int(d) for d in digits) + bytes([KEY[key]])


class Keys:
    def __init__(self) -> None:
        self.hall = Hall()
        self.hall.staff.add(SITE, "1001", "王芳", "2468")
        self.pad = KeypadPad(self.hall.model, PROFILE.keys)

    def press(self, key: str, digits: str = "") -> None:
        self.hall.do(self.pad.press(key_data(digits, key)))

    @property
    def display(self) -> str:
        return shown(self.pad.display())


def test_a_clerk_signs_in_with_digits_and_works_the_window_from_the_keypad() -> None:
    keys = Keys()
    model = keys.hall.model
    assert keys.display == "      "
    keys.press("function", "1001")  # the staff id ...
    assert model.clerk is None and keys.hall.sent == []
    keys.press("function", "2468")  # ... then the PIN
    assert model.clerk is not None and model.clerk.staff_id == "1001"
    keys.hall.issue("A02")
    keys.hall.issue("A02")
    keys.hall.refresh()
    assert keys.display == "002   "

    keys.press("call_next")
    assert keys.display == "001001" and model.current is not None and model.current.number == "A001"
    keys.press("recall")
    assert model.current.calls == 2  # type: ignore[union-attr]
    keys.press("start_or_transfer")
    assert model.current is not None and model.current.serving
    keys.press("wait_or_evaluate")  # finish
    assert model.current is None and keys.display == "001   "
    keys.press("pause")
    assert model.window.paused
    keys.press("function", "0")  # pause/resume by digit + function
    assert not model.window.paused
    keys.press("call_next")
    keys.press("transfer", "2")  # to window 2
    assert model.current is None and [r.action for r in keys.hall.sent][-2:] == ["transfer", "queue"]
    keys.press("function", "9")  # sign out
    assert model.clerk is None and keys.display == "      "


def test_a_wrong_pin_keeps_the_window_closed_and_unknown_keys_do_nothing() -> None:
    keys = Keys()
    keys.press("function", "1001")
    keys.press("function", "1111")
    assert keys.hall.model.clerk is None and "密码" in keys.hall.model.message
    sent = len(keys.hall.sent)
    assert keys.pad.press(bytes([0x7F])) is None and keys.pad.press(b"") is None
    assert keys.pad.press(key_data("", "call_next")) is None  # signed out: nothing is sent
    assert len(keys.hall.sent) == sent


@pytest.fixture
def peer() -> Iterator[BusPeer]:
    made = BusPeer(PROFILE, keypad=1, evaluator=31, evaluator_profile=serial_profile("evaluators", "ff68"))
    yield made
    made.close()


def line_of_window_1(hub: HubProcess, serial_port: str) -> tuple[KeypadBus, DeviceLink]:
    """The real hub with clerk 1001 (PIN 2468), and window 1's keypad (address 1) and evaluator (address 31) on the
    line at ``serial_port``; the bus (not started) and a kiosk's link."""
    caller = hub.provision("centre", "caller", "w01")
    evaluator = hub.provision("centre", "evaluator", "w01")
    kiosk = hub.provision("centre", "kiosk")
    hub.add_staff("centre", "1001", pin="2468")
    hub.start()
    config = KeypadsConfig(
        port=hub.broker_port, serial_port=serial_port,
        keypads=[BusDevice(address=1, window="w01", device_id=caller.device_id, password=caller.password)],
        evaluators=[BusDevice(address=31, window="w01", device_id=evaluator.device_id, password=evaluator.password)],
    )  # fmt: skip
    return wire_bus(config), hub.link(kiosk, "centre", wire.DeviceKind.KIOSK)


def test_a_keypad_on_the_bus_calls_through_the_real_hub(hub: HubProcess, peer: BusPeer) -> None:
    bus, kiosk = line_of_window_1(hub, peer.path)
    try:
        bus.start()
        number = kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]})
        assert number.ticket is not None
        peer.press(1, "function", "1001")
        peer.press(1, "function", "2468")
        eventually(lambda: peer.display(1) == "001   ", timeout=10)  # signed in: one waiting, nobody called
        peer.press(1, "call_next")
        eventually(lambda: peer.display(1) == "000" + number.ticket.number[-3:])  # type: ignore[union-attr]
        echoed = [f for f in peer.read() if f.function == KEY_FUNCTION]
        assert echoed[:3] == [
            Decoded(1, KEY_FUNCTION, key_data("1001", "function")),
            Decoded(1, KEY_FUNCTION, key_data("2468", "function")),
            Decoded(1, KEY_FUNCTION, key_data("", "call_next")),
        ]  # every key frame acknowledged by echoing it
        peer.press(7, "call_next")  # a keypad nobody configured: ignored ...
        peer.press(1, "recall")  # ... (the bus reads in order: once this is acknowledged, that one was read)
        eventually(lambda: Decoded(1, KEY_FUNCTION, key_data("", "recall")) in peer.read())
        assert not [frame for frame in peer.read() if frame.address == 7] and not peer.reader.dropped
    finally:
        bus.stop()


def test_a_bus_file_with_two_devices_at_one_address_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keypads.toml"
    entry = 'address = 1\nwindow = "w01"\ndevice_id = "c"\npassword = "p"\n'
    path.write_text(f"[[keypads]]\n{entry}\n[[evaluators]]\n{entry}", encoding="utf-8")
    with pytest.raises(ValueError, match="two devices of the line with the same address"):
        load_keypads(path)


def test_the_evaluator_asks_after_the_service_and_its_rating_reaches_the_hub(hub: HubProcess, peer: BusPeer) -> None:
    bus, kiosk = line_of_window_1(hub, peer.path)
    try:
        bus.start()
        assert kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]}).ok
        peer.press(1, "function", "1001")
        peer.press(1, "function", "2468")
        eventually(lambda: peer.display(1) == "001   ", timeout=10)
        for key in ("call_next", "start_or_transfer", "wait_or_evaluate"):  # call, serve, finish
            peer.press(1, key)
        asked = Decoded(31, 0x01, bytes([0x0B]))
        eventually(lambda: asked in peer.read())  # "please rate" on the window's evaluator

        peer.rate(31, 5)  # 非常满意
        eventually(lambda: Decoded(31, 0x02, bytes([5])) in peer.read())  # five stars: the hub took it
        assert Decoded(31, 0x01, bytes([0x05])) in peer.read()  # the rating acknowledged
        peer.rate(31, 5)  # a second rating of the same service
        eventually(lambda: Decoded(31, 0x02, bytes([0])) in peer.read())  # refused: no stars
    finally:
        bus.stop()


def test_a_line_that_echoes_the_host_does_not_press_a_key_twice(hub: HubProcess, peer: BusPeer) -> None:
    bus, kiosk = line_of_window_1(hub, peer.path)
    try:
        bus.start()
        for _ in range(2):
            assert kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]}).ok
        peer.press(1, "function", "1001")
        peer.press(1, "function", "2468")
        eventually(lambda: peer.display(1) == "002   ", timeout=10)
        peer.echo = True
        peer.press(1, "call_next")  # its acknowledgement comes back over the line, looking like a second press
        eventually(lambda: peer.display(1) == "001001")
        peer.press(1, "recall")
        eventually(lambda: Decoded(1, KEY_FUNCTION, key_data("", "recall")) in peer.read())
        assert peer.display(1) == "001001"  # A001 is still the one called: no second call-next
    finally:
        bus.stop()

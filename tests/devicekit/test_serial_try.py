"""``hall-serial-try``: each shipped serial profile played on a real pty against the project's own host side. A
keypad's typed keys reach the caller's keypad logic, and the tool as a process works a window through
``hall-keypads`` and the real hub, its evaluator rated; an LED strip prints what ``LedStrip`` shows; the kiosk's
ID card reader reads the sample card, whose number the hub's check takes. Garbage from the host is said and
skipped, an unknown command is said, Ctrl-C and the end of the input end the tool cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import contract as wire
from caller.keypad import KeypadPad
from devicekit import ff68
from devicekit.frames import Decoded, FrameCodec, FrameReader
from devicekit.profile_files import FIRMWARE_PROFILES
from devicekit.serial_port import open_port
from devicekit.serial_profile import SerialProfile, load_serial_profile
from devicekit.serial_try.bus import KEY_FUNCTION, BusPeer
from devicekit.serial_try.cli import run
from devicekit.serial_try.id_reader import SAMPLE_CARD
from display.led_strip import LedStrip
from hub.appointments.privacy import normalise_id_number
from kiosk.id_reader import IdCardReader, IdReaderError
from tests.caller.hall import SITE, Hall
from tests.caller.test_keypad import line_of_window_1
from tests.support.hub_process import HubProcess
from tests.support.waits import eventually

TOOL = Path(sys.executable).with_name("hall-serial-try")


def shipped(folder: str) -> list[Any]:
    """Every profile of ``firmware_profiles/<folder>``, as test parameters named by their id."""
    paths = sorted((FIRMWARE_PROFILES / folder).glob("*.toml"))
    return [pytest.param(load_serial_profile(path), id=path.stem) for path in paths]


class Tool:
    """``hall-serial-try`` as a process, its device linked at ``link``; commands go to its stdin."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.link = tmp_path / "ttyTRY"
        command = [str(TOOL), *args, "--link", str(self.link)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.seen: list[str] = []
        eventually(self.link.exists)

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, text: str) -> None:
        """Read what the tool prints until a line holds ``text``."""
        assert self.process.stdout is not None
        while not self.seen or text not in self.seen[-1]:
            line = self.process.stdout.readline()
            assert line, f"the tool ended without saying {text!r}"
            self.seen.append(line)

    def end(self, script: str = "") -> tuple[int, str]:
        """Send the last commands, end the input; the exit status and what the tool printed."""
        out, err = self.process.communicate(script, timeout=30)
        out = "".join(self.seen) + out
        assert "Traceback" not in out + err and err == ""
        assert not self.link.exists()  # the link goes with the tool
        return self.process.returncode, out

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def tools() -> Iterator[list[Tool]]:
    started: list[Tool] = []
    yield started
    for tool in started:
        tool.kill()


def host_end(path: str, profile: SerialProfile) -> Any:
    """The pty opened as the host opens it."""
    return open_port(path, profile, timeout=0.05, write_timeout=1)


def read_frames(host: Any, reader: FrameReader, count: int) -> list[Decoded]:
    frames: list[Decoded] = []
    eventually(lambda: frames.extend(reader.feed(host.read(256))) or len(frames) >= count)
    return frames


@pytest.mark.parametrize("profile", shipped("keypads"))
def test_typed_keys_reach_the_keypad_logic_and_its_display_is_said(profile: SerialProfile) -> None:
    peer, hall = BusPeer(profile), Hall()
    hall.staff.add(SITE, "1001", "王芳", "2468")
    pad = KeypadPad(hall.model, profile.keys)
    peer.serve()
    host, reader = host_end(peer.path, profile), FrameReader(profile)
    try:
        hall.issue("A02")
        run(peer, ["sign-in 1001 2468", "call"], timeout=1)
        for frame in read_frames(host, reader, 3):
            assert (frame.address, frame.function) == (1, KEY_FUNCTION)
            hall.do(pad.press(frame.data))
        assert hall.model.current is not None and hall.model.current.number == "A001"
        host.write(FrameCodec(profile).encode(pad.display(), address=1, function=ff68.SHOW))
        assert peer.wait_for("← keypad 1: display 「000001」 (waiting 000, ticket 001)")

        run(peer, [*profile.keys.values(), "@7 3 0x0C", "no-such-key", "1001"], timeout=1)
        codes = [int(code, 16) for code in profile.keys]
        pressed = [Decoded(1, KEY_FUNCTION, bytes([code])) for code in codes]
        assert read_frames(host, reader, len(codes) + 1) == [*pressed, Decoded(7, KEY_FUNCTION, bytes([3, 0x0C]))]
        assert [line for line in peer.said if line.startswith("?")] == [
            f"? no-such-key: 'no-such-key' is no key of {profile.id}; its keys: {', '.join(profile.keys.values())}, "
            "call, next, start, finish, fn, ok, or a key byte 0xNN",
            f"? 1001: '1001' is no key of {profile.id}; its keys: {', '.join(profile.keys.values())}, "
            "call, next, start, finish, fn, ok, or a key byte 0xNN",
        ]
    finally:
        host.close()
        peer.close()


def test_the_tool_as_a_process_works_a_window_through_hall_keypads_and_the_real_hub(
    hub: HubProcess, tmp_path: Path, tools: list[Tool]
) -> None:
    tool = Tool(tmp_path, "keypad", "--evaluator", "31")
    tools.append(tool)
    bus, kiosk = line_of_window_1(hub, str(tool.link))
    issued = kiosk.request(wire.Action.ISSUE, {"matters": ["A02"]})
    assert issued.ticket is not None
    try:
        bus.start()  # the bus shows the keypad's display once its port is open: keys typed before would be lost
        status, out = tool.end(
            "until ← keypad 1: display\nsign-in 1001 2468\nuntil (waiting 001, ticket -)\ncall\n"
            f"until (waiting 000, ticket {issued.ticket.number[-3:]})\nstart\nfinish\nuntil please rate\n"
            "rate 5\nuntil shows 5 stars\n"
        )
    finally:
        bus.stop()
    assert status == 0, out
    assert f'serial_port = "{tool.link}"' in out and "[[evaluators]]\n    address = 31" in out
    assert out.count("← keypad 1: key acknowledged") >= 5  # both sign-in keys, call, start, finish
    assert "← evaluator 31: rating acknowledged" in out and "★★★★★" in out and "✗" not in out


@pytest.mark.parametrize("profile", shipped("evaluators"))
def test_an_evaluator_is_asked_rated_and_shows_the_stars(profile: SerialProfile) -> None:
    peer = BusPeer(profile, keypad=None, evaluator=31)
    peer.serve()
    host, codec, reader = host_end(peer.path, profile), FrameCodec(profile), FrameReader(profile)
    try:
        host.write(codec.encode(bytes([ff68.PLEASE_RATE]), address=31, function=ff68.ASK))
        assert peer.wait_for("← evaluator 31: please rate (type 1-5)")
        run(peer, ["1", "2", "3", "4", "5", "6", "rate 5"], timeout=1)
        levels = {int(code, 16): name for code, name in profile.keys.items()}
        ratings = read_frames(host, reader, 6)
        assert [(f.address, f.function) for f in ratings] == [(31, ff68.RATED)] * 6
        assert [levels[f.data[0]] for f in ratings] == [*ff68.LEVELS, ff68.LEVELS[4]]  # what each key means, in order
        assert "? 6: a rating is one of [1, 2, 3, 4, 5]" in peer.said
        host.write(codec.encode(ratings[-1].data, address=31, function=ff68.ASK))  # the host's acknowledgement
        host.write(codec.encode(bytes([3]), address=31, function=ff68.SHOW))
        assert peer.wait_for("← evaluator 31: shows 3 stars ★★★☆☆")
        assert "← evaluator 31: rating acknowledged" in peer.said
    finally:
        host.close()
        peer.close()


@pytest.mark.parametrize("profile", shipped("led_strips"))
def test_an_led_strip_says_what_it_is_told_to_show_and_skips_garbage(
    profile: SerialProfile, tmp_path: Path, tools: list[Tool]
) -> None:
    tool = Tool(tmp_path, "led", "--profile", profile.id)
    tools.append(tool)
    host = host_end(str(tool.link), profile)
    try:
        host.write(b"\x00\xffnot a frame")
        if profile.text is not None:
            function = int(profile.text.function, 16)
            host.write(FrameCodec(profile).encode(b"\xff\xff", address=1, function=function))  # a frame, not text
            strip = LedStrip(str(tool.link), profile, 1)
            try:
                strip.show("请A001号到1号窗口")
                status, out = tool.end("until shows 「请A001号到1号窗口」\n")
            finally:
                strip.stop()
            assert f"SCREEN_SERIAL_PORT={tool.link} SCREEN_PROFILE={profile.id} SCREEN_ADDRESS=1" in out
            assert "⚠ a frame from the host that this LED strip cannot read (" in out
        else:  # no text format: the window screen refuses it; the tool shows a frame's parts
            with pytest.raises(ValueError, match="not an LED strip profile with a"):
                LedStrip(str(tool.link), profile, 1)
            host.write(FrameCodec(profile).encode(b"\xa5\x5a", address=1))  # bytes that must be escaped
            status, out = tool.end("until ← frame: address 1, data [A5 5A]\n")
            assert "hall-window-screen cannot drive it" in out
    finally:
        host.close()
    assert status == 0, out
    assert f"⚠ bytes from the host that are no {profile.id} frame (noise ×" in out  # in one piece or more


def fault(reader: IdCardReader) -> str:
    """What the reader reports when a card is read ("" when it reports nothing wrong)."""
    try:
        reader.read_card()
    except IdReaderError as error:
        return str(error)
    return ""


@pytest.mark.parametrize("profile", shipped("id_readers"))
def test_the_kiosks_reader_reads_the_sample_card(profile: SerialProfile, tmp_path: Path, tools: list[Tool]) -> None:
    tool = Tool(tmp_path, "id-reader", "--profile", profile.id)
    tools.append(tool)
    reader = IdCardReader(str(tool.link), profile)
    try:
        assert reader.read_card() is None
        tool.type("swipe")
        cards: list[Any] = []
        eventually(lambda: cards.append(reader.read_card()) or cards[-1] is not None)
        assert reader.read_card() is None  # a swipe: taken away once read
        tool.type("fault 41")
        eventually(lambda: fault(reader) == "the reader reports: read failed")
    finally:
        reader.close()
    card = cards[-1]
    assert card.name == SAMPLE_CARD.name and card.id_number == SAMPLE_CARD.id_number
    assert normalise_id_number(card.id_number) == card.id_number  # GB 11643's check digit: the hub takes it
    assert card.birth == card.id_number[6:14] and int(card.id_number[16]) % 2 == int(card.gender == "1")
    status, out = tool.end("ok\n")
    assert status == 0 and f"KIOSK_ID_READER={tool.link} KIOSK_ID_READER_PROFILE={profile.id}" in out
    assert "the card's text 张*例 6101**********0019" in out and card.id_number not in out  # said masked


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_a_stop_ends_the_tool_cleanly(tmp_path: Path, tools: list[Tool], stop: signal.Signals) -> None:
    tool = Tool(tmp_path, "keypad")
    tools.append(tool)
    tool.type("call")
    tool.expect("→ key call_next at 1")
    tool.process.send_signal(stop)
    status, out = tool.end()
    assert status == 0 and "→ key call_next at 1" in out


def test_an_until_not_met_fails_a_script_and_a_profile_not_shipped_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "try.txt"
    script.write_text("# a comment\nwait soon\nuntil a text never said\nquit\ncall\n", encoding="utf-8")
    command = [TOOL, "keypad", "--script", script, "--timeout", "0.2"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=20)
    assert done.returncode == 1 and done.stderr == ""
    assert "? wait soon: wait takes seconds: wait 0.5" in done.stdout and "→ key" not in done.stdout  # quit: no call
    assert "✗ nothing said with 'a text never said' within 0.2 s" in done.stdout
    command = [TOOL, "led", "--profile", "nope"]
    refused = subprocess.run(command, check=False, capture_output=True, text=True, timeout=20)
    assert refused.returncode == 2 and "no such serial device profile; known: onbon-bx, slzc" in refused.stderr


def test_typed_at_a_terminal_the_tool_ends_at_ctrl_d(tmp_path: Path) -> None:
    terminal, typed_at = os.openpty()  # the tool's stdin a terminal, as when a person types: lines, then Ctrl-D
    try:
        tool = subprocess.Popen([TOOL, "evaluator"], stdin=typed_at, stdout=subprocess.PIPE, text=True)
        os.write(terminal, b"rate 4\n\x04")
        out, _ = tool.communicate(timeout=20)
    finally:
        os.close(terminal)
        os.close(typed_at)
    assert tool.returncode == 0 and "→ rating 4 (satisfied) at 31" in out
    (tmp_path / "file").touch()  # a --link that is not a link is left alone
    command = [TOOL, "led", "--link", tmp_path / "file"]
    refused = subprocess.run(command, check=False, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert refused.returncode == 2 and "exists and is not a link" in refused.stderr and (tmp_path / "file").is_file()

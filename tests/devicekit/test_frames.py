"""The one serial codec against the published frames of real hall devices (docs/serial.md), and a line that
delivers noise, cut-off frames and frames in pieces."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devicekit.frames import Decoded, FrameCodec, FrameReader, checksum
from devicekit.profile_files import ProfileError
from devicekit.serial_profile import load_serial_profile, serial_profile, shipped_serial_profiles

PROFILES = shipped_serial_profiles()
KEYPAD = FrameCodec(PROFILES["keypads/ff68"])
EVALUATOR = FrameCodec(PROFILES["evaluators/ff68"])
ID_READER = FrameCodec(PROFILES["id_readers/gat467"])
SLZC = FrameCodec(PROFILES["led_strips/slzc"])
ONBON = FrameCodec(PROFILES["led_strips/onbon-bx"])


def wire(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("algorithm", "check"),
    [("sum8", 0xDD), ("xor8", 0x31), ("crc16/modbus", 0x4B37), ("crc16/arc", 0xBB3D),
     ("crc16/ccitt-false", 0x29B1), ("crc16/xmodem", 0x31C3), ("crc16/kermit", 0x2189)],
)  # fmt: skip
def test_every_check_gives_its_published_check_value(algorithm: str, check: int) -> None:
    assert checksum(algorithm, b"123456789") == check


def test_the_modbus_example() -> None:
    assert checksum("crc16/modbus", wire("01 03 00 00 00 01")).to_bytes(2, "little") == wire("84 0A")


def test_keypad_frames_as_published() -> None:
    assert KEYPAD.encode(wire("0A 0A 0A 00 00 07"), address=1, function=0x02) == wire(
        "FF 68 08 08 68 01 02 0A 0A 0A 00 00 07 28 16"
    )  # ticket 007, no waiting count, at keypad 1
    assert KEYPAD.encode(address=1, function=0x03) == wire("FF 68 02 02 68 01 03 04 16")  # beep
    pressed = KEYPAD.encode(wire("00 07 0F"), address=3, function=0x05)  # digits 0 7, then function/confirm
    assert FrameReader(PROFILES["keypads/ff68"]).feed(pressed) == [Decoded(3, 0x05, wire("00 07 0F"))]


def test_an_evaluators_rating_and_its_acknowledgement() -> None:
    rating = EVALUATOR.encode(wire("05"), address=2, function=0x11)
    acknowledged = EVALUATOR.encode(wire("05"), address=2, function=0x01)
    assert rating[-2] - acknowledged[-2] == 0x10  # the published "CS - 0x10"
    assert FrameReader(PROFILES["evaluators/ff68"]).feed(rating) == [Decoded(2, 0x11, wire("05"))]
    assert PROFILES["evaluators/ff68"].keys["05"] == "very_satisfied"


@pytest.mark.parametrize(
    ("request_", "sent"),
    [("11 FF", "00 03 11 FF ED"), ("12 FF", "00 03 12 FF EE"), ("20 01", "00 03 20 01 22"), ("20 02", "00 03 20 02 21"),
     ("30 01", "00 03 30 01 32"), ("30 10", "00 03 30 10 23"), ("61 FF 50", "00 04 61 FF 50 CA")],
)  # fmt: skip
def test_id_reader_commands_as_published(request_: str, sent: str) -> None:
    assert ID_READER.encode(wire(request_)) == wire("AA AA AA 96 69 " + sent)


@pytest.mark.parametrize(
    ("reply", "status"),
    [("0004 000090 94", "00 00 90"), ("0008 00009F 00000000 97", "00 00 9F 00 00 00 00"),
     ("0004 000080 84", "00 00 80"), ("000C 000090 0000000000000000 9C", "00 00 90 00 00 00 00 00 00 00 00")],
)  # fmt: skip
def test_id_reader_replies_as_published(reply: str, status: str) -> None:
    assert FrameReader(PROFILES["id_readers/gat467"]).feed(wire("AAAAAA9669 " + reply)) == [
        Decoded(None, None, wire(status))
    ]


def test_a_read_text_reply_of_1295_bytes() -> None:
    data = wire("00 00 90 01 00 04 00") + bytes(256) + bytes(1024)
    frame = ID_READER.encode(data)
    assert len(frame) == 1295 and frame[5:7] == wire("05 08")
    assert FrameReader(PROFILES["id_readers/gat467"]).feed(frame) == [Decoded(None, None, data)]


def test_slzc_strip_frames() -> None:
    assert SLZC.encode(address=1, function=0xA1) == wire("A0 90 01 A1 00 00 A0")  # show the stored message
    text = "请A001号到3号窗口".encode("gbk")
    frame = SLZC.encode(text, address=7, function=0xA5)
    assert frame[:6] == wire("A0 90 07 A5 00") + bytes((len(text),))
    assert FrameReader(PROFILES["led_strips/slzc"]).feed(frame)[0].data.decode("gbk") == "请A001号到3号窗口"


def test_onbon_frames_escape_their_framing_bytes_inside() -> None:
    data = wire("A3 06 A5 A6 5A 5B 41")
    frame = ONBON.encode(data, address=0x5AA5)
    inside = frame[8:-1]
    assert frame[:8] == wire("A5" * 8) and frame[-1:] == wire("5A")
    assert not {0xA5, 0x5A} & set(inside)
    assert inside.startswith(wire("A6 02 5B 02"))  # the destination 0x5AA5, little-endian, escaped
    assert wire("A6 02 A6 01 5B 02 5B 01") in inside
    assert FrameReader(PROFILES["led_strips/onbon-bx"]).feed(frame) == [Decoded(0x5AA5, None, data)]


def test_frames_fed_a_byte_at_a_time_come_out_whole() -> None:
    frames = [KEYPAD.encode(wire(f"0{n} 0C"), address=n, function=0x05) for n in range(1, 4)]
    reader = FrameReader(PROFILES["keypads/ff68"])
    out = [frame for byte in b"".join(frames) for frame in reader.feed(bytes((byte,)))]
    assert [frame.address for frame in out] == [1, 2, 3] and not reader.dropped


def test_a_damaged_frame_is_dropped_and_the_next_still_read() -> None:
    first, second = (KEYPAD.encode(wire("0C"), address=n, function=0x05) for n in (1, 2))
    damaged = bytearray(first)
    damaged[6] ^= 0x01  # the function byte
    reader = FrameReader(PROFILES["keypads/ff68"])
    assert reader.feed(bytes(damaged) + second) == [Decoded(2, 0x05, wire("0C"))]
    assert reader.dropped["bad check"] == 1


def test_a_cut_off_frame_is_given_up_when_the_line_goes_quiet() -> None:
    reader = FrameReader(PROFILES["id_readers/gat467"])
    whole = ID_READER.encode(wire("11 FF"))
    assert reader.feed(whole[:-3]) == []
    assert reader.silence() == [] and reader.dropped["cut off"] == 1
    assert reader.feed(whole) == [Decoded(None, None, wire("11 FF"))]


def test_a_length_no_device_sends_is_noise_not_a_frame_to_wait_for() -> None:
    reader = FrameReader(PROFILES["led_strips/slzc"])
    good = SLZC.encode(b"A\x01", address=1, function=0xA5)
    assert reader.feed(wire("A0 90 01 A5 7F FF") + good) == [Decoded(1, 0xA5, b"A\x01")]
    assert reader.dropped["impossible length"] == 1


def test_an_escaped_frame_too_short_for_its_length_is_dropped_at_its_end_not_waited_for() -> None:
    reader = FrameReader(PROFILES["led_strips/onbon-bx"])
    good = ONBON.encode(b"A", address=1)
    assert reader.feed(wire("A5" * 8 + "01 00 5A") + good) == [Decoded(1, None, b"A")]  # no silence needed
    assert reader.dropped["length disagrees with the frame's end"] == 1


def frames_of(codec: FrameCodec) -> st.SearchStrategy[tuple[bytes, Decoded]]:
    fields = {part.field: part.size for part in codec.parts if part.field in ("address", "function")}

    def build(address: int, function: int, data: bytes) -> tuple[bytes, Decoded]:
        given = {"address": address if "address" in fields else None}
        given["function"] = function if "function" in fields else None
        return codec.encode(data, **given), Decoded(given["address"], given["function"], data)

    return st.builds(
        build,
        st.integers(0, 2 ** (8 * fields.get("address", 1)) - 1),
        st.integers(0, 255),
        st.binary(max_size=min(codec.max_data, 64)),
    )


@settings(max_examples=60, deadline=None)
@given(data=st.data(), profile_id=st.sampled_from(sorted(PROFILES)))
def test_frames_among_noise_all_come_out_in_order(data: st.DataObject, profile_id: str) -> None:
    codec = FrameCodec(PROFILES[profile_id])
    sent = data.draw(st.lists(frames_of(codec), min_size=1, max_size=5))
    noise = data.draw(st.lists(st.binary(max_size=12), min_size=len(sent) + 1, max_size=len(sent) + 1))
    line = noise[0] + b"".join(frame + after for (frame, _), after in zip(sent, noise[1:], strict=True))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(line)), max_size=6)))
    reader = FrameReader(PROFILES[profile_id])
    out = [frame for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True) for frame in reader.feed(line[a:b])]
    out += reader.silence()
    expected = iter(out)
    assert all(any(got == wanted for got in expected) for _, wanted in sent)  # in order; noise may add frames


def test_a_profile_that_cannot_describe_a_frame_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(
        'name = "x"\nkind = "keypad"\n[frame]\nparts = [{ literal = "FF" }, { field = "data" }]\n', encoding="utf-8"
    )
    with pytest.raises(ProfileError, match=r"broken\.toml: a length part before the data must count it"):
        load_serial_profile(path)
    path.write_text('name = "x"\nkind = "keypad"\n[frame]\nparts = [{ literal = "XYZ" }]\n', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"broken\.toml: frame\.parts\[0\]\.literal"):
        load_serial_profile(path)
    with pytest.raises(ProfileError, match="no such serial device profile; known: ff68"):
        serial_profile("keypads", "ff99")

"""A site's voice policy reaching its boards: the hub's settings for a device (hub/device_settings.py), read by the
board over its own file (display/config.py ``with_hub_settings``), and, on a real Mosquitto with a real DeviceLink,
a board whose retained DeviceConfig changes announcing the next call the new way; garbage from the hub is logged
and left out, the board keeping its file's values."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import contract as wire
from devicekit.link import DeviceLink
from devicekit.voice import CHIME_PATH, Announcer, RecordingPlayer, Synthesizer
from display.board_model import BoardModel
from display.config import HUB_VOICE_KEYS, BoardConfig
from display.feed import BoardFeed
from engine.district import VoicePolicy, parse_quiet_hours
from engine.events import CallKind
from hub.device_settings import VOICE_KEYS, configured, settings_for, voice_settings
from hub.district_file import SAMPLE_DISTRICT, load_district
from tests.kiosk.test_hub_link import Mosquitto
from tests.support.waits import eventually
from tests.test_follow_retained import publish

DISTRICT = load_district(SAMPLE_DISTRICT)
SITE = "centre"
DEVICE = "board-centre-7"
FILE = BoardConfig(site=SITE, device_id=DEVICE, voice_languages=("zh",), voice_repeat=1, voice_volume=0.8)
"""The board's own file: Mandarin once, no quiet hours."""
NIGHT = clock_time(23, 0)


def site_with(voice: VoicePolicy | None) -> Any:
    centre = DISTRICT.site(SITE)
    assert centre is not None
    return msgspec.structs.replace(centre, voice=voice)


# --- what the hub sends, and how a board reads it ------------------------------------------------------------


def test_only_boards_of_a_site_with_a_policy_get_voice_settings() -> None:
    policy = VoicePolicy(languages=("en", "zh"), repeat=3, quiet_hours="22:00-07:00", quiet_mode="silent")
    assert settings_for(site_with(None), wire.DeviceKind.BOARD) == {}
    for kind in wire.DeviceKind:
        if kind is not wire.DeviceKind.BOARD:
            assert settings_for(site_with(policy), kind) == {}
    assert settings_for(site_with(policy), wire.DeviceKind.BOARD) == {
        "voice": "true",
        "voice_languages": "en,zh",
        "voice_repeat": "3",
        "voice_volume": "0.9",
        "voice_chime": "true",
        "voice_quiet_hours": "22:00-07:00",
        "voice_quiet_mode": "silent",
        "voice_quiet_volume": "0.3",
    }


def test_the_hub_sends_the_keys_a_board_reads_and_every_one_of_them() -> None:
    assert VOICE_KEYS == HUB_VOICE_KEYS
    assert set(voice_settings(VoicePolicy())) == set(VOICE_KEYS)
    assert set(HUB_VOICE_KEYS) <= {field.name for field in msgspec.structs.fields(BoardConfig)}


def test_configs_get_their_site_s_settings_and_a_device_of_an_unknown_site_none() -> None:
    quiet = DISTRICT.site("dianzizhengjie")
    assert quiet is not None and quiet.voice is not None
    board = wire.DeviceConfig(device_id="b1", kind=wire.DeviceKind.BOARD, site_id=quiet.id)
    kiosk = wire.DeviceConfig(device_id="k1", kind=wire.DeviceKind.KIOSK, site_id=quiet.id)
    stray = wire.DeviceConfig(device_id="b2", kind=wire.DeviceKind.BOARD, site_id="nowhere", settings={"voice": "x"})
    got = configured([board, kiosk, stray], DISTRICT)
    assert got[0].settings == voice_settings(quiet.voice) and got[0].settings["voice_quiet_hours"] == "14:00-15:00"
    assert got[1] == kiosk and got[2].settings == {}


POLICIES = st.builds(
    VoicePolicy,
    enabled=st.booleans(),
    languages=st.sampled_from([("zh",), ("en",), ("zh", "en"), ("en", "zh")]),
    repeat=st.integers(1, 5),
    volume=st.floats(0, 1),
    chime=st.booleans(),
    quiet_hours=st.sampled_from(["", "22:00-07:00", "12:00-13:30", "00:00-23:59"]),
    quiet_mode=st.sampled_from(["chime", "silent"]),
    quiet_volume=st.floats(0, 1),
)


@given(POLICIES)
def test_a_board_hears_exactly_the_policy_the_hub_sent(policy: VoicePolicy) -> None:
    config, ignored = FILE.with_hub_settings(voice_settings(policy))
    voice = config.voice_config()
    assert ignored == []
    assert (voice.enabled, voice.languages, voice.repeat, voice.volume, voice.chime) == (
        policy.enabled,
        policy.languages,
        policy.repeat,
        policy.volume,
        policy.chime,
    )
    assert (voice.quiet_hours, voice.quiet_mode, voice.quiet_volume) == (
        parse_quiet_hours(policy.quiet_hours),
        policy.quiet_mode,
        policy.quiet_volume,
    )


def test_values_a_board_cannot_use_are_named_and_the_file_s_kept() -> None:
    garbage = {"voice_repeat": "many", "voice_languages": "zh,fr", "voice_quiet_hours": "soon", "voice": "yes"}
    config, ignored = FILE.with_hub_settings({**garbage, "voice_volume": "0.4", "password": "not the hub's"})
    assert sorted(problem.split("=")[0] for problem in ignored) == sorted(garbage)
    kept = (config.voice_repeat, config.voice_languages, config.voice_quiet_hours, config.voice)
    assert kept == (1, ("zh",), "", True)
    assert config.voice_volume == 0.4 and config.password == FILE.password


# --- a board on a real broker ----------------------------------------------------------------------------------


def call(seq: int) -> wire.CallView:
    return wire.CallView(
        seq=seq, number=f"A{seq:03}", window_id="w01", window_number=1, kind=CallKind.NEXT, at=datetime.now(UTC)
    )


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    mosquitto = Mosquitto(tmp_path)
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


def test_a_board_follows_its_site_s_voice_policy_from_the_next_call(
    broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = DeviceLink(
        host="127.0.0.1", port=broker.port, site_id=SITE, device_id=DEVICE, password="", kind=wire.DeviceKind.BOARD,
        follow_site=True,
    )  # fmt: skip
    player = RecordingPlayer(time_scale=0.0)
    announcer = Announcer(FILE.voice_config(), Synthesizer(tmp_path / "voice"), player, clock=lambda: NIGHT)
    feed = BoardFeed(link, BoardModel(SITE), announcer, settings=FILE)
    topic = wire.config_topic(SITE, DEVICE)

    def played(seq: int) -> list[tuple[Path, float]]:
        player.played.clear()
        announcer.announce(call(seq))
        assert announcer.wait_idle(timeout=20)
        return [(p.path, p.volume) for p in player.played]

    def send(settings: dict[str, str]) -> None:
        config = wire.DeviceConfig(device_id=DEVICE, kind=wire.DeviceKind.BOARD, site_id=SITE, settings=settings)
        publish(broker.port, topic, wire.encode(config))
        eventually(lambda: feed.link.config is not None and feed.link.config.settings == settings)

    try:
        assert feed.start(wait=10)
        sound = played(1)  # the file's: chime, then Mandarin once
        assert [volume for _, volume in sound] == [0.8, 0.8] and sound[0][0] == CHIME_PATH

        policy = VoicePolicy(languages=("zh", "en"), repeat=2, volume=0.6, quiet_hours="22:00-07:00")
        send(settings_for(site_with(policy), wire.DeviceKind.BOARD))
        eventually(lambda: announcer.config.repeat == 2)
        assert announcer.config.languages == ("zh", "en")
        assert announcer.config.quiet_hours == (clock_time(22), clock_time(7))
        assert played(2) == [(CHIME_PATH, 0.3)]  # 23:00 is in the quiet hours: only the soft chime

        caplog.set_level(logging.WARNING, logger="display.feed")
        send({"voice_repeat": "many", "voice_languages": "klingon", "voice_quiet_hours": "later"})
        eventually(lambda: announcer.config.quiet_hours is None)
        assert (announcer.config.repeat, announcer.config.languages) == (FILE.voice_repeat, FILE.voice_languages)
        warned = " ".join(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
        assert all(key in warned for key in ("voice_repeat", "voice_languages", "voice_quiet_hours")), warned
        assert [volume for _, volume in played(3)] == [0.8, 0.8]  # and the board still speaks

        send({"voice": "false"})
        eventually(lambda: not announcer.config.enabled)
        assert played(4) == []
        send({})
        eventually(lambda: announcer.config.enabled)
        assert announcer.config == FILE.voice_config()
    finally:
        feed.stop()

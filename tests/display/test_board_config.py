"""A board's settings: the TOML file, ``BOARD_<KEY>`` overrides (lists with commas, tables as JSON), the voice and
zone they make, the errors that name the key, and the ``hall-board`` command line."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path

import pytest

from devicekit.voice import DEFAULT_TEMPLATES
from display.app import build_feed, parse
from display.board_model import Zone
from display.config import BoardConfig, ConfigError, load_config

BOARD_TOML = """
site = "centre"
device_id = "board-centre-7"
zone_name = "社保医保区"
zone_windows = ["w07", "w08"]
voice_languages = ["zh"]
voice_repeat = 3
voice_volume = 0.8
voice_quiet_hours = "22:00-07:00"
voice_quiet_mode = "silent"

[voice_templates]
zh = "请{number}号到{window}号窗口"
"zh:recall" = "再次呼叫，请{number}号到{window}号窗口"

[voice_pinyin]
"税" = "shui4"
"""


def test_voice_and_zone_from_the_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_text(BOARD_TOML)
    config = load_config(path, {})
    assert config.zone() == Zone(name="社保医保区", windows=frozenset({"w07", "w08"}))
    voice = config.voice_config()
    assert voice.languages == ("zh",) and voice.repeat == 3 and voice.volume == 0.8
    assert voice.quiet_hours == (time(22, 0), time(7, 0)) and voice.quiet_mode == "silent"
    assert voice.templates["zh:recall"].startswith("再次呼叫") and voice.templates["en"] == DEFAULT_TEMPLATES["en"]
    assert voice.pinyin == {"税": "shui4"} and voice.chime


def test_environment_lists_and_tables(tmp_path: Path) -> None:
    environ = {
        "BOARD_VOICE_LANGUAGES": "zh+en",
        "BOARD_ZONE_WINDOWS": "5, 6",
        "BOARD_ZONE_MATTERS": "A01,A02",
        "BOARD_VOICE_TEMPLATES": '{"en": "Ticket {number}, window {window}"}',
        "BOARD_VOICE_CHIME": "false",
        "BOARD_VOICE": "true",
    }
    config = load_config(None, environ)
    assert config.voice_languages == ("zh", "en")
    assert config.zone() == Zone(windows=frozenset({"5", "6"}), matters=frozenset({"A01", "A02"}))
    assert config.voice_config().templates["en"] == "Ticket {number}, window {window}"
    assert not config.voice_config().chime
    assert load_config(None, {"BOARD_VOICE_LANGUAGES": "zh"}).voice_config().languages == ("zh",)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BOARD_VOICE_QUIET_HOURS": "late"}, "voice_quiet_hours 'late'"),
        ({"BOARD_VOICE_QUIET_HOURS": "25:00-07:00"}, "voice_quiet_hours"),
        ({"BOARD_VOICE_LANGUAGES": "zh,fr"}, "language 'fr'"),
        ({"BOARD_VOICE_VOLUME": "1.5"}, "voice_volume"),
        ({"BOARD_VOICE_REPEAT": "0"}, "voice_repeat"),
        ({"BOARD_VOICE_QUIET_MODE": "loud"}, "voice_quiet_mode"),
        ({"BOARD_VOICE_TEMPLATES": "not json"}, "BOARD_VOICE_TEMPLATES"),
        ({"BOARD_VOICE_TEMPLATES": '{"zh": "请{number}号到{window}号税务窗口"}'}, "no pinyin for '税'"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(None, environ)


def test_the_command_line_turns_portrait_windowed_and_silent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("BOARD_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "board.toml"
    path.write_text('site = "xiaozhai"\n')
    config = parse(["--config", str(path), "--portrait", "--windowed", "--no-voice"])
    assert (config.site, config.width, config.height, config.portrait) == ("xiaozhai", 1080, 1920, True)
    assert not config.fullscreen and not config.voice
    monkeypatch.setenv("BOARD_CONFIG", str(path))
    assert parse([]) == BoardConfig(site="xiaozhai", voice_cache=config.voice_cache)
    monkeypatch.setenv("BOARD_VOICE_REPEAT", "9")
    with pytest.raises(SystemExit) as exit_:
        parse([])
    assert exit_.value.code == 2


def test_the_wiring_follows_the_settings(tmp_path: Path) -> None:
    config = load_config(None, {"BOARD_ZONE_WINDOWS": "w07", "BOARD_VOICE_CACHE": str(tmp_path)})
    feed = build_feed(config)
    assert feed.link.kind == "board" and feed.link.view is not None and feed.link.view.recent >= 48
    assert feed.model.zone.windows == frozenset({"w07"})
    assert feed.announcer is not None and feed.announcer.config == config.voice_config()
    silent = build_feed(load_config(None, {"BOARD_VOICE": "false"}))
    assert silent.announcer is None

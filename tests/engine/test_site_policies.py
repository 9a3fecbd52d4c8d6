"""A site's own voice and booking policies (engine/district.py): checked (engine/district_check.py) and read from
a site file's optional ``[voice]`` and ``[appointments]`` tables (hub/district_file.py)."""

from __future__ import annotations

import shutil
from datetime import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from engine.district import AppointmentPolicy, District, VoicePolicy, parse_quiet_hours
from engine.district_check import appointment_problems, problems, voice_problems
from hub.district_file import SAMPLE_DISTRICT, DistrictFileError, load_district

SAMPLE = load_district(SAMPLE_DISTRICT)
ROOM = "cuihualu"
"""A sample site without a [voice] table."""


def with_policies(district: District, **policies: Any) -> District:
    sites = tuple(msgspec.structs.replace(s, **policies) if s.id == ROOM else s for s in district.sites)
    return msgspec.structs.replace(district, sites=sites)


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def test_a_site_without_tables_has_no_policies_and_the_sample_room_has_its_quiet_afternoon() -> None:
    room = SAMPLE.site(ROOM)
    assert room is not None and room.voice is None and room.appointments is None
    quiet = SAMPLE.site("dianzizhengjie")
    assert quiet is not None
    assert quiet.voice == VoicePolicy(languages=("zh",), repeat=1, volume=0.7, quiet_hours="14:00-15:00")
    assert problems(SAMPLE) == []


VOICE = [
    pytest.param(VoicePolicy(languages=()), "languages", id="no-language"),
    pytest.param(VoicePolicy(languages=("zh", "fr")), "languages", id="unknown-language"),
    pytest.param(VoicePolicy(languages=("en", "en")), "languages", id="language-twice"),
    pytest.param(VoicePolicy(repeat=0), "repeat", id="repeat-0"),
    pytest.param(VoicePolicy(repeat=6), "repeat", id="repeat-6"),
    pytest.param(VoicePolicy(volume=1.5), "volume", id="volume>1"),
    pytest.param(VoicePolicy(volume=float("nan")), "volume", id="volume-nan"),
    pytest.param(VoicePolicy(quiet_volume=-0.1), "quiet_volume", id="quiet-volume<0"),
    pytest.param(VoicePolicy(quiet_hours="22:00"), "quiet_hours", id="quiet-hours-one-time"),
    pytest.param(VoicePolicy(quiet_hours="25:00-07:00"), "quiet_hours", id="quiet-hours-25h"),
    pytest.param(VoicePolicy(quiet_hours="07:00-07:00"), "quiet_hours", id="quiet-hours-empty-span"),
]


@pytest.mark.parametrize(("voice", "key"), VOICE)
def test_each_voice_rule_names_its_field_in_chinese_and_english(voice: VoicePolicy, key: str) -> None:
    (problem,) = problems(with_policies(SAMPLE, voice=voice))
    assert problem.field == f"sites.{ROOM}.voice.{key}"
    assert is_chinese(problem.zh) and not is_chinese(problem.en)


APPOINTMENTS = [
    pytest.param(AppointmentPolicy(slot_minutes=4), "slot_minutes", id="slot-too-short"),
    pytest.param(AppointmentPolicy(slot_minutes=241), "slot_minutes", id="slot-too-long"),
    pytest.param(AppointmentPolicy(walk_in_share=1.01), "walk_in_share", id="share>1"),
    pytest.param(AppointmentPolicy(walk_in_share=-0.5), "walk_in_share", id="share<0"),
    pytest.param(AppointmentPolicy(days_ahead=-1), "days_ahead", id="days-ahead<0"),
    pytest.param(AppointmentPolicy(days_ahead=31), "days_ahead", id="days-ahead>30"),
]


@pytest.mark.parametrize(("policy", "key"), APPOINTMENTS)
def test_each_appointment_rule_names_its_field_in_chinese_and_english(policy: AppointmentPolicy, key: str) -> None:
    (problem,) = problems(with_policies(SAMPLE, appointments=policy))
    assert problem.field == f"sites.{ROOM}.appointments.{key}"
    assert is_chinese(problem.zh) and not is_chinese(problem.en)


def test_the_edges_are_allowed_and_the_parts_can_be_checked_alone() -> None:
    edges = VoicePolicy(languages=("en",), repeat=5, volume=0.0, quiet_volume=1.0, quiet_hours="23:30-00:15")
    assert voice_problems("voice", edges) == []
    assert appointment_problems("appointments", AppointmentPolicy(slot_minutes=5, walk_in_share=1, days_ahead=0)) == []
    assert [p.field for p in voice_problems("voice", VoicePolicy(repeat=9))] == ["voice.repeat"]


def test_quiet_hours_are_parsed_and_may_wrap_midnight() -> None:
    assert parse_quiet_hours("") is None
    assert parse_quiet_hours(" 22:00 - 7:00 ") == (time(22), time(7))
    for bad in ("22-07", "22:00-07:60", "noon-one", "22:00-07:00-08:00"):
        with pytest.raises(ValueError, match="HH:MM-HH:MM"):
            parse_quiet_hours(bad)


def test_the_policies_survive_a_json_round_trip() -> None:
    district = with_policies(SAMPLE, appointments=AppointmentPolicy(days_ahead=14))
    assert msgspec.json.decode(msgspec.json.encode(district), type=District) == district


# --- the site file's tables ----------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "yanta"
    shutil.copytree(SAMPLE_DISTRICT, target)
    return target


def append(folder: Path, text: str) -> None:
    """Add ``text`` to the room's file: a table at the end, a bare key at the start (before the first table)."""
    path = folder / "sites" / f"{ROOM}.toml"
    old = path.read_text(encoding="utf-8")
    path.write_text(old + text if text.lstrip().startswith("[") else text + old, encoding="utf-8")


def refused(folder: Path) -> str:
    with pytest.raises(DistrictFileError) as caught:
        load_district(folder)
    return str(caught.value)


def test_the_tables_are_read_with_defaults_for_what_they_leave_out(folder: Path) -> None:
    append(folder, '\n[voice]\nrepeat = 3\nquiet_hours = "22:00-07:00"\n\n[appointments]\nslot_minutes = 15\n')
    room = load_district(folder).site(ROOM)
    assert room is not None
    assert room.voice == VoicePolicy(repeat=3, quiet_hours="22:00-07:00")
    assert room.appointments == AppointmentPolicy(slot_minutes=15)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        pytest.param('[voice]\nrepeat = "two"', "voice.repeat: expected `int`, got `str`", id="type"),
        pytest.param('[voice]\nquiet_mode = "mute"', "voice.quiet_mode: invalid enum value 'mute'", id="literal"),
        pytest.param("[voice]\nloud = true", "voice.loud: unknown key", id="unknown-key"),
        pytest.param('voice = "on"', 'voice: expected a table, got str "on"', id="not-a-table"),
        pytest.param("[voice]\nrepeat = 7", "voice.repeat: A call is spoken 1 to 5 times; it is 7", id="checked"),
        pytest.param(
            "[appointments]\nwalk_in_share = 2.0",
            "appointments.walk_in_share: The walk-in share must be between 0 and 1",
            id="appointments-checked",
        ),
    ],
)
def test_a_bad_table_is_refused_naming_the_file_and_key(folder: Path, table: str, expected: str) -> None:
    append(folder, "\n" + table + "\n")
    found = refused(folder)
    assert f"sites/{ROOM}.toml: {expected}".replace("`", "") in found.replace("`", "")


def test_every_bad_voice_key_is_reported_together(folder: Path) -> None:
    append(folder, '\n[voice]\nrepeat = "x"\nvolume = "y"\nlanguages = "zh"\n')
    found = refused(folder)
    assert all(f"voice.{key}:" in found for key in ("repeat", "volume", "languages")), found

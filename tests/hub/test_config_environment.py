"""``HALL_<SECTION>_<KEY>`` variables override the hub's TOML file, sections with an underscore included."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import ConfigError, load_config


def test_a_section_with_an_underscore_is_overridden_from_the_environment(tmp_path: Path) -> None:
    toml = tmp_path / "hub.toml"
    toml.write_text("[follow_ups]\ncontacted_hours = 8\n")
    environ = {"HALL_FOLLOW_UPS_CONTACTED_HOURS": "12", "HALL_FOLLOW_UPS_PUT_RIGHT_WORKING_DAYS": "10"}
    rules = load_config(toml, environ=environ).follow_ups
    assert (rules.contacted_hours, rules.put_right_working_days, rules.reported_working_days) == (12, 10, 5)


def test_plain_sections_keep_working_and_other_variables_are_ignored() -> None:
    environ = {"HALL_MQTT_HOST": "10.0.0.5", "HALL_HTTP_PORT": "9090", "HALL_NOWHERE_KEY": "x", "HALL_FOLLOW_UPS": "1"}
    config = load_config(None, environ=environ)
    assert (config.mqtt.host, config.http.port) == ("10.0.0.5", 9090)


def test_a_bad_value_from_the_environment_names_its_key() -> None:
    with pytest.raises(ConfigError, match="verified_hours"):
        load_config(None, environ={"HALL_FOLLOW_UPS_VERIFIED_HOURS": "never"})

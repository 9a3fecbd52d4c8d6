"""docs/protocol.md is the manual of contract.py: every action, event type and error code appears in it."""

from __future__ import annotations

import typing
from pathlib import Path

import contract as wire

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_every_action_is_documented() -> None:
    assert [action.value for action in wire.Action if f"`{action.value}`" not in DOC] == []


def test_every_event_type_is_documented() -> None:
    names = [kind.__name__ for kind in typing.get_args(wire.AnyEvent)]
    assert len(names) >= 15
    assert [name for name in names if f"`{name}`" not in DOC] == []


def test_every_protocol_error_code_is_documented() -> None:
    assert [code.value for code in wire.ErrorCode if f"`{code.value}`" not in DOC] == []


def test_every_topic_of_the_contract_is_documented() -> None:
    topics = [
        wire.request_topic("{site}", "{device}", "{action}"),  # type: ignore[arg-type]
        wire.reply_topic("{site}", "{device}"),
        wire.events_topic("{site}"),
        wire.snapshot_topic("{site}"),
        wire.config_topic("{site}", "{device}"),
        wire.status_topic("{site}", "{device}"),
        wire.info_topic("{site}"),
        wire.DISTRICT_SUMMARY_TOPIC,
        wire.HUB_STATUS_TOPIC,
    ]
    assert [topic for topic in topics if f"`{topic}`" not in DOC] == []

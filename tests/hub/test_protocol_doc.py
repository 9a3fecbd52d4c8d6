"""docs/protocol.md is the manual of contract.py: its reference part (topics, the broker's ACL, actions, fields,
messages, error and refusal codes), broker.md's example ACL and queue-rules.md's refusals are generated from the
code and must not drift from it."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

import contract as wire
from engine.rejections import Reason
from hub import protocol_doc

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_the_generated_parts_of_the_docs_match_the_code() -> None:
    stale = [str(path.relative_to(protocol_doc.ROOT)) for path in protocol_doc.stale()]
    assert stale == [], f"{stale} differ from the code: run `python -m hub.protocol_doc` and commit the result"


def test_the_reference_has_every_topic_action_event_field_and_code() -> None:
    reference = protocol_doc.reference()
    expected = [f"`{topic.pattern}`" for topic in wire.TOPICS]
    expected += [f"`{action.value}`" for action in wire.Action]
    expected += [f"`{kind.__name__}`" for kind in typing.get_args(wire.AnyEvent)]
    expected += [f"`{code.value}`" for code in wire.ErrorCode] + [f"`{reason.value}`" for reason in Reason]
    expected += [f"`{name}`" for name in wire.IssueRequest.__struct_fields__ + wire.Snapshot.__struct_fields__]
    assert [item for item in expected if item not in reference] == []
    assert "`hall/v1/{site}/info` | publish, read | read |" in reference  # the hub's ACL line, then the kiosk's


def test_a_new_field_or_code_makes_the_docs_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bigger(wire.HubStatus, frozen=True, kw_only=True):
        """Retained: whether the hub is up."""

        load: float = 0.0
        """How busy it is."""

    monkeypatch.setattr(wire, "HubStatus", Bigger)
    assert "| `load` | number | no | `0.0` | How busy it is. |" in protocol_doc.reference()
    assert protocol_doc.PROTOCOL in protocol_doc.stale()


def test_an_acl_rule_outside_the_topic_tree_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = wire.device_acl
    monkeypatch.setattr(wire, "device_acl", lambda *args: [*real(*args), ("read", "hall/v1/secret")])
    with pytest.raises(protocol_doc.DocError, match="hall/v1/secret"):
        protocol_doc.reference()


def test_a_document_without_its_markers_is_an_error() -> None:
    with pytest.raises(protocol_doc.DocError, match="no block 'reference'"):
        protocol_doc.splice("# a page\n", "reference", "body\n")


def test_the_prose_names_what_a_device_maker_asked() -> None:
    needed = ["`id_reused`", "`not_window_queue`", "RFC 3339", "Ignore fields you do not know", "`GET /healthz`"]
    needed += ["GET /api/v1/devices", "one request at a time", "no answer at all", "green-channel matter is"]
    assert [phrase for phrase in needed if phrase not in DOC] == []

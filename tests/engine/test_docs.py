"""The hall managers' rule book lists every refusal the engine can give."""

from __future__ import annotations

from pathlib import Path

from engine.rejections import Reason, reject

RULES = Path(__file__).resolve().parents[2] / "docs" / "queue-rules.md"


def test_every_refusal_is_documented_with_its_texts() -> None:
    text = RULES.read_text(encoding="utf-8")
    missing = [reason.value for reason in Reason if f"`{reason.value}`" not in text]
    assert missing == []


def test_refusal_texts_fill_every_placeholder() -> None:
    params = {"site": "s", "matter": ("事项", "matter"), "day": "d", "next": "n", "prefix": "A", "number": "A001"}
    params |= {"window": 1, "reason": "r", "ticket": "t"}
    for reason in Reason:
        rejection = reject(reason, **params)
        assert "{" not in rejection.zh and "{" not in rejection.en
        assert rejection.zh and rejection.en

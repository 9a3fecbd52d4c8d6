"""The window's evaluator over MQTT (``rate``): its sub-indicators and reasons reach the rating, its source is the
evaluator's, and the rating goes out with nothing that names the citizen."""

from __future__ import annotations

from engine import commands as cmd
from engine.events import ServiceRated
from tests.hub.test_gateway import ask, gateway


def test_the_evaluator_s_sub_indicators_and_reasons_reach_the_rating() -> None:
    hub = gateway()
    ask(hub, "kiosk-centre-1", "issue", matters=["A02"])
    assert ask(hub, "caller-centre-w01", "open-window", window_id="w01", staff_id="li").ok
    for action in ("call-next", "start", "finish"):
        assert ask(hub, "caller-centre-w01", action, window_id="w01", id=action).ok
    aspects = {"efficiency": 3, "service_level": 2, "attitude": 2}
    rated = ask(hub, "evaluator-centre-w01", "rate", window_id="w01", level=2, aspects=aspects, reasons=["slow"])
    assert rated.ok
    (event,) = rated.events
    assert isinstance(event, ServiceRated)
    assert event.aspects == cmd.RatingAspects(**aspects)
    assert (event.reasons, event.source) == ((cmd.RatingReason.SLOW,), cmd.RatingSource.EVALUATOR)
    refused = ask(hub, "evaluator-centre-w01", "rate", window_id="w01", level=2, reasons=["rude"], id="bad")
    assert refused.error is not None and refused.error.code == "malformed"

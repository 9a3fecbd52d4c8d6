"""JSON and MessagePack forms of events and site state (msgspec: typed, validated, fast)."""

from __future__ import annotations

import msgspec

from engine.events import AnyEvent, Event
from engine.state import SiteState

_event_json = msgspec.json.Decoder(AnyEvent)
_events_json = msgspec.json.Decoder(list[AnyEvent])
_state_msgpack = msgspec.msgpack.Decoder(SiteState)
_json = msgspec.json.Encoder()
_msgpack = msgspec.msgpack.Encoder()


def encode_event(event: Event) -> bytes:
    return _json.encode(event)


def decode_event(data: bytes | str) -> Event:
    event: Event = _event_json.decode(data)
    return event


def encode_state(state: SiteState) -> bytes:
    return _msgpack.encode(state)


def decode_state(data: bytes) -> SiteState:
    return _state_msgpack.decode(data)

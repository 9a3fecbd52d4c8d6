"""A flooding device costs a counter, not the store; an id used again for another request is refused, not answered
with the first request's answer. Through the gateway on real stores."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import contract as wire
from engine.commands import OpenDay
from hub.device_limits import DeviceLimits
from hub.gateway import Gateway, Request
from hub.service import HallService
from hub.store import MEMORY_URL, open_store
from hub.store.base import EventStore
from hub.store.schema import commands
from hub.store.sql import SqlStore
from tests.hub.test_gateway import DEVICES, DISTRICT, WEDNESDAY_10AM

KIOSK, CALLER = "kiosk-centre-1", "caller-centre-w01"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    store = open_store(MEMORY_URL if request.param == "memory" else f"sqlite:///{tmp_path / 'hall.db'}")
    yield store
    store.close()


def hall(store: EventStore, limits: DeviceLimits | None = None) -> Gateway:
    service = HallService(DISTRICT, store)
    service.execute(OpenDay(command_id="open-centre", site_id="centre", at=WEDNESDAY_10AM))
    return Gateway(service, DEVICES.get, lambda: WEDNESDAY_10AM, secret=b"k" * 32, limits=limits)


def request(device: str, action: str, request_id: str, **body: object) -> Request:
    return ("centre", device, action, json.dumps({"v": 1, "id": request_id, **body}).encode())


def code(reply: wire.Reply) -> str:
    return "ok" if reply.ok else reply.error.code if reply.error else "?"


def stored_commands(store: SqlStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(commands)).scalar_one())


def test_a_device_flooding_refusals_is_limited_and_grows_neither_the_store_nor_the_wait_of_others(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    assert isinstance(store, SqlStore)
    gateway = hall(store, DeviceLimits("20/second;600/minute"))
    before = stored_commands(store)
    caller_codes, kiosk_codes = Counter[str](), Counter[str]()

    for batch in range(40):  # the writer's batches: a window not open called 63 times, and a kiosk's issue
        flood = [request(CALLER, "call-next", f"c{batch}-{n}", window_id="w01") for n in range(63)]
        issue = [request(KIOSK, "issue", f"i{batch}", matters=["A02"])] if batch % 2 else []
        answers = gateway.handle_batch([*flood, *issue])
        caller_codes.update(code(reply) for reply, _ in answers[:63])
        kiosk_codes.update(code(reply) for reply, _ in answers[63:])

    assert kiosk_codes == {"ok": 20}, "the other device is answered every time"
    assert caller_codes["rate_limited"] >= 40 * 63 - 40, "the flood is refused before it is decided"
    assert caller_codes["window_closed"] <= 40, "at most a second's worth of it is decided"
    assert stored_commands(store) == before + 20, "only the kiosk's tickets are stored"
    limited = next(reply for reply, _ in gateway.handle_batch(flood[:1]) if code(reply) == "rate_limited")
    assert limited.error is not None and limited.error.retry_after is not None and 0 < limited.error.retry_after <= 60
    store.close()


def test_a_retry_gets_the_first_answer_and_another_request_under_its_id_is_refused(store: EventStore) -> None:
    gateway = hall(store)
    (first, _), (retry, _) = gateway.handle_batch([request(KIOSK, "issue", "r1", matters=["A02"])] * 2)
    assert first.ok and first == retry

    (other, outcome), (elder, _) = gateway.handle_batch(
        [
            request(KIOSK, "issue", "r1", matters=["B01"]),
            request(KIOSK, "issue", "r1", matters=["A02"], priority="elderly"),
        ]
    )
    restarted = hall(store)
    (later, _) = restarted.handle(*request(KIOSK, "issue", "r1", matters=["B01"]))

    assert [code(other), code(elder), code(later)] == ["id_reused"] * 3
    assert outcome is None, "nothing to publish"
    assert code(restarted.handle(*request(KIOSK, "issue", "r1", matters=["A02"]))[0]) == "ok"


def test_an_id_refused_lately_is_not_taken_for_another_request(store: EventStore) -> None:
    gateway = hall(store)
    assert code(gateway.handle(*request(CALLER, "call-next", "c1", window_id="w01"))[0]) == "window_closed"

    reused = gateway.handle(*request(CALLER, "pause", "c1", window_id="w01", reason="break"))[0]

    assert code(reused) == "id_reused"


def test_a_burst_refused_by_the_per_second_limit_does_not_use_up_the_minutes() -> None:
    limits_ = DeviceLimits("2/second;5/minute")
    burst = [limits_.take("kiosk-1") for _ in range(10)]
    assert [wait is None for wait in burst] == [True, True] + [False] * 8
    time.sleep(1.1)

    assert limits_.take("kiosk-1") is None  # 3 of the minute's 5 taken: the 8 refused counted for nothing
    assert limits_.take("kiosk-2") is None  # and each device has its own

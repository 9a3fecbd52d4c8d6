"""Crash and restart safety of the running hub: kill -9 under load, and a broker that dies under load."""

from __future__ import annotations

import threading
import time

import contract as wire
from devicekit.link import DeviceLink, HubUnreachable
from tests.hub.test_end_to_end import eventually
from tests.support.hub_process import HubProcess

Kind = wire.DeviceKind
KIOSKS = 4


def stream(
    link: DeviceLink, prefix: str, answered: dict[str, str], unanswered: list[str], stop: threading.Event
) -> None:
    """Issue tickets one after another until told to stop; remember which requests got an answer."""
    n = 0
    while not stop.is_set():
        n += 1
        request_id = f"{prefix}-{n}"
        try:
            reply = link.request(
                wire.Action.ISSUE, {"matters": ["B01"]}, request_id=request_id, timeout=0.5, attempts=1
            )
        except HubUnreachable:
            unanswered.append(request_id)
            continue
        assert reply.ok and reply.ticket is not None, reply.error
        answered[request_id] = reply.ticket.number


def test_kill_9_under_load_loses_nothing_acknowledged(hub: HubProcess) -> None:
    kiosks = [hub.provision("centre", "kiosk") for _ in range(KIOSKS)]
    hub.env["HALL_REQUESTS_DEVICE_RATE"] = "100000/second"  # each kiosk streams far faster than a real one may
    hub.start()
    links = [hub.link(credentials, "centre", Kind.KIOSK) for credentials in kiosks]
    answered: dict[str, str] = {}
    unanswered: list[str] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=stream, args=(link, f"k{i}", answered, unanswered, stop))
        for i, link in enumerate(links)
    ]
    for thread in threads:
        thread.start()
    eventually(lambda: len(answered) >= 60, timeout=30)
    hub.kill()
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(10)
    acknowledged = dict(answered)
    assert len(acknowledged) >= 60

    hub.start()
    for link in links:
        assert link.connected.wait(15), "a kiosk did not reconnect"
    by_link = {f"k{i}": link for i, link in enumerate(links)}
    # every answered request, retried with its id, gets its first answer back
    for request_id, number in list(acknowledged.items())[::7]:
        reply = by_link[request_id.split("-")[0]].request(
            wire.Action.ISSUE, {"matters": ["B01"]}, request_id=request_id
        )
        assert reply.ticket is not None and reply.ticket.number == number
    # every unanswered request, retried with its id, is decided once (or was already, before the kill)
    recovered = {}
    for request_id in unanswered:
        reply = by_link[request_id.split("-")[0]].request(
            wire.Action.ISSUE, {"matters": ["B01"]}, request_id=request_id
        )
        assert reply.ok and reply.ticket is not None
        recovered[request_id] = reply.ticket.number
    numbers = sorted([*acknowledged.values(), *recovered.values()])
    assert len(numbers) == len(set(numbers)), "a number was given twice"
    assert numbers == [f"B{n:03d}" for n in range(1, len(numbers) + 1)], "numbering has a gap"
    fresh = links[0].request(wire.Action.ISSUE, {"matters": ["B01"]})
    assert fresh.ticket is not None and fresh.ticket.number == f"B{len(numbers) + 1:03d}"


def test_boards_miss_no_call_when_the_broker_dies(hub: HubProcess) -> None:
    kiosk = hub.provision("centre", "kiosk")
    caller = hub.provision("centre", "caller", "w01")
    hub.add_staff("centre", "li")
    boards = [hub.provision("centre", "board") for _ in range(3)]
    hub.start()
    kiosk_link = hub.link(kiosk, "centre", Kind.KIOSK)
    caller_link = hub.link(caller, "centre", Kind.CALLER)
    board_links = [hub.link(board, "centre", Kind.BOARD, follow_site=True) for board in boards]
    for _ in range(10):
        assert kiosk_link.request(wire.Action.ISSUE, {"matters": ["A02"]}).ok
    assert caller_link.request(wire.Action.OPEN_WINDOW, {"window_id": "w01", "staff_id": "li", "pin": "2468"}).ok

    called: list[str] = []

    def call() -> None:
        for _attempt in range(20):
            try:
                reply = caller_link.request(
                    wire.Action.CALL_NEXT, {"window_id": "w01"}, request_id=f"call-{len(called)}"
                )
            except HubUnreachable:
                continue
            assert reply.ok, reply.error
            called.append(next(event.number for event in reply.events if hasattr(event, "kind")))
            return
        raise AssertionError("the caller never got through")

    for _ in range(3):
        call()
    broker_pid = hub.kill_broker()
    for _ in range(4):
        call()
    expected = list(reversed(called))
    for board in board_links:
        view = board.view
        assert view is not None
        eventually(lambda view=view: [c.number for c in view.calls][: len(expected)] == expected, timeout=10)  # type: ignore[misc]
    assert (hub.directory / "broker" / "mosquitto.pid").read_text() != str(broker_pid)

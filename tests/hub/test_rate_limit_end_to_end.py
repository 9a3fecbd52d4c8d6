"""A device over its request limit, against the real hub: refused ``rate_limited`` with the seconds to wait, and
devicekit's link waits that long and sends the same request again, so every ticket is issued once."""

from __future__ import annotations

import contract as wire
from tests.support.hub_process import HubProcess


def test_a_kiosk_over_its_limit_is_answered_after_the_wait_without_a_ticket_twice(hub: HubProcess) -> None:
    kiosk = hub.provision("centre", "kiosk")
    hub.env["HALL_REQUESTS_DEVICE_RATE"] = "3/second"
    hub.start()
    link = hub.link(kiosk, "centre", wire.DeviceKind.KIOSK)

    replies = [link.request(wire.Action.ISSUE, {"matters": ["B01"]}) for _ in range(7)]

    assert [reply.ticket.number if reply.ticket else reply.error for reply in replies] == [
        f"B{n:03d}" for n in range(1, 8)
    ]
    assert "sends too many requests" in hub.log_path.read_text()

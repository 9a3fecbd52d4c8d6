"""A device over its request limit, against the real hub: refused ``rate_limited`` with the seconds to wait, and
devicekit's link waits that long and sends the same request again, so every ticket is issued once."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

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


def test_over_http_a_device_over_its_limit_gets_429_with_retry_after(hub: HubProcess) -> None:
    kiosk = hub.provision("centre", "kiosk")
    hub.env["HALL_REQUESTS_DEVICE_RATE"] = "2/minute"
    hub.start()
    token = base64.b64encode(f"{kiosk.device_id}:{kiosk.password}".encode()).decode()

    def issue(request_id: str) -> tuple[int, str | None, dict[str, object]]:
        body = json.dumps({"v": 1, "id": request_id, "matters": ["B01"]}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{hub.http_port}/api/v1/sites/centre/issue",
            data=body,
            headers={"Authorization": f"Basic {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.headers.get("Retry-After"), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Retry-After"), json.loads(error.read())

    assert issue("a")[0] == 200 and issue("b")[0] == 200
    status, retry_after, reply = issue("c")

    assert status == 429 and reply["error"]["code"] == "rate_limited"  # type: ignore[index]
    assert retry_after is not None and 1 <= int(retry_after) <= 60

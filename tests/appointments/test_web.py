"""The booking REST API on a real SQLite store, through aiohttp's test client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.appointments import AppointmentDesk, AppointmentRules, desk_for
from hub.appointments.web import add_routes
from hub.store import EventStore
from tests.appointments.conftest import DISTRICT, NOW, OTHER_PHONE, PHONE, SECRETS, SITE_ID

Client = TestClient[web.Request, web.Application]
STAFF = {"Authorization": "Bearer staff"}
BOOKING = {"matter": "A", "slot": "2026-11-25T10:00:00+08:00", "phone": PHONE}


async def device_action(_request: web.Request) -> web.Response:
    return web.json_response({"device": True})


def app_for(desk: AppointmentDesk) -> web.Application:
    app = web.Application()
    add_routes(
        app,
        desk,
        clock=lambda: NOW,
        may_list=lambda request: request.headers.get("Authorization") == "Bearer staff",
    )
    app.router.add_post("/api/v1/sites/{site}/{action}", device_action)  # the hub's device route comes after
    return app


@pytest.fixture
async def client(
    sqlite_desk: AppointmentDesk, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(app_for(sqlite_desk))


Serve = Callable[[AppointmentRules], Awaitable[Client]]


@pytest.fixture
def serve(sqlite_store: EventStore, aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Serve:
    """The API with rules of the test's own."""

    async def started(rules: AppointmentRules) -> Client:
        return await aiohttp_client(app_for(desk_for(sqlite_store, DISTRICT, SECRETS, rules)))

    return started


async def book(client: Client, **changes: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/sites/{SITE_ID}/appointments", json=BOOKING | changes)
    assert response.status == 201, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def test_slots_list_the_places_left(client: Client) -> None:
    await book(client)

    response = await client.get(f"/api/v1/sites/{SITE_ID}/slots", params={"matter": "A", "day": "2026-11-25"})

    assert response.status == 200
    answer = await response.json()
    assert answer["ok"] and len(answer["slots"]) == 14
    assert answer["slots"][2] == {
        "start": "2026-11-25T10:00:00+08:00", "end": "2026-11-25T10:30:00+08:00", "label": "10:00-10:30",
        "capacity": 2, "remaining": 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/api/v1/sites/{SITE_ID}/slots?matter=A", 400, "malformed"),
        (f"/api/v1/sites/{SITE_ID}/slots?matter=A&day=tomorrow", 400, "malformed"),
        (f"/api/v1/sites/{SITE_ID}/slots?day=2026-11-25", 400, "malformed"),
        ("/api/v1/sites/nowhere/slots?matter=A&day=2026-11-25", 404, "unknown_site"),
        (f"/api/v1/sites/{SITE_ID}/slots?matter=B&day=2026-11-25", 409, "not_bookable"),
    ],
)
async def test_bad_slot_queries(client: Client, path: str, status: int, code: str) -> None:
    response = await client.get(path)

    assert response.status == status
    assert (await response.json())["error"]["code"] == code


async def test_a_booking_answers_the_appointment_and_its_code_without_the_phone(client: Client) -> None:
    answer = await book(client, name="张三", request_id="0f6c1c1e-retry")

    appointment = answer["appointment"]
    assert answer["code"].startswith("HQ1.k1.")
    assert (appointment["slot_label"], appointment["phone_masked"], appointment["name_masked"]) == (
        "10:00-10:30", "138****5678", "张*")  # fmt: skip
    assert PHONE not in str(answer)
    again = await book(client, name="张三", request_id="0f6c1c1e-retry")  # a retried POST
    assert again == answer


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not json", "malformed"),
        (b"[]", "Expected `object`"),
        (b'{"matter": "A", "phone": "13812345678"}', "slot"),
        (b'{"matter": "A", "slot": "2026-11-25T10:00:00", "phone": "13812345678"}', "timezone"),
        (b'{"matter": "A", "slot": "2026-11-25T10:00:00+08:00", "phone": "13812345678", "vip": true}', "vip"),
        (b'{"matter": "", "slot": "2026-11-25T10:00:00+08:00", "phone": "13812345678"}', "matter"),
        (b'{"matter": "A", "slot": "2026-11-25T10:00:00+08:00", "phone": 13812345678}', "phone"),
    ],
)
async def test_a_bad_booking_body_is_a_400_that_says_what_is_wrong(client: Client, body: bytes, detail: str) -> None:
    response = await client.post(f"/api/v1/sites/{SITE_ID}/appointments", data=body)

    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "malformed" and detail in error["en"] and error["zh"]
    assert "13812345678" not in error["en"]


async def test_an_oversized_body_is_refused(client: Client) -> None:
    response = await client.post(f"/api/v1/sites/{SITE_ID}/appointments", data=b"{" + b" " * 5000 + b"}")
    assert response.status == 413


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"phone": "12345"}, 400, "bad_phone"),
        ({"slot": "2026-11-25T10:10:00+08:00"}, 400, "no_such_slot"),
        ({"matter": "Z"}, 404, "unknown_matter"),
        ({"slot": "2026-11-24T10:00:00+08:00"}, 409, "slot_passed"),
    ],
)
async def test_refused_bookings(client: Client, changes: dict[str, str], status: int, code: str) -> None:
    response = await client.post(f"/api/v1/sites/{SITE_ID}/appointments", json=BOOKING | changes)

    assert response.status == status
    error = (await response.json())["error"]
    assert error["code"] == code and error["zh"] and error["en"]


async def test_a_full_slot_is_a_409(client: Client) -> None:
    await book(client)
    await book(client, phone=OTHER_PHONE)

    response = await client.post(f"/api/v1/sites/{SITE_ID}/appointments", json=BOOKING | {"phone": "13700000000"})

    assert response.status == 409
    assert (await response.json())["error"]["code"] == "slot_full"


async def test_only_staff_list_a_days_bookings_and_they_see_them_masked(client: Client) -> None:
    await book(client)
    path = f"/api/v1/sites/{SITE_ID}/appointments?day=2026-11-25"

    assert (await client.get(path)).status == 401
    response = await client.get(path, headers=STAFF)
    assert response.status == 200
    answer = await response.json()
    assert [a["phone_masked"] for a in answer["appointments"]] == ["138****5678"]
    assert PHONE not in await response.text() and "hash" not in await response.text()
    assert (await client.get(f"/api/v1/sites/{SITE_ID}/appointments?day=x", headers=STAFF)).status == 400


@pytest.mark.parametrize("method", ["DELETE", "POST"])
async def test_cancelling_needs_the_phone(client: Client, method: str) -> None:
    booking_id = (await book(client))["appointment"]["booking_id"]
    path = f"/api/v1/appointments/{booking_id}" + ("/cancel" if method == "POST" else "")

    wrong = await client.request(method, path, json={"phone": OTHER_PHONE})
    assert wrong.status == 404 and (await wrong.json())["error"]["code"] == "unknown_appointment"
    assert (await client.request(method, path, data=b"{}")).status == 400
    right = await client.request(method, path, json={"phone": PHONE})
    assert right.status == 200 and (await right.json())["appointment"]["status"] == "cancelled"
    again = await client.request(method, path, json={"phone": PHONE})
    assert again.status == 409 and (await again.json())["error"]["code"] == "not_cancellable"


async def test_the_code_can_be_fetched_again(client: Client) -> None:
    booked = await book(client)
    path = f"/api/v1/appointments/{booked['appointment']['booking_id']}/code"

    response = await client.post(path, json={"phone": PHONE})
    assert response.status == 200 and (await response.json())["code"] == booked["code"]
    assert (await client.post(path, json={"phone": OTHER_PHONE})).status == 404


async def test_the_device_route_registered_later_still_gets_device_actions(client: Client) -> None:
    response = await client.post(f"/api/v1/sites/{SITE_ID}/issue", json={})
    assert (await response.json()) == {"device": True}


async def places_left(client: Client) -> int:
    response = await client.get(f"/api/v1/sites/{SITE_ID}/slots?matter=A&day=2026-11-25")
    return sum(slot["remaining"] for slot in (await response.json())["slots"])


async def test_one_address_booking_too_often_gets_a_429_and_books_nothing(serve: Serve) -> None:
    strict_client = await serve(AppointmentRules(client_limit="3/minute"))
    before = await places_left(strict_client)
    for n, slot in enumerate(("10:00", "10:30", "11:00")):
        await book(strict_client, phone=f"1390000000{n}", slot=f"2026-11-25T{slot}:00+08:00")
    response = await strict_client.post(f"/api/v1/sites/{SITE_ID}/appointments", json=BOOKING | {"phone": PHONE})
    assert response.status == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    error = (await response.json())["error"]
    assert error["code"] == "rate_limited" and error["zh"] == "请求过于频繁，请稍后再试"
    assert error["en"] == "Too many requests; please try again later"
    assert await places_left(strict_client) == before - 3  # reading the slots is not limited
    assert (await strict_client.post(f"/api/v1/sites/{SITE_ID}/appointments", json=BOOKING)).status == 429


async def test_guessing_a_bookings_phone_is_stopped_before_the_code_is_given(serve: Serve) -> None:
    client = await serve(AppointmentRules(wrong_phone_limit="2/hour"))
    booked = await book(client)
    path = f"/api/v1/appointments/{booked['appointment']['booking_id']}"
    for guess in ("13900000001", "13900000002"):
        assert (await client.post(f"{path}/code", json={"phone": guess})).status == 404
    for attempt in (client.post(f"{path}/code", json={"phone": PHONE}), client.delete(path, json={"phone": PHONE})):
        response = await attempt  # the right phone, but after two wrong ones
        assert response.status == 429 and booked["code"] not in await response.text()
    other = await book(client, slot="2026-11-25T10:30:00+08:00", phone=OTHER_PHONE)  # other bookings are not held up
    other_code = await client.post(
        f"/api/v1/appointments/{other['appointment']['booking_id']}/code", json={"phone": OTHER_PHONE}
    )
    assert other_code.status == 200

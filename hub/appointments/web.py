"""The booking REST API (aiohttp), added to the hub's web app with ``add_routes``.

    GET    /api/v1/sites/{site}/slots?matter=A02&day=2026-11-25     slots with places left (public)
    POST   /api/v1/sites/{site}/appointments                        book: {"matter","slot","phone",...} (public)
    GET    /api/v1/sites/{site}/appointments?day=2026-11-25         the day's bookings, masked (staff: ``may_list``)
    POST   /api/v1/appointments/{booking_id}/code                   the code again: {"phone"} (public)
    DELETE /api/v1/appointments/{booking_id}                        cancel: {"phone"} (public)
    POST   /api/v1/appointments/{booking_id}/cancel                 the same, for clients that cannot DELETE with a body

Answers are JSON: ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "zh", "en"}}`` with 400 (bad request),
401 (not staff), 404 (unknown site or appointment), 409 (refused by the rules) or 429 (``rate_limited``: too many
writes from one address, or too many wrong phone numbers for one booking; ``Retry-After`` says when to try again,
hub.appointments.throttle). Phone numbers and ID numbers are
read from bodies only (never from URLs, which end up in logs) and are never echoed.

Register these routes **before** the hub's ``POST /api/v1/sites/{site}/{action}`` device route: aiohttp matches in
order, and ``appointments`` would otherwise be taken for a device action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, TypeVar

import msgspec
from aiohttp import web

from hub.appointments.desk import AppointmentDesk, Booked
from hub.appointments.texts import AppointmentRefusal, BookingReason
from hub.appointments.throttle import Throttle
from hub.officers import officers_of_desk
from hub.openapi import (
    ELSEWHERE,
    UNAVAILABLE,
    Answer,
    BookedReply,
    CancelledReply,
    DayBookings,
    ErrorReply,
    Param,
    Slots,
    describe,
)

MAX_BODY = 4096

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class BookingBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    matter: Short
    slot: Annotated[datetime, msgspec.Meta(tz=True)]
    """The slot's start as ISO 8601 with its offset, as ``GET .../slots`` gives it."""
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=32)]
    id_number: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    name: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    request_id: Annotated[str, msgspec.Meta(min_length=8, max_length=128)] | None = None
    """A client-made id (a UUID): a retried POST with it returns the first booking."""
    officer_code: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    """A service experience officer's code (体验官): the ticket the booking checks in becomes the officer's visit,
    kept by the hub only (the booking, its answer and its ticket show nothing of it); a code not known is ignored."""


class PhoneBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=32)]


Body = TypeVar("Body", bound=msgspec.Struct)

_NOT_FOUND = {BookingReason.UNKNOWN_SITE, BookingReason.UNKNOWN_MATTER, BookingReason.UNKNOWN_APPOINTMENT}
_BAD_REQUEST = {BookingReason.BAD_PHONE, BookingReason.BAD_ID_NUMBER, BookingReason.NO_SUCH_SLOT}
_BAD_REQUEST |= {BookingReason.REQUEST_ID_REUSED}


_TAG = "bookings"
_REFUSED = (
    Answer(400, "Malformed, or a bad phone or ID number, or no such slot.", ErrorReply),
    Answer(404, "No such site, matter or appointment.", ErrorReply),
    Answer(409, "Refused by the booking rules.", ErrorReply),
    Answer(429, "Too many requests (``rate_limited``).", ErrorReply, headers=("Retry-After",)),
    ELSEWHERE,
    UNAVAILABLE,
)
_WITH_PHONE = (*_REFUSED, Answer(413, "Larger than 4096 bytes.", ErrorReply))
_DAY = Param("day", date, "The day, e.g. 2026-11-25.")


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(data), status=status, content_type="application/json")


def _error(status: int, code: str, zh: str, en: str) -> web.Response:
    return _json({"ok": False, "error": {"code": code, "zh": zh, "en": en}}, status)


def _rate_limited(seconds: float) -> web.Response:
    response = _error(429, "rate_limited", "请求过于频繁，请稍后再试", "Too many requests; please try again later")
    response.headers["Retry-After"] = str(int(seconds))
    return response


def _bad_request(detail: str) -> web.Response:
    return _error(400, "malformed", "请求格式错误", f"The request is malformed: {detail}")


def _refused(refusal: AppointmentRefusal) -> web.Response:
    status = 404 if refusal.reason in _NOT_FOUND else 400 if refusal.reason in _BAD_REQUEST else 409
    return _error(status, refusal.code, refusal.zh, refusal.en)


def _booked(booked: Booked) -> dict[str, Any]:
    return {"ok": True, "appointment": msgspec.to_builtins(booked.booking), "code": booked.code}


async def _body(request: web.Request, kind: type[Body]) -> Body | web.Response:
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return _error(413, "too_large", "请求过大", f"The request is larger than {MAX_BODY} bytes")
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.DecodeError as error:
        return _bad_request(str(error))


def _day(request: web.Request) -> date | web.Response:
    text = request.query.get("day", "")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return _bad_request("day must be an ISO date, e.g. ?day=2026-11-25")


class _Routes:
    def __init__(
        self, desk: AppointmentDesk, clock: Callable[[], datetime], may_list: Callable[[web.Request], bool]
    ) -> None:
        self.desk = desk
        self.clock = clock
        self.may_list = may_list
        self.throttle = Throttle(desk.rules)

    def _throttled(self, request: web.Request) -> web.Response | None:
        """Counts a public write from the request's address; the 429 when it is one too many."""
        wait = self.throttle.client_write(request.remote or "unknown")
        return None if wait is None else _rate_limited(wait)

    async def _with_phone(self, request: web.Request, ask: Callable[[str, str], Any]) -> Any:
        """Run ``ask(booking_id, phone)`` for a body with the booking's phone; a wrong phone counts against the
        booking (``wrong_phone_limit``). Returns the answer, or the response that ends the request."""
        booking_id = request.match_info["booking_id"]
        refused = self._throttled(request)
        if refused is not None:
            return refused
        body = await _body(request, PhoneBody)
        if isinstance(body, web.Response):
            return body
        wait = self.throttle.phone_guesses_left(booking_id)
        if wait is not None:
            return _rate_limited(wait)
        try:
            return await self._call(ask, booking_id, body.phone)
        except AppointmentRefusal as refusal:
            if refusal.reason == BookingReason.UNKNOWN_APPOINTMENT:
                self.throttle.wrong_phone(booking_id)
            return _refused(refusal)

    async def _call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Desk calls touch the database: off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, partial(function, *args, **kwargs))

    @describe("Slots with places left", tag=_TAG, query=[Param("matter", str, "A matter code, e.g. A02."), _DAY],
              answers=[Answer(200, "The day's open slots.", Slots), *_REFUSED])  # fmt: skip
    async def slots(self, request: web.Request) -> web.Response:
        site_id, matter = request.match_info["site"], request.query.get("matter", "")
        day = _day(request)
        if isinstance(day, web.Response):
            return day
        if not matter:
            return _bad_request("give the matter, e.g. ?matter=A02&day=2026-11-25")
        try:
            slots = await self._call(self.desk.slots, site_id, matter, day, self.clock())
        except AppointmentRefusal as refusal:
            return _refused(refusal)
        listed = [
            {
                "start": open_slot.slot.start.isoformat(),
                "end": open_slot.slot.end.isoformat(),
                "label": open_slot.slot.label,
                "capacity": open_slot.slot.capacity,
                "remaining": open_slot.remaining,
            }
            for open_slot in slots
        ]
        return _json({"ok": True, "site_id": site_id, "matter": matter, "day": day.isoformat(), "slots": listed})

    @describe("Book a slot", tag=_TAG, body=BookingBody, answers=[
        Answer(201, "Booked: the booking and its QR code's text.", BookedReply), *_WITH_PHONE])  # fmt: skip
    async def book(self, request: web.Request) -> web.Response:
        refused = self._throttled(request)
        if refused is not None:
            return refused
        body = await _body(request, BookingBody)
        if isinstance(body, web.Response):
            return body
        try:
            booked = await self._call(
                self.desk.book,
                request.match_info["site"],
                body.matter,
                body.slot,
                body.phone,
                self.clock(),
                id_number=body.id_number,
                name=body.name,
                request_id=body.request_id,
            )
        except AppointmentRefusal as refusal:
            return _refused(refusal)
        if body.officer_code:
            await self._call(self._officer_booked, body.officer_code, booked)
        return _json(_booked(booked), status=201)

    def _officer_booked(self, code: str, booked: Booked) -> None:
        """Remember the booking as an officer's, for its check-in (``hub.officers``); a code not known: nothing."""
        officers = officers_of_desk(self.desk)
        officer = officers.verify(code) if officers is not None else None
        if officers is not None and officer is not None:
            booking = booked.booking
            officers.booked(booking.booking_id, booking.site_id, officer.officer_id, self.clock())

    @describe("The day's bookings, masked (staff)", tag=_TAG, security="device", query=[_DAY], answers=[
        Answer(200, "The bookings.", DayBookings), Answer(401, "Not a caller device of the site.", ErrorReply),
        *_REFUSED])  # fmt: skip
    async def list_day(self, request: web.Request) -> web.Response:
        if not self.may_list(request):
            return _error(401, "unauthorised", "需要工作人员登录", "Staff sign-in needed")
        day = _day(request)
        if isinstance(day, web.Response):
            return day
        try:
            bookings = await self._call(self.desk.bookings, request.match_info["site"], day)
        except AppointmentRefusal as refusal:
            return _refused(refusal)
        listed = [msgspec.to_builtins(booking) for booking in bookings]
        return _json({"ok": True, "day": day.isoformat(), "appointments": listed})

    @describe("The booking's code again", tag=_TAG, body=PhoneBody, answers=[
        Answer(200, "The booking and its QR code's text.", BookedReply), *_WITH_PHONE])  # fmt: skip
    async def code(self, request: web.Request) -> web.Response:
        answer = await self._with_phone(request, self.desk.booking)
        return answer if isinstance(answer, web.Response) else _json(_booked(answer))

    @describe("Cancel a booking", tag=_TAG, body=PhoneBody, answers=[
        Answer(200, "Cancelled.", CancelledReply), *_WITH_PHONE])  # fmt: skip
    async def cancel(self, request: web.Request) -> web.Response:
        now = self.clock()
        answer = await self._with_phone(request, lambda booking_id, phone: self.desk.cancel(booking_id, phone, now))
        if isinstance(answer, web.Response):
            return answer
        return _json({"ok": True, "appointment": msgspec.to_builtins(answer)})


def add_routes(
    app: web.Application,
    desk: AppointmentDesk,
    *,
    clock: Callable[[], datetime],
    may_list: Callable[[web.Request], bool],
) -> None:
    """Add the booking API to ``app``. ``may_list(request)`` says whether the request comes from staff (e.g. Basic
    auth of a caller device or a manager): only staff see a day's bookings."""
    routes = _Routes(desk, clock, may_list)
    app.router.add_get("/api/v1/sites/{site}/slots", routes.slots)
    app.router.add_post("/api/v1/sites/{site}/appointments", routes.book)
    app.router.add_get("/api/v1/sites/{site}/appointments", routes.list_day)
    app.router.add_post("/api/v1/appointments/{booking_id}/code", routes.code)
    app.router.add_post("/api/v1/appointments/{booking_id}/cancel", routes.cancel)
    app.router.add_delete("/api/v1/appointments/{booking_id}", routes.cancel)

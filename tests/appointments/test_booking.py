"""Booking, cancelling and listing on every backend; personal data never stored or logged in clear."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from hub.appointments import AppointmentDesk, BookingReason, BookingRefused, desk_for
from hub.appointments.codes import verify
from hub.store import EventStore, open_store
from tests.appointments.conftest import (
    DAY,
    DISTRICT,
    ID_NUMBER,
    NOW,
    OTHER_PHONE,
    PHONE,
    RULES,
    SECRETS,
    SITE_ID,
    local,
)

TEN = local(DAY, 10)


def refused(reason: BookingReason, call, *args, **kwargs) -> BookingRefused:  # type: ignore[no-untyped-def]
    with pytest.raises(BookingRefused) as error:
        call(*args, **kwargs)
    assert error.value.reason == reason, error.value
    assert error.value.zh and error.value.en and "{" not in error.value.zh + error.value.en
    return error.value


def test_a_booking_gets_an_id_and_a_signed_code_for_its_slot(desk: AppointmentDesk) -> None:
    booked = desk.book(SITE_ID, "A", TEN, PHONE, NOW, name="张三丰", id_number=ID_NUMBER)

    booking = booked.booking
    assert (booking.site_id, booking.matter, booking.slot_label, booking.status) == (
        SITE_ID,
        "A",
        "10:00-10:30",
        "booked",
    )
    assert booking.slot_start == TEN and booking.slot_start.utcoffset() == timedelta(hours=8)
    assert (booking.phone_masked, booking.name_masked) == ("138****5678", "张*丰")
    body = verify(SECRETS.keyring, booked.code)
    assert (body.booking_id, body.site_id, body.matter, body.slot_start, body.slot_end) == (
        booking.booking_id, SITE_ID, "A", TEN, local(DAY, 10, 30))  # fmt: skip


def test_slots_show_the_places_left(desk: AppointmentDesk) -> None:
    desk.book(SITE_ID, "A", TEN, PHONE, NOW)

    slots = {open_slot.slot.label: open_slot.remaining for open_slot in desk.slots(SITE_ID, "A", DAY, NOW)}

    assert slots["09:00-09:30"] == 2 and slots["10:00-10:30"] == 1 and len(slots) == 14
    assert [s.slot.label for s in desk.slots(SITE_ID, "A", DAY, local(DAY, 16, 10))] == ["16:30-17:00"]
    assert desk.slots(SITE_ID, "A", DAY + timedelta(days=8), NOW) == []  # beyond the booking window
    assert desk.slots(SITE_ID, "A", DAY - timedelta(days=1), NOW) == []


def test_a_full_slot_is_refused_and_a_cancellation_frees_its_place(desk: AppointmentDesk) -> None:
    first = desk.book(SITE_ID, "A", TEN, PHONE, NOW)
    desk.book(SITE_ID, "A", TEN, OTHER_PHONE, NOW)

    refusal = refused(BookingReason.SLOT_FULL, desk.book, SITE_ID, "A", TEN, "13700000000", NOW)
    assert "2026-11-25 10:00-10:30" in refusal.zh

    cancelled = desk.cancel(first.booking.booking_id, "+86 138 1234 5678", NOW)
    assert cancelled.status == "cancelled"
    desk.book(SITE_ID, "A", TEN, "13700000000", NOW)


def test_concurrent_bookings_never_take_more_places_than_a_slot_has(desk: AppointmentDesk) -> None:
    phones = [f"1390000{n:04d}" for n in range(8)]

    def book(phone: str) -> bool:
        try:
            desk.book(SITE_ID, "A", TEN, phone, NOW)
        except BookingRefused as refusal:
            assert refusal.reason == BookingReason.SLOT_FULL
            return False
        return True

    with ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(book, phones)) == 2
    assert len(desk.bookings(SITE_ID, DAY)) == 2


def test_one_booking_per_phone_matter_and_day(desk: AppointmentDesk) -> None:
    desk.book(SITE_ID, "A", TEN, PHONE, NOW)

    refusal = refused(BookingReason.ALREADY_BOOKED, desk.book, SITE_ID, "A", local(DAY, 14), PHONE, NOW)
    assert "10:00-10:30" in refusal.zh
    desk.book(SITE_ID, "A", local(DAY + timedelta(days=1), 10), PHONE, NOW)  # another day is fine
    assert desk.slots(SITE_ID, "A", DAY, NOW)[2].remaining == 1  # the refused booking took no place


def test_a_retried_request_returns_the_first_booking(desk: AppointmentDesk) -> None:
    first = desk.book(SITE_ID, "A", TEN, PHONE, NOW, request_id="req-0001")
    again = desk.book(SITE_ID, "A", TEN, PHONE, NOW + timedelta(seconds=3), request_id="req-0001")

    assert again.booking == first.booking
    assert len(desk.bookings(SITE_ID, DAY)) == 1
    refused(BookingReason.REQUEST_ID_REUSED, desk.book, SITE_ID, "A", TEN, OTHER_PHONE, NOW, request_id="req-0001")


@pytest.mark.parametrize(
    ("reason", "booking"),
    [
        (BookingReason.UNKNOWN_SITE, ("nowhere", "A", TEN, PHONE)),
        (BookingReason.UNKNOWN_MATTER, (SITE_ID, "Z", TEN, PHONE)),
        (BookingReason.NOT_BOOKABLE, (SITE_ID, "B", TEN, PHONE)),
        (BookingReason.NO_SUCH_SLOT, (SITE_ID, "A", local(DAY, 10, 10), PHONE)),
        (BookingReason.NO_SUCH_SLOT, (SITE_ID, "A", local(date(2026, 11, 28), 10), PHONE)),  # Saturday
        (BookingReason.SLOT_PASSED, (SITE_ID, "A", local(DAY - timedelta(days=1), 10), PHONE)),
        (BookingReason.TOO_FAR_AHEAD, (SITE_ID, "A", local(DAY + timedelta(days=8), 10), PHONE)),
        (BookingReason.BAD_PHONE, (SITE_ID, "A", TEN, "12345")),
    ],
)
def test_bookings_the_rules_do_not_allow_are_refused(
    sqlite_desk: AppointmentDesk, reason: BookingReason, booking: tuple[str, str, datetime, str]
) -> None:
    refused(reason, sqlite_desk.book, *booking, NOW)


def test_an_id_number_with_a_wrong_check_digit_is_refused(sqlite_desk: AppointmentDesk) -> None:
    refused(
        BookingReason.BAD_ID_NUMBER, sqlite_desk.book, SITE_ID, "A", TEN, PHONE, NOW, id_number="110105194912310021"
    )


def test_a_slot_that_has_begun_cannot_be_booked(sqlite_desk: AppointmentDesk) -> None:
    refused(BookingReason.SLOT_PASSED, sqlite_desk.book, SITE_ID, "A", TEN, PHONE, local(DAY, 10, 0))


def test_cancelling_needs_the_phone_and_a_booking_still_to_come(desk: AppointmentDesk) -> None:
    booked = desk.book(SITE_ID, "A", TEN, PHONE, NOW)
    booking_id = booked.booking.booking_id

    refused(BookingReason.UNKNOWN_APPOINTMENT, desk.cancel, booking_id, OTHER_PHONE, NOW)
    refused(BookingReason.UNKNOWN_APPOINTMENT, desk.cancel, "no-such-id", PHONE, NOW)
    refused(BookingReason.UNKNOWN_APPOINTMENT, desk.cancel, booking_id, "not a phone", NOW)
    refused(BookingReason.NOT_CANCELLABLE, desk.cancel, booking_id, PHONE, local(DAY, 10, 30))
    desk.cancel(booking_id, PHONE, NOW)
    refusal = refused(BookingReason.NOT_CANCELLABLE, desk.cancel, booking_id, PHONE, NOW)
    assert "取消" in refusal.zh


def test_outstanding_bookings_are_counted_by_matter(desk: AppointmentDesk) -> None:
    desk.book(SITE_ID, "A", TEN, PHONE, NOW)
    cancelled = desk.book(SITE_ID, "A", local(DAY, 11), OTHER_PHONE, NOW)
    desk.book(SITE_ID, "A", local(DAY, 11), "13700000000", NOW)
    desk.cancel(cancelled.booking.booking_id, OTHER_PHONE, NOW)

    assert desk.outstanding(SITE_ID, DAY) == {"A": 2}
    assert desk.outstanding(SITE_ID, DAY + timedelta(days=1)) == {}


def test_the_code_can_be_fetched_again_with_the_phone(desk: AppointmentDesk) -> None:
    booked = desk.book(SITE_ID, "A", TEN, PHONE, NOW)

    assert desk.booking(booked.booking.booking_id, PHONE).booking == booked.booking
    refused(BookingReason.UNKNOWN_APPOINTMENT, desk.booking, booked.booking.booking_id, OTHER_PHONE)


def test_a_days_list_is_in_slot_order_and_masked(desk: AppointmentDesk) -> None:
    desk.book(SITE_ID, "A", local(DAY, 14), PHONE, NOW)
    desk.book(SITE_ID, "A", TEN, OTHER_PHONE, NOW, name="李四")
    desk.book(SITE_ID, "A", local(DAY + timedelta(days=1), 9), "13700000000", NOW)

    listed = desk.bookings(SITE_ID, DAY)

    assert [(b.slot_label, b.phone_masked, b.name_masked) for b in listed] == [
        ("10:00-10:30", "139****4321", "李*"),
        ("14:00-14:30", "138****5678", None),
    ]
    assert desk.bookings(SITE_ID, DAY + timedelta(days=2)) == []


def test_the_phone_id_number_and_name_are_never_stored_in_clear(
    sql_store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    desk = desk_for(sql_store, DISTRICT, SECRETS, RULES)
    caplog.set_level(logging.DEBUG)
    booked = desk.book(SITE_ID, "A", TEN, PHONE, NOW, id_number=ID_NUMBER, name="王小明")
    desk.cancel(booked.booking.booking_id, PHONE, NOW)

    engine = sql_store.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM appointments")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert rows and "138****5678" in stored
    for secret in (PHONE, PHONE[3:7], ID_NUMBER, ID_NUMBER[6:14], "小明"):
        assert secret not in stored
        assert secret not in caplog.text
    assert booked.booking.booking_id in caplog.text


def test_two_hubs_booking_one_phone_at_once_give_it_one_booking_a_day(sql_store: EventStore) -> None:
    """Two desks on their own connections to one database (two hub processes), the same phone for two slots of one
    day at the same instant: exactly one booking, every time."""
    url = sql_store.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    second = open_store(url)
    try:
        desks = [desk_for(sql_store, DISTRICT, SECRETS, RULES), desk_for(second, DISTRICT, SECRETS, RULES)]
        for n in range(6):  # the six morning slots, each against an afternoon one
            phone = f"1360000{n:04d}"
            start = threading.Barrier(2)

            def book(desk: AppointmentDesk, at: datetime, phone: str = phone, start: threading.Barrier = start) -> bool:
                start.wait()
                try:
                    desk.book(SITE_ID, "A", at, phone, NOW)
                except BookingRefused as refusal:
                    assert refusal.reason == BookingReason.ALREADY_BOOKED
                    return False
                return True

            with ThreadPoolExecutor(2) as pool:
                slots = (
                    local(DAY, 9, 30 * (n % 2)) + timedelta(hours=n // 2),
                    local(DAY, 14) + timedelta(minutes=30 * n),
                )
                assert sum(pool.map(book, desks, slots)) == 1, phone
    finally:
        second.close()

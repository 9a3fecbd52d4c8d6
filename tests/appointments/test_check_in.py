"""Checking in with a code: every refusal, the early/late rule, retries, no-shows and the no-show block."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import NamedTuple

import pytest

from contract import Reply
from engine.commands import Channel, OpenDay, Priority
from engine.events import TicketIssued
from hub.appointments import (
    AppointmentDesk,
    AppointmentRules,
    AppointmentSecrets,
    AppointmentStateError,
    BookingReason,
    BookingRefused,
    CheckInReason,
    CheckInRefused,
    Keyring,
    desk_for,
)
from hub.appointments.codes import CodeBody, sign
from hub.appointments.desk import STALE_CLAIM
from hub.gateway import Gateway
from hub.service import HallService
from hub.store import EventStore, MemoryStore
from tests.appointments.conftest import (
    DAY,
    DISTRICT,
    ID_NUMBER,
    NOW,
    OTHER_SITE,
    PHONE,
    RULES,
    SECRETS,
    SITE_ID,
    local,
)

TEN = local(DAY, 10)


class Device(NamedTuple):
    site_id: str
    kind: str
    window_id: str | None


def refused(reason: CheckInReason, desk: AppointmentDesk, code: str, at, command_id: str = "kiosk-1:r1"):  # type: ignore[no-untyped-def]
    with pytest.raises(CheckInRefused) as error:
        desk.check_in(SITE_ID, code, at, command_id=command_id)
    assert error.value.reason == reason, error.value
    assert error.value.zh and error.value.en and "{" not in error.value.zh + error.value.en
    assert PHONE not in error.value.zh + error.value.en
    return error.value


def test_a_code_checks_in_on_time_with_the_appointment_priority(desk: AppointmentDesk) -> None:
    booked = desk.book(SITE_ID, "A", TEN, PHONE, NOW, id_number=ID_NUMBER)

    check_in = desk.check_in(SITE_ID, booked.code, local(DAY, 9, 50), command_id="kiosk-1:r1")

    assert check_in.booking_id == booked.booking.booking_id
    assert (check_in.matter, check_in.priority, check_in.late, check_in.slot_label) == (
        "A", Priority.APPOINTMENT, False, "10:00-10:30")  # fmt: skip
    assert check_in.citizen_ref == desk.citizen_ref(ID_NUMBER) and ID_NUMBER not in check_in.citizen_ref
    command = check_in.issue_command(local(DAY, 9, 50))
    assert (command.command_id, command.channel, command.priority, command.matters) == (
        "kiosk-1:r1", Channel.APPOINTMENT, Priority.APPOINTMENT, ("A",))  # fmt: skip


def test_a_retry_of_the_same_command_gets_the_same_check_in_and_others_are_refused(desk: AppointmentDesk) -> None:
    code = desk.book(SITE_ID, "A", TEN, PHONE, NOW).code
    first = desk.check_in(SITE_ID, code, local(DAY, 9, 50), command_id="kiosk-1:r1")

    assert desk.check_in(SITE_ID, code, local(DAY, 9, 51), command_id="kiosk-1:r1") == first
    assert desk.used_by("kiosk-1:r1") == first
    assert desk.used_by("kiosk-1:other") is None
    refusal = refused(CheckInReason.ALREADY_USED, desk, code, local(DAY, 9, 52), command_id="kiosk-2:r9")
    assert "—" in refusal.zh  # the ticket is not confirmed yet

    desk.mark_used(first.booking_id, "S1-20261125-A003", "kiosk-1:r1")
    desk.mark_used(first.booking_id, "S1-20261125-A003", "kiosk-1:r1")  # idempotent
    assert desk.check_in(SITE_ID, code, local(DAY, 9, 53), command_id="kiosk-1:r1") == first
    refusal = refused(CheckInReason.ALREADY_USED, desk, code, local(DAY, 9, 54), command_id="kiosk-2:r9")
    assert "A003" in refusal.zh and "A003" in refusal.en
    with pytest.raises(AppointmentStateError):
        desk.mark_used(first.booking_id, "S1-20261125-A003", "kiosk-2:r9")
    with pytest.raises(AppointmentStateError):
        desk.mark_used(first.booking_id, "S1-20261125-A004", "kiosk-1:r1")
    assert desk.bookings(SITE_ID, DAY)[0].ticket_id == "S1-20261125-A003"


def test_a_released_check_in_can_be_made_again(desk: AppointmentDesk) -> None:
    code = desk.book(SITE_ID, "A", TEN, PHONE, NOW).code
    first = desk.check_in(SITE_ID, code, local(DAY, 9, 50), command_id="kiosk-1:r1")

    assert desk.release(first.booking_id, "kiosk-1:r1")
    assert not desk.release(first.booking_id, "kiosk-1:r1")
    assert desk.used_by("kiosk-1:r1") is None
    again = desk.check_in(SITE_ID, code, local(DAY, 9, 55), command_id="kiosk-1:r2")
    desk.mark_used(again.booking_id, "S1-20261125-A001", "kiosk-1:r2")
    assert not desk.release(again.booking_id, "kiosk-1:r2")  # a confirmed ticket is never undone


def test_a_check_in_whose_ticket_never_came_is_released_after_a_while(desk: AppointmentDesk) -> None:
    code = desk.book(SITE_ID, "A", TEN, PHONE, NOW).code
    desk.check_in(SITE_ID, code, local(DAY, 9, 50), command_id="kiosk-1:lost")

    refused(CheckInReason.ALREADY_USED, desk, code, local(DAY, 9, 51), command_id="kiosk-1:r2")
    later = local(DAY, 9, 50) + STALE_CLAIM + timedelta(seconds=1)
    taken_over = desk.check_in(SITE_ID, code, later, command_id="kiosk-1:r3")
    assert taken_over.command_id == "kiosk-1:r3" and desk.used_by("kiosk-1:lost") is None


def test_a_check_in_whose_ticket_was_issued_but_not_confirmed_is_recovered_not_taken_over(store: EventStore) -> None:
    """The hub stopped between storing the check-in's ticket and confirming it at the desk: after the stale time a
    second kiosk's check-in does not get a second ticket; the desk learns the first from the log."""
    service = HallService(DISTRICT, MemoryStore())
    desk = desk_for(store, DISTRICT, SECRETS, RULES, issued_by=service.issued_by)
    assert service.execute(OpenDay(command_id="open", site_id=SITE_ID, at=local(DAY, 8, 30))).accepted
    code = desk.book(SITE_ID, "A", TEN, PHONE, NOW).code
    check_in = desk.check_in(SITE_ID, code, local(DAY, 9, 50), command_id="kiosk-1:r1")
    issued = service.execute(check_in.issue_command(local(DAY, 9, 50)))  # stored; then the hub stopped
    ticket = next(event.ticket_id for event in issued.events if isinstance(event, TicketIssued))

    later = local(DAY, 9, 50) + STALE_CLAIM + timedelta(seconds=1)
    refused(CheckInReason.ALREADY_USED, desk, code, later, command_id="kiosk-2:r1")
    assert desk.bookings(SITE_ID, DAY)[0].ticket_id == ticket  # confirmed from the log
    assert len(service.state(SITE_ID).tickets) == 1


def test_forged_and_malformed_codes_are_refused(sqlite_desk: AppointmentDesk) -> None:
    booked = sqlite_desk.book(SITE_ID, "A", TEN, PHONE, NOW)
    body = CodeBody(booked.booking.booking_id, SITE_ID, "A", TEN, local(DAY, 10, 30))
    at = local(DAY, 9, 50)

    refused(CheckInReason.FORGED_CODE, sqlite_desk, sign(Keyring({"k1": b"z" * 32}, "k1"), body), at)
    refused(CheckInReason.FORGED_CODE, sqlite_desk, sign(Keyring({"k7": b"k" * 32}, "k7"), body), at)  # unknown key id
    longer = CodeBody(booked.booking.booking_id, SITE_ID, "A", TEN, local(DAY, 11))
    refused(CheckInReason.FORGED_CODE, sqlite_desk, sign(SECRETS.keyring, longer), at)  # validly signed, not as booked
    refused(CheckInReason.MALFORMED_CODE, sqlite_desk, "https://example.org/pay", at)
    refused(
        CheckInReason.UNKNOWN_BOOKING, sqlite_desk, sign(SECRETS.keyring, CodeBody("gone", SITE_ID, "A", TEN, TEN)), at
    )


def test_a_code_for_another_site_names_that_site(sqlite_desk: AppointmentDesk) -> None:
    code = sqlite_desk.book(OTHER_SITE, "A", TEN, PHONE, NOW).code

    refusal = refused(CheckInReason.WRONG_SITE, sqlite_desk, code, local(DAY, 9, 50))
    assert "另一站" in refusal.zh and "Other station" in refusal.en


def test_a_cancelled_booking_cannot_check_in(sqlite_desk: AppointmentDesk) -> None:
    booked = sqlite_desk.book(SITE_ID, "A", TEN, PHONE, NOW)
    sqlite_desk.cancel(booked.booking.booking_id, PHONE, NOW)

    refused(CheckInReason.BOOKING_CANCELLED, sqlite_desk, booked.code, local(DAY, 9, 50))


@pytest.mark.parametrize(
    ("hour", "minute", "outcome"),
    [
        (9, 29, CheckInReason.TOO_EARLY),
        (9, 30, Priority.APPOINTMENT),  # check-in opens 30 minutes before the slot
        (10, 30, Priority.APPOINTMENT),
        (10, 45, Priority.APPOINTMENT),  # up to 15 minutes after the slot ends
        (10, 46, Priority.NORMAL),  # later the same day: a normal ticket
        (16, 59, Priority.NORMAL),
    ],
)
def test_the_early_and_late_rule(sqlite_desk: AppointmentDesk, hour: int, minute: int, outcome: object) -> None:
    code = sqlite_desk.book(SITE_ID, "A", TEN, PHONE, NOW).code
    at = local(DAY, hour, minute)

    if isinstance(outcome, CheckInReason):
        refusal = refused(outcome, sqlite_desk, code, at)
        assert "09:30" in refusal.zh and "10:00-10:30" in refusal.en
    else:
        check_in = sqlite_desk.check_in(SITE_ID, code, at, command_id="kiosk-1:r1")
        assert check_in.priority == outcome and check_in.late == (outcome == Priority.NORMAL)


def test_the_next_day_a_code_has_expired(sqlite_desk: AppointmentDesk) -> None:
    code = sqlite_desk.book(SITE_ID, "A", TEN, PHONE, NOW).code

    refusal = refused(CheckInReason.EXPIRED, sqlite_desk, code, local(DAY + timedelta(days=1), 9))
    assert "2026-11-25 10:00-10:30" in refusal.zh


def test_without_late_same_day_a_late_arrival_is_refused(sqlite_store: EventStore) -> None:
    desk = desk_for(sqlite_store, DISTRICT, SECRETS, AppointmentRules(late_same_day=False))
    code = desk.book(SITE_ID, "A", TEN, PHONE, NOW).code

    refused(CheckInReason.EXPIRED, desk, code, local(DAY, 10, 46))


def test_bookings_nobody_checked_in_become_no_shows_when_the_day_is_over(desk: AppointmentDesk) -> None:
    missed = desk.book(SITE_ID, "A", TEN, PHONE, NOW)
    kept = desk.book(SITE_ID, "A", local(DAY, 11), "13700000000", NOW)
    desk.check_in(SITE_ID, kept.code, local(DAY, 11), command_id="k:1")

    assert desk.mark_no_shows(local(DAY, 16)) == 0  # a late arrival may still come today
    assert desk.mark_no_shows(local(DAY + timedelta(days=1), 0, 1)) == 1
    assert desk.mark_no_shows(local(DAY + timedelta(days=1), 0, 2)) == 0
    statuses = {b.booking_id: b.status for b in desk.bookings(SITE_ID, DAY)}
    assert statuses == {missed.booking.booking_id: "no_show", kept.booking.booking_id: "checked_in"}
    refused(CheckInReason.EXPIRED, desk, missed.code, local(DAY, 16, 30))


def test_with_late_same_day_off_no_shows_are_marked_after_the_grace(store: EventStore) -> None:
    desk = desk_for(store, DISTRICT, SECRETS, AppointmentRules(late_same_day=False))
    desk.book(SITE_ID, "A", TEN, PHONE, NOW)

    assert desk.mark_no_shows(local(DAY, 10, 45)) == 0
    assert desk.mark_no_shows(local(DAY, 10, 46)) == 1


def _miss(desk: AppointmentDesk, day_offset: int, now_day_offset: int | None = None) -> None:
    day = DAY + timedelta(days=day_offset)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    desk.book(SITE_ID, "A", local(day, 10), PHONE, local(day, 8))
    desk.mark_no_shows(local(day + timedelta(days=1), 1))


def test_three_no_shows_within_30_days_block_booking_for_30_days(desk: AppointmentDesk) -> None:
    for offset in (0, 7, 14):
        _miss(desk, offset)
    third = local(DAY + timedelta(days=14), 10)  # Wednesday 2026-12-09
    now = local(DAY + timedelta(days=15), 8)

    with pytest.raises(BookingRefused) as error:
        desk.book(SITE_ID, "A", local(DAY + timedelta(days=15), 10), PHONE, now)
    assert error.value.reason == BookingReason.BLOCKED
    assert "2027-01-08" in error.value.zh and "2027-01-08" in error.value.en and "3" in error.value.zh
    assert desk.blocked_until(PHONE, now) == third + timedelta(days=30)
    assert desk.blocked_until("13700000000", now) is None
    desk.book(SITE_ID, "A", local(DAY + timedelta(days=15), 10), "13700000000", now)  # others may book
    after = third + timedelta(days=30, hours=1)
    assert desk.blocked_until(PHONE, after) is None


def test_no_shows_spread_over_more_than_30_days_do_not_block(desk: AppointmentDesk) -> None:
    for offset in (0, 20, 35):
        _miss(desk, offset)

    assert desk.blocked_until(PHONE, local(DAY + timedelta(days=36), 8)) is None


def test_a_check_in_issues_an_appointment_ticket_through_the_hall_service(store: EventStore) -> None:
    """The flow the gateway runs: check in, issue under the same command id, confirm; a retry changes nothing."""
    desk = desk_for(store, DISTRICT, SECRETS, RULES)
    service = HallService(DISTRICT, MemoryStore())
    at = local(DAY, 9, 50)
    assert service.execute(OpenDay(command_id="open", site_id=SITE_ID, at=local(DAY, 8, 30))).accepted
    code = desk.book(SITE_ID, "A", TEN, PHONE, NOW, id_number=ID_NUMBER).code

    for attempt in range(2):
        check_in = desk.check_in(SITE_ID, code, at + timedelta(seconds=attempt), command_id="kiosk-1:r1")
        outcome = service.execute(check_in.issue_command(at))
        issued = next(event for event in outcome.events if isinstance(event, TicketIssued))
        desk.mark_used(check_in.booking_id, issued.ticket_id, check_in.command_id)

    assert (issued.number, issued.priority, issued.channel) == ("A001", Priority.APPOINTMENT, Channel.APPOINTMENT)
    assert issued.citizen_ref == desk.citizen_ref(ID_NUMBER)
    assert len(service.state(SITE_ID).tickets) == 1


def test_a_refused_ticket_releases_the_check_in(sqlite_store: EventStore) -> None:
    desk = desk_for(sqlite_store, DISTRICT, SECRETS, RULES)
    service = HallService(DISTRICT, MemoryStore())  # the day was never opened: the engine refuses
    code = desk.book(SITE_ID, "A", TEN, PHONE, NOW).code

    check_in = desk.check_in(SITE_ID, code, local(DAY, 9, 50), command_id="kiosk-1:r1")
    outcome = service.execute(check_in.issue_command(local(DAY, 9, 50)))
    assert not outcome.accepted
    desk.release(check_in.booking_id, check_in.command_id)

    assert desk.bookings(SITE_ID, DAY)[0].status == "booked"


def test_desks_with_rotated_keys_accept_codes_signed_before_the_rotation(sqlite_store: EventStore) -> None:
    before = desk_for(sqlite_store, DISTRICT, SECRETS, RULES)
    code = before.book(SITE_ID, "A", TEN, PHONE, NOW).code
    rotated = AppointmentSecrets(Keyring({"k1": b"k" * 32, "k2": b"n" * 32}, "k2"), SECRETS.pepper)

    after = AppointmentDesk(DISTRICT, before.store.engine, rotated, RULES)
    assert after.book(SITE_ID, "A", local(DAY, 11), "13700000000", NOW).code.startswith("HQ1.k2.")
    assert after.check_in(SITE_ID, code, local(DAY, 9, 50), command_id="k:1").matter == "A"


def test_a_walk_in_with_the_id_card_of_a_checked_in_booking_is_the_same_citizen(sqlite_store: EventStore) -> None:
    """The kiosk's ID-card number and the booking's are kept under the same key: one open ticket per citizen and
    matter holds across the two."""
    desk = desk_for(sqlite_store, DISTRICT, SECRETS, RULES)
    service = HallService(DISTRICT, MemoryStore())
    kiosk = Device(SITE_ID, "kiosk", None)
    at = local(DAY, 9, 50)
    gateway = Gateway(service, {"kiosk-1": kiosk}.get, lambda: at, appointments=desk)
    assert service.execute(OpenDay(command_id="open", site_id=SITE_ID, at=local(DAY, 8, 30))).accepted
    code = desk.book(SITE_ID, "A", TEN, PHONE, NOW, id_number=ID_NUMBER).code

    def ask(action: str, **body: object) -> Reply:
        payload = json.dumps({"v": 1, "id": action, **body}).encode()
        return gateway.handle(SITE_ID, "kiosk-1", action, payload)[0]

    assert ask("check-in", code=code).ok
    assert gateway.citizen_ref(ID_NUMBER) == desk.citizen_ref(ID_NUMBER)
    walk_in = ask("issue", matters=["A"], id_number=ID_NUMBER)
    assert walk_in.error is not None and walk_in.error.code == "already_holds_ticket"

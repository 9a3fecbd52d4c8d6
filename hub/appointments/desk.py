"""The appointment desk: book, cancel and list appointments, and check them in from a scanned code.

One object the hub wires once (``AppointmentDesk(district, engine, secrets, rules)``). Time always comes in as a
parameter (``now``), as in the engine. The hub's check-in flow (``docs/appointments.md``, "Check-in"):

    check_in = desk.check_in(site_id, code, now, command_id=command_id)   # raises CheckInRefused
    outcome = service.execute(check_in.issue_command(now))
    if outcome.accepted:  desk.mark_used(check_in.booking_id, ticket_id, command_id)
    else:                 desk.release(check_in.booking_id, command_id)

A retry of the same command id gets the same ``CheckIn`` back (never "already used"), so the whole flow is safe to
repeat like every other device request.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from contract import mask_name
from engine.calendar import day_bounds, local_day
from engine.commands import Channel, IssueTicket, Priority
from engine.district import District, Site
from hub.appointments import planner, privacy
from hub.appointments.blacklist import blocked_until, lookback
from hub.appointments.codes import CodeBody, CodeError, sign, verify
from hub.appointments.keyfile import AppointmentSecrets
from hub.appointments.privacy import keyed_hash, mask_phone, normalise_phone
from hub.appointments.rules import AppointmentRules
from hub.appointments.store import AppointmentStore, Row, Status
from hub.appointments.texts import (
    BookingReason,
    CheckInReason,
    booking_refused,
    check_in_refused,
)

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=2)
"""A check-in whose ticket was never confirmed (the hub died in between and the kiosk gave up) is released after
this long, so the citizen can scan again."""

_STATUS_WORDS = {
    Status.CHECKED_IN: ("签到", "checked in"),
    Status.CANCELLED: ("取消", "cancelled"),
    Status.NO_SHOW: ("过期", "expired"),
    Status.BOOKED: ("过期", "past"),
}


class Booking(msgspec.Struct, frozen=True, kw_only=True):
    """A booking as staff and the citizen may see it: masked phone and name, no hashes."""

    booking_id: str
    site_id: str
    matter: str
    slot_start: datetime
    slot_end: datetime
    slot_label: str
    status: str
    phone_masked: str
    name_masked: str | None = None
    created_at: datetime
    checked_in_at: datetime | None = None
    ticket_id: str | None = None


@dataclass(frozen=True, slots=True)
class Booked:
    booking: Booking
    code: str
    """The signed QR payload (``HQ1.…``): shown as a QR code on the citizen's phone or sent by SMS."""


@dataclass(frozen=True, slots=True)
class CheckIn:
    """A verified appointment to issue a ticket for."""

    booking_id: str
    site_id: str
    matter: str
    priority: Priority
    """``appointment`` within the slot window; ``normal`` for a late arrival the same day."""
    late: bool
    slot_label: str
    slot_start: datetime
    slot_end: datetime
    citizen_ref: str | None
    command_id: str

    def issue_command(self, at: datetime) -> IssueTicket:
        """The engine command that issues the ticket, under the check-in's command id."""
        return IssueTicket(
            command_id=self.command_id,
            site_id=self.site_id,
            at=at,
            matters=(self.matter,),
            priority=self.priority,
            channel=Channel.APPOINTMENT,
            citizen_ref=self.citizen_ref,
        )


@dataclass(frozen=True, slots=True)
class Outlook:
    """A site's next open day under its booking rules (``AppointmentDesk.outlook``)."""

    day: date | None
    """None: the site opens on none of the next ``planner.LOOK_AHEAD_DAYS`` days."""
    last_day: date
    """The last day a booking made now may be for (``days_ahead``)."""
    rules: AppointmentRules
    """The site's rules (its own where it sets them)."""
    matters: list[planner.MatterDay]


class AppointmentStateError(RuntimeError):
    """A desk call that contradicts what is stored (e.g. ``mark_used`` for a command that never checked in)."""


class AppointmentDesk:
    def __init__(
        self,
        district: District,
        engine: Engine,
        secrets_: AppointmentSecrets,
        rules: AppointmentRules | None = None,
        issued_by: Callable[[str], str | None] = lambda command_id: None,
    ) -> None:
        self.district = district
        self.issued_by = issued_by
        """The ticket a command issued, as the hub's event log has it (None: it issued none). A check-in whose ticket
        was issued but never confirmed here (the hub stopped in between) is confirmed from it, not taken over."""
        self.store = AppointmentStore(engine)
        self.secrets = secrets_
        self.rules = rules or AppointmentRules()
        self._lock = threading.RLock()
        """Serialises this process's calls (an in-memory SQLite database has one shared connection); across
        processes the conditional statements of the store decide."""

    # --- helpers -----------------------------------------------------------------------------------------------

    def _site(self, site_id: str) -> Site:
        site = self.district.site(site_id)
        if site is None:
            raise booking_refused(BookingReason.UNKNOWN_SITE, site=site_id[:64])
        return site

    def _zone(self, site_id: str) -> ZoneInfo:
        site = self.district.site(site_id)
        return ZoneInfo(site.timezone if site else "UTC")

    def _label(self, row: Row) -> str:
        zone = self._zone(row.site_id)
        return f"{row.slot_start.astimezone(zone):%H:%M}-{row.slot_end.astimezone(zone):%H:%M}"

    def _day_text(self, row: Row) -> str:
        return f"{row.slot_start.astimezone(self._zone(row.site_id)):%Y-%m-%d}"

    def _public(self, row: Row) -> Booking:
        zone = self._zone(row.site_id)
        return Booking(
            booking_id=row.booking_id,
            site_id=row.site_id,
            matter=row.matter,
            slot_start=row.slot_start.astimezone(zone),
            slot_end=row.slot_end.astimezone(zone),
            slot_label=self._label(row),
            status=row.status.value,
            phone_masked=row.phone_masked,
            name_masked=row.name_masked,
            created_at=row.created_at,
            checked_in_at=row.checked_in_at,
            ticket_id=row.ticket_id,
        )

    def _code(self, row: Row) -> str:
        body = CodeBody(row.booking_id, row.site_id, row.matter, row.slot_start, row.slot_end)
        return sign(self.secrets.keyring, body)

    def _phone_hash(self, phone: str) -> str:
        return keyed_hash(self.secrets.pepper, "phone", phone)

    def citizen_ref(self, id_number: str) -> str:
        """The keyed reference of an ID number (what ``IssueTicket.citizen_ref`` carries); raises on a bad number."""
        ref = privacy.citizen_ref(self.secrets.pepper, id_number)
        if ref is None:
            raise booking_refused(BookingReason.BAD_ID_NUMBER)
        return ref

    # --- slots -------------------------------------------------------------------------------------------------

    def slots(self, site_id: str, matter: str, day: date, now: datetime) -> list[planner.OpenSlot]:
        """The slots of a day not yet begun, with places left; empty outside the booking window."""
        site = self._site(site_id)
        self._bookable(site, matter)
        rules = self.rules.for_site(site)
        first, last = planner.booking_days(site, now, rules)
        if not first <= day <= last:
            return []
        slots = planner.day_slots(self.district, site, matter, day, rules)
        with self._lock:
            taken = self.store.places_taken(site_id, matter, *day_bounds(site, day))
        return planner.open_slots(slots, taken, now)

    def outlook(self, site: Site, now: datetime) -> Outlook:
        """The next open day of a site under its rules (``site`` as it is, or as a manager is about to change it):
        for each matter it lets be booked, the slots, their places, the walk-ins' share and the places booked."""
        rules = self.rules.for_site(site)
        day = planner.next_open_day(self.district, site, now, rules)
        matters = []
        if day is not None:
            for code in site.matters:
                matter = planner.bookable_matter(self.district, site, code)
                if matter is not None:
                    with self._lock:
                        taken = self.store.places_taken(site.id, code, *day_bounds(site, day))
                    matters.append(planner.matter_day(self.district, site, matter, day, rules, booked=taken))
        last_day = planner.booking_days(site, now, rules)[1]
        return Outlook(day=day, last_day=last_day, rules=rules, matters=matters)

    def _bookable(self, site: Site, code: str) -> None:
        matter = self.district.matter(code)
        if matter is None or code not in site.matters:
            raise booking_refused(BookingReason.UNKNOWN_MATTER, matter=code[:32])
        if not matter.appointment_allowed:
            raise booking_refused(BookingReason.NOT_BOOKABLE, matter_zh=matter.name_zh, matter_en=matter.name_en)

    # --- booking -----------------------------------------------------------------------------------------------

    def book(
        self,
        site_id: str,
        matter: str,
        slot_start: datetime,
        phone: str,
        now: datetime,
        *,
        id_number: str | None = None,
        name: str | None = None,
        request_id: str | None = None,
    ) -> Booked:
        """Book a place; raises ``BookingRefused``. A repeated ``request_id`` with the same phone returns the first
        booking (a retried POST books nothing twice)."""
        site = self._site(site_id)
        self._bookable(site, matter)
        clean_phone = normalise_phone(phone)
        if clean_phone is None:
            raise booking_refused(BookingReason.BAD_PHONE)
        phone_hash = self._phone_hash(clean_phone)
        citizen_ref = self.citizen_ref(id_number) if id_number else None
        with self._lock:
            if request_id is not None and (earlier := self._earlier_request(request_id, phone_hash)) is not None:
                return earlier
            slot = self._check_slot(site, matter, slot_start, now)
            self._check_blocked(site, phone_hash, now)
            row = Row(
                booking_id=secrets.token_urlsafe(9),
                site_id=site_id,
                matter=matter,
                slot_start=slot.start.astimezone(UTC),
                slot_end=slot.end.astimezone(UTC),
                phone_masked=mask_phone(clean_phone),
                phone_hash=phone_hash,
                name_masked=mask_name(name) if name and name.strip() else None,
                citizen_ref=citizen_ref,
                request_id=request_id,
                status=Status.BOOKED,
                created_at=now.astimezone(UTC),
            )
            try:
                self._insert(site, slot, row)
            except IntegrityError:
                if request_id is not None and (earlier := self._earlier_request(request_id, phone_hash)) is not None:
                    return earlier  # the same request, booked concurrently
                raise
        log.info("appointment %s booked: %s %s %s", row.booking_id, site_id, matter, slot.label)
        return Booked(self._public(row), self._code(row))

    def _earlier_request(self, request_id: str, phone_hash: str) -> Booked | None:
        earlier = self.store.by_request(request_id)
        if earlier is None:
            return None
        if earlier.phone_hash != phone_hash:
            raise booking_refused(BookingReason.REQUEST_ID_REUSED)
        return Booked(self._public(earlier), self._code(earlier))

    def _check_slot(self, site: Site, matter: str, start: datetime, now: datetime) -> planner.Slot:
        shown = f"{start.astimezone(ZoneInfo(site.timezone)):%Y-%m-%d %H:%M}"
        rules = self.rules.for_site(site)
        slot = planner.find_slot(self.district, site, matter, start, rules)
        if slot is None:
            raise booking_refused(BookingReason.NO_SUCH_SLOT, slot=shown)
        if slot.start <= now:
            raise booking_refused(BookingReason.SLOT_PASSED, slot=shown)
        _first, last = planner.booking_days(site, now, rules)
        if slot.start.date() > last:
            raise booking_refused(BookingReason.TOO_FAR_AHEAD, last=last.isoformat())
        return slot

    def _check_blocked(self, site: Site, phone_hash: str, now: datetime) -> None:
        missed = self.store.missed_since(phone_hash, now - lookback(self.rules))
        until = blocked_until(missed, self.rules)
        if until is not None and until > now:
            shown = f"{until.astimezone(ZoneInfo(site.timezone)):%Y-%m-%d}"
            rules = self.rules
            raise booking_refused(
                BookingReason.BLOCKED, count=rules.no_show_limit, window=rules.no_show_window_days, until=shown
            )

    def _insert(self, site: Site, slot: planner.Slot, row: Row) -> None:
        with self.store.begin() as connection:
            self.store.hold_phone(connection, row.phone_hash)
            if not self.store.take_place(
                connection, site.id, slot.matter, slot.start, slot.end, capacity=slot.capacity
            ):
                raise booking_refused(BookingReason.SLOT_FULL, slot=f"{slot.start:%Y-%m-%d} {slot.label}")
            since, until = day_bounds(site, slot.start.date())
            held = self.store.active_for_phone(
                connection, row.phone_hash, site_id=site.id, matter=slot.matter, since=since, until=until
            )
            if held:
                raise booking_refused(
                    BookingReason.ALREADY_BOOKED, day=self._day_text(held[0]), slot=self._label(held[0])
                )
            self.store.insert(connection, row)

    def cancel(self, booking_id: str, phone: str, now: datetime) -> Booking:
        """Cancel a booking before its slot ends; the phone must be the one it was booked with."""
        clean_phone = normalise_phone(phone)
        with self._lock:
            row = self.store.get(booking_id[:32])
            if row is None or clean_phone is None or row.phone_hash != self._phone_hash(clean_phone):
                raise booking_refused(BookingReason.UNKNOWN_APPOINTMENT)
            if row.status != Status.BOOKED or now >= row.slot_end:
                zh, en = _STATUS_WORDS[row.status]
                raise booking_refused(BookingReason.NOT_CANCELLABLE, status=zh, status_en=en)
            with self.store.begin() as connection:
                if not self.store.cancel(connection, booking_id, now):
                    raise booking_refused(BookingReason.NOT_CANCELLABLE, status="处理", status_en="being processed")
                self.store.give_back_place(connection, row.site_id, row.matter, row.slot_start)
            log.info("appointment %s cancelled", booking_id)
            cancelled = self.store.get(booking_id)
        assert cancelled is not None
        return self._public(cancelled)

    def bookings(self, site_id: str, day: date) -> list[Booking]:
        """Every booking of a site's day (all statuses), by slot: masked, for staff."""
        site = self._site(site_id)
        with self._lock:
            rows = self.store.for_site(site_id, *day_bounds(site, day))
        return [self._public(row) for row in rows]

    def outstanding(self, site_id: str, day: date) -> dict[str, int]:
        """Bookings of a site's day not yet checked in, cancelled or missed, by matter: the places walk-ins must
        leave free under each matter's daily limit (the engine counts every ticket against it)."""
        counts: dict[str, int] = {}
        for booking in self.bookings(site_id, day):
            if booking.status == Status.BOOKED:
                counts[booking.matter] = counts.get(booking.matter, 0) + 1
        return counts

    def booking(self, booking_id: str, phone: str) -> Booked:
        """A booking and its code again, for the citizen who booked it (same phone)."""
        clean_phone = normalise_phone(phone)
        with self._lock:
            row = self.store.get(booking_id[:32])
        if row is None or clean_phone is None or row.phone_hash != self._phone_hash(clean_phone):
            raise booking_refused(BookingReason.UNKNOWN_APPOINTMENT)
        return Booked(self._public(row), self._code(row))

    def blocked_until(self, phone: str, now: datetime) -> datetime | None:
        """When the phone may book again, if it is blocked by the no-show rule now."""
        clean_phone = normalise_phone(phone)
        if clean_phone is None:
            return None
        with self._lock:
            missed = self.store.missed_since(self._phone_hash(clean_phone), now - lookback(self.rules))
        until = blocked_until(missed, self.rules)
        return until if until is not None and until > now else None

    # --- check-in ----------------------------------------------------------------------------------------------

    def check_in(self, site_id: str, code: str, now: datetime, *, command_id: str) -> CheckIn:
        """Verify a scanned code at a site and check its booking in for ``command_id``; raises ``CheckInRefused``.

        The same ``command_id`` again returns the same ``CheckIn`` (a retried request), whatever the code or time.
        """
        with self._lock:
            earlier = self.used_by(command_id)
            if earlier is not None:
                return earlier
            body = self._verified(site_id, code)
            row = self.store.get(body.booking_id)
            if row is None:
                raise check_in_refused(CheckInReason.UNKNOWN_BOOKING)
            if (row.site_id, row.matter, row.slot_start, row.slot_end) != (
                body.site_id,
                body.matter,
                body.slot_start,
                body.slot_end,
            ):
                raise check_in_refused(CheckInReason.FORGED_CODE)
            stale = self._refuse_by_status(row, now)
            priority, late = self._timing(row, now)
            if not self.store.claim(row.booking_id, command_id, priority.value, now, stale_command=stale):
                current = self.store.get(row.booking_id)
                assert current is not None
                if current.checkin_command_id == command_id:
                    return self._check_in_of(current)
                self._refuse_by_status(current, now)
                raise check_in_refused(CheckInReason.ALREADY_USED, number="—")
        log.info("appointment %s checked in at %s (%s)", row.booking_id, site_id, priority.value)
        return CheckIn(
            booking_id=row.booking_id,
            site_id=row.site_id,
            matter=row.matter,
            priority=priority,
            late=late,
            slot_label=self._label(row),
            slot_start=row.slot_start.astimezone(self._zone(row.site_id)),
            slot_end=row.slot_end.astimezone(self._zone(row.site_id)),
            citizen_ref=row.citizen_ref,
            command_id=command_id,
        )

    def _verified(self, site_id: str, code: str) -> CodeBody:
        try:
            body = verify(self.secrets.keyring, code)
        except CodeError as error:
            reason = CheckInReason.FORGED_CODE if error.forged else CheckInReason.MALFORMED_CODE
            log.warning("check-in at %s refused: %s (%s)", site_id, reason.value, error)
            raise check_in_refused(reason) from None
        if body.site_id != site_id:
            site = self.district.site(body.site_id)
            names = (site.name_zh, site.name_en) if site else (body.site_id, body.site_id)
            raise check_in_refused(CheckInReason.WRONG_SITE, site_zh=names[0], site_en=names[1])
        return body

    def _refuse_by_status(self, row: Row, now: datetime) -> str | None:
        """Refuse a booking that cannot be checked in; the command id of a stale claim that may be taken over."""
        if row.status == Status.BOOKED:
            return None
        if row.status == Status.CANCELLED:
            raise check_in_refused(CheckInReason.BOOKING_CANCELLED)
        if row.status == Status.NO_SHOW:
            raise check_in_refused(CheckInReason.EXPIRED, day=self._day_text(row), slot=self._label(row))
        ticket_id = row.ticket_id
        if ticket_id is None and row.checked_in_at is not None and now - row.checked_in_at > STALE_CLAIM:
            claimed_by = row.checkin_command_id or ""
            ticket_id = self.issued_by(claimed_by)
            if ticket_id is None:
                return claimed_by  # that check-in never got its ticket: the claim may be taken over
            self.store.set_ticket(row.booking_id, claimed_by, ticket_id)
            log.info("appointment %s: its lost ticket confirmation recovered from the log", row.booking_id)
        number = ticket_id.rsplit("-", 1)[-1] if ticket_id else "—"
        raise check_in_refused(CheckInReason.ALREADY_USED, number=number)

    def _timing(self, row: Row, now: datetime) -> tuple[Priority, bool]:
        """The early/late rule: check-in from ``early_minutes`` before the slot; the appointment priority until
        ``late_minutes`` after its end; a normal ticket later the same day (or expired, by ``late_same_day``)."""
        if now < row.slot_start - self.rules.early:
            opens = (row.slot_start - self.rules.early).astimezone(self._zone(row.site_id))
            raise check_in_refused(
                CheckInReason.TOO_EARLY, day=self._day_text(row), slot=self._label(row), opens=f"{opens:%H:%M}"
            )
        if now <= row.slot_end + self.rules.late:
            return Priority.APPOINTMENT, False
        zone = self._zone(row.site_id)
        if self.rules.late_same_day and now.astimezone(zone).date() == row.slot_start.astimezone(zone).date():
            return Priority.NORMAL, True
        raise check_in_refused(CheckInReason.EXPIRED, day=self._day_text(row), slot=self._label(row))

    def _check_in_of(self, row: Row) -> CheckIn:
        assert row.checkin_command_id is not None and row.checkin_priority is not None
        priority = Priority(row.checkin_priority)
        zone = self._zone(row.site_id)
        return CheckIn(
            booking_id=row.booking_id,
            site_id=row.site_id,
            matter=row.matter,
            priority=priority,
            late=priority != Priority.APPOINTMENT,
            slot_label=self._label(row),
            slot_start=row.slot_start.astimezone(zone),
            slot_end=row.slot_end.astimezone(zone),
            citizen_ref=row.citizen_ref,
            command_id=row.checkin_command_id,
        )

    def used_by(self, command_id: str) -> CheckIn | None:
        """The check-in a command made, if any (whether or not its ticket is confirmed yet)."""
        with self._lock:
            row = self.store.by_command(command_id)
        return None if row is None else self._check_in_of(row)

    def mark_used(self, booking_id: str, ticket_id: str, command_id: str) -> None:
        """Record the ticket the hub issued for a check-in. Idempotent for the same command and ticket."""
        with self._lock:
            if not self.store.set_ticket(booking_id, command_id, ticket_id):
                raise AppointmentStateError(f"booking {booking_id} was not checked in by {command_id}")

    def release(self, booking_id: str, command_id: str) -> bool:
        """Undo a check-in whose ticket the hub refused (site closed, daily limit): the code can be used again.
        False when there was nothing to undo (already released, or the ticket was confirmed)."""
        with self._lock:
            released = self.store.unclaim(booking_id, command_id)
        if released:
            log.info("appointment %s check-in released", booking_id)
        return released

    # --- day end -----------------------------------------------------------------------------------------------

    def mark_no_shows(self, now: datetime) -> int:
        """Mark bookings nobody checked in as no-shows once they can no longer be checked in: after their local day
        (``late_same_day``) or after slot end + ``late_minutes``. Safe to call at every tick; returns how many."""
        with self._lock:
            candidates = self.store.booked_ending_before(now - self.rules.late)
            missed = [row.booking_id for row in candidates if self._past_check_in(row, now)]
            count = self.store.mark_missed(missed)
        if count:
            log.info("%d appointments marked as no-shows", count)
        return count

    def _past_check_in(self, row: Row, now: datetime) -> bool:
        if not self.rules.late_same_day:
            return now > row.slot_end + self.rules.late
        site = self.district.site(row.site_id)
        if site is None:
            return True
        return local_day(site, now) > local_day(site, row.slot_start)

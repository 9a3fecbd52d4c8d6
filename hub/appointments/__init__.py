"""Appointments (预约) and QR check-in: slots, bookings, signed codes, the early/late and no-show rules.

Wiring (``hub/main.py``)::

    secrets = keyfile.load_or_create(Path(config.appointments.keys_file))
    desk = desk_for(store, district, secrets, config.appointments.rules())

The rules are in docs/appointments.md; why the codes look as they do in docs/decisions/0007-appointment-codes.md.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.district import District
from hub.appointments.codes import Keyring
from hub.appointments.desk import AppointmentDesk, AppointmentStateError, Booked, Booking, CheckIn
from hub.appointments.keyfile import AppointmentSecrets
from hub.appointments.rules import AppointmentRules, AppointmentsConfig
from hub.appointments.store import memory_engine
from hub.appointments.texts import BookingReason, BookingRefused, CheckInReason, CheckInRefused
from hub.store import EventStore
from hub.store.sql import SqlStore

__all__ = [
    "AppointmentDesk",
    "AppointmentRules",
    "AppointmentSecrets",
    "AppointmentStateError",
    "AppointmentsConfig",
    "Booked",
    "Booking",
    "BookingReason",
    "BookingRefused",
    "CheckIn",
    "CheckInReason",
    "CheckInRefused",
    "Keyring",
    "desk_for",
]


def desk_for(
    store: EventStore,
    district: District,
    secrets: AppointmentSecrets,
    rules: AppointmentRules | None = None,
    issued_by: Callable[[str], str | None] = lambda command_id: None,
) -> AppointmentDesk:
    """The desk kept beside a store: in its SQL database, or in a private in-memory SQLite for a memory store.
    ``issued_by``: the ticket a command issued, from the hub's log (``HallService.issued_by``)."""
    engine = store.engine if isinstance(store, SqlStore) else memory_engine()
    return AppointmentDesk(district, engine, secrets, rules, issued_by)

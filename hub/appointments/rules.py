"""The appointment rules a district can tune, and the hub configuration section that carries them.

``AppointmentsConfig`` is meant to become the ``[appointments]`` section of ``hub.config.HubConfig``::

    [appointments]
    keys_file = "var/appointment-keys.toml"   # signing keys and the hashing pepper (created when missing)
    slot_minutes = 30
    walk_in_share = 0.3
    ...

Every default is the rule described in docs/appointments.md. A site may set its own slot length, walk-in share and
booking horizon (``Site.appointments``); ``AppointmentRules.for_site`` is the one place they replace the hub's.
"""

from __future__ import annotations

from datetime import timedelta

import limits
import msgspec

from engine.district import Site


class AppointmentRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slot_minutes: int = 30
    """Length of one bookable slot."""
    walk_in_share: float = 0.3
    """Share of each matter's daily limit kept for walk-ins (rounded up in their favour); the rest is bookable."""
    days_ahead: int = 7
    """A slot can be booked from today up to this many days ahead."""
    early_minutes: int = 30
    """Check-in opens this long before the slot starts."""
    late_minutes: int = 15
    """A citizen checking in up to this long after the slot ends keeps the appointment priority."""
    late_same_day: bool = True
    """Later the same day: a normal ticket (True) or a refusal as expired (False)."""
    no_show_limit: int = 3
    """This many no-shows ..."""
    no_show_window_days: int = 30
    """... within this many days block new bookings ..."""
    block_days: int = 30
    """... for this many days after the no-show that reached the limit."""
    client_limit: str = "30/minute;300/hour"
    """Bookings, code look-ups and cancellations one client address may send (``limits`` notation): a script that
    books every slot (号贩子) is stopped, a family booking together is not."""
    wrong_phone_limit: str = "5/hour"
    """Wrong phone numbers given for one booking before its code and cancellation are refused for a while."""

    def __post_init__(self) -> None:
        if not 5 <= self.slot_minutes <= 240:
            raise ValueError("slot_minutes must be between 5 and 240")
        if not 0.0 <= self.walk_in_share <= 1.0:
            raise ValueError("walk_in_share must be between 0 and 1")
        if min(self.days_ahead, self.early_minutes, self.late_minutes, self.block_days) < 0:
            raise ValueError("days_ahead, early_minutes, late_minutes and block_days cannot be negative")
        if self.no_show_limit < 1 or self.no_show_window_days < 1:
            raise ValueError("no_show_limit and no_show_window_days must be at least 1")
        for name in ("client_limit", "wrong_phone_limit"):
            try:
                limits.parse_many(getattr(self, name))
            except ValueError as error:
                raise ValueError(f'{name} must read like "30/minute;300/hour": {error}') from None

    def for_site(self, site: Site) -> AppointmentRules:
        """The rules at a site: its own ``slot_minutes``, ``walk_in_share`` and ``days_ahead`` where it sets them
        (``Site.appointments``), these rules otherwise; everything else (check-in, no-shows, limits) stays the hub's."""
        policy = site.appointments
        if policy is None:
            return self
        return msgspec.structs.replace(
            self, slot_minutes=policy.slot_minutes, walk_in_share=policy.walk_in_share, days_ahead=policy.days_ahead
        )

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    @property
    def early(self) -> timedelta:
        return timedelta(minutes=self.early_minutes)

    @property
    def late(self) -> timedelta:
        return timedelta(minutes=self.late_minutes)


class AppointmentsConfig(AppointmentRules, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The rules plus where the secrets live (``hub.appointments.keyfile``)."""

    keys_file: str = "var/appointment-keys.toml"

    def rules(self) -> AppointmentRules:
        fields = msgspec.structs.asdict(self)
        del fields["keys_file"]
        return AppointmentRules(**fields)

"""Commands: what a kiosk, a caller or the hub asks the queue engine to do (imperative names).

Every command names its site and carries the time it happened (``at``, timezone-aware); the engine has no clock.
The client-generated ``command_id`` makes retries safe: the service returns the first answer to a repeated id.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import msgspec


class Priority(enum.StrEnum):
    NORMAL = "normal"
    APPOINTMENT = "appointment"
    ELDERLY = "elderly"  # 老年人、残疾人
    GREEN = "green"  # 重大项目绿色通道


class Channel(enum.StrEnum):
    KIOSK = "kiosk"
    APPOINTMENT = "appointment"
    COUNTER = "counter"
    PHONE = "phone"


class Command(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    command_id: str
    site_id: str
    at: datetime


class OpenDay(Command, frozen=True, kw_only=True, tag=True):
    """Start the site's business day of ``at``'s local date; numbering starts again from 001."""


class CloseDay(Command, frozen=True, kw_only=True, tag=True):
    """End the business day: every ticket still open ends (missed ones as no-shows, the rest as expired)."""


class IssueTicket(Command, frozen=True, kw_only=True, tag=True):
    """Take a number for one or more matters served one after another under that number (一票到底)."""

    matters: tuple[str, ...]
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.KIOSK
    citizen_ref: str | None = None
    """An opaque, already hashed reference to the citizen (never an ID number): one open ticket per matter."""
    kept_for_appointments: dict[str, int] = msgspec.field(default_factory=dict)
    """Per matter, today's booked places not yet checked in: a walk-in ticket leaves them free under the daily
    limit (an appointment's own check-in sends none)."""


class OpenWindow(Command, frozen=True, kw_only=True, tag=True):
    window_id: str
    staff_id: str = ""


class CloseWindow(Command, frozen=True, kw_only=True, tag=True):
    window_id: str


class PauseWindow(Command, frozen=True, kw_only=True, tag=True):
    window_id: str
    reason: str


class ResumeWindow(Command, frozen=True, kw_only=True, tag=True):
    window_id: str


class CallNext(Command, frozen=True, kw_only=True, tag=True):
    """Call the next ticket for a window by the ordering rules; a ticket still at the window is settled first."""

    window_id: str


class CallTicket(Command, frozen=True, kw_only=True, tag=True):
    """Call a chosen waiting ticket out of order (特呼)."""

    window_id: str
    ticket_id: str


class Recall(Command, frozen=True, kw_only=True, tag=True):
    """Call the window's current ticket again (重呼); at the call limit the ticket is dropped instead."""

    window_id: str


class StartService(Command, frozen=True, kw_only=True, tag=True):
    window_id: str


class FinishService(Command, frozen=True, kw_only=True, tag=True):
    """Finish the current matter; a ticket with more matters goes on to the next matter's queue."""

    window_id: str


class MarkNoShow(Command, frozen=True, kw_only=True, tag=True):
    """The called citizen did not come (过号/弃号)."""

    window_id: str


class Reactivate(Command, frozen=True, kw_only=True, tag=True):
    """A no-show citizen turned up after all: back into the queue behind a few people."""

    ticket_id: str
    window_id: str | None = None
    """The window that asks (a caller's): only a ticket of that window's queue (``engine.decide`` says which);
    None for the hub's own commands and the console."""


class Park(Command, frozen=True, kw_only=True, tag=True):
    """Hold the window's current ticket aside (挂起), e.g. while the citizen fetches a missing paper."""

    window_id: str


class CallBack(Command, frozen=True, kw_only=True, tag=True):
    """Call a parked ticket back to a window (回呼)."""

    window_id: str
    ticket_id: str


class Transfer(Command, frozen=True, kw_only=True, tag=True):
    """Send the window's current ticket to another matter and/or window, keeping its original place in time."""

    window_id: str
    to_matter: str | None = None
    to_window: str | None = None


RatingLevel = Annotated[int, msgspec.Meta(ge=1, le=5)]
"""1 非常不满意, 2 不满意, 3 基本满意, 4 满意, 5 非常满意 (GB/T 39734-2020)."""
SATISFIED = 4
"""满意 and better; a rating below it may say why (``RatingReason``)."""


class RatingAspects(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """The on-site sub-indicators of a rating (GB/T 39734-2020), each a level like the overall one; an evaluator
    without them sends none."""

    efficiency: RatingLevel | None = None
    """办事效率."""
    service_level: RatingLevel | None = None
    """服务水平."""
    attitude: RatingLevel | None = None
    """服务态度."""


class RatingReason(enum.StrEnum):
    """Why a citizen is not satisfied (optional, several allowed): what a follow-up verifies first."""

    LONG_WAIT = "long_wait"
    """等候时间长."""
    SLOW = "slow"
    """办理效率低."""
    ATTITUDE = "attitude"
    """服务态度差."""
    NOT_TOLD_AT_ONCE = "not_told_at_once"
    """未一次性告知."""
    TOO_MANY_MATERIALS = "too_many_materials"
    """材料要求多."""
    CAME_AGAIN = "came_again"
    """多次跑动."""
    FACILITIES = "facilities"
    """环境设施差."""
    OTHER = "other"
    """其他."""


class RatingSource(enum.StrEnum):
    """Where the citizen rated (好差评 channels on site)."""

    EVALUATOR = "evaluator"
    """The window's evaluator (评价器)."""
    KIOSK = "kiosk"
    """A kiosk, after scanning the ticket's QR code."""
    TICKET_PAGE = "ticket_page"
    """The ticket's own page on the citizen's phone."""


class RateService(Command, frozen=True, kw_only=True, tag=True):
    """A citizen rates a service (好差评, one rating per service): level 1 非常不满意 ... 5 非常满意 (GB/T 39734-2020),
    with the sub-indicators and, below 满意, reasons if they like.

    By ``window_id`` (the window's evaluator): the service last finished there, while the window has not called the
    next citizen. By ``ticket_id`` (kiosk, ticket page): that ticket's last finished service, at any time of its day,
    also while it waits for a further matter."""

    window_id: str | None = None
    ticket_id: str | None = None
    level: int
    aspects: RatingAspects | None = None
    reasons: tuple[RatingReason, ...] = ()
    """Kept only for a level below ``SATISFIED``; each once."""
    source: RatingSource = RatingSource.EVALUATOR


class CancelTicket(Command, frozen=True, kw_only=True, tag=True):
    ticket_id: str
    reason: str = ""
    window_id: str | None = None
    """The window that asks, as for ``Reactivate``."""


AnyCommand = (
    OpenDay
    | CloseDay
    | IssueTicket
    | OpenWindow
    | CloseWindow
    | PauseWindow
    | ResumeWindow
    | CallNext
    | CallTicket
    | Recall
    | StartService
    | FinishService
    | MarkNoShow
    | Reactivate
    | Park
    | CallBack
    | Transfer
    | CancelTicket
    | RateService
)

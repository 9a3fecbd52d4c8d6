"""Why the engine refused a command, in words a hall manager understands, in Chinese and English."""

from __future__ import annotations

import enum
from typing import Any

import msgspec


class Reason(enum.StrEnum):
    UNKNOWN_SITE = "unknown_site"
    UNKNOWN_MATTER = "unknown_matter"
    MATTER_NOT_OFFERED = "matter_not_offered"
    NO_MATTERS = "no_matters"
    REPEATED_MATTER = "repeated_matter"
    DAY_NOT_OPEN = "day_not_open"
    DAY_ALREADY_OPEN = "day_already_open"
    SITE_CLOSED = "site_closed"
    DAILY_LIMIT = "daily_limit"
    KEPT_FOR_APPOINTMENTS = "kept_for_appointments"
    NUMBERS_EXHAUSTED = "numbers_exhausted"
    ALREADY_HOLDS_TICKET = "already_holds_ticket"
    NOT_GREEN_CHANNEL = "not_green_channel"
    UNKNOWN_WINDOW = "unknown_window"
    WINDOW_CLOSED = "window_closed"
    WINDOW_ALREADY_OPEN = "window_already_open"
    WINDOW_PAUSED = "window_paused"
    WINDOW_NOT_PAUSED = "window_not_paused"
    WINDOW_BUSY = "window_busy"
    NOTHING_WAITING = "nothing_waiting"
    NO_CURRENT_TICKET = "no_current_ticket"
    ALREADY_SERVING = "already_serving"
    NOT_SERVING = "not_serving"
    UNKNOWN_TICKET = "unknown_ticket"
    TICKET_NOT_WAITING = "ticket_not_waiting"
    TICKET_NOT_MISSED = "ticket_not_missed"
    TICKET_NOT_PARKED = "ticket_not_parked"
    TICKET_ENDED = "ticket_ended"
    NOT_WINDOW_QUEUE = "not_window_queue"
    WINDOW_DOES_NOT_SERVE = "window_does_not_serve"
    NO_WINDOW_SERVES = "no_window_serves"
    TRANSFER_NOWHERE = "transfer_nowhere"
    NOTHING_TO_RATE = "nothing_to_rate"
    BAD_RATING = "bad_rating"
    ALREADY_RATED = "already_rated"


_TEXTS: dict[Reason, tuple[str, str]] = {
    Reason.UNKNOWN_SITE: ("没有编号为 {site} 的站点", "There is no site {site}"),
    Reason.UNKNOWN_MATTER: ("事项目录中没有 {matter}", "The catalogue has no matter {matter}"),
    Reason.MATTER_NOT_OFFERED: ("本站点不办理“{matter}”", "This site does not handle “{matter}”"),
    Reason.NO_MATTERS: ("请至少选择一个事项", "Choose at least one matter"),
    Reason.REPEATED_MATTER: ("一张号票中“{matter}”只能出现一次", "“{matter}” can appear only once on a ticket"),
    Reason.DAY_NOT_OPEN: ("今日尚未开始取号", "Today's ticketing has not started"),
    Reason.DAY_ALREADY_OPEN: ("{day} 已经开始营业", "The business day {day} is already open"),
    Reason.SITE_CLOSED: ("当前不在办理时间，下次取号时间：{next}", "Closed now; ticketing opens again at {next}"),
    Reason.DAILY_LIMIT: ("“{matter}”今日号源已满", "Today's tickets for “{matter}” are all taken"),
    Reason.KEPT_FOR_APPOINTMENTS: (
        "“{matter}”今日剩余号源已留给预约群众，请预约其他时段或前往附近站点",
        "Today's remaining places for “{matter}” are kept for appointments; book a slot or try a nearby site",
    ),
    Reason.NUMBERS_EXHAUSTED: ("{prefix} 字头今日号码已用完", "No numbers left today with prefix {prefix}"),
    Reason.ALREADY_HOLDS_TICKET: (
        "您已有“{matter}”的有效号 {number}，可补打号票",
        "You already hold ticket {number} for “{matter}”; it can be reprinted",
    ),
    Reason.NOT_GREEN_CHANNEL: ("“{matter}”不属于绿色通道事项", "“{matter}” is not a green-channel matter"),
    Reason.UNKNOWN_WINDOW: ("没有编号为 {window} 的窗口", "There is no window {window}"),
    Reason.WINDOW_CLOSED: ("{window} 号窗口未开启", "Window {window} is not open"),
    Reason.WINDOW_ALREADY_OPEN: ("{window} 号窗口已开启", "Window {window} is already open"),
    Reason.WINDOW_PAUSED: ("{window} 号窗口暂停中（{reason}）", "Window {window} is paused ({reason})"),
    Reason.WINDOW_NOT_PAUSED: ("{window} 号窗口没有暂停", "Window {window} is not paused"),
    Reason.WINDOW_BUSY: ("请先办结当前号 {number}", "Finish the current ticket {number} first"),
    Reason.NOTHING_WAITING: ("本窗口暂无等候的号", "Nobody is waiting for this window"),
    Reason.NO_CURRENT_TICKET: ("本窗口当前没有号", "This window has no current ticket"),
    Reason.ALREADY_SERVING: ("{number} 已在办理中", "Ticket {number} is already being served"),
    Reason.NOT_SERVING: ("{number} 尚未开始办理", "Service of {number} has not started"),
    Reason.UNKNOWN_TICKET: ("今日没有号 {ticket}", "There is no ticket {ticket} today"),
    Reason.TICKET_NOT_WAITING: ("{number} 不在等候中", "Ticket {number} is not waiting"),
    Reason.TICKET_NOT_MISSED: ("{number} 不是过号", "Ticket {number} was not missed"),
    Reason.TICKET_NOT_PARKED: ("{number} 没有挂起", "Ticket {number} is not parked"),
    Reason.TICKET_ENDED: ("{number} 已结束，不能再操作", "Ticket {number} has ended"),
    Reason.NOT_WINDOW_QUEUE: (
        "{number} 不在 {window} 号窗口的队列中",
        "Ticket {number} is not in window {window}'s queue",
    ),
    Reason.WINDOW_DOES_NOT_SERVE: (
        "{window} 号窗口不办理“{matter}”",
        "Window {window} does not handle “{matter}”",
    ),
    Reason.NO_WINDOW_SERVES: ("本站点没有窗口办理“{matter}”", "No window of this site handles “{matter}”"),
    Reason.TRANSFER_NOWHERE: ("请选择转往的事项或窗口", "Choose a matter or a window to transfer to"),
    Reason.NOTHING_TO_RATE: ("本窗口暂无可评价的服务", "There is no service to rate at this window now"),
    Reason.BAD_RATING: ("评价须为 1 至 5 级", "A rating is a level from 1 to 5"),
    Reason.ALREADY_RATED: (
        "{number} 的本次服务已评价过，每次服务只能评价一次",
        "This service of ticket {number} is rated already: one rating per service",
    ),
}


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """The engine's typed refusal: nothing happened, and this is why."""

    reason: Reason
    zh: str
    en: str


def texts(reason: Reason) -> tuple[str, str]:
    """The reason's (Chinese, English) texts with their ``{placeholders}`` unfilled (for the protocol's manual)."""
    return _TEXTS[reason]


def reject(reason: Reason, /, **params: Any) -> Rejection:
    """Fill the reason's texts. A parameter given as a ``(zh, en)`` pair is used per language (matter names)."""
    zh, en = _TEXTS[reason]
    zh_params = {k: v[0] if isinstance(v, tuple) else v for k, v in params.items()}
    en_params = {k: v[1] if isinstance(v, tuple) else v for k, v in params.items()}
    return Rejection(reason=reason, zh=zh.format(**zh_params), en=en.format(**en_params))

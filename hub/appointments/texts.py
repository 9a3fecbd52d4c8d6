"""Every appointment refusal, in Chinese and English, as the kiosk screen or the booking page shows it."""

from __future__ import annotations

import enum
from typing import Any


class CheckInReason(enum.StrEnum):
    MALFORMED_CODE = "malformed_code"
    FORGED_CODE = "forged_code"
    UNKNOWN_BOOKING = "unknown_booking"
    WRONG_SITE = "wrong_site"
    BOOKING_CANCELLED = "booking_cancelled"
    ALREADY_USED = "already_used"
    TOO_EARLY = "too_early"
    EXPIRED = "expired"


class BookingReason(enum.StrEnum):
    UNKNOWN_SITE = "unknown_site"
    UNKNOWN_MATTER = "unknown_matter"
    NOT_BOOKABLE = "not_bookable"
    NO_SUCH_SLOT = "no_such_slot"
    SLOT_FULL = "slot_full"
    SLOT_PASSED = "slot_passed"
    TOO_FAR_AHEAD = "too_far_ahead"
    BAD_PHONE = "bad_phone"
    BAD_ID_NUMBER = "bad_id_number"
    BLOCKED = "blocked"
    ALREADY_BOOKED = "already_booked"
    REQUEST_ID_REUSED = "request_id_reused"
    UNKNOWN_APPOINTMENT = "unknown_appointment"
    NOT_CANCELLABLE = "not_cancellable"


_CHECK_IN: dict[CheckInReason, tuple[str, str]] = {
    CheckInReason.MALFORMED_CODE: (
        "无法识别的预约码，请重新扫描或到咨询台办理",
        "This is not an appointment code; scan again or ask at the help desk",
    ),
    CheckInReason.FORGED_CODE: (
        "预约码校验失败，请到咨询台核实",
        "This appointment code failed its check; please ask at the help desk",
    ),
    CheckInReason.UNKNOWN_BOOKING: ("未找到该预约，请到咨询台核实", "No such appointment; please ask at the help desk"),
    CheckInReason.WRONG_SITE: (
        "该预约的办理地点是{site_zh}，不在本站点",
        "This appointment is at {site_en}, not at this site",
    ),
    CheckInReason.BOOKING_CANCELLED: ("该预约已取消，请重新取号", "This appointment was cancelled; take a ticket"),
    CheckInReason.ALREADY_USED: (
        "该预约已签到取号（{number}），请勿重复签到",
        "This appointment was already checked in (ticket {number})",
    ),
    CheckInReason.TOO_EARLY: (
        "您预约的时段是{day} {slot}，请于{opens}后签到",
        "Your appointment is {day} {slot}; check in from {opens}",
    ),
    CheckInReason.EXPIRED: (
        "预约时段{day} {slot}已过，预约已失效，请重新取号或预约",
        "The appointment of {day} {slot} has expired; take a ticket or book again",
    ),
}

_BOOKING: dict[BookingReason, tuple[str, str]] = {
    BookingReason.UNKNOWN_SITE: ("没有编号为 {site} 的站点", "There is no site {site}"),
    BookingReason.UNKNOWN_MATTER: ("本站点不办理事项 {matter}", "This site does not handle matter {matter}"),
    BookingReason.NOT_BOOKABLE: (
        "“{matter_zh}”不提供预约，请现场取号",
        "“{matter_en}” cannot be booked; take a ticket",
    ),
    BookingReason.NO_SUCH_SLOT: ("{slot} 不是可预约的时段", "{slot} is not a bookable slot"),
    BookingReason.SLOT_FULL: ("{slot} 时段已约满，请选择其他时段", "The slot {slot} is fully booked; choose another"),
    BookingReason.SLOT_PASSED: (
        "{slot} 时段已开始，不能再预约",
        "The slot {slot} has begun; it can no longer be booked",
    ),
    BookingReason.TOO_FAR_AHEAD: ("只能预约{last}及以前的时段", "Slots can be booked up to {last}"),
    BookingReason.BAD_PHONE: ("请填写正确的11位手机号码", "Give a valid 11-digit mobile number"),
    BookingReason.BAD_ID_NUMBER: ("身份证号码有误，请核对", "The ID card number is not valid"),
    BookingReason.BLOCKED: (
        "您在{window}天内有{count}次预约未到，预约功能暂停至{until}",
        "After {count} missed appointments within {window} days, booking is suspended until {until}",
    ),
    BookingReason.ALREADY_BOOKED: (
        "您已预约{day} {slot}办理该事项，如需改期请先取消",
        "You already booked this matter for {day} {slot}; cancel it first to change",
    ),
    BookingReason.REQUEST_ID_REUSED: ("请求编号重复，请重新提交", "This request id was used for another booking"),
    BookingReason.UNKNOWN_APPOINTMENT: (
        "未找到该预约，或手机号码不符",
        "No such appointment, or the phone number does not match",
    ),
    BookingReason.NOT_CANCELLABLE: (
        "该预约已{status}，不能取消",
        "This appointment is {status_en}; it cannot be cancelled",
    ),
}


class AppointmentRefusal(Exception):
    """A refusal with its code and its texts for people; the texts never contain a phone or an ID number."""

    def __init__(self, reason: enum.StrEnum, zh: str, en: str) -> None:
        super().__init__(f"{reason}: {en}")
        self.reason = reason
        self.zh = zh
        self.en = en

    @property
    def code(self) -> str:
        return str(self.reason)


class CheckInRefused(AppointmentRefusal):
    reason: CheckInReason


class BookingRefused(AppointmentRefusal):
    reason: BookingReason


def check_in_texts(reason: CheckInReason) -> tuple[str, str]:
    """The reason's (Chinese, English) texts with their ``{placeholders}`` unfilled (for the protocol's manual)."""
    return _CHECK_IN[reason]


def check_in_refused(reason: CheckInReason, **params: Any) -> CheckInRefused:
    zh, en = _CHECK_IN[reason]
    return CheckInRefused(reason, zh.format(**params), en.format(**params))


def booking_refused(reason: BookingReason, **params: Any) -> BookingRefused:
    zh, en = _BOOKING[reason]
    return BookingRefused(reason, zh.format(**params), en.format(**params))

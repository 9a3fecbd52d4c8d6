"""Personal data at the edge: what is kept of a phone number, a name and an ID number, and how.

Nothing here is ever stored or logged in clear. A phone number becomes ``138****1234`` (shown to staff and the
citizen) plus a keyed hash (HMAC-SHA256 with the district's pepper) that finds the same phone again for the no-show
rule and cancellation; an ID number becomes only a keyed ``citizen_ref``; a name only its masked form (张*明,
``contract.mask_name``, the same the kiosk shows).
"""

from __future__ import annotations

import hashlib
import hmac
import re

_PHONE = re.compile(r"1[3-9]\d{9}")
_ID_18 = re.compile(r"\d{17}[\dX]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalise_phone(text: str) -> str | None:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86/0086 prefix dropped), or None."""
    digits = re.sub(r"[\s\-()]", "", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits if _PHONE.fullmatch(digits) else None


def mask_phone(phone: str) -> str:
    """``13812341234`` → ``138****1234``."""
    return f"{phone[:3]}****{phone[-4:]}"


def normalise_id_number(text: str) -> str | None:
    """A resident identity card number (18 characters, GB 11643 check digit), upper-cased, or None."""
    number = text.strip().upper()
    if not _ID_18.fullmatch(number):
        return None
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return number if _ID_CHECK[total % 11] == number[17] else None


def keyed_hash(pepper: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``purpose:value`` under the pepper, hex: stable across key rotation, useless without the
    pepper (a phone number has too few possibilities for a plain hash to hide it)."""
    return hmac.new(pepper, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def citizen_ref(pepper: bytes, id_number: str) -> str | None:
    """The keyed reference of an ID number that bookings and tickets carry (``IssueTicket.citizen_ref``); None when
    the number is not a valid one."""
    number = normalise_id_number(id_number)
    return None if number is None else keyed_hash(pepper, "citizen", number)[:32]

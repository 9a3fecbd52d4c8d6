"""What a citizen's ticket page shows (``/t/<token>``): the number, the matters, where the ticket stands, the people
ahead and the estimated wait, the window when it is called, and what to bring. Numbers and fixed words only: no
name, no ID number, no phone, and no ticket id (the page names no other ticket).

``ticket_view`` runs on the writer thread (it reads the site's state and asks the site's estimator, as the kiosk's
issue reply does); its texts are in the page's language. A ticket of a day gone by shows how it ended: one still
open when its day ended without being closed shows as expired.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import msgspec
from aiohttp import web

import contract as wire
from devicekit.wait_words import wait_words
from engine.district import District, Site
from engine.state import TERMINAL, Ticket, TicketStatus
from hub.ratings import ASPECTS
from hub.ticket_ratings import offer_of
from hub.web_pages.public_texts import PublicTexts, material_lines
from hub.web_pages.ticket_index import Entry, TicketIndex

if TYPE_CHECKING:
    from hub.ticket_ratings import TicketRatings

NEAR = 2
"""People ahead at which the page tells the citizen to come back ("third in line")."""

_STATES = {
    TicketStatus.WAITING: "Waiting for your call",
    TicketStatus.CALLED: "Please go to window {window}",
    TicketStatus.SERVING: "Being served at window {window}",
    TicketStatus.PARKED: "On hold: the window will call you again",
    TicketStatus.MISSED: "Missed your call: please ask at a window",
    TicketStatus.DONE: "Done",
    TicketStatus.CANCELLED: "Cancelled",
    TicketStatus.NO_SHOW: "Missed and no longer valid",
    TicketStatus.EXPIRED: "Expired: not served that day",
}
AT_WINDOW = frozenset({TicketStatus.CALLED, TicketStatus.SERVING})


def ticket_view(index: TicketIndex, entry: Entry, lang: str, now: datetime) -> dict[str, Any] | None:
    """The page's view of the entry's ticket (None if the index no longer has it). On the writer thread."""
    ticket = index.ticket(entry)
    site = index.gateway.district.site(entry.site_id)
    if ticket is None or site is None:
        return None
    today = index.is_today(entry)
    status = ticket.status if today or ticket.status in TERMINAL else TicketStatus.EXPIRED
    texts = PublicTexts(lang)
    window = site.window(ticket.window_id) if ticket.window_id and status in AT_WINDOW else None
    number = window.number if window is not None else 0
    view: dict[str, Any] = {
        "number": ticket.number,
        "site": texts.pick(site.name_zh, site.name_en),
        "day": ticket.issued_at.astimezone(ZoneInfo(site.timezone)).date().isoformat(),
        "issued": texts("Taken at {time}", time=f"{ticket.issued_at.astimezone(ZoneInfo(site.timezone)):%H:%M}"),
        "state": status.value,
        "final": status in TERMINAL,
        "status": texts(_STATES[status], window=number),
        "window": number or None,
        "calls": ticket.calls,
        "matters": _matters(index.gateway.district, ticket, status, texts),
        "people_ahead": None,
        "people": "",
        "wait": "",
        "notify": {
            "near": texts("{number}: almost your turn, please come back to the hall", number=ticket.number),
            "called": texts("Ticket {number}, please go to window {window}", number=ticket.number, window=number),
        },
    }
    if status == TicketStatus.WAITING:
        view |= _wait(index, site, ticket, texts, now)
    offer = offer_of(index.gateway.district, ticket, site.id, today)
    view["rating"] = {
        "state": offer.state.value,
        "level": offer.level,
        "matter": texts.pick(offer.matter_zh, offer.matter_en),
        "window": offer.window_number,
    }
    return view


def _wait(index: TicketIndex, site: Site, ticket: Ticket, texts: PublicTexts, now: datetime) -> dict[str, Any]:
    state = index.gateway.service.state(site.id)
    wait = index.gateway.estimators[site.id].estimate(state, site, ticket.id, now)
    people = texts("{count} people ahead of you", count=wait.people_ahead)
    return {"people_ahead": wait.people_ahead, "people": people, "wait": wait_words(texts, wait)}


def _matters(district: District, ticket: Ticket, status: TicketStatus, texts: PublicTexts) -> list[dict[str, Any]]:
    """Each matter of the ticket (several for 一票到底), the one queued for or served now marked."""
    shown = []
    for step, code in enumerate(ticket.matters):
        matter = district.matter(code)
        shown.append(
            {
                "code": code,
                "name": texts.pick(matter.name_zh, matter.name_en) if matter else code,
                "current": step == ticket.step and status not in TERMINAL,
                "done": step < ticket.step or status == TicketStatus.DONE,
            }
        )
    return shown


def materials(district: District, codes: list[str], lang: str) -> list[dict[str, Any]]:
    """What to bring, per matter of the ticket (from the district's catalogue; any thread)."""
    texts = PublicTexts(lang)
    found = [matter for code in codes if (matter := district.matter(code)) is not None]
    return [
        {"matter": texts.pick(matter.name_zh, matter.name_en), "lines": material_lines(texts, matter)}
        for matter in found
        if matter.materials
    ]


RATING_ERRORS = {
    "already_rated": "This service is rated already: one rating per service",
    "nothing_to_rate": "There is no finished service to rate yet",
    "rating_closed": "The ticket's day is over: it can no longer be rated",
    "malformed": "Please choose how satisfied you are (one of the five levels)",
    "bad_rating": "Please choose how satisfied you are (one of the five levels)",
}
"""The rating form's refusals as the page says them (message ids of ``web-ratings.po``), by code."""


def _form_rating(form: Any) -> wire.TicketRating | None:
    """The ticket page's form as a rating (empty fields left out), or None when it is not one."""
    try:
        aspects = {name: int(form[name]) for name in ASPECTS if form.get(name)}
        return msgspec.convert(
            {"level": int(form.get("level", "")), "aspects": aspects or None, "reasons": form.getall("reason", []),
             "comment": str(form.get("comment", "")).strip(), "source": wire.RatingSource.TICKET_PAGE},
            wire.TicketRating,
        )  # fmt: skip
    except (ValueError, TypeError, msgspec.ValidationError):
        return None


async def submit_form(request: web.Request, ratings: TicketRatings, entry: Entry) -> str | None:
    """Rate from the ticket page's form; the refusal's code, or None when rated."""
    rating = _form_rating(await request.post())
    if rating is None:
        return "malformed"
    refused = await ratings.rate(request, entry, rating)
    return refused.code if refused is not None else None

"""A ticket rated by its holder (好差评 on a kiosk or the ticket page; docs/ratings.md).

``GET /api/v1/tickets/{token}/rating`` answers a ``RatingOffer`` (may the ticket's last finished service be rated?);
``POST`` the same path with a ``TicketRating`` rates it once through the engine (``RateService`` by ticket, the same
rules as the window's evaluator) and answers the offer again. The ticket page's form (``/t/{token}/rating``) goes the
same way (``TicketRatings.rate``). The token is the only credential, as for the ticket page; the answers name the
window's number, never the clerk. A comment is kept in ``rating_comments`` only: never in the event, the answer or a
log line.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

import contract as wire
from engine import commands as cmd
from engine.district import District
from engine.rejections import Rejection
from engine.state import Ticket
from hub import openapi as api
from hub.cluster import elsewhere
from hub.openapi import Answer, describe
from hub.ratings import comments_for
from hub.service import Outcome
from hub.web_pages.state import HallReader
from hub.web_pages.ticket_index import Entry, TicketIndex

log = logging.getLogger(__name__)

Runner = Callable[[cmd.Command], Outcome]
"""Decide and store a command on the writer thread and publish its events (``Hub.run_command``)."""
RUN_COMMAND: web.AppKey[Runner] = web.AppKey("run_command")
CLOSED = wire.Error(
    code="rating_closed", zh="该号票的办理日已结束，不能再评价", en="The ticket's day is over: no rating any more"
)
NOT_FOUND = wire.Error(code="not_found", zh="没有这张号票", en="No such ticket")
_rating = msgspec.json.Decoder(wire.TicketRating)


def offer_of(district: District, ticket: Ticket, site_id: str, today: bool) -> wire.RatingOffer:
    """What a rating form shows of the ticket (its last finished service; the window's number, never the clerk)."""
    site = district.site(site_id)
    window_id, matter_code = (ticket.last_service[0], ticket.last_service[1]) if ticket.last_service else (
        None, ticket.matter)  # fmt: skip
    matter = district.matter(matter_code)
    window = site.window(window_id) if site is not None and window_id is not None else None
    if ticket.last_rating:
        state = wire.RatingOfferState.RATED
    elif not today:
        state = wire.RatingOfferState.CLOSED
    else:
        state = wire.RatingOfferState.NOT_YET if ticket.last_service is None else wire.RatingOfferState.OPEN
    return wire.RatingOffer(
        state=state, number=ticket.number, matter_zh=matter.name_zh if matter else matter_code,
        matter_en=matter.name_en if matter else matter_code, window_number=window.number if window else None,
        level=ticket.last_rating or None,
    )  # fmt: skip


class TicketRatings:
    """The ratings of tickets by their holders, for the API and the ticket page (one per hub)."""

    def __init__(
        self, hall: HallReader, index: TicketIndex, find: Callable[[str], Awaitable[Entry | None]],
        clock: Callable[[], datetime],
    ) -> None:  # fmt: skip
        self.hall, self.index, self.find, self.clock = hall, index, find, clock
        self.comments = comments_for(hall.gateway.service.store)

    def offer(self, entry: Entry) -> wire.RatingOffer | None:
        """On the writer thread."""
        ticket = self.index.ticket(entry)
        return offer_of(self.hall.district, ticket, entry.site_id, self.index.is_today(entry)) if ticket else None

    def _rate(self, entry: Entry, rating: wire.TicketRating, run: Runner | None) -> Outcome | wire.Error:
        """On the writer thread: the engine decides (once per service, only after it)."""
        if not self.index.is_today(entry):
            return CLOSED
        command = cmd.RateService(
            command_id=f"rating-{uuid.uuid4().hex}", site_id=entry.site_id, at=self.clock(),
            ticket_id=entry.ticket_id, level=rating.level, aspects=rating.aspects, reasons=rating.reasons,
            source=rating.source,
        )  # fmt: skip
        return (run or self.hall.gateway.execute)(command)

    async def rate(self, request: web.Request, entry: Entry, rating: wire.TicketRating) -> wire.Error | None:
        """Rate the entry's ticket; the refusal, or None. The comment is kept once the rating is."""
        run = request.config_dict.get(RUN_COMMAND)
        outcome = await self.hall.on_writer(self._rate, entry, rating, run)
        if isinstance(outcome, wire.Error):
            return outcome
        if outcome.rejection is not None:
            return _error(outcome.rejection)
        if run is None and outcome.events:  # no hub (the pages' own tests): the live pages are told here
            self.hall.feed.changed(entry.site_id)
        comment = rating.comment.strip()
        if comment and outcome.events and self.comments is not None:
            seq = outcome.events[-1].seq
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, self.comments.keep, entry.site_id, seq, comment, self.clock()
                )
            except SQLAlchemyError as error:  # the rating stands: it is answered as made; only its words are lost
                log.error("the comment of rating %s/%d was not kept: %s", entry.site_id, seq, type(error).__name__)
        return None


def _error(rejection: Rejection) -> wire.Error:
    return wire.Error(code=str(rejection.reason), zh=rejection.zh, en=rejection.en)


RATINGS = web.AppKey("ticket_ratings", TicketRatings)


def _json(message: msgspec.Struct, status: int = 200) -> web.Response:
    return web.Response(body=wire.encode(message), status=status, content_type="application/json")


async def _entry(request: web.Request) -> tuple[TicketRatings, Entry] | web.Response:
    ratings = request.app[RATINGS]
    entry = await ratings.find(request.match_info["token"])
    if entry is None:
        return _json(NOT_FOUND, 404)
    if answer := elsewhere(ratings.hall.sites, entry.site_id, str(request.rel_url)):
        raise answer
    return ratings, entry


_COMMON = [
    Answer(404, "No ticket has this token (the same answer for every unknown token).", wire.Error),
    api.ELSEWHERE, api.UNAVAILABLE,
]  # fmt: skip


@describe("May the ticket's service be rated", tag="ratings", answers=[
    Answer(200, "The offer: open, rated (with the level), not yet, or closed (the ticket's day is over).",
           wire.RatingOffer), *_COMMON])  # fmt: skip
async def get_rating(request: web.Request) -> web.Response:
    found = await _entry(request)
    if isinstance(found, web.Response):
        return found
    ratings, entry = found
    offer = await ratings.hall.on_writer(ratings.offer, entry)
    return _json(offer) if offer is not None else _json(NOT_FOUND, 404)


@describe("Rate the ticket's last finished service (once)", tag="ratings", body=wire.TicketRating, answers=[
    Answer(200, "Rated: the offer again, ``rated``.", wire.RatingOffer),
    Answer(400, "Not a rating (``malformed``), or ``source`` evaluator (an evaluator rates over MQTT).", wire.Error),
    Answer(409, "Refused: ``nothing_to_rate`` (not served yet), ``already_rated``, ``rating_closed``.", wire.Error),
    *_COMMON])  # fmt: skip
async def post_rating(request: web.Request) -> web.Response:
    found = await _entry(request)
    if isinstance(found, web.Response):
        return found
    ratings, entry = found
    try:
        rating = _rating.decode(await request.read())
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        return _json(wire.Error(code="malformed", zh="评价内容有误", en=f"Not a rating: {error}"), 400)
    if rating.source == wire.RatingSource.EVALUATOR:
        return _json(wire.Error(code="malformed", zh="评价器请通过窗口评价", en="An evaluator rates over MQTT"), 400)
    refused = await ratings.rate(request, entry, rating)
    if refused is not None:
        return _json(refused, 409)
    offer = await ratings.hall.on_writer(ratings.offer, entry)
    return _json(offer) if offer is not None else _json(NOT_FOUND, 404)


def add_rating_routes(app: web.Application, ratings: TicketRatings) -> None:
    """``/api/v1/tickets/{token}/rating`` on the hub's app."""
    app[RATINGS] = ratings
    app.router.add_get("/api/v1/tickets/{token}/rating", get_rating)
    app.router.add_post("/api/v1/tickets/{token}/rating", post_rating)

"""Ratings (好差评): once per service and only after it, by the window's evaluator or by the ticket's holder (kiosk,
ticket page), with sub-indicators, reasons and source; random days keep both rules whichever way ratings come."""

from __future__ import annotations

import msgspec
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from engine import commands as cmd
from engine import events as ev
from engine.codec import decode_event
from engine.rejections import Reason
from tests.engine.hall import Hall
from tests.engine.test_properties import HallDay

ASPECTS = cmd.RatingAspects(efficiency=2, service_level=3, attitude=1)
PHONE = cmd.RatingSource.TICKET_PAGE


def served(hall: Hall, window: str = "w1") -> str:
    """Call, start and finish the next ticket at the window; its number."""
    number = hall.call(window)
    assert number is not None
    hall.ok(cmd.StartService, window_id=window)
    hall.ok(cmd.FinishService, window_id=window)
    return number


def test_a_ticket_is_rated_once_after_its_service_also_when_the_next_citizen_was_called() -> None:
    hall = Hall()
    hall.open("w1")
    first, _ = hall.issue("M1"), hall.issue("M1")
    ticket = hall.ticket_id(first)
    assert hall.no(cmd.RateService, ticket_id=ticket, level=5, source=PHONE).reason == Reason.NOTHING_TO_RATE
    assert hall.no(cmd.RateService, ticket_id="s1-20261125-Z999", level=5).reason == Reason.UNKNOWN_TICKET
    served(hall)
    assert hall.call("w1") == "A002"  # the window's evaluator may no longer rate A001; its holder still may
    assert hall.no(cmd.RateService, window_id="w1", level=5).reason == Reason.NOTHING_TO_RATE
    reasons = (cmd.RatingReason.SLOW, cmd.RatingReason.ATTITUDE, cmd.RatingReason.SLOW)
    (rated,) = hall.ok(cmd.RateService, ticket_id=ticket, level=2, aspects=ASPECTS, reasons=reasons, source=PHONE)
    assert rated == ev.ServiceRated(
        site_id="s1", seq=rated.seq, at=hall.now, ticket_id=ticket, window_id="w1", staff_id="", matter="M1", level=2,
        aspects=ASPECTS, reasons=(cmd.RatingReason.SLOW, cmd.RatingReason.ATTITUDE), source=PHONE,
    )  # fmt: skip
    again = hall.no(cmd.RateService, ticket_id=ticket, level=4, source=PHONE)
    assert (again.reason, again.zh) == (Reason.ALREADY_RATED, "A001 的本次服务已评价过，每次服务只能评价一次")


def test_a_ticket_with_further_matters_rates_the_service_finished_last() -> None:
    hall = Hall()
    hall.open("w1", "w3")
    ticket = hall.ticket_id(hall.issue("M1", "M2"))
    served(hall, "w1")
    assert hall.state.tickets[ticket].status.value == "waiting"  # for M2 now
    (first,) = hall.ok(cmd.RateService, ticket_id=ticket, level=4, source=PHONE)
    assert isinstance(first, ev.ServiceRated) and (first.window_id, first.matter) == ("w1", "M1")
    assert hall.no(cmd.RateService, window_id="w1", level=1).reason == Reason.NOTHING_TO_RATE  # 一次一评
    served(hall, "w3")
    (second,) = hall.ok(cmd.RateService, ticket_id=ticket, level=5, source=cmd.RatingSource.KIOSK)
    assert isinstance(second, ev.ServiceRated) and (second.window_id, second.matter) == ("w3", "M2")


def test_the_evaluator_and_the_ticket_page_share_one_rating_per_service() -> None:
    hall = Hall()
    hall.open("w1")
    hall.ok(cmd.OpenWindow, window_id="w2", staff_id="li")
    ticket = hall.ticket_id(hall.issue("M1"))
    served(hall, "w2")
    (rated,) = hall.ok(cmd.RateService, window_id="w2", level=3)
    assert isinstance(rated, ev.ServiceRated)
    assert (rated.source, rated.staff_id, rated.aspects, rated.reasons) == (cmd.RatingSource.EVALUATOR, "li", None, ())
    assert hall.no(cmd.RateService, ticket_id=ticket, level=5, source=PHONE).reason == Reason.ALREADY_RATED


def test_sub_indicators_are_levels_and_reasons_are_kept_only_below_satisfied() -> None:
    hall = Hall()
    hall.open("w1")
    ticket = hall.ticket_id(hall.issue("M1"))
    served(hall)
    bad = cmd.RatingAspects(efficiency=0)
    assert hall.no(cmd.RateService, ticket_id=ticket, level=4, aspects=bad).reason == Reason.BAD_RATING
    assert hall.no(cmd.RateService, ticket_id=ticket, level=0).reason == Reason.BAD_RATING
    (rated,) = hall.ok(
        cmd.RateService, ticket_id=ticket, level=4, aspects=cmd.RatingAspects(), reasons=(cmd.RatingReason.OTHER,)
    )
    assert isinstance(rated, ev.ServiceRated) and (rated.aspects, rated.reasons) == (None, ())


def test_a_rating_logged_before_sub_indicators_existed_still_decodes() -> None:
    old = (
        b'{"type":"ServiceRated","site_id":"s1","seq":9,"at":"2026-11-25T01:30:00Z","ticket_id":"t","window_id":"w1",'
        b'"staff_id":"li","matter":"M1","level":5}'
    )
    rated = decode_event(old)
    assert isinstance(rated, ev.ServiceRated)
    assert (rated.aspects, rated.reasons, rated.source) == (None, (), cmd.RatingSource.EVALUATOR)
    assert decode_event(msgspec.json.encode(rated)) == rated


class RatedDay(HallDay):
    """The hall's random day (tests/engine/test_properties.py) with ratings from the tickets' holders as well: each
    finished service is rated at most once, only after it finished, whichever way (evaluator or ticket)."""

    def __init__(self) -> None:
        self.last_service: dict[str, tuple[str, str, bool]] = {}
        """Ticket -> (window, matter, rated) of its last finished service."""
        self.finished: dict[tuple[str, str, str], int] = {}
        """(ticket, window, matter) -> how many ratings its last finish got (0 or 1)."""
        super().__init__()

    def follow_ratings(self, event: ev.Event) -> None:
        if isinstance(event, ev.ServiceFinished):
            self.rateable[event.window_id] = (event.ticket_id, event.matter)
            self.last_service[event.ticket_id] = (event.window_id, event.matter, False)
            self.finished[(event.ticket_id, event.window_id, event.matter)] = 0
        elif isinstance(event, ev.TicketCalled):
            self.rateable.pop(event.window_id, None)
        elif isinstance(event, ev.ServiceRated):
            key = (event.ticket_id, event.window_id, event.matter)
            assert self.finished.get(key) == 0, "a rating of a service not finished, or rated already"
            self.finished[key] = 1
            if self.rateable.get(event.window_id) == (event.ticket_id, event.matter):
                del self.rateable[event.window_id]
            window, matter, _ = self.last_service.get(event.ticket_id, ("", "", False))
            if (window, matter) == (event.window_id, event.matter):
                self.last_service[event.ticket_id] = (window, matter, True)
        elif isinstance(event, ev.DayOpened):
            self.rateable.clear()
            self.last_service.clear()

    @precondition(lambda self: bool(self.state.tickets))
    @rule(data=st.data(), level=st.integers(1, 5), source=st.sampled_from([PHONE, cmd.RatingSource.KIOSK]))
    def rate_ticket(self, data: st.DataObject, level: int, source: cmd.RatingSource) -> None:
        ticket = data.draw(st.sampled_from(self.ticket_ids()))
        expected = self.last_service.get(ticket)
        outcome = self.execute(cmd.RateService, ticket_id=ticket, level=level, source=source)
        if expected is None:
            assert outcome.rejection is not None and outcome.rejection.reason == Reason.NOTHING_TO_RATE
        elif expected[2]:
            assert outcome.rejection is not None and outcome.rejection.reason == Reason.ALREADY_RATED
        else:
            (rated,) = outcome.events
            assert isinstance(rated, ev.ServiceRated)
            assert (rated.window_id, rated.matter, rated.level, rated.source) == (*expected[:2], level, source)


RatedDay.TestCase.settings = settings(max_examples=120, stateful_step_count=50, deadline=None)
TestRatedDay = RatedDay.TestCase

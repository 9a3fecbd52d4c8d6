"""The documents a ticket's citizen handed in at a kiosk, on the caller: when the model asks for them (the ticket
called, the refresh timer), what the screen shows of the hub's answer, and a hub that cannot answer (nothing shown,
nothing lost). The model meets the hub's real gateway in memory (tests/caller/hall.py); the reader
(caller/documents.py) meets a real hub process in tests/caller/test_documents_hub.py."""

from __future__ import annotations

from datetime import timedelta

import contract as wire
from caller.screen import CallerScreen, CaseLine
from tests.caller.hall import WEDNESDAY_10AM, Hall

REASON = "社会保障卡复印件不清晰，请重新提交"


def returned(number: str = "CENTRE-20261125-0003") -> wire.TicketCase:
    return wire.TicketCase(
        case_number=number, matter="B01", state=wire.CaseState.RETURNED, pages=3, commitments=1, reason=REASON,
        handed_in_at=WEDNESDAY_10AM - timedelta(minutes=20), decided_at=WEDNESDAY_10AM - timedelta(minutes=5),
    )  # fmt: skip


def called(hall: Hall, *matters: str) -> str:
    """Issue a ticket, sign in and call it: its ticket id."""
    hall.issue(*matters)
    hall.sign_in()
    hall.do(hall.model.command("call_next"))
    current = hall.model.current
    assert current is not None and current.ticket_id is not None
    return current.ticket_id


def test_the_called_tickets_documents_are_asked_for_once_and_again_on_the_refresh() -> None:
    hall = Hall()
    hall.issue("B01")
    assert hall.model.documents_request() is None  # nobody signed in, nobody at the window
    hall.sign_in()
    assert hall.model.documents_request() is None
    hall.do(hall.model.command("call_next"))
    ticket = hall.model.current.ticket_id if hall.model.current else None
    assert ticket == "centre-20261125-B001"
    assert hall.model.documents_request() == ticket
    assert hall.model.documents_request(again=True) is None  # one ask at a time
    hall.model.on_documents(ticket, ())
    assert hall.model.documents_request() is None  # answered: not again at every redraw
    assert hall.model.documents_request(again=True) == ticket  # the refresh timer asks again


def test_a_returned_case_shows_with_its_reason_and_a_decision_meanwhile_on_the_next_refresh() -> None:
    hall = Hall()
    ticket = called(hall, "B01")
    screen = CallerScreen(hall.model)
    assert hall.model.documents_request() == ticket
    submitted = wire.TicketCase(case_number="CENTRE-20261125-0003", matter="B01", state=wire.CaseState.SUBMITTED,
                                pages=3, handed_in_at=WEDNESDAY_10AM)  # fmt: skip
    hall.model.on_documents(ticket, (submitted,))
    assert screen.documents() == [
        CaseLine("CENTRE-20261125-0003", "submitted", "待审核", "社会保障卡申领/补换 · 3 页", "")
    ]
    before = screen.picture()
    assert hall.model.documents_request(again=True) == ticket
    hall.model.on_documents(ticket, (returned(),))  # a clerk returned it in the archive meanwhile
    assert screen.picture() != before  # the view redraws
    (line,) = screen.documents()
    assert (line.state, line.state_text, line.reason) == ("returned", "退回补正", f"补正原因：{REASON}")
    assert line.detail == "社会保障卡申领/补换 · 3 页 · 承诺 1 项"
    hall.model.toggle_language()
    (line,) = screen.documents()
    assert (line.state_text, line.reason) == ("Returned for correction", f"To correct: {REASON}")
    assert line.detail == "Social security card application or replacement · 3 page(s) · 1 by commitment"


def test_a_hub_that_cannot_answer_shows_nothing_new_and_keeps_what_was_shown() -> None:
    hall = Hall()
    ticket = called(hall, "B01")
    screen = CallerScreen(hall.model)
    hall.model.on_documents(str(hall.model.documents_request()), None)  # the hub did not answer
    assert screen.documents() == [] and hall.model.documents_request() is None  # the timer asks again
    assert hall.model.documents_request(again=True) == ticket
    hall.model.on_documents(ticket, (returned(),))
    assert hall.model.documents_request(again=True) == ticket
    hall.model.on_documents(ticket, None)  # away on the refresh: the case stays shown
    assert [line.case_number for line in screen.documents()] == ["CENTRE-20261125-0003"]


def test_the_documents_go_with_the_ticket_and_a_late_answer_is_dropped() -> None:
    hall = Hall()
    first = called(hall, "B01")
    hall.issue("B01")
    hall.model.on_documents(str(hall.model.documents_request()), (returned(),))
    assert CallerScreen(hall.model).documents()
    assert hall.model.documents_request(again=True) == first  # the refresh's ask is out when...
    hall.do(hall.model.command("call_next"))  # ...the first is marked missed and the next called
    second = hall.model.current.ticket_id if hall.model.current else None
    assert second is not None and second != first
    assert CallerScreen(hall.model).documents() == []  # not the first ticket's cases on the next one
    assert hall.model.documents_request() is None  # one ask at a time
    hall.model.on_documents(first, (returned(),))  # the late answer about the ticket that left: dropped
    assert CallerScreen(hall.model).documents() == []
    assert hall.model.documents_request() == second
    hall.model.on_documents("centre-20261125-B009", ())  # an answer nobody asked for frees nothing
    assert hall.model.documents_request() is None
    hall.model.on_documents(second, ())
    assert CallerScreen(hall.model).documents() == [] and hall.model.documents_of == second
    hall.do(hall.model.command("no_show"))
    assert hall.model.documents_request() is None and hall.model.documents_of is None  # nobody at the window


def test_signing_out_shows_no_documents() -> None:
    hall = Hall()
    ticket = called(hall, "B01")
    hall.model.on_documents(str(hall.model.documents_request()), (returned(),))
    hall.do(hall.model.command("park"))
    hall.do(hall.model.command("sign_out"))
    assert hall.model.clerk is None and hall.model.current_documents() == ()
    assert hall.model.documents_request() is None
    assert ticket

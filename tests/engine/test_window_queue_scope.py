"""A caller cancels and reactivates only tickets of its own window's queue (the engine's ``in_window_queue``)."""

from __future__ import annotations

from engine import commands as cmd
from engine.rejections import Reason
from tests.engine.hall import Hall

# small_district: w1 serves M1, M2, M3, G1; w2 serves M1, G1; w3 serves M2, M3.


def test_a_waiting_ticket_belongs_to_the_windows_that_serve_its_matter() -> None:
    hall = Hall()
    hall.open("w1", "w2", "w3")
    hall.issue("M1")
    refused = hall.no(cmd.CancelTicket, ticket_id=hall.ticket_id("A001"), window_id="w3")
    assert refused.reason == Reason.NOT_WINDOW_QUEUE
    assert (refused.zh, refused.en) == ("A001 不在 3 号窗口的队列中", "Ticket A001 is not in window 3's queue")
    assert hall.status("A001") == "waiting"
    hall.ok(cmd.CancelTicket, ticket_id=hall.ticket_id("A001"), window_id="w2")
    assert hall.status("A001") == "cancelled"


def test_a_ticket_transferred_to_a_window_is_that_windows_only() -> None:
    hall = Hall()
    hall.open("w1", "w2")
    hall.issue("M1")
    hall.call("w1")
    hall.ok(cmd.Transfer, window_id="w1", to_window="w2")
    ticket = hall.ticket_id("A001")
    assert hall.no(cmd.CancelTicket, ticket_id=ticket, window_id="w1").reason == Reason.NOT_WINDOW_QUEUE
    hall.ok(cmd.CancelTicket, ticket_id=ticket, window_id="w2")


def test_a_ticket_called_at_a_window_belongs_to_it() -> None:
    hall = Hall()
    hall.open("w1", "w3")
    hall.issue("M2")
    hall.call("w3")
    ticket = hall.ticket_id("B001")
    assert hall.no(cmd.CancelTicket, ticket_id=ticket, window_id="w2").reason == Reason.NOT_WINDOW_QUEUE
    hall.ok(cmd.CancelTicket, ticket_id=ticket, window_id="w3")
    assert hall.state.windows["w3"].current is None


def test_a_missed_ticket_is_reactivated_by_its_window_or_one_serving_its_matter() -> None:
    hall = Hall()
    hall.open("w2", "w3")
    hall.issue("M1")
    hall.call("w2")
    hall.ok(cmd.MarkNoShow, window_id="w2")
    ticket = hall.ticket_id("A001")
    assert hall.no(cmd.Reactivate, ticket_id=ticket, window_id="w3").reason == Reason.NOT_WINDOW_QUEUE
    assert hall.status("A001") == "missed"
    assert hall.no(cmd.Reactivate, ticket_id=ticket, window_id="w9").reason == Reason.UNKNOWN_WINDOW
    hall.ok(cmd.Reactivate, ticket_id=ticket, window_id="w1")  # w1 serves M1 too
    assert hall.status("A001") == "waiting"


def test_the_hubs_own_commands_are_not_scoped() -> None:
    hall = Hall()
    hall.open("w3")
    hall.issue("M1")
    hall.ok(cmd.CancelTicket, ticket_id=hall.ticket_id("A001"))

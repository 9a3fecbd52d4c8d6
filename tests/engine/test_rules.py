"""The queue rules, one behaviour at a time: given a hall, when staff and citizens act, then these events."""

from __future__ import annotations

from datetime import UTC, datetime

from engine import commands as cmd
from engine import events as ev
from engine import handle
from engine.district import QueueRules
from engine.rejections import Reason
from engine.state import TicketStatus
from tests.engine.hall import OPENING, Hall, small_district


def test_numbers_count_per_prefix_and_restart_each_day() -> None:
    hall = Hall()
    hall.open("w1")
    assert [hall.issue("M1"), hall.issue("M2"), hall.issue("M1")] == ["A001", "B001", "A002"]
    hall.wait(24 * 60)
    hall.ok(cmd.OpenDay)
    assert hall.issue("M1") == "A001"
    assert hall.state.tickets[hall.ticket_id("A001")].id == "s1-20261126-A001"


def test_reopening_a_closed_day_continues_its_numbering() -> None:
    hall = Hall()
    hall.open()
    hall.issue("M1")
    hall.ok(cmd.CloseDay)
    hall.ok(cmd.OpenDay)
    assert hall.issue("M1") == "A002"
    assert hall.status("A001") == "expired"


def test_opening_a_new_day_ends_the_old_one() -> None:
    hall = Hall()
    hall.open("w1")
    hall.issue("M1")
    hall.wait(24 * 60)
    events = hall.ok(cmd.OpenDay)
    assert [type(event) for event in events] == [ev.DayClosed, ev.DayOpened]
    assert not hall.state.tickets


def test_daily_limit_refuses_in_both_languages() -> None:
    hall = Hall()
    hall.open()
    for _ in range(3):
        hall.issue("M3")
    refused = hall.no(cmd.IssueTicket, matters=("M3",))
    assert refused.reason == Reason.DAILY_LIMIT
    assert refused.zh == "“居住证办理”今日号源已满"
    assert refused.en == "Today's tickets for “Residence permit” are all taken"


def test_unknown_and_not_offered_matters_are_refused() -> None:
    hall = Hall()
    hall.open()
    assert hall.no(cmd.IssueTicket, matters=("NOPE",)).reason == Reason.UNKNOWN_MATTER
    assert hall.no(cmd.IssueTicket, matters=("X9",)).reason == Reason.MATTER_NOT_OFFERED
    assert hall.no(cmd.IssueTicket, matters=()).reason == Reason.NO_MATTERS
    assert hall.no(cmd.IssueTicket, matters=("M1", "M2", "M1")).reason == Reason.REPEATED_MATTER


def test_kiosk_issues_nothing_before_the_day_opens_or_outside_hours() -> None:
    hall = Hall(start=datetime(2026, 11, 25, 0, 0, tzinfo=UTC))  # 08:00 local
    assert hall.no(cmd.IssueTicket, matters=("M1",)).reason == Reason.DAY_NOT_OPEN
    hall.ok(cmd.OpenDay)
    hall.wait(12 * 60 + 30)  # 20:30 local
    refused = hall.no(cmd.IssueTicket, matters=("M1",))
    assert refused.reason == Reason.SITE_CLOSED
    assert "11-26 08:00" in refused.zh
    assert hall.issue("M1", channel=cmd.Channel.COUNTER) == "A001"  # staff may still issue at the counter


def test_self_service_stops_before_closing_time() -> None:
    hall = Hall(small_district(QueueRules(stop_issuing_minutes=30)), start=datetime(2026, 11, 25, 11, 40, tzinfo=UTC))
    hall.ok(cmd.OpenDay)  # 19:40 local, closing at 20:00
    assert hall.no(cmd.IssueTicket, matters=("M1",)).reason == Reason.SITE_CLOSED


def test_one_open_ticket_per_citizen_and_matter() -> None:
    hall = Hall()
    hall.open()
    hall.issue("M1", citizen_ref="h:abc")
    refused = hall.no(cmd.IssueTicket, matters=("M1",), citizen_ref="h:abc")
    assert refused.reason == Reason.ALREADY_HOLDS_TICKET
    assert "A001" in refused.zh
    assert hall.issue("M2", citizen_ref="h:abc") == "B001"


def test_green_channel_matters_issue_green_tickets_and_others_may_not() -> None:
    hall = Hall()
    hall.open()
    hall.issue("G1")
    assert hall.state.tickets[hall.ticket_id("G001")].priority == cmd.Priority.GREEN
    assert hall.no(cmd.IssueTicket, matters=("M1",), priority=cmd.Priority.GREEN).reason == Reason.NOT_GREEN_CHANNEL


def test_call_next_is_fifo_and_only_for_served_matters() -> None:
    hall = Hall()
    hall.open("w2", "w3")
    hall.issue("M2")
    hall.wait(1)
    hall.issue("M1")
    hall.wait(1)
    hall.issue("M1")
    assert hall.call("w2") == "A001"
    assert hall.call("w2") == "A002"
    assert hall.call("w2") is None  # B001 is not for w2
    assert hall.call("w3") == "B001"


def test_priority_head_start_and_window_weights() -> None:
    hall = Hall()
    hall.open("w1", "w2")
    hall.issue("M2")
    hall.wait(5)
    hall.issue("M2", priority=cmd.Priority.ELDERLY)  # 10 minutes' head start beats 5 minutes of waiting
    assert hall.call("w1") == "B002"


def test_window_weight_multiplies_waiting_against_a_head_start() -> None:
    hall = Hall()
    hall.open("w1", "w2")
    hall.issue("M1")
    hall.wait(20)
    hall.issue("G1")  # green: 30 minutes' head start
    # w1 weighs both 1: 20 < 30, the green ticket first; w2 weighs M1 2: 2 × 20 = 40 > 30, A001 first
    assert hall.call("w2") == "A001"
    hall.ok(cmd.CallTicket, window_id="w2", ticket_id=hall.ticket_id("G001"))
    hall.issue("M1")
    hall.issue("G1")
    assert hall.call("w1") == "G002"


def test_calling_next_settles_the_current_ticket() -> None:
    hall = Hall()
    hall.open("w1")
    hall.issue("M1")
    hall.issue("M1")
    hall.issue("M1")
    hall.call("w1")
    hall.ok(cmd.StartService, window_id="w1")
    hall.wait(5)
    assert hall.call("w1") == "A002"
    assert hall.status("A001") == "done"
    assert hall.call("w1") == "A003"  # A002 was called but never came
    assert hall.status("A002") == "missed"


def test_recall_counts_calls_and_drops_at_the_limit() -> None:
    hall = Hall()
    hall.open("w1")
    hall.issue("M1")
    hall.call("w1")
    recalls = [hall.ok(cmd.Recall, window_id="w1")[0] for _ in range(3)]
    assert [getattr(event, "call_count", None) for event in recalls[:2]] == [2, 3]
    assert isinstance(recalls[2], ev.TicketMissed) and recalls[2].automatic
    assert hall.state.windows["w1"].current is None


def test_reactivated_no_show_reenters_behind_configured_people() -> None:
    hall = Hall()
    hall.open("w2")
    for _ in range(6):
        hall.issue("M1")
        hall.wait(1)
    hall.call("w2")
    hall.ok(cmd.MarkNoShow, window_id="w2")
    hall.ok(cmd.Reactivate, ticket_id=hall.ticket_id("A001"))
    called = [hall.call("w2") for _ in range(5)]
    assert called == ["A002", "A003", "A004", "A001", "A005"]


def test_reactivate_only_missed_tickets() -> None:
    hall = Hall()
    hall.open("w1")
    hall.issue("M1")
    assert hall.no(cmd.Reactivate, ticket_id=hall.ticket_id("A001")).reason == Reason.TICKET_NOT_MISSED
    assert hall.no(cmd.Reactivate, ticket_id="nope").reason == Reason.UNKNOWN_TICKET


def test_park_and_call_back() -> None:
    hall = Hall()
    hall.open("w1")
    hall.issue("M1")
    hall.issue("M1")
    hall.call("w1")
    hall.ok(cmd.StartService, window_id="w1")
    hall.ok(cmd.Park, window_id="w1")
    assert hall.status("A001") == "parked"
    assert hall.call("w1") == "A002"
    events = hall.ok(cmd.CallBack, window_id="w1", ticket_id=hall.ticket_id("A001"))
    assert isinstance(events[-1], ev.TicketCalled) and events[-1].kind == ev.CallKind.CALLBACK
    assert hall.status("A002") == "missed"
    assert hall.no(cmd.CallBack, window_id="w1", ticket_id=hall.ticket_id("A002")).reason == Reason.TICKET_NOT_PARKED


def test_call_a_chosen_ticket_out_of_order() -> None:
    hall = Hall()
    hall.open("w1", "w2")
    hall.issue("M1")
    hall.issue("M2")
    events = hall.ok(cmd.CallTicket, window_id="w1", ticket_id=hall.ticket_id("B001"))
    assert isinstance(events[-1], ev.TicketCalled) and events[-1].kind == ev.CallKind.CHOSEN
    refused = hall.no(cmd.CallTicket, window_id="w2", ticket_id=hall.ticket_id("B001"))
    assert refused.reason == Reason.TICKET_NOT_WAITING
    hall.issue("M2")
    refused = hall.no(cmd.CallTicket, window_id="w2", ticket_id=hall.ticket_id("B002"))
    assert refused.reason == Reason.WINDOW_DOES_NOT_SERVE
    assert refused.zh == "2 号窗口不办理“社会保障卡申领”"


def test_transfer_to_matter_keeps_the_original_issue_time() -> None:
    hall = Hall()
    hall.open("w1", "w3")
    hall.issue("M1")
    hall.wait(10)
    hall.issue("M2")
    hall.call("w1")
    hall.ok(cmd.Transfer, window_id="w1", to_matter="M2")
    ticket = hall.state.tickets[hall.ticket_id("A001")]
    assert (ticket.matter, ticket.status, ticket.number) == ("M2", TicketStatus.WAITING, "A001")
    assert hall.call("w3") == "A001"  # older than B001, so first


def test_transfer_to_a_window_is_only_for_that_window() -> None:
    hall = Hall()
    hall.open("w1", "w2")
    hall.issue("M1")
    hall.call("w1")
    assert hall.no(cmd.Transfer, window_id="w1").reason == Reason.TRANSFER_NOWHERE
    assert hall.no(cmd.Transfer, window_id="w1", to_window="w3").reason == Reason.WINDOW_DOES_NOT_SERVE
    hall.ok(cmd.Transfer, window_id="w1", to_window="w2")
    assert hall.call("w1") is None
    assert hall.call("w2") == "A001"


def test_one_ticket_for_several_matters_keeps_its_number() -> None:
    hall = Hall()
    hall.open("w2", "w3")
    hall.issue("M1", "M2")
    hall.call("w2")
    events = hall.ok(cmd.FinishService, window_id="w2")
    assert isinstance(events[0], ev.ServiceFinished) and events[0].next_matter == "M2"
    assert hall.call("w3") == "A001"
    hall.ok(cmd.FinishService, window_id="w3")
    assert hall.status("A001") == "done"
    assert hall.state.issued == {"M1": 1, "M2": 1}


def test_paused_window_cannot_call_and_says_why() -> None:
    hall = Hall()
    hall.open("w1")
    hall.issue("M1")
    hall.ok(cmd.PauseWindow, window_id="w1", reason="午休")
    refused = hall.no(cmd.CallNext, window_id="w1")
    assert refused.reason == Reason.WINDOW_PAUSED
    assert refused.zh == "1 号窗口暂停中（午休）"
    hall.ok(cmd.ResumeWindow, window_id="w1")
    assert hall.call("w1") == "A001"
    refused = hall.no(cmd.PauseWindow, window_id="w1", reason="x")
    assert refused.reason == Reason.WINDOW_BUSY


def test_closed_or_unknown_windows_cannot_call() -> None:
    hall = Hall()
    hall.open()
    hall.issue("M1")
    assert hall.no(cmd.CallNext, window_id="w1").reason == Reason.WINDOW_CLOSED
    assert hall.no(cmd.CallNext, window_id="w9").reason == Reason.UNKNOWN_WINDOW
    assert hall.no(cmd.Recall, window_id="w9").reason == Reason.UNKNOWN_WINDOW


def test_cancel_and_close_day_end_every_ticket() -> None:
    hall = Hall()
    hall.open("w1")
    for _ in range(4):
        hall.issue("M1")
    hall.ok(cmd.CancelTicket, ticket_id=hall.ticket_id("A004"), reason="citizen left")
    assert hall.no(cmd.CancelTicket, ticket_id=hall.ticket_id("A004")).reason == Reason.TICKET_ENDED
    hall.call("w1")
    hall.ok(cmd.MarkNoShow, window_id="w1")
    hall.call("w1")
    hall.ok(cmd.CloseDay)
    statuses = {ticket.number: ticket.status.value for ticket in hall.state.tickets.values()}
    assert statuses == {"A001": "no_show", "A002": "expired", "A003": "expired", "A004": "cancelled"}
    assert hall.no(cmd.IssueTicket, matters=("M1",)).reason == Reason.DAY_NOT_OPEN


def test_overtaking_is_bounded() -> None:
    rules = QueueRules(max_overtakes=2, priority_minutes={"normal": 0, "elderly": 60})
    hall = Hall(small_district(rules))
    hall.open("w1")
    hall.issue("M1")
    for _ in range(5):
        hall.issue("M1", priority=cmd.Priority.ELDERLY)
    assert [hall.call("w1") for _ in range(3)] == ["A002", "A003", "A001"]
    assert hall.state.tickets[hall.ticket_id("A001")].overtaken == 2


def test_unknown_site_is_refused() -> None:
    hall = Hall()
    command = cmd.OpenDay(command_id="x", site_id="nowhere", at=OPENING)
    result = handle(hall.district, hall.state, command)
    assert getattr(result, "reason", None) == Reason.UNKNOWN_SITE


def test_a_service_is_rated_once_until_the_window_calls_again() -> None:
    hall = Hall()
    hall.ok(cmd.OpenDay)
    hall.ok(cmd.OpenWindow, window_id="w1", staff_id="li")
    assert hall.no(cmd.RateService, window_id="w1", level=5).reason == Reason.NOTHING_TO_RATE
    for _ in range(3):
        hall.issue("M1")
    hall.call("w1")
    hall.ok(cmd.StartService, window_id="w1")
    assert hall.no(cmd.RateService, window_id="w1", level=5).reason == Reason.NOTHING_TO_RATE  # still serving
    hall.ok(cmd.FinishService, window_id="w1")

    assert hall.no(cmd.RateService, window_id="w1", level=6).reason == Reason.BAD_RATING
    rated = hall.ok(cmd.RateService, window_id="w1", level=4)
    assert rated == [
        ev.ServiceRated(
            site_id=hall.site.id, seq=rated[0].seq, at=hall.now, ticket_id=hall.ticket_id("A001"), window_id="w1",
            staff_id="li", matter="M1", level=4,
        )
    ]  # fmt: skip
    assert hall.no(cmd.RateService, window_id="w1", level=1).reason == Reason.NOTHING_TO_RATE  # 一次一评

    assert hall.call("w1") == "A002"
    hall.ok(cmd.StartService, window_id="w1")
    hall.ok(cmd.FinishService, window_id="w1")
    hall.ok(cmd.CloseWindow, window_id="w1")  # the clerk leaves; another signs in; the citizen rates
    hall.ok(cmd.OpenWindow, window_id="w1", staff_id="wang")
    (late,) = hall.ok(cmd.RateService, window_id="w1", level=2)
    assert isinstance(late, ev.ServiceRated) and (late.staff_id, late.ticket_id) == ("li", hall.ticket_id("A002"))

    assert hall.call("w1") == "A003"
    hall.ok(cmd.StartService, window_id="w1")
    hall.ok(cmd.FinishService, window_id="w1")
    hall.issue("M1")
    assert hall.call("w1") == "A004"  # the next citizen is at the window before A003 rated
    assert hall.no(cmd.RateService, window_id="w1", level=3).reason == Reason.NOTHING_TO_RATE

"""Service experience officers (体验官): a code at the kiosk or with a booking makes the ticket an officer's visit,
recorded by the hub alone; nothing published, nor the caller's queue, shows it; the journey from the event log."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import contract as wire
from engine import events as ev
from engine.commands import Channel, OpenDay, Priority
from hub.appointments import desk_for
from hub.appointments.web import add_routes
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.gateway import Gateway, public
from hub.officers import Channel as VisitChannel
from hub.officers import Officers, journey, normalise_code, officers_for, report, shown
from hub.service import HallService, Outcome
from hub.store import EventStore, open_store
from hub.store.base import Entry
from hub.store.memory import MemoryStore
from tests.appointments import conftest as booking

WEDNESDAY_10AM = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
DISTRICT = load_district(SAMPLE_DISTRICT)
PEPPER = b"p" * 32


class Device(NamedTuple):
    site_id: str
    kind: str
    window_id: str | None


DEVICES = {
    "kiosk-centre-1": Device("centre", "kiosk", None),
    "caller-centre-w01": Device("centre", "caller", "w01"),
    "kiosk-S1": Device("S1", "kiosk", None),
}


def hall(store: EventStore | None = None) -> Gateway:
    service = HallService(DISTRICT, store or MemoryStore())
    gateway = Gateway(service, DEVICES.get, lambda: WEDNESDAY_10AM, secret=b"s" * 32)
    service.execute(OpenDay(command_id="open-centre", site_id="centre", at=WEDNESDAY_10AM))
    return gateway


def enrol(officers: Officers, name: str = "王建国") -> tuple[str, str]:
    officer, code = officers.enrol(name, "deputy", "13812345678", "root", WEDNESDAY_10AM, pepper=PEPPER)
    return officer.officer_id, code


def ask(gateway: Gateway, device: str, action: str, request_id: str, **body: object) -> tuple[wire.Reply, Outcome]:
    payload = json.dumps({"v": 1, "id": request_id, **body}).encode()
    reply, outcome = gateway.handle("centre", device, action, payload)
    assert reply.ok, reply.error
    assert outcome is not None
    return reply, outcome


def seen_by_devices(gateway: Gateway, outcomes: list[Outcome], replies: list[wire.Reply]) -> list[bytes]:
    """Everything devices and boards get: the replies, the site's events as published, the snapshot (the boards'
    feed) and the caller's queue."""
    published = [wire.encode(wire.SiteEvents(site_id="centre", events=tuple(map(public, o.events)))) for o in outcomes]
    return [
        *(wire.encode(reply) for reply in replies),
        *published,
        wire.encode(gateway.snapshot("centre")),
        msgspec_queue(gateway),
    ]


def msgspec_queue(gateway: Gateway) -> bytes:
    return json.dumps([json.loads(wire.encode(ticket)) for ticket in gateway.queue("centre", "w01")]).encode()


def a_day(gateway: Gateway, **issue: object) -> tuple[list[wire.Reply], list[Outcome]]:
    """A ticket's day: issued (with ``issue``'s extra fields), a second one behind it, called, finished."""
    steps: list[tuple[str, str, str, dict[str, object]]] = [
        ("kiosk-centre-1", "issue", "r1", {"matters": ["A02"], **issue}),
        ("kiosk-centre-1", "issue", "r2", {"matters": ["A02"]}),
        ("caller-centre-w01", "open-window", "r3", {"window_id": "w01"}),
        ("caller-centre-w01", "call-next", "r4", {"window_id": "w01"}),
        ("caller-centre-w01", "finish", "r5", {"window_id": "w01"}),
    ]
    replies, outcomes = [], []
    for device, action, request_id, body in steps:
        reply, outcome = ask(gateway, device, action, request_id, **body)
        replies.append(reply)
        outcomes.append(outcome)
    return replies, outcomes


def test_a_code_at_the_kiosk_makes_a_visit_that_nothing_devices_get_shows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    flagged, plain = hall(), hall()
    officer_id, code = enrol(flagged.officers)

    flagged_replies, flagged_outcomes = a_day(flagged, officer_code=shown(code).lower())
    plain_replies, plain_outcomes = a_day(plain)

    ticket = flagged_replies[0].ticket
    assert ticket is not None
    visit = flagged.officers.visit(ticket.ticket_id)
    assert visit is not None and visit.officer_id == officer_id and visit.channel == VisitChannel.KIOSK
    assert visit.issued_seq == flagged_outcomes[0].events[0].seq
    assert plain.officers.visit(ticket.ticket_id) is None
    # byte for byte what an ordinary citizen's day gives: replies, published events, snapshot, caller queue
    assert seen_by_devices(flagged, flagged_outcomes, flagged_replies) == seen_by_devices(
        plain, plain_outcomes, plain_replies
    )
    # and the log itself (what every projection, report and page is built from) is the same
    assert [wire.encode(e) for e in flagged.service.store.events("centre")] == [
        wire.encode(e) for e in plain.service.store.events("centre")
    ]
    kept = repr(vars(flagged.service.store)) + caplog.text
    assert code not in kept and shown(code) not in kept and officer_id not in kept


def test_a_wrong_or_revoked_code_flags_nothing_and_is_not_told(caplog: pytest.LogCaptureFixture) -> None:
    gateway = hall()
    officer_id, code = enrol(gateway.officers)
    wrong = "TY" + ("0" * 16 if code[2:] != "0" * 16 else "1" * 16)

    reply, _ = ask(gateway, "kiosk-centre-1", "issue", "w1", matters=["A02"], officer_code=wrong)
    odd, _ = ask(gateway, "kiosk-centre-1", "issue", "w2", matters=["A02"], officer_code="not a code at all")
    gateway.officers.revoke(officer_id, WEDNESDAY_10AM)
    late, _ = ask(gateway, "kiosk-centre-1", "issue", "w3", matters=["A02"], officer_code=code)

    for answer in (reply, odd, late):
        assert answer.ok and answer.ticket is not None and answer.error is None
        assert gateway.officers.visit(answer.ticket.ticket_id) is None
    assert gateway.officers.visits(date(2026, 1, 1), date(2026, 12, 31)) == []
    assert wrong not in caplog.text and "officer" not in caplog.text.lower()


def test_a_retried_issue_records_the_visit_once() -> None:
    gateway = hall()
    _, code = enrol(gateway.officers)
    first, _ = ask(gateway, "kiosk-centre-1", "issue", "same", matters=["A02"], officer_code=code)
    again, _ = ask(gateway, "kiosk-centre-1", "issue", "same", matters=["A02"], officer_code=code)
    assert first.ticket is not None and again.ticket is not None
    assert first.ticket.ticket_id == again.ticket.ticket_id
    assert len(gateway.officers.visits(date(2026, 11, 25), date(2026, 11, 25))) == 1


def test_codes_are_long_random_and_read_however_typed() -> None:
    officers = officers_for(MemoryStore())
    codes = {enrol(officers, f"官员{i}")[1] for i in range(20)}
    assert len(codes) == 20 and all(len(code) == 18 and code.startswith("TY") for code in codes)
    code = next(iter(codes))
    assert normalise_code(f" {shown(code).lower()} ") == code
    assert normalise_code(code[:-1]) is None and normalise_code("TYIIIIOOOOLLLLUUUU") is None
    assert officers.verify(shown(code)) is not None and officers.verify(None) is None


# --- the journey ----------------------------------------------------------------------------------------------------

AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return AT + timedelta(minutes=minutes)


def event_log(site_id: str = "S1") -> list[ev.Event]:
    """The officer's ticket A001 (issued at 10:00): called at w01 at 10:12, started 10:13, transferred at 10:20 to
    matter B, called at w02 at 10:30 and once more at 10:31, finished 10:45, rated 4. Another ticket in between."""
    made: list[ev.Event] = []

    def add(event_type: type[ev.Event], minutes: float, /, **fields: object) -> None:
        made.append(event_type(site_id=site_id, seq=len(made) + 1, at=at(minutes), **fields))

    mine, other = f"{site_id}-20261125-A001", f"{site_id}-20261125-A002"
    add(ev.DayOpened, -60, day=date(2026, 11, 25))
    issued = {"day": date(2026, 11, 25), "matters": ("A",), "priority": Priority.NORMAL, "channel": Channel.KIOSK}
    add(ev.TicketIssued, 0, ticket_id=mine, number="A001", **issued)
    add(ev.TicketIssued, 1, ticket_id=other, number="A002", **issued)
    add(ev.TicketCalled, 12, ticket_id=mine, number="A001", window_id="w01", kind=ev.CallKind.NEXT, call_count=1)
    add(ev.ServiceStarted, 13, ticket_id=mine, window_id="w01")
    add(ev.TicketCalled, 14, ticket_id=other, number="A002", window_id="w03", kind=ev.CallKind.NEXT, call_count=1)
    add(ev.TicketTransferred, 20, ticket_id=mine, from_window="w01", to_matter="B")
    add(ev.TicketCalled, 30, ticket_id=mine, number="A001", window_id="w02", kind=ev.CallKind.NEXT, call_count=1)
    add(ev.TicketCalled, 31, ticket_id=mine, number="A001", window_id="w02", kind=ev.CallKind.RECALL, call_count=2)
    add(ev.ServiceFinished, 45, ticket_id=mine, window_id="w02", matter="B")
    add(ev.ServiceRated, 46, ticket_id=mine, window_id="w02", staff_id="s2", matter="B", level=4)
    add(ev.DayClosed, 600, day=date(2026, 11, 25))
    add(ev.ServiceRated, 601, ticket_id=mine, window_id="w02", staff_id="s2", matter="B", level=1)  # another day's
    return made


def test_the_journey_from_a_small_event_log() -> None:
    found = journey("S1-20261125-A001", event_log())
    assert found.number == "A001" and found.issued_at == AT
    assert found.waits == [12 * 60, 10 * 60]  # issue -> first call; transfer -> call at w02
    assert found.services == [7 * 60, 15 * 60]  # 10:13 start -> 10:20 transfer; 10:30 call -> 10:45 finish
    assert (found.calls, found.recalls, found.transfers, found.missed) == (3, 1, 1, 0)
    assert found.windows == ["w01", "w02"] and found.ratings == [4] and found.outcome == "served"
    assert (found.total_wait, found.total_service) == (22 * 60, 22 * 60)


@pytest.fixture
def sql_store(backend_store: EventStore) -> EventStore:
    return backend_store


def test_the_report_reads_each_visit_s_journey_from_the_log_with_its_findings(sql_store: EventStore) -> None:
    log = event_log()
    sql_store.append([Entry(site_id="S1", command_id="seed", events=tuple(log), outcome=b"{}")])
    officers = officers_for(sql_store)
    officer_id, code = enrol(officers)
    issued = log[1]
    assert isinstance(issued, ev.TicketIssued)
    assert officers.record_visit(issued, officer_id, VisitChannel.KIOSK, at(0))
    assert not officers.record_visit(issued, officer_id, VisitChannel.KIOSK, at(0))

    assert officers.visit_of(issued.ticket_id, "TY" + "2" * 16) is None
    assert officers.visit_of("S1-20261125-A002", code) is None  # not their visit
    mine = officers.visit_of(issued.ticket_id, code)
    assert mine is not None
    officers.write_findings(issued.ticket_id, officer_id, "  窗口指引不清楚  ", at(50))

    (found,) = report(officers, sql_store, date(2026, 11, 1), date(2026, 11, 30))
    assert found.officer is not None and found.officer.name_masked == "王*国"
    assert found.visit.findings == "窗口指引不清楚" and found.journey.waits == [720, 600]
    assert found.journey.ratings == [4]
    assert report(officers, sql_store, date(2026, 12, 1), date(2026, 12, 31)) == []


# --- the booking path -----------------------------------------------------------------------------------------------

Client = TestClient[web.Request, web.Application]


async def test_a_booking_with_a_code_becomes_a_visit_at_check_in(
    tmp_path: Path, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    service = HallService(booking.DISTRICT, store)
    desk = desk_for(store, booking.DISTRICT, booking.SECRETS, issued_by=service.issued_by)
    now = booking.local(booking.DAY, 9, 50)
    gateway = Gateway(service, DEVICES.get, lambda: now, secret=b"s" * 32, appointments=desk)
    service.execute(OpenDay(command_id="open", site_id="S1", at=booking.local(booking.DAY, 8, 30)))
    _, code = enrol(gateway.officers)
    app = web.Application()
    add_routes(app, desk, clock=lambda: booking.NOW, may_list=lambda _request: False)
    client = await aiohttp_client(app)

    codes = []
    for phone, extra in (("13812345678", {"officer_code": shown(code)}), ("13987654321", {})):
        body = {"matter": "A", "slot": "2026-11-25T10:00:00+08:00", "phone": phone, **extra}
        response = await client.post("/api/v1/sites/S1/appointments", json=body)
        answer = await response.json()
        assert response.status == 201 and "officer" not in json.dumps(answer)
        codes.append(answer["code"])

    tickets = []
    for index, qr in enumerate(codes):
        payload = json.dumps({"v": 1, "id": f"c{index}", "code": qr}).encode()
        reply, _ = gateway.handle("S1", "kiosk-S1", "check-in", payload)
        assert reply.ok and reply.ticket is not None
        tickets.append(reply.ticket.ticket_id)
    visit = gateway.officers.visit(tickets[0])
    assert visit is not None and visit.channel == VisitChannel.BOOKING
    assert gateway.officers.visit(tickets[1]) is None
    store.close()

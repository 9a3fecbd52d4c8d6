"""``GET /api/v1/sites/{site}/tickets/{ticket}/cases``: the cases handed in with a ticket, as a caller of the site
reads them when the ticket is called — on real SQLite and PostgreSQL stores (the archive tests' fixtures), with the
clerk's decision showing on the next read, and every other asker refused."""

from __future__ import annotations

from typing import Any

import msgspec

import contract as wire
from hub.archive.store import Archive
from tests.hub.test_archive import (  # noqa: F401  (store, archive and setup are fixtures)
    BASE,
    ID_NUMBER,
    NOW,
    PAGES,
    Client,
    Kiosks,
    archive,
    auth,
    case_request,
    put,
    refs,
    setup,
    store,
)

TICKET = "centre-20261207-A001"
CASES = f"/api/v1/sites/centre/tickets/{TICKET}/cases"


async def hand_in(client: Client, kiosk: Any, body: dict[str, Any], pages: list[bytes]) -> str:
    """A kiosk's whole submission: open, every page the hub lacks, submit; the case number."""
    receipt = await (await client.post(BASE, json=body, headers=auth(kiosk))).json()
    number: str = receipt["case_number"]
    data_of = {(page["material"], page["page"]): data for page, data in zip(body["pages"], pages, strict=True)}
    for ref in refs(receipt):
        assert (await put(client, kiosk, number, ref, data_of[ref])).status == 200
    assert (await client.post(f"{BASE}/{number}/submit", headers=auth(kiosk))).status == 200
    return number


async def read(client: Client, device: Any, path: str = CASES) -> wire.TicketCases:
    answer = await client.get(path, headers=auth(device))
    assert answer.status == 200, await answer.text()
    return msgspec.json.decode(await answer.read(), type=wire.TicketCases)


async def test_a_caller_of_the_site_sees_the_tickets_cases_and_the_decision_on_the_next_read(
    setup: tuple[Client, Kiosks, Archive],  # noqa: F811
) -> None:
    client, kiosks, cases = setup
    assert await read(client, kiosks.caller) == wire.TicketCases(ticket_id=TICKET, cases=())

    first = await hand_in(client, kiosks.centre, case_request(PAGES, ticket_id=TICKET), PAGES)
    other_ticket = case_request(PAGES[:1], "kiosk-sub-0002", ticket_id="centre-20261207-A002")
    await hand_in(client, kiosks.centre, {**other_ticket, "materials": [{"material": 0}]}, PAGES[:1])
    (case,) = (await read(client, kiosks.caller)).cases
    assert (case.case_number, case.matter, case.state, case.pages) == (first, "B01", wire.CaseState.SUBMITTED, 3)
    assert case.reason is None and case.decided_at is None and case.commitments == 0

    cases.decide(first, wire.CaseState.RETURNED, "li01", "社保卡复印件不清晰，请重新提交", NOW)
    (case,) = (await read(client, kiosks.caller)).cases
    assert case.state == wire.CaseState.RETURNED and case.reason == "社保卡复印件不清晰，请重新提交"
    assert case.decided_at == NOW

    committed = {
        **case_request(PAGES[:2], "kiosk-sub-0003", ticket_id=TICKET),
        "materials": [{"material": 0}, {"material": 1, "commitment": True}],
        "id_number": ID_NUMBER,
        "commitment_text": "kiosk-commitment-2026-1",
    }
    again = await hand_in(client, kiosks.centre, committed, PAGES[:2])  # handed in again after the return
    answer = await client.get(CASES, headers=auth(kiosks.caller))
    body = await answer.text()
    newest, returned = msgspec.json.decode(body, type=wire.TicketCases).cases
    assert (newest.case_number, newest.state, newest.pages, newest.commitments) == (again, "submitted", 2, 1)
    assert returned.case_number == first and returned.state == wire.CaseState.RETURNED
    assert ID_NUMBER not in body and "citizen" not in body and "li01" not in body  # nothing personal, no clerk

    cases.decide(again, wire.CaseState.ACCEPTED, "li01", "", NOW)
    newest = (await read(client, kiosks.caller)).cases[0]
    assert newest.state == wire.CaseState.ACCEPTED and newest.reason is None


async def test_only_a_caller_of_the_site_may_read_a_tickets_cases(
    setup: tuple[Client, Kiosks, Archive],  # noqa: F811
) -> None:
    client, kiosks, _archive = setup
    xiaozhai_caller = kiosks.registry.provision("xiaozhai", wire.DeviceKind.CALLER, window_id="w1")
    await hand_in(client, kiosks.centre, case_request(PAGES, ticket_id=TICKET), PAGES)

    nobody = await client.get(CASES)
    assert nobody.status == 401 and (await nobody.json())["code"] == "unauthorised"
    wrong = await client.get(CASES, headers={"Authorization": "Basic Y2FsbGVyOm5v"})
    assert wrong.status == 401
    for device in (kiosks.centre, xiaozhai_caller):  # a kiosk of the site; another site's caller
        refused = await client.get(CASES, headers=auth(device))
        assert refused.status == 403 and (await refused.json())["code"] == "unauthorised"
    elsewhere = await client.get(f"/api/v1/sites/xiaozhai/tickets/{TICKET}/cases", headers=auth(kiosks.caller))
    assert elsewhere.status == 403  # the centre's caller asking as Xiaozhai's
    theirs = await read(client, xiaozhai_caller, f"/api/v1/sites/xiaozhai/tickets/{TICKET}/cases")
    assert theirs.cases == ()  # the centre's cases are the centre's: another site's query finds none
    long = await client.get(f"/api/v1/sites/centre/tickets/{'A' * 65}/cases", headers=auth(kiosks.caller))
    assert long.status == 404 and (await long.json())["code"] == "no_ticket"

"""Service experience officers (体验官): enrolment, codes, visits and findings (issue 14; hub.officers).

District administrators only (a manager or staff member is refused 403, as every admin-only page):

- ``/admin/officers`` lists the officers (name and phone masked, kind, who enrolled them, revoked) and enrols one;
  the answer shows the officer's code once, as text and QR (``Cache-Control: no-store``); only its hash is kept.
  ``/admin/officers/{id}/revoke`` revokes the code after a confirm step. Both are audited, never with the phone,
  the full name or the code.
- ``/admin/officers/report?start=&end=`` (local days, both included; this month by default): every visit of those
  days with its officer (masked), its journey from the event log (waits, calls, transfers, service times,
  ratings), the officer's findings and where their follow-up stands (``views.follow_ups``: the same words, a link to
  the item).

The officer's own part is on the ticket's public page (``public.py``): ``officer_entry`` and ``officer_findings``
below answer its two forms (the officer's code, then the findings); a wrong code, or a ticket that is not that
officer's visit, gets one answer that tells nothing. Findings kept open their follow-up at once (``synced``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from engine.calendar import local_time
from engine.district import District
from hub.accounts import Role
from hub.audit import Action
from hub.follow_ups import FollowUp
from hub.officers import (
    FINDINGS_LIMIT,
    NAME_LIMIT,
    Journey,
    Officer,
    OfficerError,
    OfficerKind,
    Officers,
    VisitReport,
    officers_for,
    report,
    shown,
)
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, names, page, refusal, wants_json
from hub.web_pages.state import PAGES, Pages
from hub.web_pages.views.changes import (
    EMPTY_FORM,
    NO_STORE,
    SentOnce,
    _,
    check_once,
    confirm,
    done,
    invalid,
    notice,
    read_fields,
    record_change,
)
from hub.web_pages.views.devices import qr_svg
from hub.web_pages.views.follow_ups import OUTCOMES as FOLLOW_UP_OUTCOMES
from hub.web_pages.views.follow_ups import STEP_TODO, synced

routes = web.RouteTableDef()

BACK = "/admin/officers"
KINDS = {
    OfficerKind.DEPUTY: _("Deputy to the people's congress"),
    OfficerKind.MEMBER: _("Member of the CPPCC"),
    OfficerKind.JOURNALIST: _("Journalist"),
    OfficerKind.BUSINESS: _("Business representative"),
    OfficerKind.CITIZEN: _("Citizen"),
}
PROBLEMS = {
    "name": _("A name of one line, at most {limit} characters"),
    "kind": _("Choose the officer's kind"),
    "phone": _("A mainland mobile number, 11 digits"),
}
OUTCOMES = {
    "open": _("Still in the hall"),
    "served": _("Served to the end"),
    "missed": _("Missed the call"),
    "cancelled": _("Cancelled"),
}
REPORT_DAYS = 366
"""The longest range a report covers."""


def officers_of(pages: Pages) -> Officers:
    return officers_for(pages.configuration.store)


def _when(district: District, at: Any) -> str | None:
    return None if at is None else local_time(district.sites[0], at).isoformat(timespec="seconds")


def _row(district: District, officer: Officer) -> dict[str, Any]:
    return {
        "officer_id": officer.officer_id, "name": officer.name_masked, "kind": officer.kind.value,
        "kind_label": KINDS[officer.kind], "phone": officer.phone_masked, "enrolled_by": officer.enrolled_by,
        "enrolled_at": _when(district, officer.enrolled_at), "revoked": officer.revoked,
        "revoked_at": _when(district, officer.revoked_at),
    }  # fmt: skip


def _summary(officer: Officer) -> dict[str, Any]:
    """What the audit keeps of an officer: never the full name, the phone or the code."""
    return {"officer_id": officer.officer_id, "name": officer.name_masked, "kind": officer.kind.value,
            "revoked": officer.revoked}  # fmt: skip


async def _list(request: web.Request) -> dict[str, Any]:
    pages = request.app[PAGES]
    district = pages.hall.district
    listed = await pages.off_loop(officers_of(pages).all)
    listed.sort(key=lambda officer: (officer.revoked, officer.enrolled_at))
    just = notice(request)
    asked = just["subject"] if just is not None and just["action"] == Action.OFFICER_REVOKED else None
    revoked = next((officer.name_masked for officer in listed if officer.officer_id == asked), None)
    return {
        "ok": True, "officers": [_row(district, officer) for officer in listed],
        "kinds": [{"value": kind.value, "label": label} for kind, label in KINDS.items()],
        "name_limit": NAME_LIMIT, "form": EMPTY_FORM, "once": SentOnce.token(), "notice": revoked,
    }  # fmt: skip


@add_page(routes, "/officers")
@allow(Role.ADMIN)
async def officers_page(request: web.Request) -> web.Response:
    return page(request, "officers.html", await _list(request))


@routes.post("/officers")
@allow(Role.ADMIN)
async def enrol(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    fields = await read_fields(request)
    check_once(request, fields)
    name, kind = fields.text("name", NAME_LIMIT * 4), fields.text("kind", 32)
    phone = fields.text("phone", 32)
    officer: Officer | None = None
    code = ""
    if fields.ok:
        try:
            enrolling = officers_of(pages).enrol
            by, at = me(request).username, pages.clock()
            officer, code = await pages.off_loop(lambda: enrolling(name, kind, phone, by, at, pepper=pages.secret))
        except OfficerError as error:
            fields.wrong(error.code, PROBLEMS[error.code], limit=NAME_LIMIT)
    if officer is None or not fields.ok:
        fields.typed.pop("phone", None)  # a phone typed is not shown again
        return invalid(request, "officers.html", await _list(request), fields)
    await record_change(request, Action.OFFICER_ENROLLED, site_id=None, subject=f"officer:{officer.officer_id}",
                        before=None, after=_summary(officer))  # fmt: skip
    data: dict[str, Any] = {"ok": True, "done": Action.OFFICER_ENROLLED.value,
                            "officer": _row(pages.hall.district, officer), "code": shown(code)}  # fmt: skip
    if not wants_json(request):
        data["qr_svg"] = qr_svg(shown(code))
    response = page(request, "officers_created.html", data)
    response.headers.update(NO_STORE)
    return response


async def _officer_of(request: web.Request) -> Officer:
    pages = request.app[PAGES]
    officer = await pages.off_loop(officers_of(pages).get, request.match_info["officer"])
    if officer is None:
        raise refusal(request, 404, "no_officer", "No such officer")
    return officer


@add_page(routes, "/officers/{officer}/revoke")
@allow(Role.ADMIN)
async def revoke_confirm(request: web.Request) -> web.Response:
    officer = await _officer_of(request)
    return confirm(
        request, title=_("Revoke an officer's code"), subject=officer.name_masked, back=BACK,
        question=_("Revoke the code of {subject}? It stops working at once; their visits so far stay in the report."),
        button=_("Revoke"), blocked=_("{subject} is revoked already") if officer.revoked else None,
    )  # fmt: skip


@routes.post("/officers/{officer}/revoke")
@allow(Role.ADMIN)
async def revoke(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    officer = await _officer_of(request)
    await read_fields(request)
    if not officer.revoked:
        revoked = await pages.off_loop(officers_of(pages).revoke, officer.officer_id, pages.clock())
        await record_change(request, Action.OFFICER_REVOKED, site_id=None, subject=f"officer:{officer.officer_id}",
                            before=_summary(officer), after=_summary(revoked or officer))  # fmt: skip
    return done(request, BACK, Action.OFFICER_REVOKED, officer.officer_id)


# --- the report -----------------------------------------------------------------------------------------------------


def _days(request: web.Request, today: date) -> tuple[date, date]:
    """The report's days from ``?start=&end=`` (ISO dates), this month by default; a wrong one is refused 400."""
    try:
        start = date.fromisoformat(request.query["start"]) if request.query.get("start") else today.replace(day=1)
        end = date.fromisoformat(request.query["end"]) if request.query.get("end") else today
    except ValueError:
        raise refusal(request, 400, "bad_day", "Give the days as ISO dates, e.g. 2026-11-01") from None
    if end < start or end - start > timedelta(days=REPORT_DAYS):
        raise refusal(request, 400, "bad_range", "The end comes after the start, at most a year later")
    return start, end


def _minutes(seconds: int) -> float:
    return round(seconds / 60, 1)


def _journey(district: District, journey: Journey) -> dict[str, Any]:
    return {
        **journey.as_json(), "issued_at": _when(district, journey.issued_at),
        "wait_minutes": [_minutes(wait) for wait in journey.waits],
        "service_minutes": [_minutes(service) for service in journey.services],
        "total_wait_minutes": _minutes(journey.total_wait), "total_service_minutes": _minutes(journey.total_service),
        "outcome_label": OUTCOMES[journey.outcome],
    }  # fmt: skip


def _follow_up(item: FollowUp | None, now: datetime) -> dict[str, Any] | None:
    """Where a visit's findings' follow-up stands, for the report."""
    if item is None:
        return None
    current = item.current
    label = FOLLOW_UP_OUTCOMES.get(item.outcome or "") if current is None else STEP_TODO[current.name]
    return {"url": f"/admin/follow-ups/{item.site_id}/{item.seq}", "label": label, "closed": item.closed,
            "overdue": item.overdue(now), "late": item.late}  # fmt: skip


def _visit(district: District, found: VisitReport, item: FollowUp | None, now: datetime) -> dict[str, Any]:
    visit, officer = found.visit, found.officer
    site = district.site(visit.site_id)
    return {
        "ticket_id": visit.ticket_id, "site_id": visit.site_id,
        "site": names(site) if site is not None else {"name_zh": visit.site_id, "name_en": visit.site_id},
        "day": visit.day.isoformat(), "channel": visit.channel.value,
        "officer": None if officer is None else _row(district, officer),
        "journey": _journey(district, found.journey), "findings": visit.findings,
        "findings_at": _when(district, visit.findings_at), "follow_up": _follow_up(item, now),
    }  # fmt: skip


@add_page(routes, "/officers/report")
@allow(Role.ADMIN)
async def report_page(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    district = pages.hall.district
    now = pages.clock()
    start, end = _days(request, local_time(district.sites[0], now).date())
    follow_ups = await synced(pages)
    found = await pages.off_loop(report, officers_of(pages), pages.configuration.store, start, end)
    items = await pages.off_loop(follow_ups.of_visits, [item.visit.ticket_id for item in found if item.visit.findings])
    visits = [_visit(district, item, items.get(item.visit.ticket_id), now) for item in found]
    data = {
        "ok": True, "start": start.isoformat(), "end": end.isoformat(), "visits": visits,
        "totals": {"visits": len(visits), "with_findings": sum(1 for visit in visits if visit["findings"]),
                   "officers": len({visit["officer"]["officer_id"] for visit in visits if visit["officer"]})},
    }  # fmt: skip
    return page(request, "officers_report.html", data)


# --- the officer's part of the ticket page (wired in public.py) ----------------------------------------------------


def _not_theirs(request: web.Request, path: str) -> web.Response:
    """One answer for a wrong code and for a ticket that is not the officer's visit: it tells nothing."""
    data = {
        "ok": False,
        "error": {"code": "unknown_code", "message": "This code is not known"},
        "action": path,
        "saved": False,
    }
    return page(request, "officer_ticket.html", data, 403)


async def _visit_of(request: web.Request, pages: Pages, ticket_id: str, code: str) -> Any:
    return await pages.off_loop(officers_of(pages).visit_of, ticket_id, code)


async def officer_entry(request: web.Request, pages: Pages, ticket_id: str, path: str) -> web.Response:
    """The officer's code typed on the ticket page: their findings form for this visit."""
    form = await request.post()
    code = form.get("code", "")
    found = await _visit_of(request, pages, ticket_id, code) if isinstance(code, str) and len(code) <= 40 else None
    if found is None:
        return _not_theirs(request, path)
    _officer, visit = found
    data = {"ok": True, "action": path, "code": code, "findings": visit.findings or "", "saved": False,
            "findings_limit": FINDINGS_LIMIT}  # fmt: skip
    return page(request, "officer_ticket.html", data)


async def officer_findings(request: web.Request, pages: Pages, ticket_id: str, path: str) -> web.Response:
    """The officer's findings sent: kept with the visit."""
    form = await request.post()
    code, findings = form.get("code", ""), form.get("findings", "")
    if not isinstance(code, str) or not isinstance(findings, str) or len(code) > 40:
        return _not_theirs(request, path)
    found = await _visit_of(request, pages, ticket_id, code)
    if found is None:
        return _not_theirs(request, path)
    officer, visit = found
    try:
        kept = await pages.off_loop(
            officers_of(pages).write_findings, ticket_id, officer.officer_id, findings[:FINDINGS_LIMIT], pages.clock()
        )
    except OfficerError:  # blank: the form again, with what was kept before
        data = {"ok": True, "action": path, "code": code, "findings": visit.findings or "", "saved": False,
                "findings_limit": FINDINGS_LIMIT, "problem": _("Write what you found on this visit")}  # fmt: skip
        return page(request, "officer_ticket.html", data, 400)
    if kept is not None:
        await synced(pages)  # its follow-up opens now, its deadlines from this writing
    data = {"ok": kept is not None, "action": path, "code": code, "findings": (kept.findings if kept else "") or "",
            "saved": kept is not None, "findings_limit": FINDINGS_LIMIT}  # fmt: skip
    return page(request, "officer_ticket.html", data)

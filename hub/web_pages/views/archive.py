"""The electronic archive of handed-in documents: search, case view, decisions (issue 15; hub.archive).

``/admin/archive`` searches by case number, dates, site, matter and state (50 a page, newest first); a case's page
shows its materials and their page images, each through ``/admin/archive/{case}/pages/{material}/{page}`` (never a
public address; ``Cache-Control: private, no-store``), and the clerk's decision: accept, or return for correction
with a reason the citizen reads on the status page. Administrators see every site's cases; a site's managers and
staff their own site's only (another site's case is as unknown as none). Every case view, every page image and
every decision is audited (``hub.audit.Action.ARCHIVE_*``); the citizen's ID is never kept, so never shown.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

import contract as wire
from engine.calendar import local_time
from hub.accounts import Account, Role
from hub.archive.files import PageFilesError
from hub.archive.keys import ARCHIVE
from hub.archive.store import Archive, Case, day_range
from hub.audit import Action, AuditEntry
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, names, page, refusal
from hub.web_pages.state import PAGES
from hub.web_pages.views.changes import _, done, invalid, notice, read_fields, record_change

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PAGE_SIZE = 50
REASON_LIMIT = 500
STATES = {
    wire.CaseState.RECEIVING.value: _("Receiving the materials"),
    wire.CaseState.SUBMITTED.value: _("Waiting for review"),
    wire.CaseState.ACCEPTED.value: _("Accepted"),
    wire.CaseState.RETURNED.value: _("Returned for correction"),
}
SHAPES = {"a4": _("A4 page"), "id_card": _("ID card"), "certificate": _("Certificate")}
ROLES = (Role.ADMIN, Role.MANAGER, Role.STAFF)


def _archive(request: web.Request) -> Archive:
    archive = request.config_dict.get(ARCHIVE)
    if archive is None:
        raise refusal(request, 404, "no_archive", "The archive is not set up on this hub")
    return archive


def _sites(account: Account) -> list[str] | None:
    """The sites whose cases the account sees (None: every site)."""
    return None if account.role == Role.ADMIN else [account.site_id or ""]


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _row(request: web.Request, case: Case) -> dict[str, Any]:
    district = request.app[PAGES].hall.district
    site, matter = district.site(case.site_id), district.matter(case.matter)

    def when(at: Any) -> str | None:
        return None if at is None else (local_time(site, at) if site else at).strftime("%Y-%m-%d %H:%M")

    return {
        "case_number": case.case_number, "site_id": case.site_id,
        "site": names(site) if site else {"name_zh": case.site_id, "name_en": case.site_id},
        "matter_code": case.matter,
        "matter": names(matter) if matter else {"name_zh": case.matter, "name_en": case.matter},
        "state": case.state.value, "state_text": STATES[case.state.value], "ticket_id": case.ticket_id,
        "created_at": when(case.created_at), "submitted_at": when(case.submitted_at),
        "decided_at": when(case.decided_at), "decided_by": case.decided_by, "reason": case.reason,
    }  # fmt: skip


@add_page(routes, "/archive")
@allow(*ROLES)
async def search_page(request: web.Request) -> web.Response:
    pages, account, archive = request.app[PAGES], me(request), _archive(request)
    query = request.query
    asked = {key: query.get(key, "").strip()[:64] for key in ("number", "since", "until", "site", "matter", "state")}
    sites = _sites(account)
    if asked["site"]:
        sites = [asked["site"]] if sites is None or asked["site"] in sites else sites
    try:
        number = min(max(1, int(query.get("page", "1"))), 100_000)
    except ValueError:
        number = 1
    since, until = day_range(pages.hall.district, account.site_id, _date(asked["since"]), _date(asked["until"]))
    cases, total = await pages.off_loop(
        lambda: archive.search(
            sites=sites, case_number=asked["number"], since=since, until=until, matter=asked["matter"],
            state=asked["state"] if asked["state"] in STATES else "", offset=(number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    )  # fmt: skip
    district = pages.hall.district
    visible = [site for site in district.sites if account.role == Role.ADMIN or site.id == account.site_id]
    pages_count = max(1, -(-total // PAGE_SIZE))
    link = {key: value for key, value in asked.items() if value}
    return page(request, "archive.html", {
        "ok": True, "cases": [_row(request, case) for case in cases], "total": total, "asked": asked,
        "page": number, "pages": pages_count,
        "previous": f"?{urlencode({**link, 'page': number - 1})}" if number > 1 else None,
        "next": f"?{urlencode({**link, 'page': number + 1})}" if number < pages_count else None,
        "sites": [{"id": site.id, **names(site)} for site in visible],
        "matters": [{"code": matter.code, **names(matter)} for matter in district.catalogue],
        "states": [{"value": value, "text": text} for value, text in STATES.items()],
    })  # fmt: skip


async def _case_of(request: web.Request) -> Case:
    """The route's case, if the account may see it (another site's is as unknown as none)."""
    pages, account = request.app[PAGES], me(request)
    case = await pages.off_loop(_archive(request).get, request.match_info["case"])
    if case is None or (account.role != Role.ADMIN and case.site_id != account.site_id):
        raise refusal(request, 404, "no_case", "No such case")
    return case


async def _audit_view(request: web.Request, action: Action, case: Case, subject: str) -> None:
    pages = request.app[PAGES]
    await pages.record(AuditEntry(action=action, result="ok", actor=me(request).username, site_id=case.site_id,
                                  address=request.remote, subject=subject, at=pages.clock()))  # fmt: skip


def _case_view(request: web.Request, case: Case) -> dict[str, Any]:
    """The case page's data: the case, its materials with their pages, the commitment, the decision's form."""
    district = request.app[PAGES].hall.district
    matter = district.matter(case.matter)
    materials = []
    for material in case.materials:
        named = matter.materials[material.material] if matter and material.material < len(matter.materials) else None
        fallback = {"name_zh": f"#{material.material}", "name_en": f"#{material.material}"}
        materials.append({
            "index": material.material, "commitment": material.commitment,
            "name": names(named) if named else fallback,
            "pages": [{"page": p.page, "shape": SHAPES.get(p.shape, p.shape), "stored": p.stored_at is not None,
                       "size": p.size, "sha256": p.sha256,
                       "src": f"/admin/archive/{case.case_number}/pages/{p.material}/{p.page}"}
                      for p in case.pages if p.material == material.material],
        })  # fmt: skip
    just = notice(request)
    row = _row(request, case)
    return {
        "ok": True, "case": row, "materials": materials,
        "commitment": None if case.commitment_text is None else {"text": case.commitment_text},
        "decidable": case.state != wire.CaseState.RECEIVING, "reason_limit": REASON_LIMIT,
        "notice": just["action"] if just is not None else None, "form": {"typed": {}, "errors": {}},
    }  # fmt: skip


@add_page(routes, "/archive/{case}")
@allow(*ROLES)
async def case_page(request: web.Request) -> web.Response:
    case = await _case_of(request)
    await _audit_view(request, Action.ARCHIVE_CASE_VIEWED, case, f"case:{case.case_number}")
    return page(request, "archive_case.html", _case_view(request, case))


@routes.get("/archive/{case}/pages/{material}/{page}")
@allow(*ROLES)
async def page_image(request: web.Request) -> web.Response:
    case = await _case_of(request)
    try:
        ref = (int(request.match_info["material"]), int(request.match_info["page"]))
    except ValueError:
        raise refusal(request, 404, "no_page", "No such page") from None
    known = next((p for p in case.pages if (p.material, p.page) == ref and p.stored_at is not None), None)
    try:
        data = None if known is None else await request.app[PAGES].off_loop(_archive(request).files.get, known.sha256)
    except PageFilesError as error:  # the page is kept; its store is away for now
        log.warning("page %s of case %s unreadable: %s", ref, case.case_number, error)
        raise refusal(request, 503, "unavailable", "The page store cannot be reached now; try again shortly") from None
    if known is None or data is None:
        raise refusal(request, 404, "no_page", "No such page")
    await _audit_view(request, Action.ARCHIVE_PAGE_VIEWED, case, f"case:{case.case_number}/{ref[0]}/{ref[1]}")
    kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return web.Response(body=data, content_type=kind, headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{case.case_number}-m{ref[0]}-p{ref[1]}"',
    })  # fmt: skip


@routes.post("/archive/{case}/decide")
@allow(*ROLES)
async def decide(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    case = await _case_of(request)
    fields = await read_fields(request)
    decision = fields.text("decision", 16)
    reason = fields.text("reason", REASON_LIMIT)
    if decision not in ("accept", "return"):
        raise refusal(request, 400, "bad_decision", "Accept or return the case")
    if case.state == wire.CaseState.RECEIVING:
        raise refusal(request, 400, "not_submitted", "The case is not submitted yet")
    if decision == "return" and not reason:
        fields.wrong("reason", _("Say what the citizen must correct"))
        return invalid(request, "archive_case.html", _case_view(request, case), fields)
    state = wire.CaseState.ACCEPTED if decision == "accept" else wire.CaseState.RETURNED
    decided = await pages.off_loop(
        _archive(request).decide, case.case_number, state, account.username, reason, pages.clock()
    )
    action = Action.ARCHIVE_CASE_ACCEPTED if decision == "accept" else Action.ARCHIVE_CASE_RETURNED
    await record_change(request, action, site_id=case.site_id, subject=f"case:{case.case_number}",
                        before=case.summary(), after=decided.summary())  # fmt: skip
    return done(request, f"/admin/archive/{case.case_number}", action, case.case_number)

"""Ratings follow-up (好差评 整改) and appeals, and the follow-up of officers' findings (issue 14; ``hub.follow_ups``,
docs/ratings.md).

``/admin/follow-ups`` lists the items of both kinds (差评, 体验官意见; ``?kind=`` one of them; open, overdue, closed or
all; deadlines, overdue ones in red), opened from the log and the officers' visits just before (``FollowUps.sync``).
An administrator sees every site's, a manager their own site's, staff their own window's ratings' (never a finding:
staff never learn which tickets were an officer's visit). ``/admin/follow-ups/{site}/{seq}`` is one item: its steps
with deadlines and answers, the form of the next step (the site's manager), the appeal form (the window's staff or the
site's manager, once, while open; a finding has none) and the decision form (an administrator, while an appeal
waits). The rater stays unknown: the ticket's
number is shown to managers and administrators only; staff see neither the number, the time of the rating nor the
managers' notes. The officer stays unknown to the hall: of a finding, the site's manager sees the day, the matter and
the text, never the ticket, the time or the officer, whom only an administrator sees (masked, as the officers' report
shows them). Every change is audited, never with its note or reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from aiohttp import web

from engine.calendar import local_time
from engine.district import District
from hub.accounts import Account, Role
from hub.audit import Action
from hub.follow_ups import (
    FINDING,
    NOTE_LIMIT,
    RATING,
    REJECT,
    STEPS,
    UPHOLD,
    FollowUp,
    FollowUpError,
    FollowUps,
    follow_ups_for,
)
from hub.officers import officers_for
from hub.ratings import comments_for
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, names, page, refusal
from hub.web_pages.state import PAGES, Pages
from hub.web_pages.views.changes import EMPTY_FORM, Fields, _, done, invalid, notice, read_fields, record_change

routes = web.RouteTableDef()

BACK = "/admin/follow-ups"
LIST_LIMIT = 500
"""The newest items a list shows."""
STATES = ("open", "overdue", "closed", "all")
STATE_LABELS = {
    "open": _("Still open"),
    "overdue": _("Past the deadline"),
    "closed": _("Closed items"),
    "all": _("All"),
}
LEVELS = {1: _("Very dissatisfied"), 2: _("Dissatisfied")}
KINDS = {RATING: _("Bad rating"), FINDING: _("Officer's finding")}
STEP_LABELS = {
    "verified": _("Verified"),
    "contacted": _("Contacted"),
    "put_right": _("Put right"),
    "reported": _("Reported back"),
}
STEP_TODO = {
    "verified": _("To verify"),
    "contacted": _("To contact"),
    "put_right": _("To put right"),
    "reported": _("To report back"),
}
"""The step an item waits for, as the list says it."""
OUTCOMES = {"done": _("Followed up"), "appeal_upheld": _("Appeal upheld")}
DECISIONS = {UPHOLD: _("Upheld (rating excluded)"), REJECT: _("Rejected (follow-up goes on)")}
REFUSALS = {
    "step": ("step", _("This step was answered already: see the item for the next one")),
    "note": ("note", _("Write what was done")),
    "closed": ("note", _("This follow-up is closed")),
    "appealed": ("reason", _("This rating was appealed already")),
    "reason": ("reason", _("Give the reason for the appeal")),
    "no_appeal": ("decision", _("There is no appeal waiting for a decision")),
    "decision": ("decision", _("Choose upheld or rejected")),
    "finding": ("reason", _("An officer's finding is not appealed")),
}
"""A ``FollowUpError``'s code: the form field its message goes next to, and the message."""


def follow_ups_of(pages: Pages) -> FollowUps:
    return follow_ups_for(pages.configuration.store)


async def synced(pages: Pages) -> FollowUps:
    """The follow-ups, with every bad rating of the log opened (the hub's tick does the same)."""
    follow_ups = follow_ups_of(pages)
    await pages.off_loop(follow_ups.sync, pages.hall.district, pages.clock())
    return follow_ups


async def overdue_follow_ups(pages: Pages, site_id: str) -> int:
    """For the live hall: the site's open items past a deadline."""
    follow_ups = await synced(pages)
    return await pages.off_loop(follow_ups.overdue_count, [site_id], pages.clock())


def _sees_number(account: Account, kind: str = RATING) -> bool:
    """Managers see a rating's ticket; only an administrator sees which ticket was an officer's visit."""
    return account.role == Role.ADMIN or (account.role == Role.MANAGER and kind == RATING)


def _mine(account: Account, item: FollowUp) -> bool:
    if account.role == Role.STAFF:
        return item.kind == RATING and account.site_id == item.site_id and account.window_id == item.window_id
    return account.may_see_site(item.site_id)


def _may_appeal(account: Account, item: FollowUp) -> bool:
    return (
        item.kind == RATING
        and not item.closed
        and item.appeal is None
        and account.role in (Role.STAFF, Role.MANAGER)
        and _mine(account, item)
    )


def _finding(account: Account, item: FollowUp, when: Any, officer: str | None) -> dict[str, Any] | None:
    """A finding's text for the manager; its time, amendment and officer for an administrator only."""
    finding = item.finding
    if finding is None:
        return None
    admin = account.role == Role.ADMIN
    amended = finding.written_at is not None and finding.written_at > item.rated_at
    return {
        "text": finding.text, "amended_at": when(finding.written_at) if amended and admin else None,
        "amended": amended, "officer": officer if admin else None, "officer_id": finding.officer_id if admin else None,
    }  # fmt: skip


def _row(
    district: District, account: Account, item: FollowUp, now: datetime, officer: str | None = None
) -> dict[str, Any]:
    """The item as the account may see it; ``officer``: a finding's officer, masked (shown to administrators)."""
    site = district.site(item.site_id) or district.sites[0]
    matter = district.matter(item.matter)
    staff = account.role == Role.STAFF
    sees_time = not staff and _sees_number(account, item.kind)

    def when(at: datetime | None) -> str | None:
        return None if at is None else local_time(site, at).isoformat(timespec="minutes")

    current = item.current
    steps = [
        {
            "name": step.name, "label": STEP_LABELS[step.name], "todo": STEP_TODO[step.name],
            "due_at": when(step.due_at),
            "answered_at": when(step.answered_at), "on_time": step.on_time,
            "answered_by": None if staff else step.answered_by, "note": None if staff else step.note,
            "current": current is not None and current.name == step.name,
            "overdue": current is not None and current.name == step.name and item.overdue(now),
        }
        for step in item.steps
    ]  # fmt: skip
    appeal = item.appeal
    return {
        "key": item.key, "site_id": item.site_id, "seq": item.seq, "site": names(site),
        "kind": item.kind, "kind_label": KINDS[item.kind],
        "number": item.number if _sees_number(account, item.kind) else None,
        "rated_on": local_time(site, item.rated_at).date().isoformat(),
        "rated_at": when(item.rated_at) if sees_time else None,
        "level": item.level, "level_label": None if item.level is None else LEVELS.get(item.level, str(item.level)),
        "finding": _finding(account, item, when, officer),
        "matter": names(matter) if matter else {"name_zh": item.matter, "name_en": item.matter},
        "window_id": item.window_id, "closed": item.closed, "closed_at": when(item.closed_at),
        "outcome": item.outcome, "outcome_label": OUTCOMES.get(item.outcome or ""),
        "current": None if current is None else current.name,
        "todo": None if current is None else STEP_TODO[current.name],
        "due_at": when(current.due_at) if current else None,
        "overdue": item.overdue(now), "late": item.late, "steps": steps,
        "appeal": None if appeal is None else {
            "reason": appeal.reason, "appealed_by": appeal.appealed_by, "appealed_at": when(appeal.appealed_at),
            "decision": appeal.decision, "decision_label": DECISIONS.get(appeal.decision or ""),
            "decided_by": appeal.decided_by, "decided_at": when(appeal.decided_at), "note": appeal.decision_note,
        },
    }  # fmt: skip


def _scope(account: Account) -> tuple[list[str] | None, str | None]:
    """The sites and the window whose items the account sees."""
    if account.role == Role.ADMIN:
        return None, None
    return [account.site_id or ""], account.window_id if account.role == Role.STAFF else None


async def _officers(pages: Pages, account: Account, items: list[FollowUp]) -> dict[str, str]:
    """The masked names of the findings' officers, for an administrator (nobody else is shown them)."""
    wanted = {item.finding.officer_id for item in items if item.finding is not None}
    if account.role != Role.ADMIN or not wanted:
        return {}
    everyone = await pages.off_loop(officers_for(pages.configuration.store).all)
    return {officer.officer_id: officer.name_masked for officer in everyone if officer.officer_id in wanted}


async def _rows(pages: Pages, account: Account, items: list[FollowUp]) -> list[dict[str, Any]]:
    district, now, officers = pages.hall.district, pages.clock(), await _officers(pages, account, items)
    return [
        _row(district, account, item, now, officers.get(item.finding.officer_id) if item.finding else None)
        for item in items
    ]


@add_page(routes, "/follow-ups")
@allow(Role.ADMIN, Role.MANAGER, Role.STAFF)
async def follow_ups_page(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    state = request.query.get("state", "open")
    if state not in STATES:
        state = "open"
    sites, window = _scope(account)
    kind = RATING if window is not None else request.query.get("kind")
    if kind not in KINDS:
        kind = None
    follow_ups, now = await synced(pages), pages.clock()
    items = await pages.off_loop(
        lambda: follow_ups.find(sites, window_id=window, kind=kind, state=state, now=now, limit=LIST_LIMIT)
    )
    overdue = await pages.off_loop(lambda: follow_ups.overdue_count(sites, now, window_id=window, kind=kind))
    return page(request, "follow_ups.html", {
        "ok": True, "state": state, "states": [{"value": s, "label": STATE_LABELS[s]} for s in STATES],
        "kind": kind, "kinds": [{"value": k, "label": label} for k, label in KINDS.items()] if window is None else [],
        "items": await _rows(pages, account, items), "overdue": overdue, "numbers": _sees_number(account),
    })  # fmt: skip


async def _item_of(request: web.Request) -> FollowUp:
    """The route's item, if the account may see it (another window's is as unknown as none)."""
    pages = request.app[PAGES]
    try:
        seq = int(request.match_info["seq"])
        if not 1 <= seq < 2**63:
            raise ValueError(seq)
    except ValueError:
        raise refusal(request, 404, "no_follow_up", "No such follow-up") from None
    follow_ups = await synced(pages)
    item = await pages.off_loop(follow_ups.get, request.match_info["site"], seq)
    if item is None or not _mine(me(request), item):
        raise refusal(request, 404, "no_follow_up", "No such follow-up")
    return item


def _said(follow_ups: FollowUps, account: Account, item: FollowUp) -> dict[str, Any] | None:
    """What the citizen said with a bad rating: sub-indicators, reasons, channel, and the comment (written for the
    site's manager: staff, whose service it rates, do not read it)."""
    rating = follow_ups.rating(item)
    if rating is None:
        return None
    manager = account.role == Role.MANAGER and account.site_id == item.site_id
    comments = comments_for(follow_ups.store) if manager else None
    aspects = {} if rating.aspects is None else msgspec.structs.asdict(rating.aspects)
    return {
        "aspects": {name: level for name, level in aspects.items() if level is not None},
        "reasons": [str(reason) for reason in rating.reasons], "source": str(rating.source),
        "comment": comments.of(item.site_id, [item.seq]).get(item.seq) if comments is not None else None,
    }  # fmt: skip


async def _item_data(request: web.Request, item: FollowUp) -> dict[str, Any]:
    pages, account = request.app[PAGES], me(request)
    current = item.current
    just = notice(request)
    (row,) = await _rows(pages, account, [item])
    follow_ups = follow_ups_of(pages)
    return {
        "ok": True, "item": row, "said": await pages.off_loop(_said, follow_ups, account, item),
        "may_answer": account.role == Role.MANAGER and current is not None and account.site_id == item.site_id,
        "may_appeal": _may_appeal(account, item),
        "may_decide": account.role == Role.ADMIN and item.appeal is not None and item.appeal.decision is None,
        "note_limit": NOTE_LIMIT, "form": EMPTY_FORM, "notice": just["action"] if just else None,
    }  # fmt: skip


@add_page(routes, "/follow-ups/{site}/{seq}")
@allow(Role.ADMIN, Role.MANAGER, Role.STAFF)
async def follow_up_page(request: web.Request) -> web.Response:
    return page(request, "follow_up.html", await _item_data(request, await _item_of(request)))


def _url(item: FollowUp) -> str:
    return f"{BACK}/{item.site_id}/{item.seq}"


async def _change(request: web.Request, item: FollowUp, fields: Fields, action: Action, work: Any) -> web.Response:
    """Run the change (off the loop); a refusal is the item's page again with the message; audit what was done."""
    pages = request.app[PAGES]
    if fields.ok:
        try:
            after: FollowUp = await pages.off_loop(work)
        except FollowUpError as error:
            field, message = REFUSALS.get(error.code, ("note", _("This follow-up is closed")))
            fields.wrong(field, message)
    if not fields.ok:
        return invalid(request, "follow_up.html", await _item_data(request, item), fields)
    summary = {"step": after.current.name if after.current else None, "closed": after.closed,
               "outcome": after.outcome, "late": after.late}  # fmt: skip
    await record_change(request, action, site_id=item.site_id, subject=f"follow_up:{item.key}", before=None,
                        after=summary)  # fmt: skip
    return done(request, _url(item), action, item.key)


@routes.post("/follow-ups/{site}/{seq}/step")
@allow(Role.MANAGER)
async def answer_step(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    item = await _item_of(request)
    fields = await read_fields(request)
    step = fields.text("step", 16)
    note = fields.text("note", NOTE_LIMIT)
    if step not in STEPS:
        fields.wrong("step", _("This step was answered already: see the item for the next one"))
    elif not note:
        fields.wrong("note", _("Write what was done"))
    follow_ups, now = follow_ups_of(pages), pages.clock()

    def work() -> FollowUp:
        return follow_ups.answer(pages.hall.district, item.site_id, item.seq, step=step, note=note,
                                 by=account.username, now=now)  # fmt: skip

    return await _change(request, item, fields, Action.FOLLOW_UP_STEP, work)


@routes.post("/follow-ups/{site}/{seq}/appeal")
@allow(Role.MANAGER, Role.STAFF)
async def appeal(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    item = await _item_of(request)
    fields = await read_fields(request)
    reason = fields.text("reason", NOTE_LIMIT)
    if not reason:
        fields.wrong("reason", _("Give the reason for the appeal"))
    follow_ups, now = follow_ups_of(pages), pages.clock()

    def work() -> FollowUp:
        return follow_ups.appeal(item.site_id, item.seq, reason=reason, by=account.username, now=now)

    return await _change(request, item, fields, Action.FOLLOW_UP_APPEALED, work)


@routes.post("/follow-ups/{site}/{seq}/decision")
@allow(Role.ADMIN)
async def decide(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    item = await _item_of(request)
    fields = await read_fields(request)
    decision = fields.text("decision", 16)
    note = fields.text("note", NOTE_LIMIT)
    if decision not in DECISIONS:
        fields.wrong("decision", _("Choose upheld or rejected"))
    follow_ups, now = follow_ups_of(pages), pages.clock()

    def work() -> FollowUp:
        return follow_ups.decide(item.site_id, item.seq, decision=decision, note=note, by=account.username, now=now)

    return await _change(request, item, fields, Action.FOLLOW_UP_DECIDED, work)

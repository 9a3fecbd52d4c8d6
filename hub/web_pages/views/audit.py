"""The audit page: every sign-in, sign-out and expired session, and every change (configuration, devices, counter
staff, web accounts) with its subject and what it changed, newest first. An administrator sees every entry and may
keep one site's (``?site=centre``, or ``?site=-`` for the district's own); a manager sees their own site's. Either
may keep one kind of entry (``?action=device_revoked``).

What changed is shown as the keys whose values differ between ``before`` and ``after`` (all of them for something
added or removed); the whole of both stays in the JSON answer.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hub.accounts import Role
from hub.audit import LIST_LIMIT, Action, AuditEntry
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, page
from hub.web_pages.state import PAGES

routes = web.RouteTableDef()

FILTERED_WINDOW = 20 * LIST_LIMIT
"""With a kind chosen, the entries it is looked for among (newest first; ``AuditLog.entries`` has no such filter)."""
VALUE_LIMIT = 120
"""A changed value longer than this (as JSON) is cut in the page; the JSON answer has it whole."""
DISTRICT = "-"
"""The site filter of the entries that concern no one site (an administrator's sign-in, an admin account)."""


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON value as its leaves by dotted path; a list of objects with an ``id`` (a site's windows, a matter's
    materials keyed by name) is keyed by it, so a grid change reads ``windows.w11.weights.B01``."""
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list) and value and all(isinstance(item, dict) and "id" in item for item in value):
        items = [(str(item["id"]), item) for item in value]
    else:
        return {prefix: value}
    leaves: dict[str, Any] = {}
    for key, item in items:
        leaves.update(flat(item, f"{prefix}.{key}" if prefix else key))
    return leaves or {prefix: value}


def changes(before: Any, after: Any) -> list[dict[str, str | None]]:
    """The leaves that differ (``flat``), each with its value before and after (None: not there); a value that is
    not a mapping is one change of its own (key "")."""
    if not isinstance(before, dict | None) or not isinstance(after, dict | None):
        return [] if before == after else [{"key": "", "before": _shown(before), "after": _shown(after)}]
    old, new = (flat(before) if before else {}), (flat(after) if after else {})
    keys = [*old, *(key for key in new if key not in old)]
    return [
        {"key": key, "before": _shown(old[key]) if key in old else None,
         "after": _shown(new[key]) if key in new else None}
        for key in keys
        if before is None or after is None or key not in old or key not in new or old[key] != new[key]
    ]  # fmt: skip


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {**entry.as_json(), "changes": changes(entry.before, entry.after)}


@add_page(routes, "/audit")
@allow(Role.ADMIN, Role.MANAGER)
async def audit_page(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    district = pages.hall.district
    action = request.query.get("action", "")
    action = action if action in set(Action) else ""
    if account.role == Role.ADMIN:
        site = request.query.get("site", "")
        site = site if site == DISTRICT or district.site(site) is not None else ""
    else:
        site = account.site_id or ""
    read = None if site in ("", DISTRICT) else site
    entries = await pages.off_loop(pages.audit.entries, read, FILTERED_WINDOW if action or site == DISTRICT
                                   else LIST_LIMIT)  # fmt: skip
    kept = [e for e in entries if (not action or e.action == action) and (site != DISTRICT or e.site_id is None)]
    data = {
        "ok": True, "site_id": None if account.role == Role.ADMIN else account.site_id,
        "filters": {"action": action, "site": site}, "actions": [a.value for a in Action],
        "sites": [{"site_id": s.id, "name_zh": s.name_zh, "name_en": s.name_en} for s in district.sites]
        if account.role == Role.ADMIN else [],
        "entries": [_row(entry) for entry in kept[:LIST_LIMIT]],
    }  # fmt: skip
    return page(request, "audit.html", data)

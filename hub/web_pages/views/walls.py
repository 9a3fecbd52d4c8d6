"""Wall screens (decision 0019): TVs that show the district wall or a site's live hall through a link of their own,
nobody signed in (``hub.wall_screens``; the link's pages are in ``public``).

``/admin/walls`` lists the screens (label, what it shows, who made it and when, when last seen, revoke) and adds
one. An administrator sees and makes every screen, of the district or of any site; a hall manager their own site's
only (a form asking for another site or the district is refused, 403 ``wrong_site``); staff none. The answer to the
form shows the link once (``Cache-Control: no-store``), with its QR code; only a hash of its token is kept. Revoking
(after a confirm step) ends the screen's open streams at once. Both are audited, never with the token.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from engine.calendar import local_time
from engine.district import District
from hub.accounts import Account, Role
from hub.audit import Action
from hub.wall_screens import LABEL_LIMIT, WallScreen, WallScreenError, check_label
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, names, page, refusal, wants_json
from hub.web_pages.state import PAGES
from hub.web_pages.views.changes import (
    EMPTY_FORM,
    NO_STORE,
    Fields,
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

routes = web.RouteTableDef()

BACK = "/admin/walls"
DISTRICT_SCOPE = "district"
"""The form's value of the whole district's scope; a site's is ``site:<id>``."""
SITE_SCOPE = "site:"
LABELS = {
    "empty": _("Give the screen a label: where it hangs"),
    "long": _("At most {limit} characters"),
    "lines": _("One line of text, please"),
}
"""The store's refusals of a label, as the form says them."""


def _scope(district: District, site_id: str | None) -> dict[str, Any]:
    """What a screen shows, for the pages: the district's wall or a site's live hall, by name."""
    site = district.site(site_id) if site_id is not None else None
    if site_id is None:
        return {"value": DISTRICT_SCOPE, "site_id": None, **names(district), "wall": True}
    named = names(site) if site is not None else {"name_zh": site_id, "name_en": site_id}
    return {"value": SITE_SCOPE + site_id, "site_id": site_id, **named, "wall": False}


def _scopes(district: District, account: Account) -> list[dict[str, Any]]:
    """The scopes the account may make a screen for."""
    if account.role == Role.ADMIN:
        return [_scope(district, None), *(_scope(district, site.id) for site in district.sites)]
    return [_scope(district, account.site_id)]


def _row(district: District, screen: WallScreen) -> dict[str, Any]:
    site = district.site(screen.site_id) if screen.site_id else None
    site = site or district.sites[0]  # the district's own screens are shown in its (first site's) time zone

    def when(at: Any) -> str | None:
        return None if at is None else local_time(site, at).isoformat(timespec="seconds")

    return {
        "screen_id": screen.screen_id, "label": screen.label, "scope": _scope(district, screen.site_id),
        "created_by": screen.created_by, "created_at": when(screen.created_at),
        "last_seen_at": when(screen.last_seen_at), "revoked": screen.revoked, "revoked_at": when(screen.revoked_at),
    }  # fmt: skip


def _summary(screen: WallScreen) -> dict[str, Any]:
    """What the audit keeps of a screen (never its token or hash)."""
    return {"screen_id": screen.screen_id, "label": screen.label, "site_id": screen.site_id,
            "revoked": screen.revoked}  # fmt: skip


def _mine(account: Account, screen: WallScreen) -> bool:
    return account.role == Role.ADMIN or (screen.site_id is not None and screen.site_id == account.site_id)


async def _list(request: web.Request) -> dict[str, Any]:
    """The account's screens (not revoked first, oldest first), the form, and the label of the screen just revoked
    (``done``'s ``?done=wall_screen_revoked&subject=<screen id>``) for the page to say."""
    pages, account = request.app[PAGES], me(request)
    district = pages.hall.district
    screens = await pages.off_loop(pages.wall_screens.list, None if account.role == Role.ADMIN else account.site_id)
    screens.sort(key=lambda screen: (screen.revoked, screen.created_at))
    just = notice(request)
    asked = just["subject"] if just is not None and just["action"] == Action.WALL_SCREEN_REVOKED else None
    revoked = next((screen.label for screen in screens if screen.screen_id == asked and screen.revoked), None)
    return {
        "ok": True, "screens": [_row(district, screen) for screen in screens],
        "scopes": _scopes(district, account), "label_limit": LABEL_LIMIT,
        "form": EMPTY_FORM, "once": SentOnce.token(), "notice": revoked,
    }  # fmt: skip


async def _audit(request: web.Request, action: Action, before: WallScreen | None, after: WallScreen) -> None:
    await record_change(request, action, site_id=after.site_id, subject=f"wall:{after.screen_id}",
                        before=None if before is None else _summary(before), after=_summary(after))  # fmt: skip


@add_page(routes, "/walls")
@allow(Role.ADMIN, Role.MANAGER)
async def walls_page(request: web.Request) -> web.Response:
    return page(request, "walls.html", await _list(request))


def _chosen_scope(request: web.Request, fields: Fields) -> str | None:
    """The site the form asks for (None: the district); a scope the account may not have is refused (403)."""
    account, district = me(request), request.app[PAGES].hall.district
    scope = fields.text("scope", 80)
    if account.role == Role.MANAGER and not scope:
        scope = SITE_SCOPE + (account.site_id or "")  # a manager's one choice
    allowed = {choice["value"]: choice["site_id"] for choice in _scopes(district, account)}
    if scope in allowed:
        site_id: str | None = allowed[scope]
        return site_id
    if account.role == Role.MANAGER:
        raise refusal(request, 403, "wrong_site", "This page belongs to another site")
    fields.wrong("scope", _("Choose what the screen shows"))
    return None


@routes.post("/walls")
@allow(Role.ADMIN, Role.MANAGER)
async def create(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    fields = await read_fields(request)
    site_id = _chosen_scope(request, fields)
    check_once(request, fields)
    label = fields.text("label", LABEL_LIMIT * 4)
    try:
        label = check_label(label)
    except WallScreenError as error:
        fields.wrong("label", LABELS[error.code], limit=LABEL_LIMIT)
    if not fields.ok:
        return invalid(request, "walls.html", await _list(request), fields)
    screen, token = await pages.off_loop(pages.wall_screens.create, label, site_id, account.username, pages.clock())
    await _audit(request, Action.WALL_SCREEN_CREATED, None, screen)
    link = f"{request.scheme}://{request.host}/wall/{token}"
    data: dict[str, Any] = {"ok": True, "done": Action.WALL_SCREEN_CREATED.value,
                            "screen": _row(pages.hall.district, screen), "link": link}  # fmt: skip
    if not wants_json(request):
        data["qr_svg"] = qr_svg(link)
    response = page(request, "walls_created.html", data)
    response.headers.update(NO_STORE)
    return response


async def _screen_of(request: web.Request) -> WallScreen:
    """The route's screen, if the account may see it (another site's is as unknown as none)."""
    pages = request.app[PAGES]
    screen = await pages.off_loop(pages.wall_screens.get, request.match_info["screen"])
    if screen is None or not _mine(me(request), screen):
        raise refusal(request, 404, "no_wall_screen", "No such wall screen")
    return screen


@add_page(routes, "/walls/{screen}/revoke")
@allow(Role.ADMIN, Role.MANAGER)
async def revoke_confirm(request: web.Request) -> web.Response:
    screen = await _screen_of(request)
    return confirm(
        request, title=_("Revoke a wall screen"), subject=screen.label, back=BACK,
        question=_("Revoke the wall screen {subject}? Its link stops working at once, on every TV that has it."),
        button=_("Revoke"), blocked=_("{subject} is revoked already") if screen.revoked else None,
    )  # fmt: skip


@routes.post("/walls/{screen}/revoke")
@allow(Role.ADMIN, Role.MANAGER)
async def revoke(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    screen = await _screen_of(request)
    await read_fields(request)  # a body that cannot be read is refused (400), as by every change
    if not screen.revoked:
        revoked = await pages.off_loop(pages.wall_screens.revoke, screen.screen_id, pages.clock())
        pages.screen_feeds.end(screen.screen_id)
        await _audit(request, Action.WALL_SCREEN_REVOKED, screen, revoked or screen)
    return done(request, BACK, Action.WALL_SCREEN_REVOKED, screen.screen_id)

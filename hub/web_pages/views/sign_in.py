"""Sign-in and sign-out. Every attempt is recorded in the audit trail (who, when, from where, the result); failed
ones are counted by the throttle, and past its limits sign-in answers 429 without checking the password."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_session import get_session, new_session
from multidict import MultiDictProxy

from hub.accounts import USERNAME, Role
from hub.audit import Action, AuditEntry
from hub.web_pages import sessions
from hub.web_pages.access import allow, me, public, read_form
from hub.web_pages.render import page
from hub.web_pages.state import PAGES

routes = web.RouteTableDef()
HOME = "/admin/"
MAX_FIELD = 256


def _next(value: str | None) -> str:
    """Where to go after signing in: a page of the admin only (never another host: no open redirect)."""
    if value and value.startswith("/admin/") and not value.startswith("//") and "\\" not in value:
        return value
    return HOME


@routes.get("/sign-in")
@public
async def sign_in_form(request: web.Request) -> web.Response:
    return page(request, "sign_in.html", {"next": _next(request.query.get("next")), "failed": None})


def _field(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        return ""
    return value


@routes.post("/sign-in")
@public
async def sign_in(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    form = await read_form(request)
    username, password = _field(form, "username").strip(), _field(form, "password")
    target = _next(_field(form, "next"))
    address = request.remote or ""
    # Counted before the (slow) password check, so parallel guesses cannot all pass the limit meanwhile.
    wait = pages.throttle.attempt(username if USERNAME.fullmatch(username) else "(invalid)", address)
    account = None if wait is not None or not password else await pages.off_loop(
        pages.accounts.verify, username, password
    )  # fmt: skip
    result = "ok" if account else "throttled" if wait is not None else "bad_credentials"
    # A typed name is kept only when it is an account's: a password typed into the name field is never stored.
    typed = username if pages.accounts.find(username) is not None else "(unknown)"
    await pages.record(
        AuditEntry(
            action=Action.SIGN_IN,
            result=result,
            actor=account.username if account else typed,
            site_id=account.site_id if account else None,
            address=address,
            at=pages.clock(),
        )
    )
    if wait is not None:
        response = page(request, "sign_in.html", {"next": target, "failed": "throttled", "retry_after": wait}, 429)
        response.headers["Retry-After"] = str(int(wait))
        return response
    if account is None:
        return page(request, "sign_in.html", {"next": target, "failed": "bad_credentials"}, 401)
    session = await new_session(request)  # a fresh session: nothing of the anonymous one carries over
    sessions.sign_in(session, account, pages.clock())
    raise web.HTTPSeeOther(target)


@routes.post("/sign-out")
@allow(*Role)
async def sign_out(request: web.Request) -> web.Response:
    pages, account = request.app[PAGES], me(request)
    (await get_session(request)).invalidate()
    await pages.record(
        AuditEntry(
            action=Action.SIGN_OUT,
            result="ok",
            actor=account.username,
            site_id=account.site_id,
            address=request.remote,
            at=pages.clock(),
        )
    )
    raise web.HTTPSeeOther("/admin/sign-in")

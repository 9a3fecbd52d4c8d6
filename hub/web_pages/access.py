"""Access control of the pages, in one place: each handler declares who may use it (``@allow(Role.ADMIN, ...)`` or
``@public``); ``guard``, the pages' middleware, signs the session in or out, checks the CSRF token of every
state-changing request, then the role, then the scope: a ``{site}`` in the route must be the account's own site
(administrators: any), a ``{window}`` the staff account's own window. A route that declares nothing is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_request import FileField
from aiohttp_session import Session, get_session
from multidict import MultiDictProxy

from hub.accounts import Account, Role
from hub.audit import Action, AuditEntry
from hub.web_pages import sessions, texts
from hub.web_pages.render import Handler, refusal, wants_json
from hub.web_pages.state import ACCOUNT, CSRF, LANG, PAGES, Pages

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN_PATH = "/admin/sign-in"


@dataclass(frozen=True)
class Access:
    roles: frozenset[Role]
    """Empty: anyone, signed in or not."""


def allow(*roles: Role) -> Callable[[Handler], Handler]:
    def declare(handler: Handler) -> Handler:
        handler.access = Access(frozenset(roles))  # type: ignore[attr-defined]
        return handler

    return declare


def public(handler: Handler) -> Handler:
    return allow()(handler)


def me(request: web.Request) -> Account:
    """The signed-in account of a page that declared roles (``guard`` let the request through)."""
    account: Account | None = request.get(ACCOUNT)
    if account is None:
        raise RuntimeError("me() on a public page")
    return account


async def _current(request: web.Request, pages: Pages, session: Session) -> Account | None:
    """The account the session is signed in as, or None; an expired session is emptied and its end recorded."""
    signed = sessions.signed_in(session, pages.clock(), pages.settings)
    if signed is None:
        return None
    account = await pages.off_loop(pages.accounts.find, signed.username)
    ended = signed.expired or ("account_changed" if account is None or account.password_tag != signed.password_tag
                               else None)  # fmt: skip
    if ended is None:
        return account
    session.invalidate()
    await pages.record(
        AuditEntry(
            action=Action.SESSION_EXPIRED,
            result=ended,
            actor=signed.username,
            site_id=account.site_id if account else None,
            address=request.remote,
            at=pages.clock(),
        )
    )
    return None


async def _csrf_given(request: web.Request) -> str | None:
    header = request.headers.get(sessions.CSRF_HEADER)
    if header is not None:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = (await read_form(request)).get(sessions.CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
    """The request's form; one that cannot be read (broken multipart, not UTF-8, a charset nobody knows) is a 400
    ``malformed``."""
    try:
        return await request.post()
    except (ValueError, LookupError):
        raise refusal(request, 400, "malformed", "The form could not be read") from None


def _check_scope(request: web.Request, access: Access, account: Account | None) -> None:
    if not access.roles:
        return
    if account is None:
        if request.method in SAFE_METHODS and not wants_json(request):
            raise web.HTTPSeeOther(f"{SIGN_IN_PATH}?next={quote(request.path_qs, safe='/')}")
        raise refusal(request, 401, "signed_out", "Please sign in")
    if account.role not in access.roles:
        raise refusal(request, 403, "wrong_role", "Your role may not open this page")
    site, window = request.match_info.get("site"), request.match_info.get("window")
    if site is not None and not account.may_see_site(site):
        raise refusal(request, 403, "wrong_site", "This page belongs to another site")
    if site is not None and window is not None and not account.may_see_window(site, window):
        raise refusal(request, 403, "wrong_window", "This page belongs to another window")


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    pages = request.app[PAGES]
    lang = texts.language(request)
    request[LANG] = lang
    route = request.match_info.route
    if isinstance(route.resource, web.StaticResource) or request.match_info.http_exception is not None:
        return await handler(request)
    access: Access | None = getattr(route.handler, "access", None)
    session = await get_session(request)
    account = await _current(request, pages, session)
    request[ACCOUNT] = account
    request[CSRF] = sessions.csrf_token(session)
    if access is None:
        log.error("page %s declares no access; refused", request.path)
        raise refusal(request, 403, "undeclared", "This page declares no access")
    if request.method not in SAFE_METHODS and not sessions.csrf_matches(session, await _csrf_given(request)):
        raise refusal(request, 403, "csrf", "The form has expired: reload the page and try again")
    _check_scope(request, access, account)
    response = await handler(request)
    if texts.chosen(request) is not None:
        texts.remember(response, lang)
    return response

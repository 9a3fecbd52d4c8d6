"""Counter staff of a site (who signs in at a caller with a PIN) and the web accounts, each change audited.

``/admin/sites/{site}/staff`` (the site's manager, an administrator): add a clerk (id, name, PIN typed twice), reset a
PIN, remove a clerk. ``/admin/accounts``: an administrator manages every account; a manager adds, sets the password
of and removes the staff accounts of their own site only (never an administrator, a manager or another site's,
never their own). A new password ends the account's sessions (their digest of the password hash no longer matches).

PINs and passwords are typed twice, checked by the rules of ``hub.staff`` and ``hub.accounts``, hashed off the event
loop, and never shown again, kept in clear, audited or put in a URL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from aiohttp import web

from engine.district import Site
from hub.accounts import MAX_NAME, USERNAME, Account, AccountError, Accounts, Role, check_password
from hub.audit import Action
from hub.staff import PIN, STAFF_ID, StaffDirectory, StaffError, StaffMember
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, names, page, refusal, site_of
from hub.web_pages.state import PAGES
from hub.web_pages.views.changes import (
    EMPTY_FORM,
    Fields,
    _,
    confirm,
    done,
    invalid,
    notice,
    read_fields,
    record_change,
)

routes = web.RouteTableDef()

NAME_LIMIT = 64
"""A clerk's name (the ``staff.name`` column; an account's is ``hub.accounts.MAX_NAME``)."""
SECRET_LIMIT = 256
"""A PIN or password field read at all (a password's own limit, ``hub.accounts.MAX_PASSWORD``)."""
_staff_changes = threading.Lock()
"""A staff id is checked free (or still the site's) and written in one step: ``StaffDirectory.add`` would replace
another site's clerk of the same id."""


def _typed_twice(fields: Fields, name: str, again: str, rule: Callable[[str], str | None], differ: str) -> str:
    """A secret typed twice: the first; a message by it when ``rule`` finds it wrong, else by the second when the
    two differ."""
    first, second = fields.text(name, SECRET_LIMIT, secret=True), fields.text(again, SECRET_LIMIT, secret=True)
    if name not in fields.errors:
        problem = rule(first)
        if problem is not None:
            fields.wrong(name, problem)
        elif first != second:
            fields.wrong(again, differ)
    return first


# --- counter staff -----------------------------------------------------------------------------------------------


def _directory(request: web.Request) -> StaffDirectory:
    staff = request.app[PAGES].hall.gateway.staff
    if staff is None:
        raise refusal(request, 404, "no_staff", "This hub keeps no counter staff")
    return staff


def _clerk(member: StaffMember) -> dict[str, str]:
    """What the page and the audit show of a clerk (never the PIN's hash)."""
    return {"staff_id": member.staff_id, "name": member.name}


def _staff_back(site: Site) -> str:
    return f"/admin/sites/{site.id}/staff"


async def _staff_list(request: web.Request, site: Site) -> dict[str, Any]:
    staff = _directory(request)
    members = [_clerk(m) for m in await request.app[PAGES].off_loop(staff.all) if m.site_id == site.id]
    return {"ok": True, "site": {"site_id": site.id, **names(site)}, "staff": members, "form": EMPTY_FORM,
            "notice": notice(request)}  # fmt: skip


async def _member_of(request: web.Request, site: Site) -> StaffMember:
    """The route's clerk, of the route's site (another site's is as unknown as none)."""
    member = await request.app[PAGES].off_loop(_directory(request).rows.get, request.match_info["staff"])
    if member is None or member.site_id != site.id:
        raise refusal(request, 404, "no_staff_member", "No such staff member")
    return member


def _pin_rule(pin: str) -> str | None:
    return None if PIN.fullmatch(pin) else _("A PIN is 4 to 12 digits")


def _pin(fields: Fields) -> str:
    return _typed_twice(fields, "pin", "pin_again", _pin_rule, _("The two PINs differ: type the same PIN twice"))


def _add_clerk(staff: StaffDirectory, site_id: str, staff_id: str, name: str, pin: str) -> StaffMember | None:
    """The clerk added, or None when the staff id is taken (at any site)."""
    with _staff_changes:
        if staff.rows.get(staff_id) is not None:
            return None
        return staff.add(site_id, staff_id, name, pin)


def _set_pin(staff: StaffDirectory, member: StaffMember, pin: str) -> StaffMember | None:
    """The clerk with the new PIN, or None when they left the site meanwhile."""
    with _staff_changes:
        now = staff.rows.get(member.staff_id)
        if now is None or now.site_id != member.site_id:
            return None
        return staff.add(now.site_id, now.staff_id, now.name, pin)


@add_page(routes, "/sites/{site}/staff")
@allow(Role.ADMIN, Role.MANAGER)
async def staff_page(request: web.Request) -> web.Response:
    site = site_of(request)
    return page(request, "staff.html", await _staff_list(request, site))


@routes.post("/sites/{site}/staff")
@allow(Role.ADMIN, Role.MANAGER)
async def add_staff(request: web.Request) -> web.Response:
    pages, site, staff = request.app[PAGES], site_of(request), _directory(request)
    fields = await read_fields(request)
    staff_id, name = fields.text("staff_id", 32), fields.text("name", NAME_LIMIT)
    if "staff_id" not in fields.errors and not STAFF_ID.fullmatch(staff_id):
        fields.wrong("staff_id", _("A staff id is 1 to 32 letters, digits, _ or -"))
    if "name" not in fields.errors and not name:
        fields.wrong("name", _("Type the clerk's name, as the caller shows it"))
    pin = _pin(fields)
    member = None
    if fields.ok:
        member = await pages.off_loop(_add_clerk, staff, site.id, staff_id, name, pin)
        if member is None:
            fields.wrong("staff_id", _("This staff id is taken: choose another"))
    if member is None:
        return invalid(request, "staff.html", await _staff_list(request, site), fields)
    await record_change(request, Action.STAFF_ADDED, site_id=site.id, subject=f"staff:{member.staff_id}",
                        before=None, after=_clerk(member))  # fmt: skip
    return done(request, _staff_back(site), Action.STAFF_ADDED, member.staff_id)


def _pin_page(site: Site, member: StaffMember) -> dict[str, Any]:
    return {"ok": True, "site": {"site_id": site.id, **names(site)}, "member": _clerk(member), "form": EMPTY_FORM}


@add_page(routes, "/sites/{site}/staff/{staff}/pin")
@allow(Role.ADMIN, Role.MANAGER)
async def pin_form(request: web.Request) -> web.Response:
    site = site_of(request)
    return page(request, "staff_pin.html", _pin_page(site, await _member_of(request, site)))


@routes.post("/sites/{site}/staff/{staff}/pin")
@allow(Role.ADMIN, Role.MANAGER)
async def reset_pin(request: web.Request) -> web.Response:
    pages, site = request.app[PAGES], site_of(request)
    member = await _member_of(request, site)
    fields = await read_fields(request)
    pin = _pin(fields)
    if not fields.ok:
        return invalid(request, "staff_pin.html", _pin_page(site, member), fields)
    changed = await pages.off_loop(_set_pin, _directory(request), member, pin)
    if changed is None:
        raise refusal(request, 404, "no_staff_member", "No such staff member")
    await record_change(request, Action.STAFF_PIN_RESET, site_id=site.id, subject=f"staff:{member.staff_id}",
                        before=_clerk(member), after=_clerk(changed))  # fmt: skip
    return done(request, _staff_back(site), Action.STAFF_PIN_RESET, member.staff_id)


@add_page(routes, "/sites/{site}/staff/{staff}/remove")
@allow(Role.ADMIN, Role.MANAGER)
async def remove_staff_confirm(request: web.Request) -> web.Response:
    site = site_of(request)
    member = await _member_of(request, site)
    return confirm(
        request, title=_("Remove a clerk"), subject=f"{member.name} ({member.staff_id})", back=_staff_back(site),
        question=_("Remove {subject}? They can no longer sign in at a window of this site."), button=_("Remove"),
    )  # fmt: skip


@routes.post("/sites/{site}/staff/{staff}/remove")
@allow(Role.ADMIN, Role.MANAGER)
async def remove_staff(request: web.Request) -> web.Response:
    pages, site = request.app[PAGES], site_of(request)
    member = await _member_of(request, site)
    await read_fields(request)  # a body that cannot be read is refused (400), as by every change
    try:
        await pages.off_loop(_directory(request).remove, member.staff_id)
    except StaffError:
        raise refusal(request, 404, "no_staff_member", "No such staff member") from None
    await record_change(request, Action.STAFF_REMOVED, site_id=site.id, subject=f"staff:{member.staff_id}",
                        before=_clerk(member), after=None)  # fmt: skip
    return done(request, _staff_back(site), Action.STAFF_REMOVED, member.staff_id)


# --- web accounts ------------------------------------------------------------------------------------------------

ACCOUNTS = "/admin/accounts"
NOT_YOURS = _("A manager changes only the staff accounts of their own site")


def may_change(actor: Account, account: Account) -> bool:
    """An administrator changes any account; a manager the staff accounts of their own site."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.MANAGER and account.role == Role.STAFF and account.site_id == actor.site_id


def _summary(account: Account) -> dict[str, Any]:
    """What the page and the audit show of an account (never the password's hash)."""
    return {"username": account.username, "name": account.name, "role": account.role.value,
            "site_id": account.site_id, "window_id": account.window_id}  # fmt: skip


def _row(accounts: Accounts, account: Account) -> dict[str, Any]:
    site = accounts.district.site(account.site_id) if account.site_id else None
    window = site.window(account.window_id) if site and account.window_id else None
    return {**_summary(account), "site": names(site) if site else None, "window": names(window) if window else None,
            "created_at": account.created_at.isoformat(timespec="seconds")}  # fmt: skip


async def _accounts_list(request: web.Request) -> dict[str, Any]:
    pages, actor = request.app[PAGES], me(request)
    accounts = [a for a in await pages.off_loop(pages.accounts.all) if may_change(actor, a)]
    district = pages.accounts.district
    sites = [site for site in district.sites if actor.role == Role.ADMIN or site.id == actor.site_id]
    return {
        "ok": True, "accounts": [_row(pages.accounts, a) for a in accounts],
        "roles": [role.value for role in Role] if actor.role == Role.ADMIN else [Role.STAFF.value],
        "sites": [{"site_id": site.id, **names(site),
                   "windows": [{"window_id": w.id, **names(w)} for w in site.windows]} for site in sites],
        "form": EMPTY_FORM, "notice": notice(request),
    }  # fmt: skip


async def _account_of(request: web.Request) -> Account:
    """The route's account, if the signed-in one may change it: to a manager, one they may not change is refused
    as one that does not exist is (403: they cannot probe for names)."""
    pages, actor = request.app[PAGES], me(request)
    account = await pages.off_loop(pages.accounts.find, request.match_info["username"])
    if account is not None and may_change(actor, account):
        return account
    if actor.role == Role.ADMIN:
        raise refusal(request, 404, "no_account", "No such account")
    raise refusal(request, 403, "not_yours", NOT_YOURS)


def _password_rule(password: str) -> str | None:
    try:
        check_password(password)
    except AccountError as error:  # its words are in the catalog: tests/web/test_people_pages.py checks
        return str(error)
    return None


def _password(fields: Fields) -> str:
    return _typed_twice(fields, "password", "password_again", _password_rule,
                        _("The two passwords differ: type the same one twice"))  # fmt: skip


def _scope(request: web.Request, fields: Fields) -> tuple[Role, str | None, str | None]:
    """The role, site and window of a new account, checked as ``Accounts.add`` checks them, each message by its
    field. A manager's are fixed (staff of their own site): another role or site asked for is refused (403)."""
    actor, district = me(request), request.app[PAGES].accounts.district
    role_text, site_id, window_id = fields.text("role", 16), fields.text("site", 64), fields.text("window", 64)
    role = next((role for role in Role if role.value == role_text), None)
    if actor.role == Role.MANAGER:
        if (role_text and role != Role.STAFF) or (site_id and site_id != actor.site_id):
            raise refusal(request, 403, "not_yours", NOT_YOURS)
        role, site_id = Role.STAFF, actor.site_id or ""
    if role is None:
        fields.wrong("role", _("Choose the account's role"))
        return Role.STAFF, None, None
    if role == Role.ADMIN:
        if site_id:
            fields.wrong("site", _("An administrator sees every site: choose no site"))
        if window_id:
            fields.wrong("window", _("Only a staff account has a window: choose none"))
        return role, None, None
    site = district.site(site_id) if site_id else None
    if site is None:
        fields.wrong("site", _("Choose the site this account works at"))
    elif role == Role.STAFF and site.window(window_id) is None:
        fields.wrong("window", _("Choose a window of the account's site"))
    elif role == Role.MANAGER and window_id:
        fields.wrong("window", _("A manager sees the whole site: choose no window"))
    return role, site_id or None, window_id if role == Role.STAFF else None


@add_page(routes, "/accounts")
@allow(Role.ADMIN, Role.MANAGER)
async def accounts_page(request: web.Request) -> web.Response:
    return page(request, "accounts.html", await _accounts_list(request))


@routes.post("/accounts")
@allow(Role.ADMIN, Role.MANAGER)
async def add_account(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    fields = await read_fields(request)
    username, name = fields.text("username", 32), fields.text("name", MAX_NAME)
    if "username" not in fields.errors and not USERNAME.fullmatch(username):
        fields.wrong("username", _("A username is 1 to 32 letters, digits, '.', '_' or '-'"))
    role, site_id, window_id = _scope(request, fields)
    password = _password(fields)
    account = None
    if fields.ok:
        add = partial(pages.accounts.add, username, password, role, name=name, site_id=site_id, window_id=window_id)
        try:
            account = await pages.off_loop(add)
        except AccountError:  # the checks above passed: only the name, taken
            fields.wrong("username", _("This username is taken: choose another"))
    if account is None:
        return invalid(request, "accounts.html", await _accounts_list(request), fields)
    await record_change(request, Action.ACCOUNT_ADDED, site_id=account.site_id, subject=f"account:{username}",
                        before=None, after=_summary(account))  # fmt: skip
    return done(request, ACCOUNTS, Action.ACCOUNT_ADDED, username)


def _password_page(request: web.Request, account: Account) -> dict[str, Any]:
    return {"ok": True, "account": _row(request.app[PAGES].accounts, account), "form": EMPTY_FORM,
            "own": account.username == me(request).username}  # fmt: skip


@add_page(routes, "/accounts/{username}/password")
@allow(Role.ADMIN, Role.MANAGER)
async def password_form(request: web.Request) -> web.Response:
    account = await _account_of(request)
    return page(request, "accounts_password.html", _password_page(request, account))


@routes.post("/accounts/{username}/password")
@allow(Role.ADMIN, Role.MANAGER)
async def set_password(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    account = await _account_of(request)
    fields = await read_fields(request)
    password = _password(fields)
    if not fields.ok:
        return invalid(request, "accounts_password.html", _password_page(request, account), fields)
    try:
        changed = await pages.off_loop(pages.accounts.set_password, account.username, password)
    except AccountError:  # removed meanwhile
        raise refusal(request, 404, "no_account", "No such account") from None
    await record_change(request, Action.ACCOUNT_PASSWORD_SET, site_id=account.site_id,
                        subject=f"account:{account.username}", before=_summary(account),
                        after=_summary(changed))  # fmt: skip
    return done(request, ACCOUNTS, Action.ACCOUNT_PASSWORD_SET, account.username)


OWN_ACCOUNT = _("{subject} is your own account: another administrator may remove it")


@add_page(routes, "/accounts/{username}/remove")
@allow(Role.ADMIN, Role.MANAGER)
async def remove_account_confirm(request: web.Request) -> web.Response:
    account = await _account_of(request)
    own = account.username == me(request).username
    return confirm(
        request, title=_("Remove an account"), subject=account.username, back=ACCOUNTS,
        question=_("Remove the account {subject}? It is signed out at its next click and cannot sign in again."),
        button=_("Remove"), blocked=OWN_ACCOUNT if own else None,
    )  # fmt: skip


@routes.post("/accounts/{username}/remove")
@allow(Role.ADMIN, Role.MANAGER)
async def remove_account(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    account = await _account_of(request)
    if account.username == me(request).username:
        raise refusal(request, 403, "own_account", "You cannot remove your own account")
    await read_fields(request)  # a body that cannot be read is refused (400), as by every change
    try:
        await pages.off_loop(pages.accounts.remove, account.username)
    except AccountError:  # removed meanwhile
        raise refusal(request, 404, "no_account", "No such account") from None
    await record_change(request, Action.ACCOUNT_REMOVED, site_id=account.site_id,
                        subject=f"account:{account.username}", before=_summary(account), after=None)  # fmt: skip
    return done(request, ACCOUNTS, Action.ACCOUNT_REMOVED, account.username)

"""The district's configuration, changed from the pages while the hall runs: a site's window-matter grid and its
settings (a site's manager, an administrator), the matter catalogue and the holiday calendar (administrators; a
manager may read them), and the versions saved.

Every form is drawn from the district in force and carries the digest of the part it edits (``base``). A save is read
by ``config_forms`` into an edit of the district and made by ``Configuration.change``: in force at once, sent to the
devices, audited. A form whose part changed since it was drawn is refused (409, nothing saved); one with problems is
drawn again as it was typed with each problem beside its field (422); a saved one sends the browser back to the form
(303, ``?saved=<version>``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from engine.district import District, Matter, Site, Tier
from hub.accounts import Role
from hub.configuration import ConfigRejected, Configuration
from hub.web_pages import config_forms as forms
from hub.web_pages import texts
from hub.web_pages.access import allow, me, read_form
from hub.web_pages.render import add_page, names, page, refusal, site_of
from hub.web_pages.state import LANG, PAGES

routes = web.RouteTableDef()

_SAVED = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Drawn:
    """A form as it is drawn: its fields' values (as the district has them, or as typed), their problems placed
    (``config_forms.placed``), the status, and a notice (``unchanged``) or None."""

    values: dict[str, str]
    problems: dict[str, Any] = field(default_factory=forms.nothing_placed)
    status: int = 200
    notice: str | None = None


Redraw = Callable[[Drawn], web.Response]


def _configuration(request: web.Request) -> Configuration:
    return request.app[PAGES].configuration


def _english(request: web.Request) -> bool:
    return request.get(LANG) == texts.ENGLISH


def _is_admin(request: web.Request) -> bool:
    return me(request).role == Role.ADMIN


def _matter_of(request: web.Request) -> Matter:
    matter = _configuration(request).district.matter(request.match_info["code"])
    if matter is None:
        raise refusal(request, 404, "no_matter", "No such matter")
    return matter


def form_page(
    request: web.Request, template: str, data: dict[str, Any], subject: str | None, drawn: Drawn, *, was: dict[str, str]
) -> web.Response:
    """A configuration form: what it shows (``data``), its fields as drawn and their problems, the fields as in force
    (``was``: the script marks what differs), and the version in force."""
    configuration = _configuration(request)
    saved = request.query.get("saved", "")
    common = {
        "ok": drawn.status < 400, "version": configuration.version, "values": drawn.values, "was": was,
        "base": configuration.digest(subject) if subject else "", "problems": drawn.problems, "notice": drawn.notice,
        "saved": int(saved) if drawn.status == 200 and _SAVED.fullmatch(saved) else None,
    }  # fmt: skip
    if drawn.status == 422:
        common["error"] = {"code": "invalid", "message": "Some values need correcting"}
    return page(request, template, {**data, **common}, drawn.status)


async def form_fields(request: web.Request) -> dict[str, str]:
    """The posted configuration form (``config_forms.fields_of``); one these pages did not draw is refused (400)."""
    form = await read_form(request)
    try:
        return forms.fields_of(form.items())
    except forms.Malformed:
        raise malformed(request) from None


def malformed(request: web.Request) -> web.HTTPException:
    """The 400 of a form these pages did not draw (``config_forms.Malformed``)."""
    return refusal(request, 400, "malformed", "The form could not be read")


def _stale(request: web.Request, reload: str) -> web.Response:
    error = {"code": "stale", "message": "Someone saved a change here since this form was opened"}
    return page(request, "configure_stale.html", {"ok": False, "error": error, "reload": reload}, 409)


async def _save(
    request: web.Request, fields: dict[str, str], parse: Callable[[District], forms.Parsed], redraw: Redraw, *,
    subject: str | None, reload: str, done: Callable[[forms.Parsed], str], site_id: str | None = None,
) -> web.Response:  # fmt: skip
    """Check the form against the part as it is now (``subject``; None: a new part), read it, save it."""
    configuration = _configuration(request)
    district = configuration.district
    try:
        if subject is not None and forms.base_of(fields) != configuration.digest(subject):
            return _stale(request, reload)
        parsed = parse(district)
    except forms.Malformed:
        raise malformed(request) from None
    if parsed.problems:
        return redraw(Drawn(fields, forms.placed(forms.all_problems(parsed, district), parsed.locate), 422))
    try:
        saved = await configuration.change(
            parsed.edit, subject=parsed.subject, base=parsed.base, actor=me(request).username, reason=parsed.reason,
            site_id=site_id, address=request.remote,
        )  # fmt: skip
    except ConfigRejected as refused:
        if refused.code == "stale":
            return _stale(request, reload)
        if refused.code == "unchanged":
            return redraw(Drawn(fields, notice="unchanged"))
        return redraw(Drawn(fields, forms.placed(refused.problems, parsed.locate), 422))
    raise web.HTTPSeeOther(f"{done(parsed)}?saved={saved.version}")


async def save_site(
    request: web.Request, site: Site, section: str, fields: dict[str, str], *,
    parse: Callable[[District], forms.Parsed], redraw: Redraw,
) -> web.Response:  # fmt: skip
    """A form of one site's own (``/admin/sites/<site>/<section>``) saved as ``_save`` does, against the site as it is
    now; the browser goes back to the form."""
    path = f"/admin/sites/{site.id}/{section}"
    return await _save(
        request, fields, parse, redraw, subject=f"site:{site.id}", reload=path, done=lambda _parsed: path,
        site_id=site.id,
    )  # fmt: skip


def site_head(site: Site) -> dict[str, Any]:
    """The site as a form's page names it (its id, names and tier)."""
    return {"site_id": site.id, **names(site), "tier": site.tier.value}


# --- the window-matter grid ---------------------------------------------------------------------------------


def _grid(request: web.Request, site: Site, drawn: Drawn) -> web.Response:
    district = _configuration(request).district
    groups: list[dict[str, Any]] = []
    for code in site.matters:
        matter = district.matter(code)
        if matter is None:
            continue
        if not groups or groups[-1]["prefix"] != matter.prefix:
            groups.append({"prefix": matter.prefix, "category": matter.category, "matters": []})
        groups[-1]["matters"].append({"code": code, **names(matter)})
    windows = [{"window_id": w.id, "number": w.number, **names(w), "zone": w.zone, "weights": w.weights}
               for w in site.windows]  # fmt: skip
    data = {"site": site_head(site), "groups": groups, "windows": windows, "new": forms.NEW,
            "weights": [min(forms.WEIGHTS), max(forms.WEIGHTS)]}  # fmt: skip
    return form_page(request, "configure_grid.html", data, f"site:{site.id}", drawn, was=forms.grid_values(site))


@add_page(routes, "/sites/{site}/matrix")
@allow(Role.ADMIN, Role.MANAGER)
async def grid_page(request: web.Request) -> web.Response:
    site = site_of(request)
    return _grid(request, site, Drawn(forms.grid_values(site)))


@routes.post("/sites/{site}/matrix")
@allow(Role.ADMIN, Role.MANAGER)
async def grid_save(request: web.Request) -> web.Response:
    site = site_of(request)
    fields = await form_fields(request)
    return await save_site(
        request, site, "matrix", fields, parse=lambda district: forms.parse_grid(fields, district, site.id),
        redraw=lambda drawn: _grid(request, site, drawn),
    )  # fmt: skip


# --- a site's settings --------------------------------------------------------------------------------------


def _settings(request: web.Request, site: Site, drawn: Drawn) -> web.Response:
    district = _configuration(request).district
    matters = [
        {"code": m.code, **names(m), "category": m.category, "prefix": m.prefix, "daily_limit": m.daily_limit,
         "offered": m.code in site.matters, "windows": [w.number for w in site.windows if w.serves(m.code)]}
        for m in district.catalogue
    ]  # fmt: skip
    data = {
        "site": site_head(site), "matters": matters, "may_set_tier": _is_admin(request),
        "tiers": [tier.value for tier in Tier],
        "weekdays": [{"day": day, "zh": zh, "en": en} for day, (zh, en) in forms.WEEKDAYS.items()],
        "windows": [{"window_id": w.id, "number": w.number, **names(w)} for w in site.windows],
        "notice_max": forms.NOTICE_MAX, "target_wait_max": forms.TARGET_WAIT_MAX,
    }  # fmt: skip
    was = forms.settings_values(site, district)
    return form_page(request, "configure_site.html", data, f"site:{site.id}", drawn, was=was)


@add_page(routes, "/sites/{site}/settings")
@allow(Role.ADMIN, Role.MANAGER)
async def settings_page(request: web.Request) -> web.Response:
    site = site_of(request)
    return _settings(request, site, Drawn(forms.settings_values(site, _configuration(request).district)))


@routes.post("/sites/{site}/settings")
@allow(Role.ADMIN, Role.MANAGER)
async def settings_save(request: web.Request) -> web.Response:
    site = site_of(request)
    fields = await form_fields(request)
    admin = _is_admin(request)
    if "tier" in fields and not admin:
        raise refusal(request, 403, "wrong_role", "Only a district administrator may change the tier")
    return await save_site(
        request, site, "settings", fields,
        parse=lambda district: forms.parse_settings(fields, district, site.id, may_set_tier=admin),
        redraw=lambda drawn: _settings(request, site, drawn),
    )  # fmt: skip


# --- the matter catalogue -----------------------------------------------------------------------------------


def _offered_at(district: District, code: str) -> list[dict[str, str]]:
    return [{"site_id": site.id, **names(site)} for site in district.sites if code in site.matters]


def _matter_head(district: District, matter: Matter) -> dict[str, Any]:
    return {
        "code": matter.code, **names(matter), "category": matter.category, "prefix": matter.prefix,
        "daily_limit": matter.daily_limit, "appointment_allowed": matter.appointment_allowed,
        "green_channel": matter.green_channel, "materials": len(matter.materials),
        "offered_at": _offered_at(district, matter.code),
    }  # fmt: skip


def _catalogue(request: web.Request, drawn: Drawn) -> web.Response:
    district = _configuration(request).district
    data = {
        "matters": [_matter_head(district, matter) for matter in district.catalogue],
        "categories": sorted({matter.category for matter in district.catalogue}),
        "may_edit": _is_admin(request), "rows": forms.material_rows(drawn.values),
    }  # fmt: skip
    return form_page(request, "configure_catalogue.html", data, None, drawn, was=forms.matter_values(None))


def _matter(request: web.Request, matter: Matter, drawn: Drawn) -> web.Response:
    district = _configuration(request).district
    data = {
        "matter": _matter_head(district, matter), "may_edit": _is_admin(request),
        "rows": forms.material_rows(drawn.values), "categories": sorted({each.category for each in district.catalogue}),
    }  # fmt: skip
    was = forms.matter_values(matter)
    return form_page(request, "configure_matter.html", data, f"matter:{matter.code}", drawn, was=was)


@add_page(routes, "/catalogue")
@allow(Role.ADMIN, Role.MANAGER)
async def catalogue_page(request: web.Request) -> web.Response:
    return _catalogue(request, Drawn(forms.matter_values(None)))


@routes.post("/catalogue")
@allow(Role.ADMIN)
async def catalogue_add(request: web.Request) -> web.Response:
    fields = await form_fields(request)
    return await _save(
        request, fields, lambda district: forms.parse_matter(fields, district, None),
        lambda drawn: _catalogue(request, drawn),
        subject=None, reload="/admin/catalogue",
        done=lambda parsed: f"/admin/catalogue/{quote(parsed.subject.removeprefix('matter:'), safe='')}",
    )  # fmt: skip


@add_page(routes, "/catalogue/{code}")
@allow(Role.ADMIN, Role.MANAGER)
async def matter_page(request: web.Request) -> web.Response:
    matter = _matter_of(request)
    return _matter(request, matter, Drawn(forms.matter_values(matter)))


@routes.post("/catalogue/{code}")
@allow(Role.ADMIN)
async def matter_save(request: web.Request) -> web.Response:
    matter = _matter_of(request)
    fields = await form_fields(request)
    path = f"/admin/catalogue/{quote(matter.code, safe='')}"
    return await _save(
        request, fields, lambda district: forms.parse_matter(fields, district, matter.code),
        lambda drawn: _matter(request, matter, drawn),
        subject=f"matter:{matter.code}", reload=path, done=lambda _parsed: path,
    )  # fmt: skip


# --- the holiday calendar -----------------------------------------------------------------------------------


def _calendar(request: web.Request, drawn: Drawn) -> web.Response:
    calendar = _configuration(request).district.calendar
    data = {"may_edit": _is_admin(request), "holidays": len(calendar.holidays),
            "makeup_workdays": len(calendar.makeup_workdays)}  # fmt: skip
    was = forms.calendar_values(calendar, english=_english(request))
    return form_page(request, "configure_calendar.html", data, "calendar", drawn, was=was)


@add_page(routes, "/calendar")
@allow(Role.ADMIN, Role.MANAGER)
async def calendar_page(request: web.Request) -> web.Response:
    calendar = _configuration(request).district.calendar
    return _calendar(request, Drawn(forms.calendar_values(calendar, english=_english(request))))


@routes.post("/calendar")
@allow(Role.ADMIN)
async def calendar_save(request: web.Request) -> web.Response:
    fields = await form_fields(request)
    return await _save(
        request, fields, lambda district: forms.parse_calendar(fields, district),
        lambda drawn: _calendar(request, drawn),
        subject="calendar", reload="/admin/calendar", done=lambda _parsed: "/admin/calendar",
    )  # fmt: skip


# --- the versions ---------------------------------------------------------------------------------------------


@add_page(routes, "/config/versions")
@allow(Role.ADMIN, Role.MANAGER)
async def versions_page(request: web.Request) -> web.Response:
    pages = request.app[PAGES]
    configuration = pages.configuration
    versions = await pages.off_loop(configuration.store.district_versions)
    sites = configuration.district.sites
    zone = ZoneInfo(sites[0].timezone if sites else "Asia/Shanghai")
    shown = [
        {"version": v.version, "saved_at": v.saved_at.isoformat(), "author": v.author, "reason": v.reason,
         "local": f"{v.saved_at.astimezone(zone):%Y-%m-%d %H:%M}"}
        for v in versions
    ]  # fmt: skip
    return page(request, "configure_versions.html", {"ok": True, "version": configuration.version, "versions": shown})

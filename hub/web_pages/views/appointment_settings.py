"""A site's booking rules (预约规则), changed from the pages while the hall runs: the slot length, the share of each
matter's daily limit kept for walk-ins (as a percentage) and how many days ahead a slot may be booked, or the hub's
``[appointments]`` defaults (``Site.appointments`` None). A site's manager or an administrator; staff are refused.

The form is saved as the other configuration forms are (``views.configure``): against the digest of the site it was
drawn from (409 when someone saved the site since), each problem beside its field in the engine's words (422), a
reason required, in force at once through ``Configuration.change``. Below the form, what a manager weighs: the
site's next open day under the rules, for each matter it lets be booked — the slots, the places in each, the places
kept for walk-ins and the places booked already (``AppointmentDesk.outlook``). "Preview" draws that table for the
rules as typed, saving nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
from aiohttp import web

from engine.district import AppointmentPolicy, District, Site
from hub.accounts import Role
from hub.appointments import AppointmentDesk, AppointmentRules
from hub.appointments.desk import Outlook
from hub.web_pages import config_forms as forms
from hub.web_pages.access import allow
from hub.web_pages.render import add_page, names, refusal, site_of
from hub.web_pages.state import PAGES
from hub.web_pages.views.configure import Drawn, form_fields, form_page, malformed, save_site, site_head

routes = web.RouteTableDef()

USE_DEFAULTS, SLOT, SHARE, AHEAD, PREVIEW = "use_defaults", "slot_minutes", "walk_in_percent", "days_ahead", "preview"
_FIELD_OF = {"slot_minutes": SLOT, "walk_in_share": SHARE, "days_ahead": AHEAD}
"""The form field beside which a problem of ``sites.<site>.appointments.<key>`` stands."""
_PERCENT = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,2})?)\s*%?")


def _desk(request: web.Request) -> AppointmentDesk:
    desk = request.app[PAGES].hall.gateway.appointments
    if desk is None:
        raise refusal(request, 404, "no_appointments", "This hub takes no appointments")
    return desk


def percent(share: float) -> str:
    """A share as the form shows it: 0.3 -> ``30``, 0.125 -> ``12.5``."""
    return f"{round(share * 100, 2):g}"


def _policy_or_defaults(site: Site, defaults: AppointmentRules) -> AppointmentPolicy:
    return site.appointments or AppointmentPolicy(
        slot_minutes=defaults.slot_minutes, walk_in_share=defaults.walk_in_share, days_ahead=defaults.days_ahead
    )


def values(site: Site, defaults: AppointmentRules) -> dict[str, str]:
    """The form's fields as the site has them; with the hub's defaults shown (and ticked) when it sets none."""
    shown = _policy_or_defaults(site, defaults)
    drawn = {SLOT: str(shown.slot_minutes), SHARE: percent(shown.walk_in_share), AHEAD: str(shown.days_ahead)}
    return drawn | ({USE_DEFAULTS: "on"} if site.appointments is None else {})


def parse(
    fields: Mapping[str, str], district: District, site_id: str, defaults: AppointmentRules, *, saving: bool
) -> forms.Parsed:
    """The form as an edit of the site's policy. A value that cannot be read keeps the site's (or the default's),
    so the engine judges the others; ticking the defaults ignores the three values. ``saving``: a reason is needed."""
    site = forms.known_site(district, site_id)
    form = forms.Form(fields)
    base = f"sites.{site_id}.appointments"
    defaults_wanted = form.ticked(USE_DEFAULTS)
    form.ticked(PREVIEW)
    mark = len(form.problems)
    slot = form.integer(SLOT, f"{base}.slot_minutes", ("预约时段长度（分钟）", "slot length in minutes"))
    share = _share(form, f"{base}.walk_in_share")
    ahead = form.integer(AHEAD, f"{base}.days_ahead", ("可提前预约的天数", "days ahead"))
    if defaults_wanted:
        del form.problems[mark:]
    reason = form.reason()
    if saving and not reason:
        form.problem(forms.REASON, "请填写修改原因", "Please give the reason for the change")
    form.finish()
    kept = _policy_or_defaults(site, defaults)
    policy = None if defaults_wanted else AppointmentPolicy(
        slot_minutes=kept.slot_minutes if slot is None else slot,
        walk_in_share=kept.walk_in_share if share is None else share,
        days_ahead=kept.days_ahead if ahead is None else ahead,
    )  # fmt: skip

    def edit(before: District) -> District:
        current = before.site(site_id)
        if current is None:
            return before
        return forms.with_site(before, msgspec.structs.replace(current, appointments=policy))

    def locate(path: str) -> str | None:
        if path == forms.REASON:
            return forms.REASON
        key = forms.under(path, base)
        return None if key is None else _FIELD_OF.get(key)

    return forms.Parsed(f"site:{site_id}", forms.base_of(fields), reason, edit, form.problems, locate)


def _share(form: forms.Form, where: str) -> float | None:
    """The walk-in share typed as a percentage (``30``, ``12.5``, ``30%``), as a fraction; None when unreadable."""
    raw = form.number_text(SHARE)
    found = _PERCENT.fullmatch(raw)
    if found is None or float(found[1]) > 100:
        shown = forms.quoted(raw)
        form.problem(where, f"留给现场取号的比例须为 0 至 100 之间的百分数（如 30），现为“{shown}”",
                     f'The walk-in share must be a percentage from 0 to 100 (such as 30); it is "{shown}"')  # fmt: skip
        return None
    return round(float(found[1]) / 100, 4)


def _outlook(district: District, outlook: Outlook) -> dict[str, Any]:
    rules = outlook.rules
    matters = []
    for day in outlook.matters:
        matter = district.matter(day.matter)
        shown = names(matter) if matter is not None else {"name_zh": day.matter, "name_en": day.matter}
        matters.append({
            "code": day.matter, **shown, "slots": day.slots, "fewest": day.fewest, "most": day.most,
            "bookable": day.bookable, "walk_ins": day.walk_ins, "booked": day.booked,
        })  # fmt: skip
    return {
        "day": outlook.day.isoformat() if outlook.day else None, "last_day": outlook.last_day.isoformat(),
        "slot_minutes": rules.slot_minutes, "walk_in_percent": percent(rules.walk_in_share),
        "days_ahead": rules.days_ahead, "matters": matters,
    }  # fmt: skip


async def _draw_data(request: web.Request, site: Site, preview: Site | None = None) -> dict[str, Any]:
    """What the page shows besides the form: the site's next open day under its rules, the same under the rules as
    typed (``preview``: each matter's row with the figures in force as ``now``), and the hub's defaults."""
    pages = request.app[PAGES]
    desk = _desk(request)
    district = pages.configuration.district
    now = pages.clock()
    in_force = _outlook(district, await pages.off_loop(desk.outlook, site, now))
    shown = None
    if preview is not None:
        shown = _outlook(district, await pages.off_loop(desk.outlook, preview, now))
        now_by_code = {row["code"]: row for row in in_force["matters"]}
        for row in shown["matters"]:
            row["now"] = now_by_code.get(row["code"])
    defaults = desk.rules
    return {
        "site": site_head(site), "outlook": in_force, "preview": shown,
        "defaults": {"slot_minutes": defaults.slot_minutes, "walk_in_percent": percent(defaults.walk_in_share),
                     "days_ahead": defaults.days_ahead},
    }  # fmt: skip


def _page(request: web.Request, site: Site, data: dict[str, Any], drawn: Drawn) -> web.Response:
    was = values(site, _desk(request).rules)
    return form_page(request, "configure_appointments.html", data, f"site:{site.id}", drawn, was=was)


@add_page(routes, "/sites/{site}/appointments")
@allow(Role.ADMIN, Role.MANAGER)
async def appointments_page(request: web.Request) -> web.Response:
    site = site_of(request)
    data = await _draw_data(request, site)
    return _page(request, site, data, Drawn(values(site, _desk(request).rules)))


@routes.post("/sites/{site}/appointments")
@allow(Role.ADMIN, Role.MANAGER)
async def appointments_save(request: web.Request) -> web.Response:
    site = site_of(request)
    fields = await form_fields(request)
    defaults = _desk(request).rules
    if PREVIEW in fields:
        return await _preview(request, site, fields, defaults)
    data = await _draw_data(request, site)
    return await save_site(
        request, site, "appointments", fields,
        parse=lambda district: parse(fields, district, site.id, defaults, saving=True),
        redraw=lambda drawn: _page(request, site, data, drawn),
    )  # fmt: skip


async def _preview(
    request: web.Request, site: Site, fields: dict[str, str], defaults: AppointmentRules
) -> web.Response:
    """The form drawn again as typed, with the table for its rules beside the one in force; nothing saved."""
    district = request.app[PAGES].configuration.district
    try:
        parsed = parse(fields, district, site.id, defaults, saving=False)
    except forms.Malformed:
        raise malformed(request) from None
    problems = forms.all_problems(parsed, district)
    if problems:
        data = await _draw_data(request, site)
        return _page(request, site, data, Drawn(fields, forms.placed(problems, parsed.locate), 422))
    typed = parsed.edit(district).site(site.id)
    data = await _draw_data(request, site, typed)
    return _page(request, site, data, Drawn(fields))

"""Reports by day, week, month or range with charts and exports (issue 14; hub.reports, docs/reports.md).

``/admin/reports`` asks its report in the query string (a GET form, so a report has a link of its own):

- ``period``: ``day``, ``week`` (Monday to Sunday), ``month`` (default) with ``date`` (``YYYY-MM-DD``, any day in
  the period; default today), or ``range`` with ``start`` and ``end`` (both included, at most ``MAX_DAYS`` days);
- ``site``, repeated: the sites (none: every site the reader may see);
- ``by``: the breakdown, ``site`` (default), ``matter``, ``window``, ``staff`` or ``day``;
- ``print=1``: the printable page (no navigation, no form, tables fit A4).

A parameter that cannot be read is answered 400 ``bad_query`` with a message saying which and how. An administrator
reads any sites; a hall manager only their own (another site: 403 ``wrong_site``); staff none. The page draws its
charts with Apache ECharts, served by the hub itself (``/admin/reports/echarts.min.js``, from node_modules).
``/admin/reports/export.csv`` and ``export.xlsx`` take the same parameters (``hub.reports.export``).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from engine.calendar import local_day
from engine.district import District
from hub.accounts import Account, Role
from hub.reports import export
from hub.reports.figures import report
from hub.reports.model import Breakdown, Period, Report, ReportQuery
from hub.reports.projection import Projector
from hub.store.sql import SqlStore
from hub.web_pages.access import allow, me
from hub.web_pages.render import add_page, names, page, refusal, wants_json
from hub.web_pages.state import LANG, PAGES, Pages
from hub.web_pages.texts import ENGLISH
from hub.web_pages.views.changes import _

routes = web.RouteTableDef()

MAX_DAYS = 400
"""The longest range one report covers (a year and some)."""
ECHARTS = Path(__file__).resolve().parents[3] / "node_modules" / "echarts" / "dist" / "echarts.min.js"
PERIODS = {
    Period.DAY: _("One day"),
    Period.WEEK: _("One week"),
    Period.MONTH: _("One month"),
    Period.RANGE: _("Chosen days"),
}
BREAKDOWNS = {
    Breakdown.SITE: _("By site"),
    Breakdown.MATTER: _("By matter"),
    Breakdown.WINDOW: _("By window"),
    Breakdown.STAFF: _("By clerk"),
    Breakdown.DAY: _("By day"),
}
PROBLEMS = {
    "period": _("The period must be day, week, month or range"),
    "by": _("The breakdown must be site, matter, window, staff or day"),
    "date": _("The date must be written YYYY-MM-DD"),
    "start": _("The first day must be written YYYY-MM-DD"),
    "end": _("The last day must be written YYYY-MM-DD"),
    "range": _("A range needs its first and last day (start and end)"),
    "order": _("The last day comes before the first day"),
    "long": _("A report covers at most 400 days"),
    "site": _("No such site"),
}
"""What a query that cannot be read is answered (400 ``bad_query``), by what is wrong."""


@dataclass(frozen=True)
class BadQuery(Exception):
    problem: str


def _day(text: str, problem: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadQuery(problem) from None


def days_of(period: Period, day: date) -> tuple[date, date]:
    """The first and last day of the day, week (Monday to Sunday) or month that ``day`` is in."""
    if period == Period.WEEK:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if period == Period.MONTH:
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return day, day


def parse_query(
    params: Mapping[str, str], sites_asked: list[str], district: District, account: Account, today: date
) -> ReportQuery:
    """The report a query string asks for; ``BadQuery`` if it cannot be read; a manager asking for another site:
    ``PermissionError``. A manager's sites are always their own."""
    try:
        period = Period(params.get("period", "") or Period.MONTH)
    except ValueError:
        raise BadQuery("period") from None
    try:
        by = Breakdown(params.get("by", "") or Breakdown.SITE)
    except ValueError:
        raise BadQuery("by") from None
    if period == Period.RANGE:
        if not params.get("start") or not params.get("end"):
            raise BadQuery("range")
        start, end = _day(params["start"], "start"), _day(params["end"], "end")
    else:
        start, end = days_of(period, _day(params["date"], "date") if params.get("date") else today)
    if end < start:
        raise BadQuery("order")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadQuery("long")
    known = {site.id for site in district.sites}
    asked = tuple(dict.fromkeys(site.strip() for site in sites_asked if site.strip()))
    if any(site not in known for site in asked):
        raise BadQuery("site")
    if account.role != Role.ADMIN:
        if any(site != account.site_id for site in asked):
            raise PermissionError(account.site_id)
        asked = (account.site_id or "",)
    return ReportQuery(start=start, end=end, sites=asked, by=by, period=period)


def query_string(query: ReportQuery, **extra: str) -> str:
    """The parameters that ask for ``query`` again (the export links, the printable page)."""
    if query.period == Period.RANGE:
        params = [("period", "range"), ("start", query.start.isoformat()), ("end", query.end.isoformat())]
    else:
        params = [("period", query.period.value), ("date", query.start.isoformat())]
    params += [("site", site) for site in query.sites] + [("by", query.by.value)] + list(extra.items())
    return urlencode(params)


def _today(pages: Pages, account: Account) -> date:
    district = pages.hall.district
    site = district.site(account.site_id) if account.site_id else None
    return local_day(site or district.sites[0], pages.clock())


def _query(request: web.Request) -> ReportQuery:
    pages, account = request.app[PAGES], me(request)
    try:
        return parse_query(request.query, request.query.getall("site", []), pages.hall.district, account,
                           _today(pages, account))  # fmt: skip
    except BadQuery as bad:
        raise refusal(request, 400, "bad_query", PROBLEMS[bad.problem]) from None
    except PermissionError:
        raise refusal(request, 403, "wrong_site", "This page belongs to another site") from None


async def _report(request: web.Request, query: ReportQuery) -> Report:
    pages = request.app[PAGES]
    store = pages.configuration.store
    if not isinstance(store, SqlStore):
        raise refusal(request, 404, "no_reports", "Reports need the hub's SQL database")
    district = pages.hall.district

    def figured() -> Report:
        Projector(store.engine).project(district)  # the read models caught up with the log (nothing new: a look)
        return report(store.engine, district, query, now=pages.clock())

    return await pages.off_loop(figured)


def _choices(district: District, account: Account, query: ReportQuery) -> dict[str, Any]:
    """The form: its choices and what is chosen."""
    sites = district.sites if account.role == Role.ADMIN else [s for s in district.sites if s.id == account.site_id]
    return {
        "periods": [{"value": period.value, "label": label} for period, label in PERIODS.items()],
        "breakdowns": [{"value": by.value, "label": label} for by, label in BREAKDOWNS.items()],
        "sites": [{"site_id": site.id, **names(site), "chosen": site.id in query.sites} for site in sites],
        "period": query.period.value,
        "by": query.by.value,
        "date": query.start.isoformat(),
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
    }


def _tables(report: Report, english: bool) -> list[dict[str, Any]]:
    return [{"name": t.name, "headers": t.headers, "rows": t.rows} for t in export.tables(report, english)]


def _groups(report: Report, english: bool) -> list[dict[str, Any]]:
    """The breakdown's column groups, a table each (export.COLUMN_GROUPS)."""
    return [{"name": t.name, "headers": t.headers, "rows": t.rows} for t in export.breakdown_groups(report, english)]


@add_page(routes, "/reports")
@allow(Role.ADMIN, Role.MANAGER)
async def reports_page(request: web.Request) -> web.Response:
    query = _query(request)
    report = await _report(request, query)
    account, district = me(request), request.app[PAGES].hall.district
    data: dict[str, Any] = {"ok": True, "report": msgspec.to_builtins(report)}
    if not wants_json(request):
        english = request.get(LANG) == ENGLISH
        data |= {
            "form": _choices(district, account, query),
            "tables": _tables(report, english),
            "groups": _groups(report, english),
            "by_name": export.BREAKDOWN_NAMES[query.by][1 if english else 0],
            "printing": request.query.get("print") == "1",
            "again": query_string(query),
            "headline": {
                "issued": report.total.issued,
                "served": report.total.served,
                "mean_wait": export.minutes(report.total.wait.mean),
                "within_target": export.percent(report.total.within_target),
                "satisfied": export.percent(report.total.ratings.satisfied),
                "ratings": report.total.ratings.count,
                "peak_hours": [f"{hour:02d}:00" for hour in report.peak_hours],
            },
        }
    return page(request, "reports.html", data)


async def _export(request: web.Request, extension: str, content_type: str) -> web.Response:
    query = _query(request)
    report = await _report(request, query)
    english = request.get(LANG) == ENGLISH
    body = export.to_csv(report, english) if extension == "csv" else export.to_xlsx(report, english)
    disposition = f'attachment; filename="{export.file_name(report, extension)}"'
    return web.Response(body=body, headers={"Content-Type": content_type, "Content-Disposition": disposition})


@routes.get("/reports/export.csv")
@allow(Role.ADMIN, Role.MANAGER)
async def export_csv(request: web.Request) -> web.Response:
    return await _export(request, "csv", "text/csv; charset=utf-8")


@routes.get("/reports/export.xlsx")
@allow(Role.ADMIN, Role.MANAGER)
async def export_xlsx(request: web.Request) -> web.Response:
    return await _export(request, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@routes.get("/reports/echarts.min.js")
@allow(Role.ADMIN, Role.MANAGER)
async def echarts(request: web.Request) -> web.StreamResponse:
    """Apache ECharts from the npm package ``make deps`` installs (never a CDN)."""
    if not ECHARTS.is_file():
        raise refusal(request, 404, "no_echarts", "The charts' script is not installed (make deps)")
    return web.FileResponse(ECHARTS, headers={"Cache-Control": "private, max-age=86400"})

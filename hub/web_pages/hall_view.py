"""The live view of a site as JSON-ready data: the live hall page, the district wall and every client of their
streams (docs/web.md has the shape). Built ON THE HUB'S WRITER THREAD (``HallReader.on_writer``), where the
states change: from the district, the site's state, its wait estimator, the store (when a paused window paused)
and, read beforehand off the writer, the provisioned devices, their retained statuses and the clerks' names.

Alerts: a matter whose longest waiting ticket has waited longer than the site's ``rules.target_wait_minutes``; a
window paused longer than ``PAUSE_ALERT_MINUTES``; a device whose retained status says offline, or provisioned and
never heard of; a kiosk asking for staff (``help: requested`` in its status); a printer out of paper or in trouble
(``paper_low`` is a notice); another part of a device that is not ok (``id_reader``, ``camera``, ``led``,
``audio``). ``alerts_due_at`` is when the next one falls due if nothing else happens, so the page is sent again
then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import contract as wire
from engine import events as ev
from engine.calendar import day_bounds, local_day, local_time, open_period
from engine.district import District, Site
from engine.state import SiteState, Ticket, TicketStatus
from hub.devices import Device
from hub.gateway import Gateway
from hub.site_info import SummaryWaits
from hub.web_pages.render import names

PAUSE_ALERT_MINUTES = 10
"""A window paused longer than this is an alert. A module constant, not a ``[web]`` setting: hub/config.py is not
this module's (docs/web.md)."""

HIGH, LOW = "high", "low"
"""An alert's severity: someone must act now, or soon."""

PRINTER_FINE = frozenset({"ok", "unchecked"})
"""``printer`` values of a kiosk's status that need nobody (kiosk/printer.py: a file or a profile without status
answers ``unchecked``)."""
PRINTER_NOTICE = frozenset({"paper_low"})
PART_FINE = frozenset({"ok"})
STATUS_KEYS = frozenset({"printer", "help", "help_at"})
"""The keys of a status's detail this view reads itself; any other key is a part of the device (``id_reader``,
``camera``, ``led``, ``audio``) whose value is ``ok`` or its trouble."""


@dataclass(frozen=True)
class Known:
    """What the views need from outside the hall's states, read off the writer thread beforehand."""

    devices: Sequence[Device] = ()
    """The provisioned devices of the district that are not revoked."""
    statuses: Mapping[str, wire.DeviceStatus] = field(default_factory=dict)
    """Device id → its retained status, as the hub last heard it."""
    clerks: Mapping[str, str] = field(default_factory=dict)
    """Staff id → name, of the counter staff (``hall-hub staff``)."""


def _local(site: Site, at: datetime) -> str:
    """A moment as the site's local time to the second (every time of a view is one)."""
    return local_time(site, at).isoformat(timespec="seconds")


def _minutes(since: datetime, now: datetime) -> float:
    return round(max((now - since).total_seconds(), 0.0) / 60.0, 1)


def _served_matters(ticket: Ticket) -> Iterable[str]:
    """The matters of a ticket finished so far today (a ticket's step moves on as each one is done)."""
    done = ticket.matters[: ticket.step]
    return (*done, ticket.matter) if ticket.status == TicketStatus.DONE else done


def matters_view(
    district: District, site: Site, state: SiteState, estimates: Mapping[str, float | None], now: datetime
) -> list[dict[str, Any]]:
    """Each matter of the site: waiting, issued and served today, its longest wait and the wait a new ticket can
    expect (``estimates``, None when no open window serves it)."""
    waiting: dict[str, int] = {}
    oldest: dict[str, datetime] = {}
    for ticket_id in state.waiting:
        ticket = state.tickets[ticket_id]
        waiting[ticket.matter] = waiting.get(ticket.matter, 0) + 1
        since = ticket.key[0]
        if ticket.matter not in oldest or since < oldest[ticket.matter]:
            oldest[ticket.matter] = since
    served: dict[str, int] = {}
    for ticket in state.tickets.values():
        for code in _served_matters(ticket):
            served[code] = served.get(code, 0) + 1
    target = timedelta(minutes=site.rules.target_wait_minutes)
    rows = []
    for code in site.matters:
        matter = district.matter(code)
        if matter is None:
            continue
        longest = _minutes(oldest[code], now) if code in oldest else None
        over = code in oldest and now - oldest[code] > target
        rows.append({
            "code": code, **names(matter), "waiting": waiting.get(code, 0), "issued": state.issued.get(code, 0),
            "served": served.get(code, 0), "longest_wait_minutes": longest,
            "estimated_wait_minutes": estimates.get(code), "over_target": over,
            "waiting_since": _local(site, oldest[code]) if code in oldest else None,
        })  # fmt: skip
    return rows


def _window_state(state: SiteState, window_id: str) -> str:
    window = state.window(window_id)
    if not window.is_open:
        return "closed"
    if window.paused:
        return "paused"
    if window.current is None:
        return "open"
    current = state.tickets.get(window.current)
    return "serving" if current is not None and current.status == TicketStatus.SERVING else "called"


def windows_view(
    site: Site, state: SiteState, clerks: Mapping[str, str], paused_at: Mapping[str, datetime], now: datetime
) -> list[dict[str, Any]]:
    """Each window: closed, open (free), called, serving or paused; its clerk's name (never a staff id), its
    current ticket's number, and how long it has been paused."""
    rows = []
    for window in site.windows:
        live = state.window(window.id)
        current = state.tickets.get(live.current) if live.current else None
        since = paused_at.get(window.id) if live.paused else None
        too_long = since is not None and now - since > timedelta(minutes=PAUSE_ALERT_MINUTES)
        rows.append({
            "window_id": window.id, "number": window.number, **names(window), "state": _window_state(state, window.id),
            "clerk": clerks.get(live.staff_id) if live.is_open else None,
            "current": current.number if current is not None else None,
            "pause_reason": live.pause_reason if live.paused else "",
            "paused_since": _local(site, since) if since else None,
            "paused_minutes": _minutes(since, now) if since else None, "paused_too_long": too_long,
        })  # fmt: skip
    return rows


def device_view(device: Device, status: wire.DeviceStatus | None) -> dict[str, Any]:
    """A provisioned device as its retained status tells: ``online`` None when it never reported; its printer, its
    help request and its other parts only while it is online (an offline device's last words are old news)."""
    online = status.online if status is not None else None
    detail = status.detail if status is not None and status.online else {}
    return {
        "device_id": device.device_id, "kind": device.kind.value, "window_id": device.window_id, "online": online,
        "reported_at": status.at.isoformat() if status is not None and status.at else None,
        "printer": detail.get("printer"), "help_requested": detail.get("help") == "requested",
        "help_at": detail.get("help_at") if detail.get("help") == "requested" else None,
        "faults": {part: value for part, value in sorted(detail.items())
                   if part not in STATUS_KEYS and value not in PART_FINE},
    }  # fmt: skip


def devices_view(site: Site, known: Known) -> dict[str, Any]:
    """The site's provisioned devices (by kind, then id) with their counts online and not."""
    mine = sorted((d for d in known.devices if d.site_id == site.id and not d.revoked),
                  key=lambda d: (d.kind.value, d.device_id))  # fmt: skip
    items = [device_view(device, known.statuses.get(device.device_id)) for device in mine]
    online = sum(item["online"] is True for item in items)
    return {"online": online, "offline": len(items) - online, "items": items}


def _alert(kind: str, severity: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, **fields}


def _pick(row: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: row[key] for key in keys}


def alerts_view(
    site: Site, matters: list[dict[str, Any]], windows: list[dict[str, Any]], devices: dict[str, Any]
) -> list[dict[str, Any]]:
    """What someone must see to: the urgent (``high``) first, each kind in a fixed order."""
    found = [
        _alert("help_requested", HIGH, device_id=device["device_id"], since=device["help_at"])
        for device in devices["items"]
        if device["help_requested"]
    ]
    target = site.rules.target_wait_minutes
    found += [
        _alert("wait_over_target", HIGH, **_pick(matter, "code", "name_zh", "name_en"),
               minutes=matter["longest_wait_minutes"], target=target)
        for matter in matters
        if matter["over_target"]
    ]  # fmt: skip
    found += [
        _alert("window_paused", HIGH, **_pick(window, "window_id", "number", "name_zh", "name_en"),
               minutes=window["paused_minutes"], limit=PAUSE_ALERT_MINUTES)
        for window in windows
        if window["paused_too_long"]
    ]  # fmt: skip
    for device in devices["items"]:
        found += _device_alerts(device)
    return sorted(found, key=lambda alert: alert["severity"] != HIGH)


def _device_alerts(device: dict[str, Any]) -> list[dict[str, Any]]:
    who = {"device_id": device["device_id"], "device_kind": device["kind"]}
    found = []
    if device["online"] is False:
        found.append(_alert("device_offline", HIGH, **who, since=device["reported_at"]))
    elif device["online"] is None:
        found.append(_alert("device_silent", LOW, **who))
    printer = device["printer"]
    if printer is not None and printer not in PRINTER_FINE:
        found.append(_alert("printer", LOW if printer in PRINTER_NOTICE else HIGH, **who, state=printer))
    found += [_alert("device_fault", LOW, **who, part=part, state=value) for part, value in device["faults"].items()]
    return found


def alerts_due_at(site: Site, state: SiteState, paused_at: Mapping[str, datetime], now: datetime) -> datetime | None:
    """The first moment after ``now`` at which a waiting ticket passes the target or a paused window the pause
    limit, if nothing else happens first."""
    target = timedelta(minutes=site.rules.target_wait_minutes)
    due = [state.tickets[ticket_id].key[0] + target for ticket_id in state.waiting]
    pause = timedelta(minutes=PAUSE_ALERT_MINUTES)
    due += [since + pause for window_id, since in paused_at.items() if state.window(window_id).paused]
    return min((moment for moment in due if moment > now), default=None)


class SiteViews:
    """Builds the sites' live views. Used on the writer thread only: it keeps the wait estimates (at most a minute
    old, as the kiosks' district summary: an estimate replays the queue) and the moments the paused windows paused
    (read from the day's events once per change of the site)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.waits = SummaryWaits(gateway.estimators)
        self._paused: dict[str, tuple[int, dict[str, datetime]]] = {}
        """Per site: (the state's seq when read, window id → when it paused)."""

    def paused_at(self, site: Site, state: SiteState, now: datetime) -> dict[str, datetime]:
        """When each window paused now paused its current pause: the last ``WindowPaused`` of today's log."""
        if not any(window.paused for window in state.windows.values()):
            return {}
        kept = self._paused.get(site.id)
        if kept is not None and kept[0] == state.seq:
            return kept[1]
        start, end = day_bounds(site, state.day or local_day(site, now))
        found: dict[str, datetime] = {}
        for event in self.gateway.service.store.events_of_type(site.id, "WindowPaused", start, end):
            if isinstance(event, ev.WindowPaused) and state.window(event.window_id).paused:
                found[event.window_id] = event.at
        self._paused[site.id] = (state.seq, found)
        return found

    def site(self, site_id: str, known: Known, now: datetime) -> dict[str, Any]:
        """The live view of one site (KeyError for a site the district does not have)."""
        district = self.gateway.district
        site = district.site(site_id)
        if site is None:
            raise KeyError(site_id)
        state = self.gateway.service.state(site_id)
        is_open = state.day_open and open_period(site, district.calendar, now) is not None
        estimates = self.waits.of(district, site, state, now) if is_open else self.waits.closed(site)
        paused_at = self.paused_at(site, state, now)
        matters = matters_view(district, site, state, estimates, now)
        windows = windows_view(site, state, known.clerks, paused_at, now)
        devices = devices_view(site, known)
        longest = max((m["longest_wait_minutes"] for m in matters if m["longest_wait_minutes"] is not None),
                      default=None)  # fmt: skip
        due = alerts_due_at(site, state, paused_at, now)
        return {
            "site_id": site.id, **names(site), "tier": site.tier.value,
            "at": _local(site, now),
            "day": state.day.isoformat() if state.day else None, "day_open": state.day_open, "open_now": is_open,
            "target_wait_minutes": site.rules.target_wait_minutes, "pause_alert_minutes": PAUSE_ALERT_MINUTES,
            "issued": len(state.tickets),
            "served": sum(ticket.status == TicketStatus.DONE for ticket in state.tickets.values()),
            "waiting": len(state.waiting), "longest_wait_minutes": longest,
            "windows_open": sum(window["state"] != "closed" for window in windows), "windows_total": len(windows),
            "matters": matters, "windows": windows, "devices": devices,
            "alerts": alerts_view(site, matters, windows, devices),
            "alerts_due_at": _local(site, due) if due else None,
        }  # fmt: skip

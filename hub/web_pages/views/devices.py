"""Devices of a site (the site's manager, an administrator): the list with each device's connection as its retained
status tells, provisioning, a new password (rotation) and revocation, each audited.

A password is shown once, on the answer to the POST that made it (``Cache-Control: no-store``), with the settings
the device needs as TOML (``--config`` of the device apps, devicekit/settings.py) and as a QR code of the same text
for the installer; it is never stored in clear, logged, audited or put in a URL. The broker's address in them is
the hub's as this browser reached it and the device apps' default port, for the installer to check.

With an external broker whose accounts the hub keeps (``[broker] accounts``), the registry is a ``BrokeredRegistry``:
a broker that refuses or does not answer is answered 503 with what was kept (``hub.broker_accounts``): no device
added, the old password still in force, or a revocation that stands in the hub but may not on the broker.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

import qrcode  # type: ignore[import-untyped]  # python-escpos's dependency; no type hints
import qrcode.constants  # type: ignore[import-untyped]
import qrcode.image.svg  # type: ignore[import-untyped]
import tomli_w
from aiohttp import web

import contract as wire
from contract import DeviceKind
from engine.calendar import local_time
from engine.district import Site
from hub.accounts import Role
from hub.audit import Action
from hub.broker_accounts import BrokerAccountsError
from hub.devices import WINDOW_KINDS, Credentials, Device, DeviceError
from hub.web_pages.access import allow
from hub.web_pages.hall_view import device_view
from hub.web_pages.render import add_page, names, page, refusal, site_of, wants_json
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

routes = web.RouteTableDef()

log = logging.getLogger(__name__)

REVOKED = _("{subject} is revoked: add a new device instead")
NOT_ADDED = _("The broker did not take the device's account: the device was not added. Try again when it answers")
NOT_ROTATED = _("The broker did not take the new password: nothing changed, the old one still works. Try again later")
REVOKED_HERE_ONLY = _("{subject} is revoked in the hub, but the broker may still admit it: run hall-hub device sync")


def _when(site: Site, at: datetime | None) -> str | None:
    return None if at is None else local_time(site, at).isoformat(timespec="seconds")


def _row(site: Site, device: Device, status: wire.DeviceStatus | None) -> dict[str, Any]:
    """A device as the list shows it: what it is, when it was provisioned or revoked, and (while it is in use) its
    connection, printer and parts as its retained status tells."""
    seen = device_view(device, None if device.revoked else status)
    window = site.window(device.window_id) if device.window_id else None
    return {
        **seen, "window": None if window is None else names(window),
        "provisioned_at": _when(site, device.created_at), "revoked": device.revoked,
        "revoked_at": _when(site, device.revoked_at),
    }  # fmt: skip


def _summary(device: Device) -> dict[str, Any]:
    """What the audit keeps of a device (never a hash)."""
    return {"device_id": device.device_id, "kind": device.kind.value, "window_id": device.window_id,
            "revoked": device.revoked}  # fmt: skip


async def _list(request: web.Request, site: Site) -> dict[str, Any]:
    pages = request.app[PAGES]
    statuses = dict(pages.hall.statuses)  # copied here: the loop changes it
    mine = [device for device in await pages.off_loop(pages.devices.all) if device.site_id == site.id]
    mine.sort(key=lambda device: (device.revoked, device.kind.value, device.device_id))
    return {
        "ok": True, "site": {"site_id": site.id, **names(site)},
        "devices": [_row(site, device, statuses.get(device.device_id)) for device in mine],
        "kinds": [{"kind": kind.value, "window": kind in WINDOW_KINDS} for kind in DeviceKind],
        "windows": [{"window_id": w.id, **names(w)} for w in site.windows],
        "form": EMPTY_FORM, "once": SentOnce.token(), "notice": notice(request),
    }  # fmt: skip


async def _device_of(request: web.Request, site: Site) -> Device:
    """The route's device, of the route's site (another site's is as unknown as none)."""
    pages = request.app[PAGES]
    device = await pages.off_loop(pages.devices.get, request.match_info["device"])
    if device is None or device.site_id != site.id:
        raise refusal(request, 404, "no_device", "No such device")
    return device


async def _broker_failed(
    request: web.Request, site: Site, fields: Fields, error: BrokerAccountsError, message: str, **values: str
) -> web.Response:
    """The list again, 503, with what the broker's failure left done (the operator's detail goes to the log)."""
    log.warning("the broker's device account was not changed: %s", error)
    fields.wrong("device", message, **values)
    data = {**await _list(request, site), "ok": False, "form": fields.shown(),
            "error": {"code": "broker_unavailable", "message": message}}  # fmt: skip
    return page(request, "devices.html", data, 503)


def _back(site: Site) -> str:
    return f"/admin/sites/{site.id}/devices"


@add_page(routes, "/sites/{site}/devices")
@allow(Role.ADMIN, Role.MANAGER)
async def devices_page(request: web.Request) -> web.Response:
    site = site_of(request)
    return page(request, "devices.html", await _list(request, site))


def _provision_fields(fields: Fields, site: Site) -> tuple[DeviceKind | None, str | None]:
    """The kind and window asked for, checked as ``DeviceRegistry.provision`` checks them, each message by its
    field."""
    kind_text, window_id = fields.text("kind", 32), fields.text("window", 64) or None
    kind = next((kind for kind in DeviceKind if kind.value == kind_text), None)
    if kind is None:
        fields.wrong("kind", _("Choose what kind of device this is"))
    elif kind in WINDOW_KINDS and window_id is None:
        fields.wrong("window", _("This kind of device belongs to a window: choose its window"))
    elif kind not in WINDOW_KINDS and window_id is not None:
        fields.wrong("window", _("This kind of device belongs to no window: leave the window empty"))
    if window_id is not None and "window" not in fields.errors and site.window(window_id) is None:
        fields.wrong("window", _("No such window at this site"))
    return kind, window_id


@routes.post("/sites/{site}/devices")
@allow(Role.ADMIN, Role.MANAGER)
async def provision(request: web.Request) -> web.Response:
    pages, site = request.app[PAGES], site_of(request)
    fields = await read_fields(request)
    check_once(request, fields)
    kind, window_id = _provision_fields(fields, site)
    if kind is None or not fields.ok:
        return invalid(request, "devices.html", await _list(request, site), fields)
    try:
        credentials = await pages.off_loop(pages.devices.provision, site.id, kind, None, window_id)
    except DeviceError:  # only an id taken meanwhile by another provisioning: the checks above passed
        fields.wrong("kind", _("The device could not be added just now: try again"))
        return invalid(request, "devices.html", await _list(request, site), fields)
    except BrokerAccountsError as error:
        return await _broker_failed(request, site, fields, error, NOT_ADDED)
    device = await pages.off_loop(pages.devices.get, credentials.device_id)
    assert device is not None
    subject = f"device:{device.device_id}"
    await record_change(request, Action.DEVICE_PROVISIONED, site_id=site.id, subject=subject, before=None,
                        after=_summary(device))  # fmt: skip
    return _credentials_page(request, site, device, credentials, Action.DEVICE_PROVISIONED)


@add_page(routes, "/sites/{site}/devices/{device}/rotate")
@allow(Role.ADMIN, Role.MANAGER)
async def rotate_confirm(request: web.Request) -> web.Response:
    site = site_of(request)
    device = await _device_of(request, site)
    return confirm(
        request, title=_("New password"), subject=device.device_id, back=_back(site),
        question=_("Give {subject} a new password? It cannot connect with the old one from now on."),
        button=_("Make a new password"), blocked=REVOKED if device.revoked else None,
    )  # fmt: skip


@routes.post("/sites/{site}/devices/{device}/rotate")
@allow(Role.ADMIN, Role.MANAGER)
async def rotate(request: web.Request) -> web.Response:
    pages, site = request.app[PAGES], site_of(request)
    device = await _device_of(request, site)
    fields = await read_fields(request)
    check_once(request, fields)
    if device.revoked:
        fields.wrong("device", REVOKED, subject=device.device_id)
    if not fields.ok:
        return invalid(request, "devices.html", await _list(request, site), fields)
    try:
        rotated, credentials = await pages.off_loop(pages.devices.rotate, device.device_id)
    except DeviceError:  # revoked meanwhile
        fields.wrong("device", REVOKED, subject=device.device_id)
        return invalid(request, "devices.html", await _list(request, site), fields)
    except BrokerAccountsError as error:
        return await _broker_failed(request, site, fields, error, NOT_ROTATED)
    await record_change(request, Action.DEVICE_ROTATED, site_id=site.id, subject=f"device:{device.device_id}",
                        before=_summary(device), after=_summary(rotated))  # fmt: skip
    return _credentials_page(request, site, rotated, credentials, Action.DEVICE_ROTATED)


@add_page(routes, "/sites/{site}/devices/{device}/revoke")
@allow(Role.ADMIN, Role.MANAGER)
async def revoke_confirm(request: web.Request) -> web.Response:
    site = site_of(request)
    device = await _device_of(request, site)
    return confirm(
        request, title=_("Revoke a device"), subject=device.device_id, back=_back(site),
        question=_("Revoke {subject} for good? It can no longer connect, and its id is never given out again."),
        button=_("Revoke"), blocked=_("{subject} is revoked already") if device.revoked else None,
    )  # fmt: skip


@routes.post("/sites/{site}/devices/{device}/revoke")
@allow(Role.ADMIN, Role.MANAGER)
async def revoke(request: web.Request) -> web.Response:
    pages, site = request.app[PAGES], site_of(request)
    device = await _device_of(request, site)
    fields = await read_fields(request)  # a body that cannot be read is refused (400), as by every change
    if device.revoked:
        return done(request, _back(site), Action.DEVICE_REVOKED, device.device_id)
    failed: BrokerAccountsError | None = None
    try:
        revoked = await pages.off_loop(pages.devices.revoke, device.device_id)
    except BrokerAccountsError as error:  # revoked in the hub all the same
        failed, revoked = error, replace(device, revoked_at=pages.clock())
    await record_change(request, Action.DEVICE_REVOKED, site_id=site.id, subject=f"device:{device.device_id}",
                        before=_summary(device), after=_summary(revoked))  # fmt: skip
    if failed is not None:
        return await _broker_failed(request, site, fields, failed, REVOKED_HERE_ONLY, subject=device.device_id)
    return done(request, _back(site), Action.DEVICE_REVOKED, device.device_id)


# --- the answer that shows a password once ------------------------------------------------------------------------

APPS = {
    DeviceKind.KIOSK: ("hall-kiosk --config kiosk.toml", "KIOSK"),
    DeviceKind.CALLER: ("hall-caller caller.toml", "CALLER"),
    DeviceKind.BOARD: ("hall-board --config board.toml", "BOARD"),
    DeviceKind.WINDOW_SCREEN: ("hall-window-screen --config screen.toml", "SCREEN"),
    DeviceKind.EVALUATOR: ("hall-keypads --config keypads.toml", None),
}
"""How each kind's app is started with its settings file, and the prefix of its settings as environment variables
(an evaluator is an entry of its keypads line's file: no variables)."""


def device_settings(device: Device, password: str, host: str, public_url: str, port: int) -> str:
    """The device's settings as its app's TOML file reads them: where the broker is, the site, the device's id and
    password, and what its kind needs besides (a caller's window, a kiosk's public address). An evaluator's are its
    ``[[evaluators]]`` entry of the keypads line's file, whose address on the line the installer adds."""
    where: dict[str, Any] = {"host": host, "port": port, "site": device.site_id}
    own: dict[str, Any] = {"device_id": device.device_id, "password": password}
    if device.kind == DeviceKind.EVALUATOR:
        entry = tomli_w.dumps({"window": device.window_id, **own})
        return f"{tomli_w.dumps(where)}\n[[evaluators]]\naddress = 0  # its address on the line: 1-254\n{entry}"
    if device.kind == DeviceKind.CALLER:
        own["window"] = device.window_id
    if device.kind == DeviceKind.KIOSK:
        own["public_url"] = public_url
    return tomli_w.dumps({**where, **own})


def qr_svg(text: str) -> str:
    """An inline SVG QR code of ``text`` (made here: nothing is sent elsewhere)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                         image_factory=qrcode.image.svg.SvgPathImage)  # fmt: skip
    code.add_data(text)
    code.make(fit=True)
    svg: str = code.make_image().to_string(encoding="unicode")
    return svg


def _credentials_page(
    request: web.Request, site: Site, device: Device, credentials: Credentials, action: Action
) -> web.Response:
    host = request.url.host or "127.0.0.1"
    port = request.app[PAGES].broker_port
    settings = device_settings(device, credentials.password, host, f"{request.scheme}://{request.host}", port)
    data: dict[str, Any] = {
        "ok": True, "done": action.value, "site": {"site_id": site.id, **names(site)},
        "device": _row(site, device, None), "password": credentials.password, "settings": settings,
        "start": APPS[device.kind][0], "env_prefix": APPS[device.kind][1],
    }  # fmt: skip
    if not wants_json(request):
        data["qr_svg"] = qr_svg(settings)
    response = page(request, "devices_credentials.html", data)
    response.headers.update(NO_STORE)
    return response

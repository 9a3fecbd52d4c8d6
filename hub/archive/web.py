"""The kiosks' case routes (``contract``: "documents handed in at a kiosk") and the public status page ``/case/<t>``.

Only a provisioned kiosk of the site (HTTP Basic, as for the device API) may use its site's case routes; another
site's case is as unknown as none (404). Every answer is a ``contract.CaseReceipt``, a ``CommitmentAnswer`` or an
``Error``. The page files are read with a limit and checked (size, checksum, a decodable JPEG/PNG) before anything
is kept; the work on the database and the files runs off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import jinja2
import msgspec
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

import contract as wire
from engine.calendar import local_time
from hub.archive.files import PageFilesError
from hub.archive.keys import ARCHIVE
from hub.archive.store import Archive, ArchiveError, Case
from hub.gateway import KnownDevice
from hub.openapi import ELSEWHERE, UNAVAILABLE, Answer, describe
from hub.web_pages import texts

MAX_REQUEST = 256 * 1024
"""A ``CaseRequest`` (a few hundred pages' checksums) is at most this long."""
T = TypeVar("T")
log = logging.getLogger(__name__)
_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("hub.web_pages", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)


def _json(message: msgspec.Struct, status: int = 200) -> web.Response:
    return web.Response(body=wire.encode(message), status=status, content_type="application/json")


def _refused(status: int, code: str, zh: str, en: str) -> web.Response:
    return _json(wire.Error(code=code, zh=zh, en=en), status)


async def _off_loop(work: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, work, *args)


DEVICE_OF: web.AppKey[Callable[[web.Request], KnownDevice | None]] = web.AppKey("archive_device_of")
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("archive_clock")
Work = Callable[[Archive, str], Awaitable[Any]]


def add_case_routes(
    app: web.Application,
    archive: Archive,
    device_of: Callable[[web.Request], KnownDevice | None],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Mount the case routes (before the device API's ``/api/v1/sites/{site}/{action}``) and ``/case/<token>``."""
    app[ARCHIVE], app[DEVICE_OF], app[CLOCK] = archive, device_of, clock
    cases = "/api/v1/sites/{site}/cases"
    app.router.add_post(cases, open_case)
    app.router.add_get(cases + "/{case}", get_case)
    app.router.add_put(cases + "/{case}/pages/{material}/{page}", put_page)
    app.router.add_post(cases + "/{case}/submit", submit)
    app.router.add_post("/api/v1/sites/{site}/commitments/check", check_commitment)
    app.router.add_get("/api/v1/sites/{site}/tickets/{ticket}/cases", ticket_cases)
    app.router.add_get("/case/{token}", status_page)


_TAG = "documents handed in at a kiosk"
_KIOSK = (
    Answer(401, "Unknown device or wrong password (``unauthorised``).", wire.Error),
    Answer(403, "Not a kiosk of this site (``unauthorised``), or a commitment denied.", wire.Error),
    Answer(404, "No such site, case or page (another site's case is unknown too).", wire.Error),
    ELSEWHERE,
    UNAVAILABLE,
    Answer(503, "The case could not be numbered, or the page store failed: try again (``unavailable``).", wire.Error),
)
_PAGE_FORM = {
    "type": "object",
    "required": ["sha256", "file"],
    "properties": {
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "The file's SHA-256 (hex)."},
        "file": {"type": "string", "format": "binary", "description": "The page: a JPEG or PNG."},
    },
}
_PAGE_ENCODING = {"sha256": {"contentType": "text/plain"}, "file": {"contentType": "image/jpeg, image/png"}}


def _kiosk_refusal(request: web.Request) -> web.Response | None:
    """None when a kiosk of the route's site asks; the refusal otherwise."""
    return _device_refusal(request, wire.DeviceKind.KIOSK, "只有本服务点的自助终端可以提交材料",
                           "Only a kiosk of this site hands in documents here")  # fmt: skip


def _device_refusal(request: web.Request, kind: wire.DeviceKind, zh: str, en: str) -> web.Response | None:
    """None when a device of ``kind`` of the route's site asks; 401 for no device, 403 (``zh``, ``en``) for
    another kind or another site's."""
    device = request.app[DEVICE_OF](request)
    if device is None:
        return _refused(401, wire.ErrorCode.UNAUTHORISED, "设备认证失败", "Unknown device or wrong password")
    if device.kind != kind or device.site_id != request.match_info["site"]:
        return _refused(403, wire.ErrorCode.UNAUTHORISED, zh, en)
    return None


async def _guarded(request: web.Request, work: Work) -> web.Response:
    """A kiosk's request: authenticated, then ``work(archive, site)``; a refusal becomes its ``Error`` answer."""
    refused = _kiosk_refusal(request)
    if refused is not None:
        return refused
    try:
        answer = await work(request.app[ARCHIVE], request.match_info["site"])
    except ArchiveError as error:
        log.info("%s %s refused: %s", request.method, request.path, error.error.code)
        return _json(error.error, error.status)
    except PageFilesError as error:  # nothing was kept: the kiosk's spool sends it again later
        log.warning("%s %s: the page store failed: %s", request.method, request.path, error)
        return _refused(503, wire.ErrorCode.UNAVAILABLE, "材料存储暂不可用，请稍后再试",
                        "The page store is unavailable: try again later")  # fmt: skip
    return answer if isinstance(answer, web.Response) else _json(answer)


@describe("Open a case (the same submission id again: the same case)", tag=_TAG, security="device",
          body=wire.CaseRequest, answers=[
    Answer(201, "Opened: the receipt, with the pages still missing.", wire.CaseReceipt),
    Answer(200, "Opened before with this submission id: its receipt.", wire.CaseReceipt),
    Answer(400, "Not a case request (``malformed``).", wire.Error),
    Answer(413, "The request is too long.", wire.Error),
    Answer(422, "An unknown matter, bad materials or pages, a bad ID number.", wire.Error), *_KIOSK])  # fmt: skip
async def open_case(request: web.Request) -> web.Response:
    async def work(archive: Archive, site: str) -> Any:
        body = await request.content.read(MAX_REQUEST + 1)
        if len(body) > MAX_REQUEST:
            raise ArchiveError(413, wire.ErrorCode.TOO_LARGE, "请求过大", "The case request is too long")
        try:
            asked = msgspec.json.decode(body, type=wire.CaseRequest)
        except msgspec.DecodeError as error:
            raise ArchiveError(400, wire.ErrorCode.MALFORMED, "请求格式有误", str(error)) from None
        case, created = await _off_loop(archive.open_case, site, asked, request.app[CLOCK]())
        return _json(archive.receipt(case), 201 if created else 200)

    return await _guarded(request, work)


@describe("Upload a page (sent again after a cut: answered again)", tag=_TAG, security="device",
          body=_PAGE_FORM, body_media="multipart/form-data", body_encoding=_PAGE_ENCODING, answers=[
    Answer(200, "Stored: the receipt.", wire.CaseReceipt),
    Answer(400, "Not multipart with ``sha256`` and ``file``.", wire.Error),
    Answer(409, "The case is submitted already.", wire.Error),
    Answer(413, "The page is too large.", wire.Error),
    Answer(415, "Not a JPEG or PNG image.", wire.Error),
    Answer(422, "The checksum does not match the file.", wire.Error), *_KIOSK])  # fmt: skip
async def put_page(request: web.Request) -> web.Response:
    async def work(archive: Archive, site: str) -> Any:
        try:
            asked = {"material": int(request.match_info["material"]), "page": int(request.match_info["page"])}
            ref = msgspec.convert(asked, wire.PageRef)  # checks the bounds the contract gives
        except (ValueError, msgspec.ValidationError):
            raise ArchiveError(404, "no_page", "案卷中没有这一页", "No such page") from None
        if request.content_length is not None and request.content_length > archive.max_page_bytes + 64 * 1024:
            raise ArchiveError(413, wire.ErrorCode.TOO_LARGE, "页面文件过大",
                               f"A page is at most {archive.max_page_bytes} bytes")  # fmt: skip
        sha256, data = await _read_page(request, archive.max_page_bytes)
        store = partial(archive.put_page, now=request.app[CLOCK]())
        return archive.receipt(await _off_loop(store, site, request.match_info["case"], ref, sha256, data))

    return await _guarded(request, work)


@describe("Submit the case: every page is in", tag=_TAG, security="device", answers=[
    Answer(200, "Submitted: the receipt.", wire.CaseReceipt),
    Answer(409, "Pages are missing.", wire.Error), *_KIOSK])  # fmt: skip
async def submit(request: web.Request) -> web.Response:
    async def work(archive: Archive, site: str) -> Any:
        case = await _off_loop(archive.submit, site, request.match_info["case"], request.app[CLOCK]())
        return archive.receipt(case)

    return await _guarded(request, work)


@describe("The case's receipt: its state and the pages the hub lacks", tag=_TAG, security="device", answers=[
    Answer(200, "The receipt.", wire.CaseReceipt), *_KIOSK])  # fmt: skip
async def get_case(request: web.Request) -> web.Response:
    async def work(archive: Archive, site: str) -> Any:
        return archive.receipt(await _off_loop(archive.of_site, site, request.match_info["case"]))

    return await _guarded(request, work)


@describe("May this citizen sign a commitment instead of a material?", tag=_TAG, security="device",
          body=wire.CommitmentCheck, answers=[
    Answer(200, "The answer.", wire.CommitmentAnswer),
    Answer(400, "Not a commitment check (``malformed``).", wire.Error),
    Answer(422, "Not a valid ID number.", wire.Error), *_KIOSK])  # fmt: skip
async def check_commitment(request: web.Request) -> web.Response:
    async def work(archive: Archive, _site: str) -> Any:
        try:
            asked = msgspec.json.decode(await request.content.read(4096), type=wire.CommitmentCheck)
        except msgspec.DecodeError as error:
            raise ArchiveError(400, wire.ErrorCode.MALFORMED, "请求格式有误", str(error)) from None
        return wire.CommitmentAnswer(allowed=await _off_loop(archive.may_commit, asked.id_number))

    return await _guarded(request, work)


@describe("The cases handed in with a ticket (a caller shows them when the ticket is called)", tag=_TAG,
          security="device", answers=[
    Answer(200, "The ticket's cases, newest first: number, matter, state, pages, the reason when returned.",
           wire.TicketCases),
    Answer(401, "Unknown device or wrong password (``unauthorised``).", wire.Error),
    Answer(403, "Not a caller of this site (``unauthorised``).", wire.Error),
    Answer(404, "Not a ticket id (``no_ticket``).", wire.Error), ELSEWHERE, UNAVAILABLE])  # fmt: skip
async def ticket_cases(request: web.Request) -> web.Response:
    """For a caller of the site only: another site's ticket has no cases here (its site is in the query)."""
    refused = _device_refusal(request, wire.DeviceKind.CALLER, "只有本服务点的叫号终端可以查看",
                              "Only a caller of this site sees a ticket's cases")  # fmt: skip
    if refused is not None:
        return refused
    site, ticket = request.match_info["site"], request.match_info["ticket"]
    if not 0 < len(ticket) <= 64:
        return _refused(404, "no_ticket", "没有这个号", "Not a ticket id")
    found = await _off_loop(request.app[ARCHIVE].cases_of_ticket, site, ticket)
    return _json(wire.TicketCases(ticket_id=ticket, cases=tuple(_ticket_case(case) for case in found)))


def _ticket_case(case: Case) -> wire.TicketCase:
    return wire.TicketCase(
        case_number=case.case_number, matter=case.matter, state=case.state, pages=len(case.pages),
        commitments=sum(1 for material in case.materials if material.commitment),
        reason=case.reason if case.state == wire.CaseState.RETURNED else None,
        handed_in_at=case.submitted_at or case.created_at, decided_at=case.decided_at,
    )  # fmt: skip


async def _read_page(request: web.Request, limit: int) -> tuple[str, bytes]:
    """The multipart body's ``sha256`` field and ``file``, the file read to at most ``limit`` bytes (413 beyond)."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise ArchiveError(400, wire.ErrorCode.MALFORMED, "请以 multipart 上传页面",
                           "Send the page as multipart/form-data: sha256 and file") from None  # fmt: skip
    sha256, data = "", None
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "sha256":
                sha256 = (await _read_part(part, 128, "sha256")).decode(errors="replace").strip().lower()
            elif part.name == "file":
                data = await _read_part(part, limit, "file")
    except BadHttpMessage:  # a part's headers are not HTTP headers
        raise ArchiveError(400, wire.ErrorCode.MALFORMED, "上传内容格式有误",
                           "A part of the multipart body is malformed") from None  # fmt: skip
    if not sha256 or data is None:
        raise ArchiveError(400, wire.ErrorCode.MALFORMED, "缺少校验值或文件", "Send both sha256 and file")
    return sha256, data


async def _read_part(part: BodyPartReader, limit: int, name: str) -> bytes:
    """A part's bytes, refused (413) beyond ``limit``."""
    chunks, size = [], 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise ArchiveError(413, wire.ErrorCode.TOO_LARGE, "页面文件过大", f"At most {limit} bytes in {name}")
        chunks.append(chunk)
    return b"".join(chunks)


_STATES = {
    wire.CaseState.RECEIVING: ("Receiving the materials", "材料接收中"),
    wire.CaseState.SUBMITTED: ("Waiting for review", "待审核"),
    wire.CaseState.ACCEPTED: ("Accepted", "已受理"),
    wire.CaseState.RETURNED: ("Returned for correction", "退回补正"),
}


async def status_page(request: web.Request) -> web.Response:
    """A case's state as the citizen follows it (the receipt's QR code): no personal data, Chinese first."""
    archive = request.app[ARCHIVE]
    token = request.match_info["token"]
    case = await _off_loop(archive.by_token, token) if len(token) <= 64 else None
    lang = texts.language(request)
    _ = texts.translator(lang)
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
    if case is None:
        body = _environment.get_template("archive_status.html").render(_=_, lang=lang, case=None)
        return web.Response(text=body, status=404, content_type="text/html", headers=headers)
    district = archive.district()
    site, matter = district.site(case.site_id), district.matter(case.matter)
    english = lang == texts.ENGLISH

    def name(thing: Any, fallback: str) -> str:
        return fallback if thing is None else (thing.name_en if english else thing.name_zh)

    when = case.decided_at or case.submitted_at or case.created_at
    view = {
        "case_number": case.case_number, "state": case.state.value,
        "state_text": _(_STATES[case.state][0]), "reason": case.reason if case.state == wire.CaseState.RETURNED
        else None, "site": name(site, case.site_id), "matter": name(matter, case.matter),
        "when": (local_time(site, when) if site else when).strftime("%Y-%m-%d %H:%M"),
    }  # fmt: skip
    if request.headers.get("Accept", "").startswith("application/json"):
        return web.json_response({"ok": True, "case": view}, headers=headers)
    body = _environment.get_template("archive_status.html").render(_=_, lang=lang, case=view)
    return web.Response(text=body, content_type="text/html", headers=headers)

"""Sends a spooled submission to the hub over HTTP, by the contract's case routes (contract.py, "documents handed in
at a kiosk"; docs/documents.md), until the hub acknowledges it.

``POST /api/v1/sites/{site}/cases`` with the submission's id (the same id again answers the same case), ``PUT`` each
page the receipt lists as missing (multipart: ``sha256`` and ``file``), then ``POST .../submit``. After a network
error or a 5xx answer it waits (``devicekit.backoff``: full-jitter exponential) and goes on where it stopped: the
hub's receipt says which pages it still lacks, so a page cut off is simply sent again and nothing is sent twice. A
4xx answer is a refusal: the submission stays in the spool, marked failed with the hub's error code, and
``Refused`` says why. The kiosk authenticates as for the device API (HTTP Basic: device id and password).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import msgspec

import contract as wire
from devicekit.backoff import DEVICE_BASE, DEVICE_CAP, Backoff
from kiosk.documents.spool import Manifest, Spool, SpoolError, SpoolState

log = logging.getLogger(__name__)
AGAIN = (408, 425, 429)
"""4xx answers that are no refusal: a timeout, too early, too many requests."""


class UploadError(RuntimeError):
    """The hub could not be reached, or answered with a server error (worth trying again)."""


class Refused(RuntimeError):
    """The hub refused the submission (a 4xx answer): sending it again changes nothing."""

    def __init__(self, status: int, error: wire.Error) -> None:
        super().__init__(f"{status} {error.code}: {error.en}")
        self.status, self.error = status, error


class GaveUp(RuntimeError):
    """Still not acknowledged after the allowed attempts (or stopped): the submission stays pending in the spool."""


@dataclass(frozen=True)
class Credentials:
    device_id: str
    password: str

    def header(self) -> str:
        token = base64.b64encode(f"{self.device_id}:{self.password}".encode()).decode()
        return f"Basic {token}"


@dataclass
class Uploader:
    spool: Spool
    hub_url: str
    """The hub's HTTP address as the kiosk reaches it (``http://hub:8080``)."""
    credentials: Credentials
    site: str = ""
    """The kiosk's site, for ``check_commitment`` (a submission carries its own)."""
    timeout: float = 15.0
    attempts: int | None = None
    """Tries of one submission before ``GaveUp``; None: until acknowledged or ``stop()``."""
    backoff: Callable[[], Backoff] = lambda: Backoff(DEVICE_BASE, DEVICE_CAP)
    sleep: Callable[[float], bool] | None = None
    """Waits between tries; answers True when told to stop (default: the stop event's wait)."""
    on_retry: Callable[[int, str], None] = lambda attempt, why: None
    """Called before each wait after a failed try (attempt number from 1, the reason): the screen may say so."""
    on_page: Callable[[wire.PageRef, int, int], None] = lambda ref, sent, total: None
    """Called after each page the hub stored (the page, pages the hub has, pages in all): the screen's progress."""
    _stop: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self._stop.set()

    def send(self, submission_id: str, attempts: int | None = None) -> wire.CaseReceipt:
        """Send one spooled submission until the hub acknowledges it; its receipt. Raises ``Refused`` (marked
        failed in the spool) or ``GaveUp`` (still pending) after ``attempts`` tries (default: ``self.attempts``)."""
        limit = attempts if attempts is not None else self.attempts
        backoff = self.backoff()
        attempt = 0
        while True:
            try:
                return self._send_once(self.spool.load(submission_id))
            except UploadError as error:
                attempt += 1
                if limit is not None and attempt >= limit:
                    raise GaveUp(f"submission {submission_id}: {error}") from error
                self.on_retry(attempt, str(error))
                wait = backoff.next()
                log.info("case upload %s: %s; again in %.1f s", submission_id[:8], error, wait)
                stopped = self.sleep(wait) if self.sleep else self._stop.wait(wait)
                if stopped:
                    raise GaveUp(f"submission {submission_id}: stopped") from error

    def resume(self, attempts: int | None = None) -> list[wire.CaseReceipt]:
        """Send every submission a restarted kiosk left pending, oldest first; the refused ones are marked failed
        and skipped. Raises ``GaveUp`` when the hub stays away."""
        receipts = []
        for manifest in self.spool.pending():
            try:
                receipts.append(self.send(manifest.submission_id, attempts))
            except Refused as refused:
                log.warning("case upload %s refused: %s", manifest.submission_id[:8], refused.error.code)
            except (SpoolError, KeyError) as damaged:  # one damaged entry must not hold back the newer ones
                log.error("case upload %s skipped, its spool entry is damaged: %s", manifest.submission_id[:8], damaged)
        return receipts

    def check_commitment(self, id_number: str) -> bool:
        """May this citizen sign a commitment instead of a material (not on the district's list of broken ones)?
        Raises ``UploadError`` (the kiosk then does not offer it) or ``Refused``."""
        site = quote(self.site, safe="")
        body = msgspec.json.encode(wire.CommitmentCheck(id_number=id_number))
        answer = self._call("POST", f"/api/v1/sites/{site}/commitments/check", body, "application/json")
        return msgspec.json.decode(answer, type=wire.CommitmentAnswer).allowed

    # -- one try ----------------------------------------------------------------------------------------------

    def _send_once(self, manifest: Manifest) -> wire.CaseReceipt:
        if manifest.state in (SpoolState.SUBMITTED, SpoolState.DONE) and manifest.case_number:
            return wire.CaseReceipt(
                case_number=manifest.case_number, state=wire.CaseState.SUBMITTED, status_url=manifest.status_url or ""
            )
        site = quote(manifest.site, safe="")
        cases = f"/api/v1/sites/{site}/cases"
        submission_id = manifest.submission_id
        try:
            if manifest.case_number is None:
                request = manifest.request(self.spool.id_number(submission_id))
                receipt = self._receipt("POST", cases, msgspec.json.encode(request), "application/json")
            else:  # restarted after the case was opened: ask what the hub still lacks
                receipt = self._receipt("GET", f"{cases}/{quote(manifest.case_number, safe='')}")
            manifest = self.spool.opened(submission_id, receipt)
            case = f"{cases}/{quote(receipt.case_number, safe='')}"
            for ref in receipt.missing:
                page = manifest.page(ref)
                data = self.spool.page_data(manifest, ref)
                body, content_type = multipart({"sha256": page.sha256.encode()}, ("file", page.file, data))
                receipt = self._receipt("PUT", f"{case}/pages/{ref.material}/{ref.page}", body, content_type)
                manifest = self.spool.uploaded(submission_id, ref)
                self.on_page(ref, sum(page.uploaded for page in manifest.pages), len(manifest.pages))
            if receipt.state == wire.CaseState.RECEIVING:
                receipt = self._receipt("POST", f"{case}/submit", b"", "application/json")
            if receipt.state == wire.CaseState.RECEIVING:  # the hub still lacks a page: go round again
                raise UploadError(f"the hub still lacks {len(receipt.missing)} page(s)")
        except Refused as refused:
            self.spool.failed(submission_id, refused.error)
            raise
        self.spool.submitted(submission_id, receipt)
        return receipt

    def _receipt(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> wire.CaseReceipt:
        answer = self._call(method, path, body, content_type)
        try:
            return msgspec.json.decode(answer, type=wire.CaseReceipt)
        except msgspec.DecodeError as error:
            raise UploadError(f"{method} {path}: not a receipt: {error}") from None

    def _call(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> bytes:
        headers = {"Authorization": self.credentials.header(), "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.hub_url.rstrip("/") + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            answer = error.read()
            if 400 <= error.code < 500 and error.code not in AGAIN:
                refusal = _error(answer, error.code)
                if refusal.code != "pages_missing":  # the hub lost a page it had: the next round sends it again
                    raise Refused(error.code, refusal) from None
            raise UploadError(f"{method} {path}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            raise UploadError(f"{method} {path}: {getattr(error, 'reason', error)}") from None


def _error(answer: bytes, status: int) -> wire.Error:
    try:
        return msgspec.json.decode(answer, type=wire.Error)
    except msgspec.DecodeError:
        return wire.Error(code=f"http_{status}", zh="服务端拒绝了提交", en=f"The hub refused the submission ({status})")


def multipart(fields: dict[str, bytes], file: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and one file part (name, file name, bytes); its content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value)
    name, filename, data = file
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    parts.append(head.encode() + data)
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def wait_sleep(seconds: float) -> bool:
    """A plain ``sleep`` for ``Uploader.sleep`` that is never told to stop."""
    time.sleep(seconds)
    return False


def keep_sending(uploader: Uploader, stop: threading.Event, interval: float = 60.0, attempts: int = 3) -> None:
    """A kiosk's background sender (run it on a thread of its own from start-up): every ``interval`` seconds, send
    what the spool still holds (``attempts`` tries each round), so that a submission left by a restart or a long
    outage reaches the hub by itself."""
    while not stop.is_set():
        try:
            uploader.resume(attempts)
        except GaveUp as error:
            log.info("case upload: still waiting for the hub (%s)", type(error).__name__)
        except Exception:  # a damaged spool entry must not end the sender
            log.exception("case upload: resume failed")
        if stop.wait(interval):
            return

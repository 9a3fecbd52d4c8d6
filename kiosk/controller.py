"""The kiosk's moving parts around its model, without Kivy: requests to the hub, printing, the camera, read-aloud
and the device status, each off the UI thread.

The UI thread (Kivy's, or a test's) calls ``issue``, ``effect``, ``tick`` and ``changed``; they return at once.
Workers do what blocks (``DeviceLink.request`` waits through its retries, a printer answers its status queries, the
camera reads frames) and hand every result back through ``post``, which runs a function on the UI thread: only the
UI thread touches the model.

A request the hub never answered is not forgotten: asking again for the same thing within ``retry_seconds`` reuses
its id, so a request that reached the hub late (a broker that came back) is answered with the ticket it made, not a
second one, and the numbering keeps no ticket nobody holds.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import msgspec

import contract as wire
from devicekit.link import HubUnreachable
from kiosk.id_reader import IdCard, IdReaderError
from kiosk.model import Effect, KioskModel, Spoken
from kiosk.printer import PrinterState, PrinterStatus, PrintResult
from kiosk.printer_profile import PrinterProfile
from kiosk.speech import ScreenReader
from kiosk.ticket_print import build_ticket, status_url

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]
"""Run a function on the UI thread (Kivy: ``Clock.schedule_once``)."""
Scan = Callable[[], "str | None"]
"""One look through the camera: the text of a QR code in view, or None."""

CHECK_IN = wire.Action.CHECK_IN


class HubLink(Protocol):
    """What the kiosk needs of ``devicekit.link.DeviceLink``."""

    connected: threading.Event
    hub_online: bool

    def request(
        self,
        action: wire.Action,
        body: Mapping[str, Any] | None = None,
        *,
        request_id: str | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
        on_retry: Callable[[int], None] | None = None,
    ) -> wire.Reply: ...

    def report(self, **detail: str) -> None: ...


class CardReader(Protocol):
    """``kiosk.id_reader.IdCardReader``, or a stand-in: the card on the reader now (None: none); raises
    IdReaderError when the reader is gone or faulty."""

    def read_card(self) -> IdCard | None: ...


class Printer(Protocol):
    """``kiosk.printer.TicketPrinter``, or a stand-in that speaks the same results."""

    def print_ticket(self, data: bytes) -> PrintResult: ...

    def status(self) -> PrinterStatus: ...


@dataclass(frozen=True)
class Printing:
    printer: Printer
    profile: PrinterProfile
    public_url: str
    """The hub's address as phones reach it; the ticket's QR code is this plus the ticket's status path."""
    timezone: str = "Asia/Shanghai"


class _Site(msgspec.Struct, frozen=True):
    """A site's names before the hub's retained site info arrived."""

    name_zh: str
    name_en: str


class KioskController:
    def __init__(
        self,
        model: KioskModel,
        link: HubLink,
        post: Post,
        *,
        printing: Printing | None = None,
        scan: Scan | None = None,
        reader: ScreenReader | None = None,
        refresh: Callable[[], None] = lambda: None,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        request_timeout: float | None = None,
        attempts: int | None = None,
        retry_seconds: float = 120.0,
        help_seconds: float = 300.0,
        scan_interval: float = 0.05,
        cards: CardReader | None = None,
        card_interval: float = 0.5,
    ) -> None:
        self.model, self.link, self.post = model, link, post
        self.printing, self.scan, self.reader = printing, scan, reader
        self.refresh, self.now = refresh, now
        self.request_timeout, self.attempts = request_timeout, attempts
        self.retry_seconds, self.help_seconds, self.scan_interval = retry_seconds, help_seconds, scan_interval
        self.cards, self.card_interval = cards, card_interval
        self.request_ids: list[str] = []
        """The id of every request sent, in order (tests, diagnostics)."""
        self.printed: list[bytes] = []
        """Every ticket's bytes handed to the printer."""
        self._unconfirmed: tuple[tuple[str, bytes], str, float] | None = None
        self._lock = threading.Lock()
        self._print_lock = threading.Lock()
        self._printer_state: str | None = None
        self._help_until: float | None = None
        self._spoken: Spoken | None = None
        self._scanning = threading.Event()
        self._closing = threading.Event()
        self._scanner: threading.Thread | None = None

    # -- the UI thread -----------------------------------------------------------------------------------------

    def issue(self, body: Mapping[str, Any]) -> None:
        """Send an issue request in a worker; the model shows WORKING until the answer is posted back."""
        self._send(wire.Action.ISSUE, dict(body), self.model.on_issue_reply)

    def effect(self, effect: Effect) -> None:
        if effect is Effect.CALL_STAFF:
            self._help_until = time.monotonic() + self.help_seconds
            at = self.now().isoformat(timespec="seconds")
            self._in_worker(lambda: self.link.report(help="requested", help_at=at), "kiosk-help")
        elif effect is Effect.START_SCAN:
            self._start_scanning()
        elif effect is Effect.STOP_SCAN:
            self._scanning.clear()

    def tick(self) -> None:
        """Every second on the UI thread: the idle timer, the end of a help request, the camera's need."""
        self.model.tick(self.now())
        if self._help_until is not None and time.monotonic() >= self._help_until:
            self._help_until = None
            self._in_worker(lambda: self.link.report(help="none"), "kiosk-help")
        self.changed()

    def changed(self) -> None:
        """After anything changed the model: redraw, read the new screen aloud (elder mode), camera off when the
        scanning screen is gone."""
        self.model.hub_online = self.link.connected.is_set() and self.link.hub_online
        self.refresh()
        self.speak()
        if not self.model.wants_camera:
            self._scanning.clear()

    def speak(self) -> None:
        """Elder mode reads a screen once when it appears, and the idle warning when it starts."""
        if self.reader is None or not self.model.elder_mode:
            if self.reader is not None and self._spoken is not None:
                self.reader.cancel()
            self._spoken = None
            return
        spoken, before = self.model.spoken(), self._spoken
        self._spoken = spoken
        if before is None or spoken.sentences != before.sentences or spoken.language != before.language:
            self.reader.say(spoken)
        elif spoken.warning and not before.warning:
            self.reader.say(Spoken(spoken.language, (spoken.warning,)))

    def check_printer(self) -> None:
        """Ask the printer's status in a worker (between tickets) and report it when it changed."""
        if self.printing is not None:
            self._in_worker(self._poll_printer, "kiosk-printer-status")

    def watch_cards(self) -> None:
        """Look at the ID card reader every ``card_interval`` in a worker: a card laid on it goes to the model (once
        per card: it may stay on the reader), the reader's state into the device status (``id_reader``)."""
        if self.cards is not None:
            threading.Thread(target=self._card_loop, name="kiosk-id-reader", daemon=True).start()

    def close(self) -> None:
        self._closing.set()
        self._scanning.set()  # wake the scanner so it sees the closing flag

    # -- requests (workers) --------------------------------------------------------------------------------------

    def _send(
        self, action: wire.Action, body: dict[str, Any], on_reply: Callable[[wire.Reply, bool | None], None]
    ) -> None:
        request_id = self._request_id(action, body)
        self.request_ids.append(request_id)
        language, info = self.model.texts.language, self.model.info
        self._in_worker(
            lambda: self._request(action, body, request_id, on_reply=on_reply, language=language, info=info),
            f"kiosk-{action}",
        )

    def _request_id(self, action: wire.Action, body: Mapping[str, Any]) -> str:
        key = (str(action), msgspec.json.encode(dict(sorted(body.items()))))
        with self._lock:
            last = self._unconfirmed
            if last is not None and last[0] == key and time.monotonic() - last[2] < self.retry_seconds:
                return last[1]
            request_id = uuid.uuid4().hex
            self._unconfirmed = (key, request_id, time.monotonic())
            return request_id

    def _request(
        self,
        action: wire.Action,
        body: dict[str, Any],
        request_id: str,
        *,
        on_reply: Callable[[wire.Reply, bool | None], None],
        language: str,
        info: wire.SiteInfo | None,
    ) -> None:
        try:
            reply = self.link.request(
                action,
                body,
                request_id=request_id,
                timeout=self.request_timeout,
                attempts=self.attempts,
                on_retry=lambda _attempt: self._ui(self.model.on_slow_reply),
            )
        except HubUnreachable:
            log.warning("no reply to %s %s: nothing confirmed, nothing printed", action, request_id)
            self._ui(self.model.on_unreachable)
            return
        with self._lock:
            if self._unconfirmed is not None and self._unconfirmed[1] == request_id:
                self._unconfirmed = None  # answered: the next request is a new one
        ticket = reply.ticket if reply.ok else None
        if ticket is None or self.printing is None:
            self._ui(lambda: on_reply(reply, True))
            return
        self._ui(lambda: on_reply(reply, None))  # the number on screen now; printing follows
        result = self._print(ticket, info, language)
        self._ui(lambda: self.model.on_printed(result.printed, result.zh, result.en))

    # -- printing (workers) --------------------------------------------------------------------------------------

    def ticket_bytes(self, ticket: wire.TicketInfo, info: wire.SiteInfo | None, language: str) -> bytes:
        """The ticket as the configured printer's ESC/POS bytes."""
        assert self.printing is not None
        setup = self.printing
        site: Any = info or _Site(name_zh=self.model.site_id, name_en=self.model.site_id)
        matters: Sequence[Any] = [
            m for code in ticket.matters for m in (info.matters if info else ()) if m.code == code
        ]
        url = status_url(setup.public_url, ticket)
        return build_ticket(setup.profile, site, matters, ticket, url, language=language, timezone=setup.timezone)

    def _print(self, ticket: wire.TicketInfo, info: wire.SiteInfo | None, language: str) -> PrintResult:
        assert self.printing is not None
        try:
            data = self.ticket_bytes(ticket, info, language)
        except Exception as error:  # a ticket that cannot be built must not lose the number on screen
            log.exception("building ticket %s failed", ticket.number)
            return PrintResult(printed=False, status=PrinterStatus(PrinterState.ERROR, str(error)))
        with self._print_lock:
            result = self.printing.printer.print_ticket(data)
        if result.printed:
            self.printed.append(data)
        else:
            log.warning("ticket %s not printed: %s (%s)", ticket.number, result.en, result.status.detail)
        self._report_printer(result.status)
        return result

    def _poll_printer(self) -> None:
        assert self.printing is not None
        if not self._print_lock.acquire(blocking=False):
            return  # a ticket is printing: it reports the status itself
        try:
            status = self.printing.printer.status()
        finally:
            self._print_lock.release()
        self._report_printer(status)

    def _report_printer(self, status: PrinterStatus) -> None:
        detail = status.report()["printer"]
        with self._lock:
            changed, self._printer_state = detail != self._printer_state, detail
        if changed:
            self.link.report(printer=detail)

    # -- the camera (a worker) -----------------------------------------------------------------------------------

    def _card_loop(self) -> None:
        assert self.cards is not None
        seen: str | None = None
        state: str | None = None
        while not self._closing.wait(self.card_interval):
            try:
                card, now_state = self.cards.read_card(), "ok"
            except IdReaderError as error:  # its words never hold card data
                card, now_state = None, "offline"
                if state != now_state:
                    log.warning("ID card reader: %s", error)
            if now_state != state:
                state = now_state
                self.link.report(id_reader=now_state)
            number = card.id_number if card is not None else None
            if card is not None and number != seen:
                self.post(functools.partial(self._card_laid, card))
            seen = number

    def _card_laid(self, card: IdCard) -> None:
        self.model.on_card(card, self.now())
        self.changed()

    def _start_scanning(self) -> None:
        if self.scan is None:
            self._camera_failed("no camera configured")
            return
        forget = getattr(self.scan, "forget", None)
        if forget is not None:  # asked to scan again: the code just refused may be shown again
            forget()
        self._scanning.set()
        if self._scanner is None:
            self._scanner = threading.Thread(target=self._scan_loop, name="kiosk-camera", daemon=True)
            self._scanner.start()

    def _scan_loop(self) -> None:
        assert self.scan is not None
        while True:
            self._scanning.wait()
            if self._closing.is_set():
                return
            try:
                code = self.scan()
            except Exception as error:  # no camera, no OpenCV, a camera that stopped answering
                log.exception("the camera failed")
                self._scanning.clear()
                self._ui(lambda error=error: self._camera_failed(str(error)))  # type: ignore[misc]
                continue
            if code and self._scanning.is_set():
                self._scanning.clear()
                self._ui(lambda code=code: self._scanned(code))  # type: ignore[misc]
            elif not code:
                time.sleep(self.scan_interval)

    def _scanned(self, code: str) -> None:
        body = self.model.on_scanned(code, self.now())
        if body is not None:
            self._send(CHECK_IN, body, self.model.on_checkin_reply)
        elif self.model.wants_camera:  # not the code this screen looks for: look on (the same code stays quiet)
            self._scanning.set()

    def _camera_failed(self, reason: str) -> None:
        self.model.on_camera_failed()
        self._in_worker(lambda: self.link.report(camera="unavailable"), "kiosk-camera-report")
        log.warning("check-in without a camera: %s", reason)
        self.changed()

    # -- helpers -------------------------------------------------------------------------------------------------

    def _ui(self, change: Callable[[], None]) -> None:
        """Run ``change`` on the UI thread, then redraw."""

        def run() -> None:
            change()
            self.changed()

        self.post(run)

    @staticmethod
    def _in_worker(work: Callable[[], None], name: str) -> None:
        threading.Thread(target=work, name=name, daemon=True).start()

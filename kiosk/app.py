"""The kiosk app: the one place that wires the model, the Kivy view, the controller and the link to the hub.

Threads: paho's network thread receives (snapshot, hub status, site info, district summary) and hands every change
to the Kivy thread with ``Clock.schedule_once``; requests, printing, the camera and read-aloud run in the
controller's workers (kiosk/controller.py) and post their results back the same way; only the Kivy thread touches
the model and the view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.config import Config

import contract as wire
from devicekit import heap
from devicekit.link import DeviceLink, link_for
from devicekit.serial_profile import serial_profile
from devicekit.widgets import use_font
from devicekit.window import configure_window as configure_device_window
from kiosk.camera import CameraScan
from kiosk.config import KioskConfig, printer_transport
from kiosk.controller import CardReader, KioskController, Printing, Scan
from kiosk.documents.camera import open_document_camera
from kiosk.documents.flow import Capture, CapturedPage, DocumentFlow, Receipt, Viewfinder, build_receipt
from kiosk.documents.spool import Spool
from kiosk.documents.uploader import Credentials, Uploader, keep_sending
from kiosk.id_reader import IdCardReader
from kiosk.model import KioskModel
from kiosk.printer import TicketPrinter
from kiosk.printer_profile import profile_named
from kiosk.rating import RatingClient, RatingFlow
from kiosk.speech import ScreenReader
from kiosk.texts import Texts
from kiosk.view import KioskView

log = logging.getLogger(__name__)

PRINTER_POLL_SECONDS = 60.0
"""How often an idle kiosk asks its printer's status (paper low or out shows on the device list before the next
citizen arrives)."""


def configure_window(config: KioskConfig) -> None:
    """The common window settings, and no multitouch dots on a long press."""
    configure_device_window(config)
    Config.set("input", "mouse", "mouse,multitouch_on_demand")


def printing_for(settings: KioskConfig) -> Printing | None:
    """The configured printer and its profile, or None when the kiosk has no printer."""
    transport = printer_transport(settings.printer)
    if transport is None:
        return None
    profile = profile_named(settings.printer_profile)
    return Printing(TicketPrinter(transport, profile), profile, settings.public_url, settings.timezone)


@dataclass(frozen=True)
class DocumentParts:
    """What handing in documents needs of the world: the spool on disk, the sender to the hub, the camera."""

    spool: Spool
    uploader: Uploader
    camera: Capture


def documents_for(settings: KioskConfig) -> DocumentParts | None:
    """The spool, the uploader (the hub's HTTP address, the device's own credentials) and the document camera, or
    None when the kiosk does not take documents."""
    if not settings.documents:
        return None
    spool = Spool(Path(settings.document_spool))
    credentials = Credentials(settings.device_id, settings.password)
    uploader = Uploader(spool, settings.hub_http, credentials, site=settings.site)
    return DocumentParts(spool, uploader, open_document_camera(settings.document_camera))


def reader_for(settings: KioskConfig) -> ScreenReader | None:
    """Elder mode's read-aloud through the hall's voice (devicekit.voice) (espeak-ng), or None when switched off."""
    if not settings.voice:
        return None
    from devicekit.voice import KivyPlayer, Synthesizer  # noqa: PLC0415 (Kivy's audio comes when the player plays)

    return ScreenReader(Synthesizer(Path(settings.voice_cache)), KivyPlayer())


class KioskApp(App):  # type: ignore[misc]  # Kivy has no type hints
    def __init__(
        self,
        settings: KioskConfig,
        link: DeviceLink | None = None,
        *,
        printing: Printing | None = None,
        scan: Scan | None = None,
        reader: ScreenReader | None = None,
        cards: CardReader | None = None,
        documents: DocumentParts | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.link = link if link is not None else link_for(settings, wire.DeviceKind.KIOSK)
        self.model = KioskModel(settings.site, Texts(settings.language))
        self.view: KioskView | None = None
        self.reader = reader
        self.scan = scan
        self.cards = cards
        self.controller = KioskController(
            self.model,
            self.link,
            self._post,
            printing=printing,
            scan=scan,
            reader=reader,
            cards=cards,
            refresh=self._redraw,
            now=self.now,
        )
        self.documents = documents
        self.viewfinder: Viewfinder | None = None
        self._sending = threading.Event()
        """Set to end the background sender of spooled documents."""
        if documents is not None:
            self.model.documents = self._document_flow(documents)
        self.model.rating = RatingFlow(  # 服务评价: over the hub's HTTP, the ticket's QR code its only credential
            self.model.texts, RatingClient(settings.hub_http), run=_in_worker, post=self._post_and_redraw
        )

    @staticmethod
    def now() -> datetime:
        return datetime.now().astimezone()

    def build(self) -> KioskView:
        use_font(self.settings.font)
        self.title = "Kiosk"
        controller = self.controller
        self.view = KioskView(
            self.model, now=self.now, issue=controller.issue, effect=controller.effect, on_render=controller.speak
        )
        self._listen()
        Clock.schedule_interval(lambda _dt: controller.tick(), 1.0)
        heap.keep_trimmed()
        Clock.schedule_interval(lambda _dt: controller.check_printer(), PRINTER_POLL_SECONDS)
        controller.check_printer()
        controller.watch_cards()
        if self.documents is not None:  # what a restart or an outage left in the spool goes by itself
            uploader = self.documents.uploader
            threading.Thread(
                target=keep_sending, args=(uploader, self._sending), name="kiosk-documents", daemon=True
            ).start()
        if self.reader is not None:
            self.reader.start()
        self.link.start(wait=0)
        return self.view

    def on_stop(self) -> None:
        self.controller.close()
        if self.documents is not None:
            self._sending.set()
            self.documents.uploader.stop()
        if self.viewfinder is not None:
            self.viewfinder.close()
        if self.reader is not None:
            self.reader.stop(timeout=1)
        if isinstance(self.scan, CameraScan):
            self.scan.close()
        if isinstance(self.cards, IdCardReader):
            self.cards.close()  # waits for a read in progress (the reader's lock)
        self.link.stop()

    # -- the hub (network thread -> Kivy thread) ------------------------------------------------------------------

    def _listen(self) -> None:
        """Besides what DeviceLink dispatches: the site's retained info and the district summary."""
        self.link.follow_retained(wire.info_topic(self.settings.site), wire.SiteInfo, self._on_ui(self._on_info))
        self.link.follow_retained(wire.DISTRICT_SUMMARY_TOPIC, wire.DistrictSummary, self._on_ui(self.model.on_summary))
        self.link.on_change = lambda: self._post(self._link_changed)

    def _on_ui(self, apply: Callable[[Any], None]) -> Callable[[Any], None]:
        """A retained message's handler: applied to the model on the Kivy thread, then the screen redrawn."""

        def handle(decoded: Any) -> None:
            def change() -> None:
                apply(decoded)
                self.controller.changed()

            self._post(change)

        return handle

    def _on_info(self, info: wire.SiteInfo) -> None:
        self.model.on_info(info)
        if self.model.documents is not None:
            self.model.documents.on_info(info)

    def _link_changed(self) -> None:
        view = self.link.view
        if view is not None and view.snapshot is not None:
            self.model.on_snapshot(view.snapshot)
        self.controller.changed()

    # -- the Kivy thread -----------------------------------------------------------------------------------------

    @staticmethod
    def _post(change: Callable[[], object]) -> None:
        """Run ``change`` on the Kivy thread (from any thread)."""
        Clock.schedule_once(lambda _dt: change())

    def _redraw(self) -> None:
        if self.view is not None:
            self.view.update()

    # -- handing in documents ------------------------------------------------------------------------------------

    def _document_flow(self, parts: DocumentParts) -> DocumentFlow:
        """The flow on the model's texts (one language switch for both), its results posted to the Kivy thread and
        the screen redrawn; the viewfinder's verdicts only update the prompt under the preview (drawn in place)."""
        flow = DocumentFlow(
            self.settings.site, self.model.texts, parts.spool, parts.uploader,
            run=_in_worker, post=self._post_and_redraw, public_url=self.settings.public_url,
            print_receipt=self._print_receipt if self.controller.printing is not None else None,
        )  # fmt: skip

        def captured(page: CapturedPage) -> None:
            self.model.touch(self.now())  # the camera took a page: someone is there
            flow.on_captured(page)
            self.controller.changed()

        def failed(reason: str) -> None:
            log.warning("document camera: %s", reason)
            flow.on_camera_failed()
            self.controller.changed()

        self.viewfinder = Viewfinder(parts.camera, self._post, flow.on_verdict, captured, failed)
        flow.attach(self.viewfinder)
        return flow

    def _post_and_redraw(self, change: Callable[[], None]) -> None:
        def run() -> None:
            change()
            self.controller.changed()

        self._post(run)

    def _print_receipt(self, receipt: Receipt) -> bool:
        """The receipt through the ticket printer (a worker thread); True when it printed."""
        printing, info = self.controller.printing, self.model.info
        if printing is None or info is None:
            return False
        data = build_receipt(printing.profile, info, receipt, language=self.model.texts.language)
        result = printing.printer.print_ticket(data)
        if not result.printed:
            log.warning("receipt %s not printed: %s", receipt.case_number, result.en)
        return result.printed


def _in_worker(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="kiosk-documents-work", daemon=True).start()


def build_app(settings: KioskConfig) -> KioskApp:
    """The kiosk as configured: the link to the hub, the printer, the camera and the read-aloud voice."""
    return KioskApp(
        settings,
        printing=printing_for(settings),
        scan=CameraScan(settings.camera_source),
        reader=reader_for(settings),
        cards=cards_for(settings),
        documents=documents_for(settings),
    )


def cards_for(settings: KioskConfig) -> IdCardReader | None:
    if not settings.id_reader:
        return None
    return IdCardReader(settings.id_reader, serial_profile("id_readers", settings.id_reader_profile))

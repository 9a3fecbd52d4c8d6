"""Handing in documents at the kiosk (材料提交), as a plain class: what each step shows and what a tap does. No Kivy.

choose the matter → its checklist of materials (``MatterInfo.materials``: originals and copies) → capture each
material page by page under the camera → review the thumbnails (retake, add, remove a page) → where the district
allows it, a commitment (告知承诺) instead of a material → submit (spooled on disk, then sent) → the receipt with the
case number and a QR code to the case's status page.

The camera is read and analysed off the UI thread by a ``Viewfinder``: one thread keeps the latest frame (the
preview takes it whenever it draws), another analyses the latest frame it has not seen, feeds ``SteadyCapture`` and,
when the page has been steady for a moment, corrects and encodes it; results reach the flow through ``post`` (run
on the UI thread), so only the UI thread touches the flow. Slow work (the commitment check, spooling and the upload)
runs through ``run`` (a worker thread) and comes back the same way. ``spoken()`` is what elder mode reads aloud.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

import contract as wire
from devicekit.materials import material_line
from kiosk.documents import vision
from kiosk.documents.spool import Page, Spool
from kiosk.documents.uploader import GaveUp, Refused, Uploader, UploadError
from kiosk.id_reader import IdCard
from kiosk.model import Spoken
from kiosk.printer_profile import PrinterProfile
from kiosk.texts import Texts
from kiosk.ticket_print import Named, _Sheet, number_magnification

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]
"""Run a function on the UI thread."""
Run = Callable[[Callable[[], None]], None]
"""Run a function on a worker thread."""

COMMITMENT_TEXT_KEY = "kiosk-commitment-2026-1"
"""The version of the commitment text the kiosk shows (``CaseRequest.commitment_text``)."""
COMMITMENT_TEXT_ZH = (
    "本人承诺：所提交的信息真实、准确、完整，本人已具备该项材料所证明的条件，并将在规定期限内补交。"
    "如有虚假承诺，愿承担相应法律责任，并同意记入信用记录。"
)
COMMITMENT_TEXT_EN = (
    "I declare that the information I hand in is true, accurate and complete, that I meet the condition this "
    "material proves, and that I will hand it in within the set time. I accept the legal consequences of a false "
    "commitment and agree that it is recorded in my credit record."
)


class Step(enum.StrEnum):
    MATTERS = "matters"
    CHECKLIST = "checklist"
    CAPTURE = "capture"
    REVIEW = "review"
    COMMITMENT = "commitment"
    SUBMITTING = "submitting"
    RECEIPT = "receipt"
    MESSAGE = "message"


class CameraControl(Protocol):
    """What the flow (and its screen) asks of its ``Viewfinder``: look for a page of a shape, or stop looking; the
    newest frame for the preview."""

    def arm(self, shape: wire.PageShape) -> None: ...

    def disarm(self) -> None: ...

    def capture_now(self) -> None: ...

    def latest(self) -> Any: ...


class Capture(Protocol):
    """What ``cv2.VideoCapture`` offers (``kiosk.qr_scan.Capture``): frames from the document camera."""

    def read(self) -> tuple[bool, Any]: ...

    def release(self) -> None: ...


def shape_for(material: wire.MaterialInfo) -> wire.PageShape:
    """The shape a material's pages are corrected to, by its name: cards are ID-1, certificates and booklets
    about 3:4, everything else A4."""
    name = material.name_zh
    if "身份证" in name or name.endswith("卡") or "卡（" in name or "银行卡" in name:
        return wire.PageShape.ID_CARD
    if any(word in name for word in ("证书", "户口簿", "结婚证", "离婚证", "产权证", "执照", "残疾人证")):
        return wire.PageShape.CERTIFICATE
    return wire.PageShape.A4


@dataclass(frozen=True, eq=False)
class CapturedPage:
    """A corrected page: its JPEG (what is spooled and sent) and a small image for the review strip."""

    jpeg: bytes
    thumbnail: np.ndarray
    shape: wire.PageShape


@dataclass
class MaterialState:
    info: wire.MaterialInfo
    shape: wire.PageShape
    pages: list[CapturedPage] = field(default_factory=list)
    committed: bool = False
    commitment_allowed: bool = False
    """The district allows a commitment for this material (and the citizen may sign one: the hub said so)."""

    @property
    def handed_in(self) -> bool:
        return self.committed or bool(self.pages)


@dataclass(frozen=True)
class Receipt:
    case_number: str
    status_url: str
    """Absolute: the hub's public address and the case's status path (the QR code)."""
    matter_name: str
    printed: bool | None = None
    """None: printing now or no printer; False: the printer failed (the case number is on the screen)."""
    saved_only: bool = False
    """The hub stayed away: the submission is saved on the kiosk and will be sent by itself (no case number yet)."""


# -- the camera, off the UI thread ---------------------------------------------------------------------------------


class Viewfinder:
    """Reads the document camera and analyses its frames on two threads of its own.

    ``latest()`` is the newest frame for the preview (any thread). ``on_verdict(verdict)`` and
    ``on_captured(page)`` are posted to the UI thread. ``shape`` is what the next capture is corrected to;
    ``capture_now()`` takes the next good frame without waiting for it to be steady.
    """

    def __init__(
        self,
        camera: Capture,
        post: Post,
        on_verdict: Callable[[vision.Verdict], None],
        on_captured: Callable[[CapturedPage], None],
        on_failed: Callable[[str], None] = lambda reason: None,
        *,
        clock: Callable[[], float] = time.monotonic,
        steady: vision.SteadyCapture | None = None,
        frame_interval: float = 0.0,
    ) -> None:
        self.camera, self.post = camera, post
        self.on_verdict, self.on_captured, self.on_failed = on_verdict, on_captured, on_failed
        self.clock = clock
        self.steady = steady or vision.SteadyCapture()
        self.frame_interval = frame_interval
        self.shape = wire.PageShape.A4
        self.analysed = 0
        """Frames analysed so far (tests, diagnostics)."""
        self._frame: Any = None
        self._serial = 0
        self._seen = 0
        self._new_frame = threading.Condition()
        self._stop = threading.Event()
        self._armed = threading.Event()
        self._now = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._read_loop, name="document-camera", daemon=True),
            threading.Thread(target=self._analyse_loop, name="document-analysis", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._new_frame:
            self._new_frame.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5)
        self._threads = []

    def close(self) -> None:
        self.stop()
        self.camera.release()

    def arm(self, shape: wire.PageShape) -> None:
        """Look for the next page (of ``shape``): the next steady page is captured."""
        self.shape = shape
        self.steady.reset()
        self._now.clear()
        self._armed.set()
        self.start()

    def disarm(self) -> None:
        """Stop looking (and reading the camera: its threads end until the next ``arm``)."""
        self._armed.clear()
        self._now.clear()
        self.stop()

    def capture_now(self) -> None:
        """The citizen tapped 拍照: the next good frame is taken at once."""
        self._now.set()

    def latest(self) -> Any:
        with self._new_frame:
            return self._frame

    def step(self, frame: Any, at: float) -> vision.Verdict:
        """Analyse one frame: the verdict, and the corrected page when it is time to take it (posted)."""
        verdict = vision.analyse(frame)
        self.analysed += 1
        steady = self.steady.feed(verdict, at)
        self.post(lambda: self.on_verdict(verdict))
        if self._armed.is_set() and verdict.ok and verdict.corners is not None and (steady or self._now.is_set()):
            self._armed.clear()
            self._now.clear()
            corrected = vision.correct(frame, verdict.corners, self.shape)
            page = CapturedPage(vision.encode_page(corrected), vision.thumbnail(corrected, 240), self.shape)
            self.post(lambda: self.on_captured(page))
        return verdict

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            try:
                ok, frame = self.camera.read()
            except Exception as error:  # a camera driver raises what it likes
                ok, frame = False, None
                log.warning("document camera failed: %s", type(error).__name__)
            if not ok or frame is None:
                self.post(lambda: self.on_failed("no frames"))
                self._stop.set()
                with self._new_frame:
                    self._new_frame.notify_all()
                return
            with self._new_frame:
                self._frame, self._serial = frame, self._serial + 1
                self._new_frame.notify_all()
            if self.frame_interval:
                self._stop.wait(self.frame_interval)

    def _analyse_loop(self) -> None:
        while not self._stop.is_set():
            with self._new_frame:
                while self._serial == self._seen and not self._stop.is_set():
                    self._new_frame.wait(0.5)
                if self._stop.is_set():
                    return
                frame, self._seen = self._frame, self._serial  # the newest: frames analysed too late are skipped
            self.step(frame, self.clock())


# -- the flow -------------------------------------------------------------------------------------------------------


class DocumentFlow:
    """The steps of handing in documents; every method runs on the UI thread."""

    def __init__(
        self,
        site_id: str,
        texts: Texts,
        spool: Spool,
        uploader: Uploader,
        *,
        run: Run,
        post: Post,
        public_url: str = "",
        print_receipt: Callable[[Receipt], bool] | None = None,
        attempts: int = 4,
    ) -> None:
        """A material the catalogue marks ``commitment_allowed`` may be replaced by a signed commitment, when the hub
        allows it for the citizen's card. ``print_receipt`` prints the receipt (on a worker thread),
        True when it did. ``attempts``: tries while the citizen waits; then the receipt says the documents are
        saved on the kiosk (the background sender, ``uploader.keep_sending``, delivers them)."""
        self.site_id, self.texts, self.spool, self.uploader = site_id, texts, spool, uploader
        self.run, self.post = run, post
        self.public_url = public_url
        self.print_receipt = print_receipt
        self.attempts = attempts
        self.info: wire.SiteInfo | None = None
        self.elder_mode = False
        self.step = Step.MATTERS
        self.message = ""
        self.matter: wire.MatterInfo | None = None
        self.materials: list[MaterialState] = []
        self.current: int | None = None
        """The material being captured, reviewed or committed."""
        self.retaking: int | None = None
        """The page (index) the next capture replaces; None: the next capture is added."""
        self.prompt = ""
        """What the capture step says of the latest frame ("请将材料放平")."""
        self.page_ok = False
        self.card: IdCard | None = None
        self.commitment_allowed: bool | None = None
        """The hub's answer for the card on the reader: None until asked (or no card)."""
        self.progress: tuple[int, int] = (0, 0)
        self.receipt: Receipt | None = None
        self.submission_id: str | None = None
        self.ticket_id: str | None = None
        self.camera: CameraControl | None = None
        """The viewfinder (``attach``): armed while the capture step is on."""
        self.camera_wanted = False
        """The capture step is on: the viewfinder is armed."""
        self._generation = 0
        uploader.on_page = lambda ref, sent, total: self.post(lambda: self._on_progress(sent, total))

    def attach(self, camera: CameraControl) -> None:
        self.camera = camera

    def take_now(self) -> None:
        """The citizen tapped 拍照: the next good frame is taken without waiting for it to be steady."""
        if self.step == Step.CAPTURE and self.camera is not None:
            self.camera.capture_now()

    # -- what the kiosk tells the flow ----------------------------------------------------------------------

    def on_info(self, info: wire.SiteInfo) -> None:
        if info.site_id == self.site_id:
            self.info = info

    def start(self, card: IdCard | None = None, ticket_id: str | None = None) -> None:
        """The citizen tapped 材料提交: the matters, afresh."""
        self._generation += 1
        self.step, self.message = Step.MATTERS, ""
        self.matter, self.materials, self.current, self.retaking = None, [], None, None
        self.receipt, self.submission_id, self.progress = None, None, (0, 0)
        self.ticket_id = ticket_id
        self.card, self.commitment_allowed = None, None
        self._camera_off()
        if card is not None:
            self.on_card(card)

    def on_card(self, card: IdCard) -> None:
        """An ID card on the reader: its number may sign a commitment if the hub allows it (asked at once)."""
        if self.card is not None and self.card.id_number == card.id_number:
            return
        self.card, self.commitment_allowed = card, None
        generation, number = self._generation, card.id_number

        def ask() -> None:
            try:
                allowed = self.uploader.check_commitment(number)
            except (UploadError, Refused) as error:
                log.info("commitment check failed: %s", type(error).__name__)
                allowed = False  # not known to be allowed: not offered
            self.post(lambda: self._on_commitment_answer(generation, number, allowed))

        self.run(ask)

    def _on_commitment_answer(self, generation: int, number: str, allowed: bool) -> None:
        if generation != self._generation or self.card is None or self.card.id_number != number:
            return
        self.commitment_allowed = allowed
        self._offer_commitments()

    # -- taps ---------------------------------------------------------------------------------------------------

    def matters(self) -> list[wire.MatterInfo]:
        """The site's matters that ask for at least one material."""
        return [matter for matter in (self.info.matters if self.info else ()) if matter.materials]

    def choose_matter(self, code: str) -> None:
        matter = next((m for m in self.matters() if m.code == code), None)
        if matter is None:
            return
        self.matter = matter
        self.materials = [MaterialState(info=m, shape=shape_for(m)) for m in matter.materials]
        self._offer_commitments()
        self.step = Step.CHECKLIST

    def capture(self, material: int) -> None:
        """Capture (more) pages of a material."""
        if not 0 <= material < len(self.materials):
            return
        state = self.materials[material]
        state.committed = False
        self.current, self.retaking = material, None
        self._to_capture()

    def on_verdict(self, verdict: vision.Verdict) -> None:
        """The viewfinder's latest verdict: the prompt under the preview."""
        if self.step != Step.CAPTURE:
            return
        self.page_ok = verdict.ok
        language = "zh" if self.texts.chinese else "en"
        if verdict.ok:
            self.prompt = self.texts("Hold still: the picture is taken by itself")
        else:
            self.prompt = vision.prompt(verdict.problems[0], language) if verdict.problems else ""

    def on_captured(self, page: CapturedPage) -> None:
        """The viewfinder took a page: it joins the material (or replaces the one retaken), then the review."""
        if self.step != Step.CAPTURE or self.current is None:
            return
        pages = self.materials[self.current].pages
        if self.retaking is not None and self.retaking < len(pages):
            pages[self.retaking] = page
        else:
            pages.append(page)
        self.retaking = None
        self._camera_off()
        self.step = Step.REVIEW

    def on_camera_failed(self) -> None:
        if self.step == Step.CAPTURE:
            self._camera_off()
            self._message(self.texts("The camera is not available. Please ask the staff."))

    def add_page(self) -> None:
        if self.current is not None:
            self.retaking = None
            self._to_capture()

    def retake(self, page: int) -> None:
        if self.current is not None and 0 <= page < len(self.materials[self.current].pages):
            self.retaking = page
            self._to_capture()

    def remove_page(self, page: int) -> None:
        if self.current is not None and 0 <= page < len(self.materials[self.current].pages):
            del self.materials[self.current].pages[page]

    def review(self, material: int) -> None:
        if 0 <= material < len(self.materials) and self.materials[material].pages:
            self.current = material
            self._camera_off()
            self.step = Step.REVIEW

    def done_material(self) -> None:
        """Back to the checklist (from the review, or from the capture with the pages taken so far)."""
        self.current, self.retaking = None, None
        self._camera_off()
        self.step = Step.CHECKLIST

    def commit(self, material: int) -> None:
        """Show the commitment text for a material (only where it is offered)."""
        if 0 <= material < len(self.materials) and self.materials[material].commitment_allowed:
            self.current = material
            self.step = Step.COMMITMENT

    def consent(self) -> None:
        """The citizen agreed to the commitment shown: the material is replaced by it (its pages dropped)."""
        if self.step != Step.COMMITMENT or self.current is None:
            return
        state = self.materials[self.current]
        if state.commitment_allowed:
            state.committed, state.pages = True, []
        self.done_material()

    def withdraw(self, material: int) -> None:
        """Take a commitment back: the material is to be handed in again."""
        if 0 <= material < len(self.materials):
            self.materials[material].committed = False

    def can_submit(self) -> bool:
        return self.step == Step.CHECKLIST and any(state.handed_in for state in self.materials)

    def missing(self) -> list[str]:
        """The materials neither captured nor committed (the checklist warns; a clerk decides)."""
        return [self.texts.pick(s.info.name_zh, s.info.name_en) for s in self.materials if not s.handed_in]

    def submit(self) -> None:
        """Spool the submission on disk, then send it; the receipt (or why not) comes back on the UI thread."""
        if not self.can_submit() or self.matter is None:
            return
        materials = [
            wire.CaseMaterial(material=index, commitment=state.committed)
            for index, state in enumerate(self.materials)
            if state.handed_in
        ]
        pages = [
            Page(material=index, page=number, data=page.jpeg, shape=page.shape)
            for index, state in enumerate(self.materials)
            if not state.committed
            for number, page in enumerate(state.pages, start=1)
        ]
        committed = any(state.committed for state in self.materials)
        id_number = self.card.id_number if committed and self.card is not None else None
        matter, ticket_id, generation = self.matter, self.ticket_id, self._generation
        self.step, self.progress = Step.SUBMITTING, (0, len(pages))
        self.message = self.texts("Sending your documents…")

        def send() -> None:
            try:
                manifest = self.spool.create(
                    site=self.site_id, matter=matter.code, materials=materials, pages=pages, ticket_id=ticket_id,
                    commitment_text=COMMITMENT_TEXT_KEY if committed else None, id_number=id_number,
                )  # fmt: skip
            except OSError as error:
                log.error("the document spool failed: %s", error)
                self.post(lambda: self._on_refused(generation, self.texts("The kiosk could not save the documents.")))
                return
            self.post(lambda: self._on_spooled(generation, manifest.submission_id))
            try:
                receipt = self.uploader.send(manifest.submission_id, self.attempts)
            except Refused as refused:
                said = refused.error
                self.post(lambda: self._on_refused(generation, self.texts.pick(said.zh, said.en)))
            except GaveUp:
                self.post(lambda: self._on_saved_only(generation))
            except Exception:  # spooled: the kiosk's resume sends it later; the citizen is not left waiting
                log.exception("sending a submission failed")
                self.post(lambda: self._on_saved_only(generation))
            else:
                self.post(lambda: self._on_receipt(generation, receipt))

        self.run(send)

    def _on_spooled(self, generation: int, submission_id: str) -> None:
        if generation == self._generation:
            self.submission_id = submission_id

    def _on_progress(self, sent: int, total: int) -> None:
        if self.step == Step.SUBMITTING:
            self.progress = (sent, total)
            self.message = self.texts("Sending page {sent} of {total}…", sent=sent, total=total)

    def _on_refused(self, generation: int, why: str) -> None:
        if generation == self._generation:
            self._message(why or self.texts("The documents were not accepted. Please ask the staff."))

    def _on_saved_only(self, generation: int) -> None:
        if generation != self._generation or self.matter is None:
            return
        self.receipt = Receipt("", "", self._name(self.matter), saved_only=True)
        self.step = Step.RECEIPT

    def _on_receipt(self, generation: int, receipt: wire.CaseReceipt) -> None:
        if generation != self._generation or self.matter is None:
            return
        url = status_link(self.public_url, receipt.status_url)
        printing = self.print_receipt
        self.receipt = Receipt(receipt.case_number, url, self._name(self.matter), printed=None)
        self.step = Step.RECEIPT
        shown, submission_id = self.receipt, self.submission_id

        def print_it() -> None:
            printed = printing(shown) if printing is not None else True
            self.post(lambda: self._on_printed(generation, printed))
            if submission_id is not None:
                try:
                    self.spool.done(submission_id)
                except Exception as error:  # the receipt is out: a spool that cannot say so is only untidy
                    log.warning("could not mark the submission done: %s", error)

        self.run(print_it)

    def _on_printed(self, generation: int, printed: bool) -> None:
        if generation == self._generation and self.receipt is not None:
            self.receipt = Receipt(
                self.receipt.case_number, self.receipt.status_url, self.receipt.matter_name, printed=printed
            )

    def back(self) -> bool:
        """One step back; False when the flow is left (the kiosk's home)."""
        if self.step in (Step.CAPTURE, Step.COMMITMENT):
            if self.current is not None and self.materials[self.current].pages and self.step == Step.CAPTURE:
                self._camera_off()
                self.step = Step.REVIEW
            else:
                self.done_material()
            return True
        if self.step == Step.REVIEW:
            self.done_material()
            return True
        if self.step == Step.CHECKLIST:
            self.step, self.matter, self.materials = Step.MATTERS, None, []
            return True
        return self.step == Step.SUBMITTING  # an upload in progress is not left half-way by a tap

    # -- what the screen shows -----------------------------------------------------------------------------------

    def checklist(self) -> list[tuple[str, str, str]]:
        """(material line "身份证：原件 1 份", its state, what it offers: "capture" / "commit" / "") per material."""
        rows = []
        for state in self.materials:
            if state.committed:
                status = self.texts("Replaced by your commitment")
            elif state.pages:
                status = self.texts("{count} page(s) taken", count=len(state.pages))
            else:
                status = self.texts("Not handed in yet")
            offer = "commit" if state.commitment_allowed and not state.handed_in else ""
            rows.append((material_line(self.texts, state.info), status, offer))
        return rows

    def commitment_hint(self) -> str:
        """Said on the checklist when the matter allows commitments but the card is not read (or not allowed)."""
        if self.matter is None or not any(m.commitment_allowed for m in self.matter.materials):
            return ""
        if self.card is None:
            return self.texts("Lay your ID card on the reader to sign a commitment instead of a material.")
        if self.commitment_allowed is False:
            return self.texts("A commitment cannot be signed here: please hand in the materials.")
        return ""

    def commitment_text(self) -> str:
        return self.texts.pick(COMMITMENT_TEXT_ZH, COMMITMENT_TEXT_EN)

    def title(self) -> str:
        t = self.texts
        material = self.materials[self.current].info if self.current is not None and self.materials else None
        name = t.pick(material.name_zh, material.name_en) if material else ""
        pages = len(self.materials[self.current].pages) if self.current is not None and self.materials else 0
        return {
            Step.MATTERS: t("Which matter are the documents for?"),
            Step.CHECKLIST: t("Materials of {matter}", matter=self._name(self.matter)) if self.matter else "",
            Step.CAPTURE: t(
                "{material}: page {page}",
                material=name,
                page=1 + (self.retaking if self.retaking is not None else pages),
            ),
            Step.REVIEW: t("{material}: check the pages", material=name),
            Step.COMMITMENT: t("Commitment instead of: {material}", material=name),
            Step.SUBMITTING: t("Sending your documents…"),
            Step.RECEIPT: t("Documents handed in"),
            Step.MESSAGE: t("Hand in documents"),
        }[self.step]

    def spoken(self) -> Spoken:
        """The step as sentences to read aloud in elder mode, in the screen's language."""
        t = self.texts
        language = "zh" if t.chinese else "en"
        sentences = [self.title()]
        if self.step == Step.MATTERS:
            sentences += [self._name(matter) for matter in self.matters()]
        elif self.step == Step.CHECKLIST:
            comma = "，" if t.chinese else ", "
            sentences += [line + comma + status for line, status, _ in self.checklist()]
            sentences.append(self.commitment_hint())
        elif self.step == Step.CAPTURE:
            sentences += [t("Lay the page under the camera."), self.prompt]
        elif self.step == Step.REVIEW and self.current is not None:
            sentences.append(t("{count} page(s) taken", count=len(self.materials[self.current].pages)))
        elif self.step == Step.COMMITMENT:
            sentences.append(self.commitment_text())
        elif self.step == Step.RECEIPT and self.receipt is not None:
            if self.receipt.saved_only:
                sentences.append(t("Your documents are saved on this kiosk and will be sent by themselves."))
            else:
                sentences.append(t("Your case number is {number}", number=" ".join(self.receipt.case_number)))
                sentences.append(t("Scan the code on the receipt to follow your case."))
        else:
            sentences.append(self.message)
        return Spoken(language, tuple(sentence for sentence in sentences if sentence))

    # -- helpers ------------------------------------------------------------------------------------------------

    def _to_capture(self) -> None:
        self.step, self.prompt, self.page_ok = Step.CAPTURE, "", False
        self.camera_wanted = True
        if self.camera is not None:
            self.camera.arm(self.capture_shape)

    def _camera_off(self) -> None:
        if self.camera_wanted and self.camera is not None:
            self.camera.disarm()
        self.camera_wanted = False

    def leave(self) -> None:
        """The kiosk went back to its start (a tap, or nobody touched it): the camera stops, nothing is kept on
        screen (a submission already spooled is still sent)."""
        self._camera_off()
        self.start()

    @property
    def capture_shape(self) -> wire.PageShape:
        return self.materials[self.current].shape if self.current is not None else wire.PageShape.A4

    def _offer_commitments(self) -> None:
        for state in self.materials:
            state.commitment_allowed = bool(self.commitment_allowed) and state.info.commitment_allowed
            if state.committed and not state.commitment_allowed:
                state.committed = False

    def _message(self, text: str) -> None:
        self.step, self.message = Step.MESSAGE, text
        self._camera_off()

    def _name(self, matter: wire.MatterInfo) -> str:
        return self.texts.pick(matter.name_zh, matter.name_en)


def status_link(public_url: str, status_path: str) -> str:
    """The receipt's QR code: the hub's public address and the case's status path."""
    return public_url.rstrip("/") + "/" + status_path.lstrip("/") if status_path else ""


def build_receipt(profile: PrinterProfile, site: Named, receipt: Receipt, *, language: str = "zh_CN") -> bytes:
    """The receipt's bytes for the profile's printer: the site, the matter, the case number (large) and the QR
    code to the case's status page (a printed link when the printer has no native QR)."""
    texts = Texts(language)
    sheet = _Sheet(profile)
    sheet.line(site.name_zh, bold=True)
    sheet.line(site.name_en, small=True)
    sheet.rule()
    sheet.line(texts("Documents handed in"), bold=True)
    sheet.line(receipt.matter_name)
    sheet.line(texts("Case number"))
    sheet.line(receipt.case_number, bold=True, magnification=number_magnification(profile, receipt.case_number))
    if receipt.status_url:
        if sheet.capabilities.supports("qrCode"):
            sheet.qr(receipt.status_url)
        else:
            sheet.line(receipt.status_url, small=True)
        sheet.line(texts("Scan the code on the receipt to follow your case."), small=True)
    return sheet.finish()


__all__ = [
    "COMMITMENT_TEXT_KEY",
    "CapturedPage",
    "DocumentFlow",
    "MaterialState",
    "Receipt",
    "Step",
    "Viewfinder",
    "build_receipt",
    "shape_for",
]

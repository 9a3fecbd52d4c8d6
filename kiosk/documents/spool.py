"""A submission of documents kept on the kiosk's disk until the hub has acknowledged it (docs/documents.md).

One folder per submission, named by its ``submission_id`` (uuid4 hex, made once and sent with every attempt, so the
hub answers the same case however often it is asked), holding ``manifest.json`` (msgspec JSON) and one JPEG per
page. Every file is written atomically: a temporary file, fsync, rename, fsync of the folder; a new submission's
folder is filled under a temporary name and renamed into place, so a crash leaves either the whole submission or
nothing. The states run pending → opened (the hub gave a case number) → submitted (acknowledged) → done (receipt
printed), or failed (the hub refused it: kept for the staff, with the hub's error code).

An ID number read for a commitment is kept only in this process's memory, never on disk: after a restart a case
the hub has already opened needs it no more, and one it has not is sent without it.
"""

from __future__ import annotations

import enum
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

import contract as wire

MANIFEST = "manifest.json"


class SpoolState(enum.StrEnum):
    PENDING = "pending"
    """Spooled; the hub has not answered yet."""
    OPENED = "opened"
    """The hub opened the case (its number is known); pages may still be missing."""
    SUBMITTED = "submitted"
    """The hub acknowledged the whole submission."""
    DONE = "done"
    """The receipt was handed to the citizen: nothing left to do."""
    FAILED = "failed"
    """The hub refused it (a 4xx answer): kept for the staff, not sent again by itself."""


RESUMABLE = (SpoolState.PENDING, SpoolState.OPENED)


class SpooledPage(wire.CasePage, frozen=True, kw_only=True):
    file: str
    """The page's JPEG in the submission's folder."""
    uploaded: bool = False


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    submission_id: str
    site: str
    matter: str
    materials: tuple[wire.CaseMaterial, ...]
    pages: tuple[SpooledPage, ...]
    created: datetime
    ticket_id: str | None = None
    commitment_text: str | None = None
    state: SpoolState = SpoolState.PENDING
    case_number: str | None = None
    status_url: str | None = None
    error_code: str | None = None
    error_zh: str | None = None
    error_en: str | None = None

    def request(self, id_number: str | None = None) -> wire.CaseRequest:
        """The ``CaseRequest`` that opens (or answers again) this submission's case."""
        return wire.CaseRequest(
            submission_id=self.submission_id,
            matter=self.matter,
            materials=self.materials,
            pages=tuple(
                wire.CasePage(material=p.material, page=p.page, sha256=p.sha256, size=p.size, shape=p.shape)
                for p in self.pages
            ),
            ticket_id=self.ticket_id,
            id_number=id_number,
            commitment_text=self.commitment_text,
        )

    def page(self, ref: wire.PageRef) -> SpooledPage:
        for page in self.pages:
            if page.material == ref.material and page.page == ref.page:
                return page
        raise KeyError(f"submission {self.submission_id} has no page {ref.material}/{ref.page}")


@dataclass(frozen=True)
class Page:
    """A page to spool: which material it belongs to, its place, its shape and its JPEG."""

    material: int
    page: int
    data: bytes
    shape: wire.PageShape = wire.PageShape.A4


class SpoolError(RuntimeError):
    pass


_decoder = msgspec.json.Decoder(Manifest)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds either its old bytes or ``data``, never a part, whatever happens in between."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


class Spool:
    """The submissions under ``root``; safe to use from several threads of one process."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._id_numbers: dict[str, str] = {}
        for folder in self.root.glob(".*.building"):  # a crash while spooling; never touched while one is written
            shutil.rmtree(folder, ignore_errors=True)

    def create(
        self,
        *,
        site: str,
        matter: str,
        materials: Iterable[wire.CaseMaterial],
        pages: Iterable[Page],
        ticket_id: str | None = None,
        commitment_text: str | None = None,
        id_number: str | None = None,
        now: datetime | None = None,
    ) -> Manifest:
        """Spool a new submission (its pages first, then the manifest, all under a temporary folder renamed into
        place) and answer its manifest."""
        submission_id = uuid.uuid4().hex
        building = self.root / f".{submission_id}.building"
        building.mkdir()
        spooled = []
        try:
            for page in pages:
                name = f"m{page.material:02d}-p{page.page:03d}.jpg"
                write_atomically(building / name, page.data)
                spooled.append(
                    SpooledPage(
                        material=page.material,
                        page=page.page,
                        sha256=hashlib.sha256(page.data).hexdigest(),
                        size=len(page.data),
                        shape=page.shape,
                        file=name,
                    )
                )
            manifest = Manifest(
                submission_id=submission_id,
                site=site,
                matter=matter,
                materials=tuple(materials),
                pages=tuple(spooled),
                created=now or datetime.now(UTC),
                ticket_id=ticket_id,
                commitment_text=commitment_text,
            )
            write_atomically(building / MANIFEST, msgspec.json.encode(manifest))
            if id_number:  # before the folder appears: the sender may pick it up at once
                self._id_numbers[submission_id] = id_number
            os.replace(building, self.root / submission_id)
            _fsync_dir(self.root)
        except BaseException:
            self._id_numbers.pop(submission_id, None)
            shutil.rmtree(building, ignore_errors=True)
            raise
        return manifest

    def load(self, submission_id: str) -> Manifest:
        try:
            return _decoder.decode((self._folder(submission_id) / MANIFEST).read_bytes())
        except FileNotFoundError:
            raise SpoolError(f"no spooled submission {submission_id}") from None
        except msgspec.DecodeError as error:
            raise SpoolError(f"submission {submission_id}: unreadable manifest: {error}") from None

    def all(self) -> list[Manifest]:
        """Every spooled submission, oldest first (a folder still being written is not one yet)."""
        manifests = []
        for folder in self.root.iterdir():
            if folder.name.startswith("."):
                continue
            if (folder / MANIFEST).exists():
                try:
                    manifests.append(self.load(folder.name))
                except SpoolError:
                    continue  # a manifest is only ever replaced whole: unreadable means not ours
        return sorted(manifests, key=lambda manifest: manifest.created)

    def pending(self) -> list[Manifest]:
        """What to send (again) after a restart: pending or opened, oldest first."""
        return [manifest for manifest in self.all() if manifest.state in RESUMABLE]

    def page_data(self, manifest: Manifest, ref: wire.PageRef) -> bytes:
        """A page's JPEG, checked against the checksum it was spooled with."""
        page = manifest.page(ref)
        data = (self._folder(manifest.submission_id) / page.file).read_bytes()
        if hashlib.sha256(data).hexdigest() != page.sha256:
            raise SpoolError(f"submission {manifest.submission_id}: page {ref.material}/{ref.page} is damaged")
        return data

    def id_number(self, submission_id: str) -> str | None:
        """The ID number given for a commitment, while this process lives."""
        return self._id_numbers.get(submission_id)

    # -- state changes --------------------------------------------------------------------------------------------

    def opened(self, submission_id: str, receipt: wire.CaseReceipt) -> Manifest:
        """The hub answered with the case: its number, and which pages it already has."""
        missing = {(ref.material, ref.page) for ref in receipt.missing}
        acknowledged = receipt.state != wire.CaseState.RECEIVING

        def change(manifest: Manifest) -> Manifest:
            pages = tuple(
                msgspec.structs.replace(page, uploaded=acknowledged or (page.material, page.page) not in missing)
                for page in manifest.pages
            )
            state = SpoolState.SUBMITTED if acknowledged else max_state(manifest.state, SpoolState.OPENED)
            return msgspec.structs.replace(
                manifest, pages=pages, state=state, case_number=receipt.case_number, status_url=receipt.status_url
            )

        return self._change(submission_id, change)

    def uploaded(self, submission_id: str, ref: wire.PageRef) -> Manifest:
        def change(manifest: Manifest) -> Manifest:
            pages = tuple(
                msgspec.structs.replace(page, uploaded=True)
                if (page.material, page.page) == (ref.material, ref.page)
                else page
                for page in manifest.pages
            )
            return msgspec.structs.replace(manifest, pages=pages)

        return self._change(submission_id, change)

    def submitted(self, submission_id: str, receipt: wire.CaseReceipt) -> Manifest:
        self._id_numbers.pop(submission_id, None)
        return self._change(
            submission_id,
            lambda manifest: msgspec.structs.replace(
                manifest,
                state=max_state(manifest.state, SpoolState.SUBMITTED),
                case_number=receipt.case_number,
                status_url=receipt.status_url,
                pages=tuple(msgspec.structs.replace(page, uploaded=True) for page in manifest.pages),
            ),
        )

    def done(self, submission_id: str) -> Manifest:
        """The receipt was printed (or shown): the submission is finished; its pages are no longer needed."""

        def change(manifest: Manifest) -> Manifest:
            if manifest.state != SpoolState.SUBMITTED:
                raise SpoolError(f"submission {submission_id} is {manifest.state}, not acknowledged")
            return msgspec.structs.replace(manifest, state=SpoolState.DONE)

        manifest = self._change(submission_id, change)
        for page in manifest.pages:
            (self._folder(submission_id) / page.file).unlink(missing_ok=True)
        return manifest

    def failed(self, submission_id: str, error: wire.Error) -> Manifest:
        self._id_numbers.pop(submission_id, None)
        return self._change(
            submission_id,
            lambda manifest: msgspec.structs.replace(
                manifest, state=SpoolState.FAILED, error_code=error.code, error_zh=error.zh, error_en=error.en
            ),
        )

    # -- helpers --------------------------------------------------------------------------------------------------

    def _folder(self, submission_id: str) -> Path:
        if not submission_id or not submission_id.isalnum():
            raise SpoolError(f"not a submission id: {submission_id!r}")
        return self.root / submission_id

    def _change(self, submission_id: str, change: Callable[[Manifest], Manifest]) -> Manifest:
        with self._lock:
            manifest = change(self.load(submission_id))
            write_atomically(self._folder(submission_id) / MANIFEST, msgspec.json.encode(manifest))
            return manifest


_ORDER = (SpoolState.PENDING, SpoolState.OPENED, SpoolState.SUBMITTED, SpoolState.DONE)


def max_state(current: SpoolState, new: SpoolState) -> SpoolState:
    """States only move forward (a late answer does not take a submitted case back to opened)."""
    if current not in _ORDER or new not in _ORDER:
        return new
    return max(current, new, key=_ORDER.index)

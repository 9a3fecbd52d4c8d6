"""Cases, their pages and the list of broken commitments, in the hub's database; page files in a ``PageFiles``.

Every decision is one statement that cannot happen twice: a case is one row per ``(site, submission id)`` (a
kiosk's retry finds it), its number one per ``(site, day, sequence)``, a page's file is kept before its row says
``stored_at``, and ``submit`` / a decision change the state only from the state they expect. The citizen's ID number
is never kept: only its keyed ``citizen_ref`` (hub/appointments/privacy.py, the gateway's pepper).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

import contract as wire
from engine.calendar import day_bounds, local_day
from engine.district import District
from hub.archive.files import DiskPageFiles, PageFiles
from hub.store.base import as_utc
from hub.store.schema import archive_cases, archive_denied, archive_pages, metadata
from hub.store.sql import SqlStore

MAX_PAGE_BYTES = 8 * 1024 * 1024
MAX_PAGES = 400
"""At most this many pages in one case."""
TABLES = [archive_cases, archive_pages, archive_denied]
_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"


class ArchiveError(Exception):
    """A refusal, as the kiosk's API answers it: an HTTP status and a ``contract.Error``."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.error = status, wire.Error(code=code, zh=zh, en=en)


@dataclass(frozen=True, slots=True)
class Page:
    material: int
    page: int
    sha256: str
    size: int
    shape: str
    stored_at: datetime | None


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    case_number: str
    site_id: str
    submission_id: str
    matter: str
    ticket_id: str | None
    state: wire.CaseState
    materials: tuple[wire.CaseMaterial, ...]
    citizen_ref: str | None
    commitment_text: str | None
    commitment_at: datetime | None
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    pages: tuple[Page, ...] = field(default=())

    @property
    def missing(self) -> tuple[wire.PageRef, ...]:
        return tuple(wire.PageRef(material=p.material, page=p.page) for p in self.pages if p.stored_at is None)

    def summary(self) -> dict[str, Any]:
        """What the audit keeps of a case (no personal data)."""
        return {"case_number": self.case_number, "site_id": self.site_id, "matter": self.matter,
                "state": self.state.value, "reason": self.reason}  # fmt: skip


def _from_row(row: Any, pages: tuple[Page, ...]) -> Case:
    return Case(
        case_id=row["case_id"], case_number=row["case_number"], site_id=row["site_id"],
        submission_id=row["submission_id"], matter=row["matter"], ticket_id=row["ticket_id"],
        state=wire.CaseState(row["state"]),
        materials=tuple(wire.CaseMaterial(**m) for m in json.loads(row["materials"])),
        citizen_ref=row["citizen_ref"], commitment_text=row["commitment_text"],
        commitment_at=_utc(row["commitment_at"]), created_at=as_utc(row["created_at"]),
        submitted_at=_utc(row["submitted_at"]), decided_at=_utc(row["decided_at"]),
        decided_by=row["decided_by"], reason=row["reason"], pages=pages,
    )  # fmt: skip


def memory_engine() -> Engine:
    """A private in-memory SQLite database with the archive's tables (a hub on the memory store)."""
    engine = sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    metadata.create_all(engine, tables=TABLES)
    return engine


def is_image(data: bytes) -> bool:
    """A JPEG or PNG that OpenCV decodes (at 1/8 scale: enough to know it is one, and quick)."""
    if not (data.startswith(_JPEG) or data.startswith(_PNG)):
        return False
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return image is not None and image.size > 0


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else as_utc(at)


class Archive:
    """The archive: cases in ``engine``'s database, page files in ``files``."""

    def __init__(
        self,
        engine: Engine,
        files: PageFiles,
        district: Callable[[], District],
        secret: bytes,
        citizen_ref: Callable[[str], str | None],
        *,
        max_page_bytes: int = MAX_PAGE_BYTES,
        retention_years: int = 30,
    ) -> None:
        self.engine, self.files, self._district = engine, files, district
        self._secret, self._citizen_ref = secret, citizen_ref
        self.max_page_bytes, self.retention_years = max_page_bytes, retention_years

    def district(self) -> District:
        return self._district()

    # --- tokens -----------------------------------------------------------------------------------------------

    def token(self, case_id: str) -> str:
        """The status link's token: unguessable without the hub's secret, the same for every retry."""
        digest = hmac.new(self._secret, f"case:{case_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    def status_url(self, case: Case) -> str:
        return f"/case/{self.token(case.case_id)}"

    def receipt(self, case: Case) -> wire.CaseReceipt:
        return wire.CaseReceipt(
            case_number=case.case_number, state=case.state, status_url=self.status_url(case),
            missing=case.missing, reason=case.reason if case.state == wire.CaseState.RETURNED else None,
        )  # fmt: skip

    # --- reading ----------------------------------------------------------------------------------------------

    def _case(self, connection: Connection, where: Any) -> Case | None:
        row = connection.execute(sa.select(archive_cases).where(where)).mappings().first()
        if row is None:
            return None
        pages = connection.execute(
            sa.select(archive_pages)
            .where(archive_pages.c.case_id == row["case_id"])
            .order_by(archive_pages.c.material, archive_pages.c.page)
        ).mappings()
        pages_of = tuple(Page(p["material"], p["page"], p["sha256"], p["size"], p["shape"], _utc(p["stored_at"]))
                         for p in pages)  # fmt: skip
        return _from_row(row, pages_of)

    def get(self, case_number: str) -> Case | None:
        with self.engine.connect() as connection:
            return self._case(connection, archive_cases.c.case_number == case_number)

    def of_site(self, site_id: str, case_number: str) -> Case:
        """The site's case of that number; another site's is as unknown as none (404)."""
        case = self.get(case_number)
        if case is None or case.site_id != site_id:
            raise ArchiveError(404, "no_case", "没有这个案卷", f"No case {case_number} at this site")
        return case

    def by_token(self, token: str) -> Case | None:
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        with self.engine.connect() as connection:
            return self._case(connection, archive_cases.c.token_hash == token_hash)

    def search(
        self,
        *,
        sites: Sequence[str] | None = None,
        case_number: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        matter: str = "",
        state: str = "",
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[Case], int]:
        """Cases newest first (without their pages: one query for the page) and how many match; ``sites`` None:
        every site."""
        where: list[Any] = []
        c = archive_cases.c
        if sites is not None:
            where.append(c.site_id.in_(list(sites)))
        if case_number:
            where.append(c.case_number.like(f"%{case_number.strip().upper()}%"))
        if since is not None:
            where.append(c.created_at >= since)
        if until is not None:
            where.append(c.created_at < until)
        if matter:
            where.append(c.matter == matter)
        if state:
            where.append(c.state == state)
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(archive_cases).where(*where)).scalar()
            rows = connection.execute(
                sa.select(archive_cases).where(*where).order_by(c.created_at.desc(), c.case_number.desc())
                .offset(offset).limit(limit)
            ).mappings().all()  # fmt: skip
        return [_from_row(row, ()) for row in rows], int(total or 0)

    def for_ticket(self, site_id: str, ticket_id: str) -> Case | None:
        """The latest case handed in with this ticket (a caller shows its decision when the ticket is called)."""
        with self.engine.connect() as connection:
            number = connection.execute(
                sa.select(archive_cases.c.case_number)
                .where(archive_cases.c.site_id == site_id, archive_cases.c.ticket_id == ticket_id)
                .order_by(archive_cases.c.created_at.desc()).limit(1)
            ).scalar()  # fmt: skip
            return None if number is None else self._case(connection, archive_cases.c.case_number == number)

    def cases_of_ticket(self, site_id: str, ticket_id: str, limit: int = 10) -> list[Case]:
        """The site's cases handed in with this ticket, newest first, with their pages (a ticket of several
        matters may bring one case per matter; a case returned and handed in again is a second one)."""
        with self.engine.connect() as connection:
            numbers = connection.execute(
                sa.select(archive_cases.c.case_number)
                .where(archive_cases.c.site_id == site_id, archive_cases.c.ticket_id == ticket_id)
                .order_by(archive_cases.c.created_at.desc(), archive_cases.c.case_number.desc()).limit(limit)
            ).scalars().all()  # fmt: skip
            cases = [self._case(connection, archive_cases.c.case_number == number) for number in numbers]
        return [case for case in cases if case is not None]

    # --- a kiosk's submission ---------------------------------------------------------------------------------

    def _check(self, site_id: str, request: wire.CaseRequest) -> str | None:
        """Refuse a request that does not fit the catalogue; the citizen's keyed reference when one is given."""
        district = self._district()
        site, matter = district.site(site_id), district.matter(request.matter)
        if site is None:
            raise ArchiveError(404, "no_site", "没有这个服务点", f"No site {site_id}")
        if matter is None or request.matter not in site.matters:
            raise ArchiveError(422, "unknown_matter", "本服务点不办理该事项", f"{request.matter} is not done here")
        count = max(len(matter.materials), 1)
        indexes = [m.material for m in request.materials]
        if len(set(indexes)) != len(indexes) or any(i >= count for i in indexes):
            raise ArchiveError(422, "bad_materials", "材料清单有误", "A material is unknown or listed twice")
        committed = {m.material for m in request.materials if m.commitment}
        refs = [(p.material, p.page) for p in request.pages]
        if len(set(refs)) != len(refs) or len(refs) > MAX_PAGES:
            raise ArchiveError(422, "bad_pages", "页面清单有误", "A page is listed twice, or too many pages")
        if any(p.material not in indexes or p.material in committed for p in request.pages):
            raise ArchiveError(422, "bad_pages", "页面清单有误", "A page belongs to no material handed in")
        if any(p.size > self.max_page_bytes for p in request.pages):
            raise ArchiveError(413, "too_large", "页面文件过大", f"A page is over {self.max_page_bytes} bytes")
        if not request.pages and not committed:
            raise ArchiveError(422, "empty", "没有提交任何材料", "Nothing handed in")
        ref = self._citizen_ref(request.id_number) if request.id_number else None
        if request.id_number and ref is None:
            raise ArchiveError(422, "bad_id_number", "身份证号码无效", "Not a valid ID number")
        if committed:
            if ref is None or not request.commitment_text:
                raise ArchiveError(422, "commitment_incomplete", "承诺需要身份证和承诺书版本",
                                   "A commitment needs the ID number and the commitment text's key")  # fmt: skip
            if self.denied(ref):
                raise ArchiveError(403, "commitment_denied", "您暂不能使用告知承诺，请提交材料",
                                   "This citizen may not sign a commitment: hand the material in")  # fmt: skip
        return ref

    def open_case(self, site_id: str, request: wire.CaseRequest, now: datetime) -> tuple[Case, bool]:
        """The case of this submission (opened now, True, or found again for a retry, False)."""
        found = self._by_submission(site_id, request.submission_id)
        if found is not None:
            return found, False
        ref = self._check(site_id, request)
        site = self._district().site(site_id)
        assert site is not None
        day = local_day(site, now)
        committed = any(m.commitment for m in request.materials)
        for _attempt in range(20):
            case_id = uuid.uuid4().hex
            try:
                with self.engine.begin() as connection:
                    seq = 1 + (connection.execute(
                        sa.select(sa.func.max(archive_cases.c.seq))
                        .where(archive_cases.c.site_id == site_id, archive_cases.c.day == day.isoformat())
                    ).scalar() or 0)  # fmt: skip
                    connection.execute(archive_cases.insert().values(
                        case_id=case_id, case_number=f"{site_id.upper()}-{day:%Y%m%d}-{seq:04d}", site_id=site_id,
                        day=day.isoformat(), seq=seq, submission_id=request.submission_id, matter=request.matter,
                        ticket_id=request.ticket_id, state=wire.CaseState.RECEIVING.value,
                        materials=json.dumps([{"material": m.material, "commitment": m.commitment}
                                              for m in request.materials]),
                        citizen_ref=ref, commitment_text=request.commitment_text if committed else None,
                        commitment_at=now if committed else None,
                        token_hash=hashlib.sha256(self.token(case_id).encode()).hexdigest(), created_at=now,
                    ))  # fmt: skip
                    if request.pages:
                        connection.execute(archive_pages.insert(), [
                            {"case_id": case_id, "material": p.material, "page": p.page, "sha256": p.sha256,
                             "size": p.size, "shape": p.shape.value, "stored_at": None} for p in request.pages
                        ])  # fmt: skip
            except IntegrityError:
                found = self._by_submission(site_id, request.submission_id)
                if found is not None:
                    return found, False
                continue  # another case took the number: the next one
            break
        else:
            raise ArchiveError(503, "unavailable", "请稍后再试", "Could not number the case: try again")
        self._adopt_stored(case_id, now)
        case = self.get_by_id(case_id)
        assert case is not None
        return case, True

    def _adopt_stored(self, case_id: str, now: datetime) -> None:
        """Pages whose files are already kept (the same page in an earlier case) need not be sent again."""
        case = self.get_by_id(case_id)
        if case is None:
            return
        for page in case.pages:
            if self.files.has(page.sha256):
                self._mark_stored(case_id, page.material, page.page, now)

    def get_by_id(self, case_id: str) -> Case | None:
        with self.engine.connect() as connection:
            return self._case(connection, archive_cases.c.case_id == case_id)

    def _by_submission(self, site_id: str, submission_id: str) -> Case | None:
        with self.engine.connect() as connection:
            return self._case(
                connection,
                sa.and_(archive_cases.c.site_id == site_id, archive_cases.c.submission_id == submission_id),
            )

    def _mark_stored(self, case_id: str, material: int, page: int, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                archive_pages.update()
                .where(archive_pages.c.case_id == case_id, archive_pages.c.material == material,
                       archive_pages.c.page == page, archive_pages.c.stored_at.is_(None))
                .values(stored_at=now)
            )  # fmt: skip

    def announced(self, site_id: str, case_number: str, ref: wire.PageRef, sha256: str) -> Case:
        """Checks before reading a page's bytes: the site's case, the page announced with this checksum, and
        still receiving (a page stored already with that checksum is answered again whatever the state)."""
        case = self.of_site(site_id, case_number)
        material, page = ref.material, ref.page
        known = next((p for p in case.pages if (p.material, p.page) == (material, page)), None)
        if known is None:
            raise ArchiveError(404, "no_page", "案卷中没有这一页", f"Page {material}/{page} is not in the case")
        if known.sha256 != sha256:
            raise ArchiveError(422, "checksum_mismatch", "页面校验值不符",
                               "The checksum is not the one the case announced for this page")  # fmt: skip
        if known.stored_at is None and case.state != wire.CaseState.RECEIVING:
            raise ArchiveError(409, "already_submitted", "案卷已提交", "The case is submitted already")
        return case

    def put_page(
        self, site_id: str, case_number: str, ref: wire.PageRef, sha256: str, data: bytes, *, now: datetime
    ) -> Case:
        material, page = ref.material, ref.page
        case = self.announced(site_id, case_number, ref, sha256)
        known = next(p for p in case.pages if (p.material, p.page) == (material, page))
        if known.stored_at is not None:
            return case  # sent again (an answer lost on the way): the same answer
        if len(data) > self.max_page_bytes:
            raise ArchiveError(413, "too_large", "页面文件过大", f"A page is at most {self.max_page_bytes} bytes")
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArchiveError(422, "checksum_mismatch", "页面校验值不符",
                               "The file's SHA-256 is not the checksum sent with it: send it again")  # fmt: skip
        if not is_image(data):
            raise ArchiveError(415, "not_an_image", "页面不是有效的图片", "A page must be a JPEG or PNG image")
        self.files.put(sha256, data)
        self._mark_stored(case.case_id, material, page, now)
        fresh = self.get_by_id(case.case_id)
        assert fresh is not None
        return fresh

    def submit(self, site_id: str, case_number: str, now: datetime) -> Case:
        case = self.of_site(site_id, case_number)
        if case.state != wire.CaseState.RECEIVING:
            return case  # submitted already (a retry): the same answer
        if case.missing:
            refs = ", ".join(f"{ref.material}/{ref.page}" for ref in case.missing)
            raise ArchiveError(409, "pages_missing", f"还缺 {len(case.missing)} 页", f"Pages missing: {refs}")
        with self.engine.begin() as connection:
            connection.execute(
                archive_cases.update()
                .where(archive_cases.c.case_id == case.case_id, archive_cases.c.state == wire.CaseState.RECEIVING)
                .values(state=wire.CaseState.SUBMITTED.value, submitted_at=now)
            )
        fresh = self.get_by_id(case.case_id)
        assert fresh is not None
        return fresh

    # --- a clerk's decision -----------------------------------------------------------------------------------

    def decide(self, case_number: str, state: wire.CaseState, by: str, reason: str, now: datetime) -> Case:
        """Accept or return a submitted (or already decided: a clerk may change their mind) case."""
        if state not in (wire.CaseState.ACCEPTED, wire.CaseState.RETURNED):
            raise ValueError("a decision accepts or returns")
        with self.engine.begin() as connection:
            done = connection.execute(
                archive_cases.update()
                .where(archive_cases.c.case_number == case_number, archive_cases.c.state != wire.CaseState.RECEIVING)
                .values(state=state.value, decided_at=now, decided_by=by, reason=reason or None)
            ).rowcount  # fmt: skip
        if not done:
            raise ArchiveError(409, "not_submitted", "案卷尚未提交", "The case is not submitted yet")
        case = self.get(case_number)
        assert case is not None
        return case

    # --- the list of broken commitments -----------------------------------------------------------------------

    def denied(self, citizen_ref: str) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(archive_denied.c.citizen_ref).where(archive_denied.c.citizen_ref == citizen_ref)
            ).first() is not None  # fmt: skip

    def may_commit(self, id_number: str) -> bool:
        ref = self._citizen_ref(id_number)
        if ref is None:
            raise ArchiveError(422, "bad_id_number", "身份证号码无效", "Not a valid ID number")
        return not self.denied(ref)

    def deny(self, id_number: str, now: datetime) -> bool:
        """Put a citizen on the list (False: on it already)."""
        ref = self._citizen_ref(id_number)
        if ref is None:
            raise ValueError("not a valid ID number")
        try:
            with self.engine.begin() as connection:
                connection.execute(archive_denied.insert().values(citizen_ref=ref, added_at=now))
        except IntegrityError:
            return False
        return True

    def allow(self, id_number: str) -> bool:
        """Take a citizen off the list (False: was not on it)."""
        ref = self._citizen_ref(id_number)
        if ref is None:
            raise ValueError("not a valid ID number")
        with self.engine.begin() as connection:
            return bool(connection.execute(archive_denied.delete().where(archive_denied.c.citizen_ref == ref)).rowcount)

    # --- preservation -----------------------------------------------------------------------------------------

    def created_since(self, since: datetime | None) -> list[str]:
        query = sa.select(archive_cases.c.case_number).order_by(archive_cases.c.created_at)
        if since is not None:
            query = query.where(archive_cases.c.created_at >= since)
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def purge(self, now: datetime) -> int:
        """Remove the cases created more than ``retention_years`` ago, and the page files no other case uses."""
        cutoff = now - timedelta(days=365 * self.retention_years + self.retention_years // 4)
        with self.engine.begin() as connection:
            old = list(connection.execute(
                sa.select(archive_cases.c.case_id).where(archive_cases.c.created_at < cutoff)
            ).scalars())  # fmt: skip
            if not old:
                return 0
            checksums = set(connection.execute(
                sa.select(archive_pages.c.sha256).where(archive_pages.c.case_id.in_(old))
            ).scalars())  # fmt: skip
            connection.execute(archive_pages.delete().where(archive_pages.c.case_id.in_(old)))
            connection.execute(archive_cases.delete().where(archive_cases.c.case_id.in_(old)))
            used = set(connection.execute(
                sa.select(archive_pages.c.sha256).where(archive_pages.c.sha256.in_(checksums))
            ).scalars())  # fmt: skip
        for sha256 in checksums - used:
            self.files.delete(sha256)
        return len(old)


def day_range(
    district: District, site_id: str | None, first: date | None, last: date | None
) -> tuple[datetime | None, datetime | None]:
    """The instants a search's dates cover, in the site's (or the district's first site's) time zone."""
    site = (district.site(site_id) if site_id else None) or district.sites[0]
    since = as_utc(day_bounds(site, first)[0]) if first else None  # UTC, as stored: SQLite compares the text
    until = as_utc(day_bounds(site, last)[1]) if last else None
    return since, until


def utc_now() -> datetime:
    return datetime.now(UTC)


def archive_for(
    store: object,
    directory: Path,
    district: Callable[[], District],
    secret: bytes,
    citizen_ref: Callable[[str], str | None],
    *,
    max_page_bytes: int = MAX_PAGE_BYTES,
    retention_years: int = 30,
    files: PageFiles | None = None,
) -> Archive:
    """The archive beside a hub's store: in its SQL database (a memory store: a private in-memory SQLite), the page
    files in ``files`` (``hub.archive.files.page_files`` of ``[archive]``), by default under ``directory``."""
    engine = store.engine if isinstance(store, SqlStore) else memory_engine()
    files = files if files is not None else DiskPageFiles(directory)
    return Archive(
        engine, files, district, secret, citizen_ref, max_page_bytes=max_page_bytes, retention_years=retention_years
    )

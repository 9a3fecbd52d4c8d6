"""The kiosk's document spool: a submission on disk until the hub acknowledged it, surviving a restart."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import msgspec
import numpy as np
import pytest

import contract as wire
from devicekit.backoff import Backoff
from hub.devices import Credentials as HubCredentials
from kiosk.documents.spool import MANIFEST, Page, Spool, SpoolError, SpoolState, write_atomically
from kiosk.documents.uploader import Credentials as KioskCredentials
from kiosk.documents.uploader import GaveUp, Refused, Uploader, keep_sending
from tests.support.hub_process import HubProcess
from tests.support.tcp_proxy import TcpProxy
from tests.support.waits import eventually

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


def spool_one(spool: Spool, **extra: object) -> str:
    manifest = spool.create(
        site="centre",
        matter="M01",
        materials=(wire.CaseMaterial(material=0), wire.CaseMaterial(material=1, commitment=True)),
        pages=(Page(0, 1, JPEG), Page(0, 2, JPEG + b"2", wire.PageShape.ID_CARD)),
        ticket_id="t-1",
        **extra,  # type: ignore[arg-type]
    )
    return manifest.submission_id


def receipt(state: wire.CaseState = wire.CaseState.RECEIVING, *missing: tuple[int, int]) -> wire.CaseReceipt:
    return wire.CaseReceipt(
        case_number="C-1",
        state=state,
        status_url="/case/abc",
        missing=tuple(wire.PageRef(material=m, page=p) for m, p in missing),
    )


def test_a_spooled_submission_is_its_manifest_and_pages_on_disk(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    submission = spool_one(spool)
    assert len(submission) == 32 and int(submission, 16) >= 0
    folder = tmp_path / submission
    assert sorted(path.name for path in folder.iterdir()) == sorted([MANIFEST, "m00-p001.jpg", "m00-p002.jpg"])
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["state"] == "pending" and manifest["matter"] == "M01" and manifest["ticket_id"] == "t-1"
    assert manifest["pages"][0]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert manifest["pages"][0]["size"] == len(JPEG)
    assert manifest["pages"][1]["shape"] == "id_card"
    assert (folder / "m00-p001.jpg").read_bytes() == JPEG
    request = spool.load(submission).request()
    assert request.submission_id == submission and len(request.pages) == 2
    assert request.materials[1].commitment is True


def test_the_id_number_of_a_commitment_never_reaches_the_disk(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    number = "11010519491231002X"
    submission = spool_one(spool, id_number=number, commitment_text="v1")
    assert spool.id_number(submission) == number
    assert spool.load(submission).request(spool.id_number(submission)).id_number == number
    for path in (tmp_path / submission).iterdir():
        assert number.encode() not in path.read_bytes()
    assert Spool(tmp_path).id_number(submission) is None  # a restarted kiosk has forgotten it


def test_states_move_forward_and_survive_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first, second = spool_one(spool), spool_one(spool)
    assert [m.submission_id for m in spool.pending()] == [first, second]

    opened = spool.opened(first, receipt(wire.CaseState.RECEIVING, (0, 2)))
    assert opened.state == SpoolState.OPENED and opened.case_number == "C-1"
    assert [page.uploaded for page in opened.pages] == [True, False]  # the hub already had page 1
    spool.uploaded(first, wire.PageRef(material=0, page=2))

    restarted = Spool(tmp_path)
    again = restarted.load(first)
    assert again.state == SpoolState.OPENED and all(page.uploaded for page in again.pages)
    assert [m.submission_id for m in restarted.pending()] == [first, second]

    restarted.submitted(first, receipt(wire.CaseState.SUBMITTED))
    late = restarted.opened(first, receipt(wire.CaseState.RECEIVING, (0, 1)))  # a late answer of an earlier try
    assert late.state == SpoolState.SUBMITTED
    assert [m.submission_id for m in restarted.pending()] == [second]
    done = restarted.done(first)
    assert done.state == SpoolState.DONE
    assert sorted(path.name for path in (tmp_path / first).iterdir()) == [MANIFEST]  # pages no longer kept


def test_a_case_the_hub_already_acknowledged_is_submitted_at_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    submission = spool_one(spool)
    assert spool.opened(submission, receipt(wire.CaseState.SUBMITTED)).state == SpoolState.SUBMITTED


def test_a_refusal_is_kept_with_the_hubs_error_and_not_resumed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    submission = spool_one(spool, id_number="110105194912310021")
    failed = spool.failed(submission, wire.Error(code="unknown_matter", zh="没有这个事项", en="No such matter"))
    assert failed.state == SpoolState.FAILED and failed.error_code == "unknown_matter"
    assert spool.pending() == [] and spool.id_number(submission) is None
    assert Spool(tmp_path).load(submission).error_zh == "没有这个事项"
    with pytest.raises(SpoolError):
        spool.done(submission)


def test_a_damaged_page_is_noticed_before_it_is_sent(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    submission = spool_one(spool)
    manifest = spool.load(submission)
    ref = wire.PageRef(material=0, page=1)
    assert spool.page_data(manifest, ref) == JPEG
    (tmp_path / submission / "m00-p001.jpg").write_bytes(b"garbage")
    with pytest.raises(SpoolError, match="damaged"):
        spool.page_data(manifest, ref)
    with pytest.raises(KeyError):
        manifest.page(wire.PageRef(material=3, page=1))


def test_a_crash_while_spooling_leaves_nothing_half_written(tmp_path: Path) -> None:
    spool = Spool(tmp_path)

    def pages() -> object:
        yield Page(0, 1, JPEG)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        spool.create(site="centre", matter="M01", materials=(), pages=pages())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
    leftover = tmp_path / ".deadbeef.building"  # a power cut while spooling: cleared when the kiosk starts again
    leftover.mkdir()
    (leftover / "m00-p001.jpg").write_bytes(JPEG)
    assert spool.pending() == [] and leftover.exists()  # maybe still being written: the sender leaves it alone
    assert Spool(tmp_path).pending() == [] and not leftover.exists()


def test_an_atomic_write_replaces_a_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    write_atomically(target, b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new" and [path.name for path in tmp_path.iterdir()] == ["manifest.json"]


def test_unknown_or_hostile_ids_are_refused(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for bad in ("", "../etc", "nope"):
        with pytest.raises(SpoolError):
            spool.load(bad)


# -- the upload, against a real hub ---------------------------------------------------------------------------------

SITE, MATTER = "jixiangcun", "B01"  # a community service room; 社会保障卡申领: three materials


def page_jpeg(seed: int) -> bytes:
    """A real JPEG (the hub decodes every page): a white sheet with a few dark lines on grey."""
    image = np.full((400, 300), 90, np.uint8)
    cv2.rectangle(image, (20, 20), (280, 380), 245, -1)
    for line in range(6):
        cv2.line(image, (40, 60 + 45 * line), (260 - 9 * line, 60 + 45 * line), 30, 3)
    cv2.putText(image, str(seed), (60, 350), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 20, 2)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data.tobytes())


_seeds = iter(range(1, 10_000))


def pages() -> tuple[Page, ...]:
    """Three pages never sent before (the hub keeps page files by checksum: one it has is not missing)."""
    a, b, c = next(_seeds), next(_seeds), next(_seeds)
    return Page(0, 1, page_jpeg(a)), Page(0, 2, page_jpeg(b), wire.PageShape.ID_CARD), Page(2, 1, page_jpeg(c))


@pytest.fixture(scope="module")
def real_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    directory = tmp_path_factory.mktemp("hub")
    hub = HubProcess(directory)
    hub.env["HALL_ARCHIVE_DIRECTORY"] = str(directory / "archive")
    hub.start()
    yield hub
    hub.stop()
    assert hub.log_defects() == []


@pytest.fixture(scope="module")
def kiosk(real_hub: HubProcess) -> KioskCredentials:
    credentials = real_hub.provision(SITE, "kiosk")
    eventually(lambda: real_hub.fetch("/api/v1/devices", credentials)[0] == 200, timeout=15)  # picked up
    return KioskCredentials(credentials.device_id, credentials.password)


def uploader(spool: Spool, hub: HubProcess, credentials: KioskCredentials, **options: Any) -> Uploader:
    fast = lambda: Backoff(0.05, 0.4)  # noqa: E731
    return Uploader(
        spool, f"http://127.0.0.1:{hub.http_port}", credentials, site=SITE, backoff=fast, timeout=5, **options
    )


def spool_case(spool: Spool, *pages: Page, **extra: object) -> str:
    materials = sorted({page.material for page in pages})
    return spool.create(
        site=SITE,
        matter=str(extra.pop("matter", MATTER)),
        materials=[wire.CaseMaterial(material=m) for m in materials],
        pages=pages,
        **extra,  # type: ignore[arg-type]
    ).submission_id


def case_of(hub: HubProcess, credentials: KioskCredentials, case_number: str) -> wire.CaseReceipt:
    auth = HubCredentials(credentials.device_id, credentials.password)
    status, body = hub.fetch(f"/api/v1/sites/{SITE}/cases/{case_number}", auth)
    assert status == 200, body
    assert body is not None
    return msgspec.json.decode(body, type=wire.CaseReceipt)


def test_a_submission_reaches_the_hub_and_is_acknowledged(
    real_hub: HubProcess, kiosk: KioskCredentials, tmp_path: Path
) -> None:
    spool = Spool(tmp_path)
    submission = spool_case(spool, *pages(), ticket_id=None)
    progress: list[tuple[int, int]] = []
    receipt = uploader(spool, real_hub, kiosk, on_page=lambda ref, sent, total: progress.append((sent, total))).send(
        submission
    )
    assert receipt.state == wire.CaseState.SUBMITTED and receipt.missing == ()
    assert receipt.case_number.startswith("JIXIANGCUN-") and receipt.status_url.startswith("/case/")
    assert progress == [(1, 3), (2, 3), (3, 3)]
    manifest = spool.load(submission)
    assert manifest.state == SpoolState.SUBMITTED and manifest.case_number == receipt.case_number
    assert case_of(real_hub, kiosk, receipt.case_number).state == wire.CaseState.SUBMITTED
    status, page = real_hub.fetch(receipt.status_url)
    assert status == 200 and page is not None and receipt.case_number.encode() in page
    spool.done(submission)
    assert spool.pending() == []


class Crash(BaseException):
    """The kiosk loses power in the middle of an upload."""


def test_a_kiosk_restarted_mid_upload_finishes_the_same_case(
    real_hub: HubProcess, kiosk: KioskCredentials, tmp_path: Path
) -> None:
    spool = Spool(tmp_path)
    submission = spool_case(spool, *pages())

    def crash(ref: wire.PageRef, sent: int, total: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        uploader(spool, real_hub, kiosk, on_page=crash).send(submission)
    interrupted = Spool(tmp_path).load(submission)
    assert interrupted.state == SpoolState.OPENED and [p.uploaded for p in interrupted.pages] == [True, False, False]
    case_number = interrupted.case_number
    assert case_number is not None
    assert len(case_of(real_hub, kiosk, case_number).missing) == 2

    restarted = Spool(tmp_path)  # a new process: same folder
    sent: list[wire.PageRef] = []
    receipts = uploader(restarted, real_hub, kiosk, on_page=lambda ref, *_: sent.append(ref)).resume()
    assert [r.case_number for r in receipts] == [case_number]  # the same case, not a second one
    assert sent == [wire.PageRef(material=0, page=2), wire.PageRef(material=2, page=1)]  # only what was missing
    assert receipts[0].state == wire.CaseState.SUBMITTED
    # the same submission id again is the same case (a kiosk that crashed before it saw the hub's answer)
    again = uploader(restarted, real_hub, kiosk)._receipt(
        "POST",
        f"/api/v1/sites/{SITE}/cases",
        msgspec.json.encode(restarted.load(submission).request()),
        "application/json",
    )
    assert again.case_number == case_number


def test_the_upload_waits_out_a_network_drop(real_hub: HubProcess, kiosk: KioskCredentials, tmp_path: Path) -> None:
    proxy = TcpProxy("127.0.0.1", real_hub.http_port)
    spool = Spool(tmp_path)
    submission = spool_case(spool, *pages())
    retries: list[str] = []

    def cut_once(ref: wire.PageRef, sent: int, total: int) -> None:
        if sent == 1:
            proxy.cut()
            threading.Timer(0.8, proxy.restore).start()

    send = Uploader(
        spool,
        f"http://127.0.0.1:{proxy.port}",
        kiosk,
        backoff=lambda: Backoff(0.05, 0.3),
        timeout=3,
        on_page=cut_once,
        on_retry=lambda attempt, why: retries.append(why),
    )
    try:
        receipt = send.send(submission)
    finally:
        proxy.close()
    assert receipt.state == wire.CaseState.SUBMITTED and retries
    assert spool.load(submission).state == SpoolState.SUBMITTED


def test_the_upload_survives_a_hub_killed_mid_submission(
    real_hub: HubProcess, kiosk: KioskCredentials, tmp_path: Path
) -> None:
    spool = Spool(tmp_path)
    submission = spool_case(spool, *pages())
    restarted = threading.Event()

    def kill_once(ref: wire.PageRef, sent: int, total: int) -> None:
        if sent == 1 and not restarted.is_set():
            restarted.set()
            real_hub.kill()  # SIGKILL: the hub restarts on the same ports while the kiosk keeps trying
            threading.Thread(target=real_hub.start, daemon=True).start()

    receipt = uploader(spool, real_hub, kiosk, on_page=kill_once).send(submission)
    assert restarted.is_set() and receipt.state == wire.CaseState.SUBMITTED and receipt.missing == ()
    assert case_of(real_hub, kiosk, receipt.case_number).state == wire.CaseState.SUBMITTED


def test_a_refusal_is_clear_and_kept_in_the_spool(
    real_hub: HubProcess, kiosk: KioskCredentials, tmp_path: Path
) -> None:
    spool = Spool(tmp_path)
    elsewhere = spool_case(spool, pages()[0], matter="A01")  # 企业开办 is not done in a community room
    with pytest.raises(Refused) as refused:
        uploader(spool, real_hub, kiosk).send(elsewhere)
    assert refused.value.status == 422 and refused.value.error.code == "unknown_matter"
    kept = spool.load(elsewhere)
    assert kept.state == SpoolState.FAILED and kept.error_code == "unknown_matter" and kept.error_zh
    assert spool.pending() == []

    stranger = spool_case(spool, pages()[0])
    with pytest.raises(Refused) as refused:
        uploader(spool, real_hub, KioskCredentials(kiosk.device_id, "wrong")).send(stranger)
    assert refused.value.status == 401 and spool.load(stranger).state == SpoolState.FAILED


def test_a_hub_that_stays_away_leaves_the_submission_pending(kiosk: KioskCredentials, tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    submission = spool_case(spool, pages()[0])
    nobody = Uploader(spool, "http://127.0.0.1:9", kiosk, attempts=3, backoff=lambda: Backoff(0.01, 0.02), timeout=1)
    with pytest.raises(GaveUp):
        nobody.send(submission)
    assert [m.submission_id for m in spool.pending()] == [submission]


def test_the_commitment_check_asks_the_hub(real_hub: HubProcess, kiosk: KioskCredentials, tmp_path: Path) -> None:
    assert uploader(Spool(tmp_path), real_hub, kiosk).check_commitment("11010519491231002X") is True


def test_the_background_sender_delivers_what_a_restart_left(
    real_hub: HubProcess, kiosk: KioskCredentials, tmp_path: Path
) -> None:
    spool = Spool(tmp_path)
    left = [spool_case(spool, *pages()), spool_case(spool, *pages())]
    stop = threading.Event()
    sender = threading.Thread(target=keep_sending, args=(uploader(Spool(tmp_path), real_hub, kiosk), stop, 0.2))
    sender.start()
    try:
        eventually(lambda: all(spool.load(s).state == SpoolState.SUBMITTED for s in left), timeout=20)
    finally:
        stop.set()
        sender.join(10)
    assert not sender.is_alive() and spool.pending() == []
    numbers = {spool.load(s).case_number for s in left}
    assert len(numbers) == 2

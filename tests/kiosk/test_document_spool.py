"""The kiosk's document spool: a submission on disk until the hub acknowledged it, surviving a restart."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import contract as wire
from kiosk.documents.spool import MANIFEST, Page, Spool, SpoolError, SpoolState, write_atomically

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
    leftover = tmp_path / ".deadbeef.building"  # a power cut while spooling: cleared at the next look
    leftover.mkdir()
    (leftover / "m00-p001.jpg").write_bytes(JPEG)
    assert spool.pending() == [] and not leftover.exists()


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

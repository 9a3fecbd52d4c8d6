"""The archive's kiosk routes on real SQLite and PostgreSQL stores: open, upload, submit, retries, refusals, the
broken-commitment list, content addressing, export with checksums, retention, and the public status page."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import sqlalchemy as sa
from aiohttp import FormData, encode_basic_auth, web
from aiohttp.test_utils import TestClient

import contract as wire
from hub import cli
from hub.appointments.privacy import citizen_ref
from hub.archive.cli import open_archive
from hub.archive.export import export, verify
from hub.archive.files import DiskPageFiles
from hub.archive.store import Archive, archive_for
from hub.archive.web import add_case_routes
from hub.config import load_config
from hub.devices import registry_for
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.store import EventStore, open_store
from hub.web import _basic_auth
from tests.support import postgres

Client = TestClient[web.Request, web.Application]
DISTRICT = load_district(SAMPLE_DISTRICT)
PEPPER = b"p" * 32
SECRET = b"s" * 32
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
ID_NUMBER = "11010519491231002X"
BASE = "/api/v1/sites/centre/cases"


def page_image(seed: int, kind: str = ".jpg") -> bytes:
    """A small synthetic page photograph (a light sheet with dark lines), different for every seed."""
    rng = np.random.default_rng(seed)
    image = np.full((420, 300, 3), 235, np.uint8)
    for row in range(40, 400, 24):
        cv2.line(image, (30, row), (int(rng.integers(120, 280)), row), (40, 40, 40), 2)
    ok, encoded = cv2.imencode(kind, image)
    assert ok
    return encoded.tobytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hall.db'}"
    else:
        tables = ("archive_cases", "archive_pages", "archive_denied", "devices")
        url = postgres.emptied(request.getfixturevalue("postgres_database"), *tables)
    opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def archive(store: EventStore, tmp_path: Path) -> Archive:
    return archive_for(store, tmp_path / "pages", lambda: DISTRICT, SECRET, lambda number: citizen_ref(PEPPER, number))


class Kiosks:
    """Provisioned devices (a kiosk of the centre, one of Xiaozhai, a caller of the centre) and their credentials."""

    def __init__(self, store: EventStore) -> None:
        self.registry = registry_for(store, DISTRICT)
        self.centre = self.registry.provision("centre", wire.DeviceKind.KIOSK)
        self.xiaozhai = self.registry.provision("xiaozhai", wire.DeviceKind.KIOSK)
        self.caller = self.registry.provision("centre", wire.DeviceKind.CALLER, window_id="w01")
        self._verified: set[tuple[str, str]] = set()

    def device_of(self, request: web.Request) -> Any:
        """As hub/web.py's ``_signed_in_device``: HTTP Basic, the password checked, the provisioned device."""
        credentials = _basic_auth(request)
        if credentials is None:
            return None
        if credentials not in self._verified:
            if not self.registry.verify(*credentials):
                return None
            self._verified.add(credentials)
        return self.registry.get(credentials[0])


def auth(credentials: Any) -> dict[str, str]:
    return {"Authorization": encode_basic_auth(credentials.device_id, credentials.password)}


@pytest.fixture
async def setup(
    store: EventStore, archive: Archive, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> tuple[Client, Kiosks, Archive]:
    kiosks = Kiosks(store)
    app = web.Application()
    add_case_routes(app, archive, kiosks.device_of, lambda: NOW)
    return await aiohttp_client(app), kiosks, archive


def case_request(pages: list[bytes], submission: str = "kiosk-sub-0001", **extra: Any) -> dict[str, Any]:
    return {
        "submission_id": submission, "matter": "B01",
        "materials": [{"material": 0}, {"material": 1}],
        "pages": [{"material": 0 if i < 2 else 1, "page": i + 1 if i < 2 else i - 1, "sha256": sha(d), "size": len(d)}
                  for i, d in enumerate(pages)],
        **extra,
    }  # fmt: skip


def refs(answer: dict[str, Any]) -> list[tuple[int, int]]:
    return [(ref["material"], ref["page"]) for ref in answer.get("missing", [])]


async def put(client: Client, kiosk: Any, number: str, ref: tuple[int, int], data: bytes, *, digest: str = "") -> Any:
    material, page = ref
    form = FormData()
    form.add_field("sha256", digest or sha(data))
    form.add_field("file", data, filename="page.jpg", content_type="image/jpeg")
    return await client.put(f"{BASE}/{number}/pages/{material}/{page}", data=form, headers=auth(kiosk))


PAGES = [page_image(1), page_image(2), page_image(3, ".png")]


async def test_open_upload_submit_and_a_retry_is_the_same_case(setup: tuple[Client, Kiosks, Archive]) -> None:
    client, kiosks, archive = setup
    opened = await client.post(BASE, json=case_request(PAGES), headers=auth(kiosks.centre))
    assert opened.status == 201
    receipt = await opened.json()
    number = receipt["case_number"]
    assert number == "CENTRE-20261207-0001"
    assert receipt["state"] == "receiving" and receipt["status_url"].startswith("/case/")
    assert refs(receipt) == [(0, 1), (0, 2), (1, 1)]

    again = await client.post(BASE, json=case_request(PAGES), headers=auth(kiosks.centre))
    assert again.status == 200 and (await again.json())["case_number"] == number  # the kiosk's retry

    answer = await put(client, kiosks.centre, number, (0, 1), PAGES[0])
    assert answer.status == 200 and refs(await answer.json()) == [(0, 2), (1, 1)]
    resent = await put(client, kiosks.centre, number, (0, 1), PAGES[0])  # the answer was lost: sent again
    assert resent.status == 200 and refs(await resent.json()) == [(0, 2), (1, 1)]

    early = await client.post(f"{BASE}/{number}/submit", headers=auth(kiosks.centre))
    assert early.status == 409 and (await early.json())["code"] == "pages_missing"

    await put(client, kiosks.centre, number, (0, 2), PAGES[1])
    await put(client, kiosks.centre, number, (1, 1), PAGES[2])
    status = await client.get(f"{BASE}/{number}", headers=auth(kiosks.centre))
    assert refs(await status.json()) == []
    submitted = await client.post(f"{BASE}/{number}/submit", headers=auth(kiosks.centre))
    assert submitted.status == 200 and (await submitted.json())["state"] == "submitted"
    twice = await client.post(f"{BASE}/{number}/submit", headers=auth(kiosks.centre))
    assert (await twice.json())["state"] == "submitted"

    second = await client.post(BASE, json=case_request(PAGES, "kiosk-sub-0002"), headers=auth(kiosks.centre))
    assert (await second.json())["case_number"] == "CENTRE-20261207-0002"
    cases, total = archive.search(sites=["centre"])
    assert total == 2
    assert [case.case_number for case in cases] == ["CENTRE-20261207-0002", number]  # newest first
    first = archive.get(number)
    assert first is not None and sorted(page.sha256 for page in first.pages) == sorted(sha(d) for d in PAGES)


async def test_content_addressing_keeps_a_page_once(setup: tuple[Client, Kiosks, Archive], tmp_path: Path) -> None:
    client, kiosks, _archive = setup
    first = await (await client.post(BASE, json=case_request(PAGES), headers=auth(kiosks.centre))).json()
    for (material, page), data in zip(refs(first), PAGES, strict=True):
        assert (await put(client, kiosks.centre, first["case_number"], (material, page), data)).status == 200
    second = await client.post(BASE, json=case_request(PAGES, "kiosk-sub-0002"), headers=auth(kiosks.centre))
    assert refs(await second.json()) == []  # every page is kept already: nothing to send again
    files = [path for path in (tmp_path / "pages").rglob("*") if path.is_file()]
    assert sorted(path.name for path in files) == sorted(sha(d) for d in PAGES)
    assert all(path.parent.name == path.name[2:4] and path.parent.parent.name == path.name[:2] for path in files)
    assert not list((tmp_path / "pages").rglob(".part-*"))


async def test_garbage_uploads_are_refused_and_nothing_is_kept(
    setup: tuple[Client, Kiosks, Archive], tmp_path: Path
) -> None:
    client, kiosks, archive = setup
    archive.max_page_bytes = 200_000
    not_image = b"%PDF-1.4 this is not a page photograph" * 10
    huge = b"\xff\xd8\xff" + bytes(300_000)
    fake_jpeg = b"\xff\xd8\xff\xe0" + bytes(5000)
    pages = [not_image, huge, fake_jpeg]
    body = case_request(pages)
    body["pages"][1]["size"] = 100  # a kiosk that says less than it sends
    number = (await (await client.post(BASE, json=body, headers=auth(kiosks.centre))).json())["case_number"]

    for (material, page), data, status, code in [
        ((0, 1), not_image, 415, "not_an_image"),
        ((0, 2), huge, 413, "too_large"),
        ((1, 1), fake_jpeg, 415, "not_an_image"),
        ((0, 1), PAGES[0], 422, "checksum_mismatch"),  # another file than the one announced
    ]:
        answer = await put(client, kiosks.centre, number, (material, page), data)
        error = await answer.json()
        assert (answer.status, error["code"]) == (status, code), error
        assert error["zh"] and error["en"]
    wrong_sum = await put(client, kiosks.centre, number, (0, 1), not_image, digest=sha(b"other"))
    assert wrong_sum.status == 422
    unknown = await put(client, kiosks.centre, number, (5, 1), PAGES[0])
    assert (unknown.status, (await unknown.json())["code"]) == (404, "no_page")
    for beyond in ((10**20, 1), (0, 10**20), (64, 1), (0, 0)):  # outside the contract's bounds: no query at all
        answer = await put(client, kiosks.centre, number, beyond, PAGES[0])
        assert (answer.status, (await answer.json())["code"]) == (404, "no_page")
    other_site = await put(client, kiosks.xiaozhai, number, (0, 1), not_image)
    assert other_site.status == 403  # a kiosk of Xiaozhai may not use the centre's routes
    elsewhere = await client.get(f"/api/v1/sites/xiaozhai/cases/{number}", headers=auth(kiosks.xiaozhai))
    assert elsewhere.status == 404  # and the centre's case is unknown at Xiaozhai
    caller = await put(client, kiosks.caller, number, (0, 1), not_image)
    assert caller.status == 403
    nobody = await client.get(f"{BASE}/{number}")
    assert nobody.status == 401
    not_multipart = await client.put(f"{BASE}/{number}/pages/0/1", data=b"raw", headers=auth(kiosks.centre))
    assert not_multipart.status == 400

    assert not (tmp_path / "pages").exists() or not [p for p in (tmp_path / "pages").rglob("*") if p.is_file()]
    case = archive.get(number)
    assert case is not None and len(case.missing) == 3


async def test_a_submitted_case_takes_no_new_page(setup: tuple[Client, Kiosks, Archive]) -> None:
    client, kiosks, archive = setup
    body = case_request(PAGES[:1])
    body["materials"] = [{"material": 0}, {"material": 1, "commitment": True}]
    body.update(id_number=ID_NUMBER, commitment_text="commitment-2026-01")
    number = (await (await client.post(BASE, json=body, headers=auth(kiosks.centre))).json())["case_number"]
    await put(client, kiosks.centre, number, (0, 1), PAGES[0])
    await client.post(f"{BASE}/{number}/submit", headers=auth(kiosks.centre))
    case = archive.get(number)
    assert case is not None and case.commitment_text == "commitment-2026-01" and case.commitment_at == NOW
    assert case.citizen_ref == citizen_ref(PEPPER, ID_NUMBER)
    assert ID_NUMBER not in json.dumps(case.summary())
    # the same page again is answered again; the case does not change
    assert (await put(client, kiosks.centre, number, (0, 1), PAGES[0])).status == 200


async def test_refused_case_requests(setup: tuple[Client, Kiosks, Archive]) -> None:
    client, kiosks, _archive = setup
    changes: list[tuple[dict[str, Any], int, str]] = [
        ({"matter": "Z99"}, 422, "unknown_matter"),
        ({"materials": [{"material": 0}, {"material": 0}]}, 422, "bad_materials"),
        ({"materials": [{"material": 0}, {"material": 1, "commitment": True}]}, 422, "bad_pages"),
        ({"pages": [], "materials": [{"material": 1, "commitment": True}]}, 422, "commitment_incomplete"),
        ({"id_number": "123"}, 422, "bad_id_number"),
        ({"unknown_field": 1}, 400, "malformed"),
    ]
    for change, status, code in changes:
        answer = await client.post(BASE, json={**case_request(PAGES), **change}, headers=auth(kiosks.centre))
        assert (answer.status, (await answer.json())["code"]) == (status, code), change


async def test_the_broken_commitment_list(setup: tuple[Client, Kiosks, Archive]) -> None:
    client, kiosks, archive = setup
    check = "/api/v1/sites/centre/commitments/check"
    answer = await client.post(check, json={"id_number": ID_NUMBER}, headers=auth(kiosks.centre))
    assert await answer.json() == {"allowed": True}
    assert archive.deny(ID_NUMBER, NOW) and not archive.deny(ID_NUMBER, NOW)
    answer = await client.post(check, json={"id_number": ID_NUMBER.lower()}, headers=auth(kiosks.centre))
    assert await answer.json() == {"allowed": False}
    body = {**case_request([]), "materials": [{"material": 1, "commitment": True}], "id_number": ID_NUMBER,
            "commitment_text": "commitment-2026-01"}  # fmt: skip
    refused = await client.post(BASE, json=body, headers=auth(kiosks.centre))
    assert (refused.status, (await refused.json())["code"]) == (403, "commitment_denied")
    bad = await client.post(check, json={"id_number": "110105"}, headers=auth(kiosks.centre))
    assert bad.status == 422
    assert archive.allow(ID_NUMBER) and not archive.allow(ID_NUMBER)
    assert (await client.post(BASE, json=body, headers=auth(kiosks.centre))).status == 201
    with archive.engine.connect() as connection:
        kept = json.dumps([list(row) for row in connection.execute(sa.text("SELECT * FROM archive_cases"))],
                          default=str)  # fmt: skip
    assert ID_NUMBER not in kept


async def test_status_page_export_and_retention(setup: tuple[Client, Kiosks, Archive], tmp_path: Path) -> None:
    client, kiosks, archive = setup
    receipt = await (await client.post(BASE, json=case_request(PAGES), headers=auth(kiosks.centre))).json()
    number = receipt["case_number"]
    for (material, page), data in zip(refs(receipt), PAGES, strict=True):
        await put(client, kiosks.centre, number, (material, page), data)
    await client.post(f"{BASE}/{number}/submit", headers=auth(kiosks.centre))
    archive.decide(number, wire.CaseState.RETURNED, "li", "身份证复印件不清晰，请重新提交", NOW)

    status = await client.get(receipt["status_url"])
    text = await status.text()
    assert status.status == 200 and "退回补正" in text and "身份证复印件不清晰" in text and "社会保障卡" in text
    assert status.headers["Cache-Control"] == "no-store"
    assert (await client.get("/case/not-a-real-token")).status == 404
    english = await client.get(receipt["status_url"] + "?lang=en")
    assert "Returned for correction" in await english.text()
    api = await client.get(f"{BASE}/{number}", headers=auth(kiosks.centre))
    assert (await api.json())["reason"] == "身份证复印件不清晰，请重新提交"

    folders = export(archive, tmp_path / "export")
    assert [folder.name for folder in folders] == [number]
    manifest = json.loads((folders[0] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["state"] == "returned" and len(manifest["files"]) == 3
    assert verify(folders[0]) == []
    (folders[0] / manifest["files"][0]["name"]).write_bytes(b"tampered")
    assert verify(folders[0]) == [f"{manifest['files'][0]['name']}: checksum differs"]
    assert export(archive, tmp_path / "later", since=NOW + timedelta(days=1)) == []

    archive.retention_years = 1
    assert archive.purge(NOW + timedelta(days=300)) == 0
    assert archive.purge(NOW + timedelta(days=400)) == 1
    assert archive.get(number) is None
    assert not [path for path in (tmp_path / "pages").rglob("*") if path.is_file()]


def test_disk_page_files_refuse_a_wrong_checksum(tmp_path: Path) -> None:
    files = DiskPageFiles(tmp_path)
    with pytest.raises(ValueError, match="checksum"):
        files.put("0" * 64, b"data")
    files.put(sha(b"data"), b"data")
    files.put(sha(b"data"), b"data")
    assert files.get(sha(b"data")) == b"data" and files.has(sha(b"data"))


def test_the_cli_lists_a_broken_commitment_exports_and_purges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[secrets]\npath = "{tmp_path / "secret"}"\n[appointments]\nkeys_file = "{tmp_path / "keys.toml"}"\n'
        f'[archive]\ndirectory = "{tmp_path / "pages"}"\nretention_years = 1\n'
    )
    base = ["--config", str(config), "--db", f"sqlite:///{tmp_path / 'hall.db'}"]
    assert cli.main([*base, "init"]) == 0
    assert cli.main([*base, "archive", "deny-commitments", "add", ID_NUMBER]) == 0
    assert cli.main([*base, "archive", "deny-commitments", "add", "12345"]) == 1
    printed = capsys.readouterr()
    assert ID_NUMBER not in printed.out + printed.err
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    try:
        archive = open_archive(load_config(config), store, DISTRICT)
        assert not archive.may_commit(ID_NUMBER)
        body = wire.CaseRequest(
            submission_id="cli-sub-0001", matter="B01", materials=(wire.CaseMaterial(material=0),),
            pages=(wire.CasePage(material=0, page=1, sha256=sha(PAGES[0]), size=len(PAGES[0])),),
        )  # fmt: skip
        case, _created = archive.open_case("centre", body, NOW)
        archive.put_page("centre", case.case_number, wire.PageRef(material=0, page=1), sha(PAGES[0]), PAGES[0],
                         now=NOW)  # fmt: skip
    finally:
        store.close()
    assert cli.main([*base, "archive", "deny-commitments", "remove", ID_NUMBER]) == 0
    assert cli.main([*base, "archive", "export", str(tmp_path / "out"), "--since", "2026-12-01"]) == 0
    assert verify(tmp_path / "out" / case.case_number) == []
    assert cli.main([*base, "--at", "2027-06-01T00:00+08:00", "archive", "purge"]) == 0
    assert "0 cases" in capsys.readouterr().out
    assert cli.main([*base, "--at", "2028-12-08T00:00+08:00", "archive", "purge"]) == 0
    assert "1 cases" in capsys.readouterr().out

"""The archive's page files on both stores: the same ``PageFiles`` behaviour on disk and in a bucket of a real
S3-compatible server (moto's, on a free port); the S3 store's failures (unreachable, access denied, no bucket)
answering the kiosk 503 with nothing lost; its settings' secret; and a kiosk's case through the real hub on S3."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hub.appointments.privacy import citizen_ref
from hub.archive.files import DiskPageFiles, PageFiles, PageFilesError, page_files
from hub.archive.s3 import SECRET_VARIABLE, S3PageFiles, S3Settings, _kept_as_sent
from hub.archive.store import Archive, archive_for
from hub.archive.web import add_case_routes
from hub.broker import free_port
from hub.config import ArchiveConfig, ConfigError, load_config
from hub.store import EventStore, open_store
from tests.hub.test_archive import (
    BASE,
    DISTRICT,
    NOW,
    PAGES,
    PEPPER,
    SECRET,
    Client,
    Kiosks,
    auth,
    case_request,
    put,
    refs,
    sha,
)
from tests.hub.test_archive_kill import PAGES as HUB_PAGES
from tests.hub.test_archive_kill import call
from tests.hub.test_archive_kill import put as put_to_hub
from tests.support import s3
from tests.support.hub_process import HubProcess

DATA = PAGES[0]


@pytest.fixture(scope="module")
def server() -> Iterator[s3.S3Server]:
    with s3.s3_server() as running:
        yield running


@pytest.fixture(params=["disk", "s3"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> PageFiles:
    if request.param == "disk":
        return DiskPageFiles(tmp_path / "pages")
    server: s3.S3Server = request.getfixturevalue("server")
    server.make_bucket()
    return S3PageFiles(server.settings())


def test_a_file_is_kept_under_its_checksum_once(files: PageFiles) -> None:
    digest = sha(DATA)
    assert not files.has(digest) and files.get(digest) is None
    files.put(digest, DATA)
    files.put(digest, DATA)  # the same page again: a no-op
    assert files.has(digest) and files.get(digest) == DATA
    files.delete(digest)
    files.delete(digest)  # gone already: fine
    assert not files.has(digest) and files.get(digest) is None


def test_a_wrong_checksum_or_name_keeps_nothing(files: PageFiles) -> None:
    with pytest.raises(ValueError, match="checksum"):
        files.put(sha(b"other"), DATA)
    assert not files.has(sha(b"other"))
    for name in ("../../etc/passwd", sha(DATA).upper(), sha(DATA)[:-1]):
        with pytest.raises(ValueError, match="sha256"):
            files.get(name)


def test_the_s3_store_keys_objects_as_the_disk_names_files(server: s3.S3Server) -> None:
    server.make_bucket()
    files = S3PageFiles(server.settings())
    for data in PAGES:
        files.put(sha(data), data)
    digest = sha(PAGES[2])
    assert sorted(server.objects()) == sorted(f"pages/{sha(d)[:2]}/{sha(d)[2:4]}/{sha(d)}" for d in PAGES)
    head = server.client().head_object(Bucket=s3.BUCKET, Key=files.key(digest))
    assert head["ContentType"] == "image/png" and head["Metadata"] == {"sha256": digest}


def test_an_object_damaged_in_the_store_is_no_page(server: s3.S3Server) -> None:
    server.make_bucket()
    files = S3PageFiles(server.settings())
    digest = sha(DATA)
    server.client().put_object(Bucket=s3.BUCKET, Key=files.key(digest), Body=b"damaged")
    with pytest.raises(PageFilesError, match="checksum"):
        files.get(digest)


def test_a_put_is_kept_only_when_the_store_answers_the_bytes_sent() -> None:
    digest = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    md5 = hashlib.md5(DATA, usedforsecurity=False).hexdigest()
    assert _kept_as_sent({"ETag": f'"{md5}"'}, digest, DATA)
    assert not _kept_as_sent({"ETag": '"' + "0" * 32 + '"'}, digest, DATA)
    assert not _kept_as_sent({"ETag": f'"{md5}"', "ChecksumSHA256": "other"}, digest, DATA)
    assert _kept_as_sent({"ETag": '"' + "0" * 32 + '"', "ServerSideEncryption": "aws:kms"}, digest, DATA)
    assert _kept_as_sent({"ETag": '"' + "0" * 32 + '-3"'}, digest, DATA)  # a multipart ETag is no MD5


def _failing_stores(server: s3.S3Server, refusing: s3.S3Server) -> dict[str, S3PageFiles]:
    return {
        "unreachable": S3PageFiles(s3.S3Server(f"http://127.0.0.1:{free_port()}").settings()),
        "access denied": S3PageFiles(refusing.settings()),
        "no such bucket": S3PageFiles(server.settings(bucket="no-such-bucket")),
    }


@pytest.fixture(scope="module")
def refusing() -> Iterator[s3.S3Server]:
    with s3.s3_server(authenticating=True) as running:
        yield running


def test_a_failing_store_is_a_page_files_error_naming_no_secret(server: s3.S3Server, refusing: s3.S3Server) -> None:
    for why, files in _failing_stores(server, refusing).items():
        for operation, arguments in (("put", (sha(DATA), DATA)), ("has", (sha(DATA),)), ("get", (sha(DATA),)),
                                     ("delete", (sha(DATA),))):  # fmt: skip
            with pytest.raises(PageFilesError) as raised:
                getattr(files, operation)(*arguments)
            assert s3.SECRET_ACCESS_KEY not in str(raised.value) and s3.ACCESS_KEY_ID not in str(raised.value), why


async def test_the_kiosk_is_answered_503_and_loses_nothing_while_the_store_fails(
    server: s3.S3Server, refusing: s3.S3Server, tmp_path: Path, aiohttp_client: Any
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    try:
        kiosks = Kiosks(store)
        working = S3PageFiles(server.settings(bucket=server.make_bucket("hall-later")))
        for why, failing in _failing_stores(server, refusing).items():
            archive = _archive(store, failing)
            app = web.Application()
            add_case_routes(app, archive, kiosks.device_of, lambda: NOW)
            client: Client = await aiohttp_client(app)
            opened = await client.post(BASE, json=case_request(PAGES, f"s3-{why}"), headers=auth(kiosks.centre))
            assert opened.status == 503, why  # the case is kept; a page already stored cannot be looked up
            again = await client.post(BASE, json=case_request(PAGES, f"s3-{why}"), headers=auth(kiosks.centre))
            receipt = await again.json()
            assert again.status == 200 and refs(receipt) == [(0, 1), (0, 2), (1, 1)], why
            answer = await put(client, kiosks.centre, receipt["case_number"], (0, 1), PAGES[0])
            error = await answer.json()
            assert (answer.status, error["code"]) == (503, "unavailable") and error["zh"], why
            case = archive.get(receipt["case_number"])
            assert case is not None and len(case.missing) == 3, why  # not marked stored
            archive.files = working  # the store is back: the kiosk's retry is stored
            stored = await put(client, kiosks.centre, receipt["case_number"], (0, 1), PAGES[0])
            assert stored.status == 200 and refs(await stored.json()) == [(0, 2), (1, 1)], why
            assert working.get(sha(PAGES[0])) == PAGES[0]
            await client.close()
    finally:
        store.close()


def _archive(store: EventStore, files: PageFiles) -> Archive:
    return archive_for(store, Path("unused"), lambda: DISTRICT, SECRET, lambda n: citizen_ref(PEPPER, n), files=files)


def test_the_settings_read_the_secret_from_a_file_or_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "s3-secret"
    secret_file.write_text("from-the-file\n")
    config = load_config(environ={
        "HALL_ARCHIVE_STORE": "s3", "HALL_ARCHIVE_S3_BUCKET": "b", "HALL_ARCHIVE_S3_ACCESS_KEY_ID": "id",
        "HALL_ARCHIVE_S3_SECRET_FILE": str(secret_file),
    })  # fmt: skip
    settings = S3Settings.of(config.archive, environ={})
    assert settings.secret_access_key == "from-the-file" and "from-the-file" not in repr(settings)
    from_env = ArchiveConfig(store="s3", s3_bucket="b", s3_access_key_id="id")
    assert S3Settings.of(from_env, environ={SECRET_VARIABLE: "from-env"}).secret_access_key == "from-env"
    with pytest.raises(ConfigError, match=SECRET_VARIABLE):
        S3Settings.of(from_env, environ={})
    with pytest.raises(ConfigError, match="s3_bucket"):
        load_config(environ={"HALL_ARCHIVE_STORE": "s3"})
    assert isinstance(page_files(ArchiveConfig(directory=str(tmp_path))), DiskPageFiles)


def test_a_kiosk_hands_in_a_case_through_the_real_hub_on_s3(
    hub: HubProcess, server: s3.S3Server, tmp_path: Path
) -> None:
    bucket = server.make_bucket("hall-hub")
    hub.env |= {
        "HALL_ARCHIVE_DIRECTORY": str(tmp_path / "not-used"), "HALL_ARCHIVE_STORE": "s3",
        "HALL_ARCHIVE_S3_ENDPOINT": server.endpoint, "HALL_ARCHIVE_S3_BUCKET": bucket,
        "HALL_ARCHIVE_S3_ACCESS_KEY_ID": s3.ACCESS_KEY_ID, SECRET_VARIABLE: s3.SECRET_ACCESS_KEY,
    }  # fmt: skip
    kiosk = hub.provision("centre", "kiosk")
    hub.start()
    request = json.dumps({
        "submission_id": "s3-hub-0001", "matter": "B01", "materials": [{"material": 0}],
        "pages": [{"material": 0, "page": i + 1, "sha256": sha(d), "size": len(d)} for i, d in enumerate(HUB_PAGES)],
    }).encode()  # fmt: skip
    status, receipt = call(hub, kiosk, "POST", BASE, body=request, kind="application/json")
    assert status == 201, receipt
    for index in range(len(HUB_PAGES)):
        assert put_to_hub(hub, kiosk, receipt["case_number"], index)[0] == 200
    status, submitted = call(hub, kiosk, "POST", f"{BASE}/{receipt['case_number']}/submit")
    assert status == 200 and submitted["state"] == "submitted"
    assert sorted(server.objects(bucket)) == sorted(f"pages/{sha(d)[:2]}/{sha(d)[2:4]}/{sha(d)}" for d in HUB_PAGES)
    assert not (tmp_path / "not-used").exists()
    hub.stop()
    assert s3.SECRET_ACCESS_KEY not in hub.log_path.read_text()

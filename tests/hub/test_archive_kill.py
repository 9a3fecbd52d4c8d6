"""A real hub killed -9 in the middle of a kiosk's submission, then started again: the kiosk resumes from what
``GET .../cases/{case}`` says is missing; no page is lost and no second case is opened."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.devices import Credentials
from hub.store import open_store
from hub.store.schema import archive_cases, archive_pages
from tests.hub.test_archive import page_image, sha
from tests.support.hub_process import HubProcess

BASE = "/api/v1/sites/centre/cases"
PAGES = [page_image(seed) for seed in range(10, 16)]


def _auth(kiosk: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{kiosk.device_id}:{kiosk.password}".encode()).decode()


def call(hub: HubProcess, kiosk: Credentials, method: str, path: str, *, body: bytes = b"", kind: str = "") -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{hub.http_port}{path}", data=body or None, method=method)
    request.add_header("Authorization", _auth(kiosk))
    if kind:
        request.add_header("Content-Type", kind)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="sha256"\r\n\r\n{sha(data)}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def put(hub: HubProcess, kiosk: Credentials, number: str, index: int) -> Any:
    body, kind = multipart(PAGES[index])
    return call(hub, kiosk, "PUT", f"{BASE}/{number}/pages/0/{index + 1}", body=body, kind=kind)


def half_sent(hub: HubProcess, kiosk: Credentials, number: str, index: int) -> socket.socket:
    """A page upload cut off halfway through its body (the connection left open)."""
    body, kind = multipart(PAGES[index])
    head = (
        f"PUT {BASE}/{number}/pages/0/{index + 1} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {_auth(kiosk)}\r\n"
        f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    connection = socket.create_connection(("127.0.0.1", hub.http_port), timeout=5)
    connection.sendall(head + body[: len(body) // 2])
    return connection


def test_a_hub_killed_mid_submission_loses_no_page_and_opens_no_second_case(hub: HubProcess, tmp_path: Path) -> None:
    pages_dir = tmp_path / "archive"
    hub.env["HALL_ARCHIVE_DIRECTORY"] = str(pages_dir)
    kiosk = hub.provision("centre", "kiosk")
    hub.start()
    request = json.dumps({
        "submission_id": "kill-test-0001", "matter": "B01", "materials": [{"material": 0}],
        "pages": [{"material": 0, "page": i + 1, "sha256": sha(d), "size": len(d)} for i, d in enumerate(PAGES)],
    }).encode()  # fmt: skip
    status, receipt = call(hub, kiosk, "POST", BASE, body=request, kind="application/json")
    assert status == 201, receipt
    number = receipt["case_number"]
    for index in range(3):
        assert put(hub, kiosk, number, index)[0] == 200
    cut = half_sent(hub, kiosk, number, 3)
    hub.kill()
    cut.close()

    hub.start()
    # the kiosk's spool sends it again
    status, again = call(hub, kiosk, "POST", BASE, body=request, kind="application/json")
    assert status == 200 and again["case_number"] == number
    missing = [ref["page"] for ref in again["missing"]]
    assert missing == [4, 5, 6]  # the three pages acknowledged before the kill are kept
    for page in missing:
        assert put(hub, kiosk, number, page - 1)[0] == 200
    assert put(hub, kiosk, number, 0)[0] == 200  # one re-sent after all: answered again
    status, submitted = call(hub, kiosk, "POST", f"{BASE}/{number}/submit")
    assert status == 200 and submitted["state"] == "submitted" and "missing" not in submitted

    store = open_store(hub.db_url)
    try:
        with store.engine.connect() as connection:  # type: ignore[attr-defined]
            cases = connection.execute(sa.select(archive_cases.c.case_number)).scalars().all()
            stored = connection.execute(sa.select(archive_pages.c.sha256, archive_pages.c.stored_at)).all()
    finally:
        store.close()
    assert cases == [number]
    assert sorted(row.sha256 for row in stored) == sorted(sha(d) for d in PAGES)
    assert all(row.stored_at is not None for row in stored)
    for data in PAGES:
        digest = hashlib.sha256(data).hexdigest()
        assert (pages_dir / digest[:2] / digest[2:4] / digest).read_bytes() == data
    assert not [path for path in pages_dir.rglob(".part-*")]

"""The caller's reader of a ticket's documents (caller/documents.py) against a real hub process: a kiosk hands a
case in with the ticket (the kiosk's own uploader and spool), the caller reads it, a clerk's decision in the archive
shows on the next read, and every answer the caller cannot use (refused, the hub away) is None, logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

import contract as wire
from caller.config import load_config
from caller.documents import CaseReader
from hub.archive.store import archive_for
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.store import open_store
from kiosk.documents.spool import Page, Spool
from kiosk.documents.uploader import Credentials, Uploader
from tests.kiosk.test_document_spool import page_jpeg, real_hub  # noqa: F401  (a fixture)
from tests.support.hub_process import HubProcess
from tests.support.waits import eventually

TICKET = "centre-20261125-B001"
REASON = "社会保障卡复印件不清晰，请重新提交"


def reader(hub: HubProcess, device: object, site: str = "centre", url: str = "") -> CaseReader:
    device_id, password = getattr(device, "device_id"), getattr(device, "password")  # noqa: B009
    return CaseReader(url or f"http://127.0.0.1:{hub.http_port}", site, device_id, password, timeout=3)


def decide(hub: HubProcess, case_number: str, state: wire.CaseState, reason: str) -> None:
    """A clerk's decision in the running hub's archive (its database), as the archive's page makes it."""
    store = open_store(hub.db_url)
    try:
        district = load_district(SAMPLE_DISTRICT)
        archive = archive_for(store, hub.directory / "archive", lambda: district, b"s" * 32, lambda _number: None)
        archive.decide(case_number, state, "li01", reason, datetime.now(UTC))
    finally:
        store.close()


def test_the_caller_reads_the_tickets_case_and_the_decision_on_the_next_read(
    real_hub: HubProcess,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kiosk = real_hub.provision("centre", "kiosk")
    caller = real_hub.provision("centre", "caller", window_id="w01")
    other = real_hub.provision("xiaozhai", "caller", window_id="w1")
    eventually(lambda: real_hub.fetch("/api/v1/devices", caller)[0] == 200, timeout=15)  # picked up
    mine = reader(real_hub, caller)
    assert mine.cases(TICKET) == ()

    spool = Spool(tmp_path / "spool")
    submission = spool.create(
        site="centre", matter="B01", materials=[wire.CaseMaterial(material=0), wire.CaseMaterial(material=1)],
        pages=(Page(0, 1, page_jpeg(71)), Page(1, 1, page_jpeg(72), wire.PageShape.ID_CARD)), ticket_id=TICKET,
    ).submission_id  # fmt: skip
    uploader = Uploader(spool, f"http://127.0.0.1:{real_hub.http_port}", Credentials(kiosk.device_id, kiosk.password))
    receipt = uploader.send(submission, attempts=3)
    (case,) = mine.cases(TICKET) or ()
    assert (case.case_number, case.state, case.pages, case.matter) == (receipt.case_number, "submitted", 2, "B01")

    decide(real_hub, receipt.case_number, wire.CaseState.RETURNED, REASON)
    (case,) = mine.cases(TICKET) or ()
    assert case.state == wire.CaseState.RETURNED and case.reason == REASON

    caplog.set_level(logging.WARNING, logger="caller.documents")
    assert reader(real_hub, kiosk).cases(TICKET) is None  # a kiosk is no caller: 403
    assert reader(real_hub, other, site="centre").cases(TICKET) is None  # another site's caller: 403
    assert reader(real_hub, other, site="xiaozhai").cases(TICKET) == ()  # its own site: none of the centre's
    wrong = CaseReader(f"http://127.0.0.1:{real_hub.http_port}", "centre", caller.device_id, "not-it", timeout=3)
    assert wrong.cases(TICKET) is None  # 401
    assert reader(real_hub, caller, url="http://127.0.0.1:9").cases(TICKET) is None  # no hub there
    logged = [record.getMessage() for record in caplog.records]
    assert any("HTTP 403" in line for line in logged) and any("HTTP 401" in line for line in logged)
    assert any("did not answer" in line for line in logged)
    assert not any(caller.password in line or kiosk.password in line for line in logged)


def test_the_hubs_http_address_defaults_to_the_brokers_host() -> None:
    assert load_config(None, {"CALLER_HOST": "10.0.0.5"}).http_url == "http://10.0.0.5:8080"
    assert load_config(None, {"CALLER_HUB_URL": "https://hub.example/"}).http_url == "https://hub.example"

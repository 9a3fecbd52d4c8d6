"""The hub's OpenAPI document (hub/openapi.py, docs/api.md): valid OpenAPI 3.1, every route under /api/ described,
and the running hub (``hall-hub serve``: real aiohttp server, SQLite, provisioned devices) answering schemathesis'
generated requests to the device, booking and document routes with no server error and nothing the document does
not say."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

import contract as wire
from hub.appointments import desk_for, keyfile
from hub.archive.store import archive_for
from hub.devices import Credentials
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.gateway import Gateway
from hub.openapi import describe, document, undescribed
from hub.server import Hub
from hub.service import HallService
from hub.store import open_store
from hub.web import create_app
from tests.hub.test_archive import page_image, sha
from tests.support.hub_process import REPO, WEDNESDAY_10AM, HubProcess
from tests.support.waits import eventually
from tests.web.conftest import CSRF, PASSWORD, Clock, make_pages

DISTRICT = load_district(SAMPLE_DISTRICT)
TODAY = WEDNESDAY_10AM[:10]
EXAMPLES = int(os.environ.get("HALL_API_EXAMPLES", "6"))
"""Generated requests per operation: few, so the run takes seconds; ``HALL_API_EXAMPLES=200`` to search harder."""
MODES = [GenerationMode(mode) for mode in os.environ.get("HALL_API_MODES", "positive").split(",")]
"""``HALL_API_MODES=positive,negative`` also sends requests the document says are wrong (each must be a 4xx)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def whole_app(directory: Path) -> web.Application:
    """The hub's web app as ``hall-hub serve`` wires it: pages, bookings, documents, device actions."""
    store = open_store(f"sqlite:///{directory}/hall.db")
    clock = Clock()
    desk = desk_for(store, DISTRICT, keyfile.load_or_create(directory / "keys.toml"))
    gateway = Gateway(HallService(DISTRICT, store), lambda _device: None, clock, appointments=desk)
    archive = archive_for(store, directory / "archive", lambda: DISTRICT, b"s" * 32, lambda _id: None)
    return create_app(Hub(gateway), lambda _id, _password: False, clock, make_pages(store, clock), archive)


class RunningHub:
    def __init__(self, process: HubProcess, devices: dict[str, Credentials]) -> None:
        self.process, self.devices = process, devices
        self.url = f"http://127.0.0.1:{process.http_port}"

    def document(self) -> dict[str, Any]:
        body = self.process.get("/api/openapi.json")
        assert body is not None
        found: dict[str, Any] = json.loads(body)
        return found


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    process = HubProcess(tmp_path_factory.mktemp("hub"))
    made = subprocess.run(
        [sys.executable, "-m", "hub.cli", "admin", "add", "root"], input=PASSWORD, text=True, cwd=REPO,
        env=process.env, capture_output=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    process.start()
    devices = {
        "kiosk": process.provision("centre", "kiosk"),
        "caller": process.provision("centre", "caller", window_id="w01"),
        "evaluator": process.provision("centre", "evaluator", window_id="w01"),
    }
    eventually(lambda: all(process.fetch("/api/v1/devices", auth)[0] == 200 for auth in devices.values()))
    try:
        yield RunningHub(process, devices)
    finally:
        process.stop()
    assert process.log_defects() == [], "the hub logged a defect (see hub.log)"


def test_the_served_document_is_valid_openapi_3_1(running: RunningHub) -> None:
    found = running.document()
    OPENAPI_31_VALIDATOR.validate(found)
    assert found["openapi"] == "3.1.0"
    for name, schema in found["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name  # JSON Schema 2020-12, OpenAPI 3.1's dialect
    text = json.dumps(found)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in found["components"]["schemas"], f"a $ref to no component: {ref}"


def test_operations_carry_the_code_s_own_schemas(running: RunningHub) -> None:
    paths = running.document()["paths"]
    issue = paths["/api/v1/sites/{site}/issue"]["post"]
    body = issue["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/IssueRequest"}
    assert issue["security"] == [{"deviceBasic": []}]
    assert issue["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Reply")
    assert "Retry-After" in issue["responses"]["429"]["headers"]
    assert {"application/json", "text/plain"} <= set(issue["responses"]["503"]["content"])
    assert set(paths) >= {f"/api/v1/sites/{{site}}/{action.value}" for action in wire.Action}
    booking = paths["/api/v1/sites/{site}/appointments"]
    assert booking["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/BookingBody")
    assert booking["get"]["security"] == [{"deviceBasic": []}]
    assert booking["post"]["security"] == []
    admin = paths["/admin/sites/{site}/devices.json"]["get"]
    assert admin["security"] == [{"adminSession": []}] and "Roles:" in admin["description"]
    case = paths["/api/v1/sites/{site}/cases"]["post"]
    assert case["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CaseRequest")
    page = paths["/api/v1/sites/{site}/cases/{case}/pages/{material}/{page}"]["put"]
    assert "multipart/form-data" in page["requestBody"]["content"]


def test_every_api_route_of_the_hub_is_described(tmp_path: Path) -> None:
    app = whole_app(tmp_path)
    assert undescribed(app) == []
    described = {path for path in document(app)["paths"] if path.startswith("/api/")}
    assert "/api/v1/sites/{site}/snapshot" in described and "/api/openapi.json" in described


def test_a_route_without_a_description_is_named(tmp_path: Path) -> None:
    async def quiet(_request: web.Request) -> web.Response:
        return web.Response()

    @describe("Said", tag="t", answers=[])
    async def said(_request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_get("/api/v1/quiet/{thing}", quiet)
    app.router.add_post("/api/v1/said", said)
    app.router.add_get("/elsewhere", quiet)
    assert undescribed(app) == ["GET /api/v1/quiet/{thing}"]


def _basic(credentials: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{credentials.device_id}:{credentials.password}".encode()).decode()


@pytest.fixture(scope="module")
def api_schema(running: RunningHub) -> Any:
    """The served document, narrowed so that requests reach the handlers, not only the refusals in front of them:
    ``{site}`` to the district's sites, a request's ``v`` to 1 and ``window_id`` to the devices' window, a booking to
    matter A02 of today, at one of the slots the hub offers, with a mobile number."""
    found = copy.deepcopy(running.document())
    offered = json.loads(running.process.get(f"/api/v1/sites/centre/slots?matter=A02&day={TODAY}") or b"{}")
    slots = [slot["start"] for slot in offered["slots"]]
    assert slots, "the centre offers slots for A02 today"
    booking = found["components"]["schemas"]["BookingBody"]["properties"]
    booking |= {
        "matter": {"const": "A02"},
        "slot": {"enum": slots},
        "phone": {"type": "string", "pattern": r"^1[3-9][0-9]{9}\Z"},
    }
    booking["id_number"] = {"type": "null"}  # a made-up number fails its check digit: bad_id_number
    if "officer_code" in booking:
        booking["officer_code"] = {"type": "null"}  # a made-up officer's code is refused
    for component in found["components"]["schemas"].values():
        properties = component.get("properties", {})
        if "v" in properties and "id" in properties:  # a device's request
            properties["v"] = {"const": wire.PROTOCOL_VERSION}
            if "window_id" in properties:
                properties["window_id"] = {"const": "w01"}
    for operations in found["paths"].values():
        for operation in operations.values():
            for parameter in operation["parameters"]:
                if parameter["name"] == "site":
                    parameter["schema"] = {"enum": [site.id for site in DISTRICT.sites]}
                if parameter["name"] == "matter":
                    parameter["schema"] = {"const": "A02"}
                if parameter["name"] == "day":
                    parameter["schema"] = {"enum": [TODAY, "2026-11-26"]}
    _narrow_page_upload(found, running)
    schema = schemathesis.openapi.from_dict(found)
    schema.config.update(base_url=running.url, suppress_health_check=list(HealthCheck))
    schema.config.generation.update(
        modes=MODES,
        max_examples=EXAMPLES,
        deterministic=True,
        database="none",
        with_security_parameters=False,  # the devices' own credentials, not made-up ones
    )
    return schema.include(path_regex="^/api/v1/")


UPLOADS = [page_image(41), page_image(42, ".png")]
"""The pages of the case the upload is tried on. The generated requests send its first page (stored: 200), its
other page or an image it did not announce (``checksum_mismatch``), or bytes that are no image (415)."""
schemathesis.openapi.media_type("image/jpeg", st.sampled_from([UPLOADS[0], page_image(43), b"\xff\xd8\xffno"]))
schemathesis.openapi.media_type("image/png", st.sampled_from([UPLOADS[1], b"\x89PNG\r\n\x1a\nnot a png"]))


def _narrow_page_upload(found: dict[str, Any], running: RunningHub) -> None:
    """The upload of the first page of a case the kiosk opened, announcing ``UPLOADS``: ``{case}`` that case,
    ``{material}``/``{page}`` and ``sha256`` its first page's (a made-up case or checksum only reaches a refusal)."""
    request: dict[str, Any] = {
        "submission_id": "openapi-pages-0001", "matter": "B01", "materials": [{"material": 0}],
        "pages": [{"material": 0, "page": i + 1, "sha256": sha(d), "size": len(d)} for i, d in enumerate(UPLOADS)],
    }  # fmt: skip
    headers = {"Authorization": _basic(running.devices["kiosk"])}
    opened = requests.post(f"{running.url}/api/v1/sites/centre/cases", json=request, headers=headers, timeout=10)
    assert opened.status_code in (200, 201), opened.text
    upload = found["paths"]["/api/v1/sites/{site}/cases/{case}/pages/{material}/{page}"]["put"]
    fixed = {"site": {"const": "centre"}, "case": {"const": opened.json()["case_number"]},
             "material": {"const": 0}, "page": {"const": 1}}  # fmt: skip
    for parameter in upload["parameters"]:
        parameter["schema"] = fixed[parameter["name"]]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    form["properties"]["sha256"] = {"const": sha(UPLOADS[0])}


def _credentials_for(path: str, running: RunningHub) -> Credentials:
    """The device whose kind may use the route: a kiosk for its actions and the documents, the evaluator to rate,
    else the caller (staff routes, window actions)."""
    action = path.rsplit("/", 1)[-1]
    if "/cases" in path or "/commitments/" in path or action in {"issue", "check-in", "snapshot"}:
        return running.devices["kiosk"]
    if action == "rate":
        return running.devices["evaluator"]
    return running.devices["caller"]


def _exercise(operation: Any, headers: dict[str, str], statuses: set[int]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        statuses.add(case.call_and_validate(headers=headers, checks=CHECKS, timeout=10).status_code)

    run()


def test_the_running_hub_answers_as_its_document_says(api_schema: Any, running: RunningHub) -> None:
    """A few generated requests per operation (no shrinking: a failure is reported as found), each checked for a
    5xx and against the document's statuses, media types, headers and schemas."""
    failures: dict[str, str] = {}
    seen: dict[str, set[int]] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # booking first: the booking routes share one address's write limit (30 a minute), and 429 is all that is left
    first = ("POST", "/api/v1/sites/{site}/appointments")
    operations.sort(key=lambda operation: (operation.method.upper(), operation.path) != first)
    assert len(operations) >= 30
    for operation in operations:
        headers = {"Authorization": _basic(_credentials_for(operation.path, running))}
        try:
            _exercise(operation, headers, seen.setdefault(f"{operation.method.upper()} {operation.path}", set()))
        except Exception as error:  # every operation is tried; all failures are reported together
            failures[f"{operation.method.upper()} {operation.path}"] = str(error)[:1500]
    assert failures == {}, "\n\n".join(f"{name}: {text}" for name, text in failures.items())
    if MODES != [GenerationMode.POSITIVE]:
        return
    # the requests reached the handlers, not only the refusals in front of them
    assert 200 in seen["GET /api/v1/district"] and 200 in seen["GET /api/v1/sites/{site}/snapshot"]
    assert 200 in seen["POST /api/v1/sites/{site}/snapshot"] and 200 in seen["GET /api/v1/devices"]
    assert 201 in seen["POST /api/v1/sites/{site}/appointments"] and 200 in seen["GET /api/v1/sites/{site}/slots"]
    assert 200 in seen["PUT /api/v1/sites/{site}/cases/{case}/pages/{material}/{page}"]  # a page stored


def _signed_in_cookie(running: RunningHub) -> str:
    """The session cookie of the district administrator ``root``, signed in through the form."""
    with requests.Session() as session:
        found = CSRF.search(session.get(f"{running.url}/admin/sign-in", timeout=10).text)
        assert found is not None
        form = {"csrf": found.group(1), "username": "root", "password": PASSWORD}
        signed = session.post(f"{running.url}/admin/sign-in", data=form, timeout=10)
        assert signed.status_code == 200 and signed.url.endswith("/admin/"), signed.status_code
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def test_the_admin_pages_data_answers_as_the_document_says(running: RunningHub) -> None:
    """Every admin page's JSON twin, for the signed-in administrator: no 5xx, each answer one the document lists."""
    found = copy.deepcopy(running.document())
    for operations in found["paths"].values():
        for operation in operations.values():
            for parameter in operation["parameters"]:  # a made-up id stays one path segment
                name = parameter["name"]
                parameter["schema"] = (
                    {"enum": [site.id for site in DISTRICT.sites]} if name == "site"
                    else {"type": "string", "pattern": "^[a-z0-9]{1,12}$"}
                )  # fmt: skip
    schema = schemathesis.openapi.from_dict(found)
    schema.config.update(base_url=running.url, suppress_health_check=list(HealthCheck))
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE], max_examples=3, deterministic=True, database="none",
        with_security_parameters=False,
    )  # fmt: skip
    headers = {"Cookie": _signed_in_cookie(running)}
    failures: dict[str, str] = {}
    seen: dict[str, set[int]] = {}
    admin_pages: Any = schema.include(path_regex="^/admin/")
    for result in admin_pages.get_all_operations():
        operation = result.ok()
        try:
            _exercise(operation, headers, seen.setdefault(operation.path, set()))
        except Exception as error:
            failures[operation.path] = str(error)[:1500]
    assert failures == {}, "\n\n".join(f"{name}: {text}" for name, text in failures.items())
    assert len(seen) >= 20 and 200 in seen["/admin/index.json"] and 200 in seen["/admin/sites/{site}.json"]

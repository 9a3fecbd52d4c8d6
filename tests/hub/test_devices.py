"""Device identity: provisioning rules, passwords kept only as hashes, revocation, persistence, the broker's files
and the ``device`` command line. The registry's suite runs on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import contract
from contract import DeviceKind
from hub.device_cli import add_device_commands, run_device_command
from hub.devices import (
    HUB_USER,
    Device,
    DeviceError,
    DeviceRegistry,
    MemoryDeviceRows,
    SqlDeviceRows,
    broker_files,
    registry_for,
)
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.store import EventStore, open_store
from hub.store.schema import devices as devices_table
from hub.store.sql import SqlStore
from tests.support import postgres

DISTRICT = load_district(SAMPLE_DISTRICT)
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


class Clock:
    """A clock that moves one minute each time it is read."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hall.db'}"


@pytest.fixture
def postgresql_url(postgres_database: str) -> str:
    postgres.empty_database(postgres_database)
    return postgres_database


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[EventStore]:
    url = "memory://" if request.param == "memory" else request.getfixturevalue(f"{request.param}_url")
    opened = open_store(url)
    yield opened
    opened.close()


def device(registry: DeviceRegistry, device_id: str) -> Device:
    found = registry.get(device_id)
    assert found is not None, device_id
    return found


@pytest.fixture
def registry(store: EventStore) -> DeviceRegistry:
    registry = registry_for(store, DISTRICT)
    registry.clock = Clock()
    return registry


# --- provisioning ------------------------------------------------------------------------------------------------


def test_a_provisioned_device_is_kept_with_its_site_kind_and_window(registry: DeviceRegistry) -> None:
    credentials = registry.provision("centre", DeviceKind.CALLER, device_id="caller-w01", window_id="w01")

    kept = device(registry, "caller-w01")
    assert credentials.device_id == "caller-w01"
    assert (kept.site_id, kept.kind, kept.window_id) == ("centre", DeviceKind.CALLER, "w01")
    assert (kept.created_at, kept.revoked_at) == (T0 + timedelta(minutes=1), None)
    assert registry.get("caller-w02") is None


def test_ids_are_made_from_kind_and_site_when_not_given(registry: DeviceRegistry) -> None:
    first = registry.provision("centre", "kiosk")
    second = registry.provision("centre", "kiosk")
    screen = registry.provision("xiaozhai", "window_screen", window_id="w2")

    assert [first.device_id, second.device_id, screen.device_id] == [
        "kiosk-centre-1",
        "kiosk-centre-2",
        "window-screen-xiaozhai-1",
    ]
    assert [device.device_id for device in registry.all()] == [
        "kiosk-centre-1",
        "kiosk-centre-2",
        "window-screen-xiaozhai-1",
    ]


def test_a_revoked_id_is_not_given_out_again(registry: DeviceRegistry) -> None:
    registry.provision("centre", "board")
    registry.revoke("board-centre-1")

    assert registry.provision("centre", "board").device_id == "board-centre-2"


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        (("nowhere", "kiosk", None, None), "no site 'nowhere' in district yanta"),
        (("centre", "toaster", None, None), "unknown device kind 'toaster'"),
        (("centre", "caller", None, None), "a caller belongs to a window"),
        (("centre", "evaluator", None, None), "an evaluator belongs to a window"),
        (("centre", "kiosk", "w01", None), "a kiosk belongs to no window"),
        (("centre", "caller", "w99", None), "no window 'w99' at site centre"),
        (("centre", "caller", "w1", None), "no window 'w1' at site centre"),  # xiaozhai's window
        (("centre", "kiosk", None, "Kiosk-1"), "must be 1-48 of a-z, 0-9 and -"),
        (("centre", "kiosk", None, "kiosk/1"), "must be 1-48 of a-z, 0-9 and -"),
        (("centre", "kiosk", None, "kiosk 1\nuser x"), "must be 1-48 of a-z, 0-9 and -"),
        (("centre", "kiosk", None, "k" * 49), "must be 1-48 of a-z, 0-9 and -"),
        (("centre", "kiosk", None, ""), "must be 1-48 of a-z, 0-9 and -"),
        (("centre", "kiosk", None, "hub"), "the hub's own account"),
    ],
)
def test_a_request_the_district_does_not_allow_is_refused(
    registry: DeviceRegistry, asked: tuple[str, str, str | None, str | None], message: str
) -> None:
    """``asked`` is (site, kind, window, device id)."""
    site, kind, window, device_id = asked
    with pytest.raises(DeviceError, match=message):
        registry.provision(site, kind, device_id=device_id, window_id=window)

    assert registry.all() == []


def test_an_id_can_be_provisioned_once(registry: DeviceRegistry) -> None:
    registry.provision("centre", "kiosk", device_id="kiosk-hall")

    with pytest.raises(DeviceError, match="device kiosk-hall already exists"):
        registry.provision("xiaozhai", "kiosk", device_id="kiosk-hall")
    assert device(registry, "kiosk-hall").site_id == "centre"


# --- passwords ---------------------------------------------------------------------------------------------------


def test_the_password_is_random_and_only_its_hashes_are_kept(registry: DeviceRegistry) -> None:
    one = registry.provision("centre", "kiosk")
    two = registry.provision("centre", "kiosk")

    assert one.password != two.password
    assert len(one.password) >= 32
    kept = device(registry, one.device_id)
    assert one.password not in repr(one) + repr(kept)
    assert kept.password_hash.startswith("$argon2id$")
    assert kept.broker_hash.startswith("$7$101$")
    assert one.password not in kept.password_hash + kept.broker_hash


def test_only_the_right_password_of_an_active_device_verifies(registry: DeviceRegistry) -> None:
    kiosk = registry.provision("centre", "kiosk")
    board = registry.provision("centre", "board")

    assert registry.verify(kiosk.device_id, kiosk.password)
    assert not registry.verify(kiosk.device_id, board.password)
    assert not registry.verify(kiosk.device_id, kiosk.password + "x")
    assert not registry.verify(kiosk.device_id, "")
    assert not registry.verify("kiosk-centre-9", kiosk.password)

    registry.revoke(kiosk.device_id)
    assert not registry.verify(kiosk.device_id, kiosk.password)
    assert registry.verify(board.device_id, board.password)


# --- revocation --------------------------------------------------------------------------------------------------


def test_revoking_keeps_the_device_marked_with_the_first_time(registry: DeviceRegistry) -> None:
    registry.provision("centre", "kiosk")  # at +1 min

    revoked = registry.revoke("kiosk-centre-1")  # at +2 min
    again = registry.revoke("kiosk-centre-1")

    assert revoked.revoked_at == again.revoked_at == T0 + timedelta(minutes=2)
    assert device(registry, "kiosk-centre-1") == revoked
    assert [device.revoked for device in registry.all()] == [True]


def test_revoking_an_unknown_device_is_an_error(registry: DeviceRegistry) -> None:
    with pytest.raises(DeviceError, match="no device 'kiosk-centre-1'"):
        registry.revoke("kiosk-centre-1")


# --- persistence -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_devices_outlive_the_hub_process_in_its_database(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    first = open_store(url)
    kiosk = registry_for(first, DISTRICT).provision("centre", "kiosk")
    caller = registry_for(first, DISTRICT).provision("centre", "caller", window_id="w02")
    registry_for(first, DISTRICT).revoke(caller.device_id)
    first.close()

    second = open_store(url)
    registry = registry_for(second, DISTRICT)

    assert isinstance(registry.rows, SqlDeviceRows)
    assert [(d.device_id, d.window_id, d.revoked) for d in registry.all()] == [
        ("caller-centre-1", "w02", True),
        ("kiosk-centre-1", None, False),
    ]
    assert all(d.created_at.tzinfo is not None for d in registry.all())
    assert registry.verify(kiosk.device_id, kiosk.password)
    assert isinstance(second, SqlStore)
    with second.engine.connect() as connection:
        stored = " ".join(str(value) for row in connection.execute(sa.select(devices_table)) for value in row)
    assert kiosk.password not in stored and caller.password not in stored
    second.close()


def test_a_memory_store_keeps_its_devices_in_memory() -> None:
    assert isinstance(registry_for(open_store("memory://"), DISTRICT).rows, MemoryDeviceRows)


# --- the broker's files ------------------------------------------------------------------------------------------


def test_the_broker_files_give_each_active_device_its_contract_rules() -> None:
    registry = DeviceRegistry(DISTRICT, MemoryDeviceRows())
    registry.provision("centre", "kiosk")
    registry.provision("centre", "caller", window_id="w01")
    registry.revoke(registry.provision("centre", "board").device_id)

    passwords, acl = broker_files(registry.all(), "hub-secret")

    users = [line.split(":", 1)[0] for line in passwords.splitlines()]
    assert users == [HUB_USER, "caller-centre-1", "kiosk-centre-1"]
    assert passwords.splitlines()[2] == "kiosk-centre-1:" + device(registry, "kiosk-centre-1").broker_hash
    assert "hub-secret" not in passwords + acl
    sections = [section.splitlines() for section in acl.split("\n\n")[1:]]
    assert sections[0] == ["user hub", "topic readwrite hall/#"]
    assert sections[1][0] == "user caller-centre-1"
    assert sections[2] == ["user kiosk-centre-1"] + [
        f"topic {access} {topic}" for access, topic in contract.device_acl("centre", "kiosk-centre-1", DeviceKind.KIOSK)
    ]
    assert "topic write hall/v1/centre/req/caller-centre-1/call-next" in sections[1]
    assert len(sections) == 3


def test_a_device_row_that_cannot_be_an_account_is_refused_for_the_broker() -> None:
    forged = Device("x\nuser hub", "centre", DeviceKind.KIOSK, None, "$7$", "$argon2id$", T0)

    with pytest.raises(DeviceError, match="cannot be a broker account"):
        broker_files([forged], "hub-secret")


# --- hall-hub device ... -----------------------------------------------------------------------------------------


def device_command(registry: DeviceRegistry, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hall-hub")
    add_device_commands(parser.add_subparsers(dest="command", required=True))
    return run_device_command(parser.parse_args(["device", *argv]), registry)


def test_device_add_prints_credentials_that_verify(capsys: pytest.CaptureFixture[str]) -> None:
    registry = DeviceRegistry(DISTRICT, MemoryDeviceRows())

    status = device_command(registry, "add", "--site", "centre", "--kind", "caller", "--window", "w03", "--id", "c3")

    out = capsys.readouterr().out
    fields = dict(line.split(":", 1) for line in out.splitlines() if line.startswith(("device:", "password:")))
    assert status == 0
    assert fields["device"].strip() == "c3"
    assert registry.verify("c3", fields["password"].strip())
    assert device(registry, "c3").window_id == "w03"


def test_device_list_and_revoke(capsys: pytest.CaptureFixture[str]) -> None:
    registry = DeviceRegistry(DISTRICT, MemoryDeviceRows(), clock=Clock())
    registry.provision("centre", "kiosk")
    registry.provision("xiaozhai", "board")

    assert device_command(registry, "revoke", "kiosk-centre-1") == 0
    assert device_command(registry, "list") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "revoked kiosk-centre-1"
    assert lines[2].split() == ["board-xiaozhai-1", "board", "xiaozhai", "-", "active"]
    assert lines[3].split() == ["kiosk-centre-1", "kiosk", "centre", "-", "revoked", "2026-11-25", "02:03", "UTC"]


def test_a_refused_device_command_says_why_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    registry = DeviceRegistry(DISTRICT, MemoryDeviceRows())

    assert device_command(registry, "add", "--site", "centre", "--kind", "caller") == 1
    assert device_command(registry, "revoke", "ghost") == 1

    err = capsys.readouterr().err
    assert "✗ a caller belongs to a window" in err
    assert "✗ no device 'ghost'" in err
    assert registry.all() == []

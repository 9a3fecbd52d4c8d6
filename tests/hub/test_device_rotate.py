"""A device's password rotated: the new one verifies, the old one is refused (by the hub at once, by the managed
broker from its next reload, which closes a connection made with the old one), the hub's registry watch sees the
change. The registry's part runs on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import DeviceKind
from hub.broker import ManagedMosquitto
from hub.devices import DeviceError, DeviceRegistry, MemoryDeviceRows, registry_for
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.main import DeviceCache
from hub.store import EventStore, open_store
from tests.hub.test_broker import WAIT, Peer
from tests.support import postgres

DISTRICT = load_district(SAMPLE_DISTRICT)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hall.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        postgres.empty_database(url)
    opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def registry(store: EventStore) -> DeviceRegistry:
    return registry_for(store, DISTRICT)


def test_the_new_password_verifies_and_the_old_one_no_longer(registry: DeviceRegistry) -> None:
    first = registry.provision("centre", DeviceKind.CALLER, window_id="w01")

    device, second = registry.rotate(first.device_id)

    assert second.device_id == first.device_id and second.password != first.password
    assert registry.verify(first.device_id, second.password)
    assert not registry.verify(first.device_id, first.password)
    kept = registry.get(first.device_id)
    assert kept == device and kept is not None
    assert (kept.site_id, kept.kind, kept.window_id, kept.created_at) == ("centre", DeviceKind.CALLER, "w01",
                                                                         device.created_at)  # fmt: skip
    assert second.password not in repr(second) and second.password not in repr(device)


def test_a_revoked_or_unknown_device_gets_no_new_password(registry: DeviceRegistry) -> None:
    board = registry.provision("centre", DeviceKind.BOARD)
    registry.revoke(board.device_id)

    with pytest.raises(DeviceError, match="revoked"):
        registry.rotate(board.device_id)
    with pytest.raises(DeviceError, match="no device"):
        registry.rotate("board-nowhere-9")
    assert not registry.verify(board.device_id, board.password)


def test_the_hub_s_registry_watch_sees_a_rotated_password_as_a_change(registry: DeviceRegistry) -> None:
    kiosk = registry.provision("centre", DeviceKind.KIOSK)
    cache = DeviceCache(registry)
    cache.refresh()
    assert cache.check_password(kiosk.device_id, kiosk.password)

    _device, rotated = registry.rotate(kiosk.device_id)

    assert cache.refresh(), "a rotated password must reload the broker"
    assert not cache.check_password(kiosk.device_id, kiosk.password), "the verified old password is forgotten"
    assert cache.check_password(kiosk.device_id, rotated.password)
    assert not cache.refresh()


def test_the_managed_broker_refuses_the_old_password_from_its_reload(tmp_path: Path) -> None:
    registry = DeviceRegistry(DISTRICT, MemoryDeviceRows())
    kiosk = registry.provision("centre", DeviceKind.KIOSK)
    with ManagedMosquitto(tmp_path / "broker", registry.all) as broker:
        online = Peer(broker, "online-before", kiosk.device_id, kiosk.password)
        assert not online.connect().is_failure
        _device, rotated = registry.rotate(kiosk.device_id)

        broker.reload()

        old = Peer(broker, "old-after", kiosk.device_id, kiosk.password)
        new = Peer(broker, "new-after", rotated.device_id, rotated.password)
        try:
            assert old.connect().is_failure, "the old password is refused"
            assert not new.connect().is_failure, "the new password is admitted"
            assert online.disconnected.wait(WAIT), "a connection made with the old password is closed by the reload"
        finally:
            for peer in (online, old, new):
                peer.close()

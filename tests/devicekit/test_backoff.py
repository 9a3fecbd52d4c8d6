"""Reconnect back-off with full jitter (issue #13): each wait bounded by min(cap, base * 2**n) and spread over that
range; and fifty real DeviceLinks on a real Mosquitto that is killed and started again come back spread over
seconds, not in one burst, and all of them."""

from __future__ import annotations

import os
import random
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import contract as wire
from devicekit.backoff import DEVICE_BASE, DEVICE_CAP, Backoff
from devicekit.link import DeviceLink
from hub.broker import ManagedMosquitto
from hub.devices import Credentials, DeviceRegistry, MemoryDeviceRows
from hub.district_file import SAMPLE_DISTRICT, load_district
from tests.support.waits import eventually

FLEET = 50


def test_each_wait_is_within_its_bound_and_the_bound_doubles_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 8.0, random.Random(13))
    bounds = []
    for _ in range(8):
        bound = backoff.bound()
        wait = backoff.next()
        assert 0 <= wait <= bound
        bounds.append(bound)
    assert bounds == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.bound() == 0.5


@pytest.mark.parametrize("failures", [0, 2, 6])
def test_waits_spread_evenly_over_their_range(failures: int) -> None:
    """Full jitter: uniform in [0, bound], so a fleet's waits cover the range instead of bunching at one value."""
    rng = random.Random(failures)
    waits = []
    for _ in range(5000):
        backoff = Backoff(DEVICE_BASE, DEVICE_CAP, rng)
        backoff.attempt = failures
        bound = backoff.bound()
        waits.append(backoff.next() / bound)
    deciles = statistics.quantiles(waits, n=10)
    assert min(waits) >= 0 and max(waits) <= 1
    assert all(abs(decile - (i + 1) / 10) < 0.03 for i, decile in enumerate(deciles)), deciles


def test_a_back_off_without_a_positive_base_below_its_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(0, 8)
    with pytest.raises(ValueError, match="base"):
        Backoff(4, 2)


# --- fifty devices and a broker that dies ------------------------------------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[ManagedMosquitto, list[DeviceLink]]]:
    registry = DeviceRegistry(load_district(SAMPLE_DISTRICT), MemoryDeviceRows())
    kiosks: list[Credentials] = [registry.provision("centre", wire.DeviceKind.KIOSK) for _ in range(FLEET)]
    with ManagedMosquitto(tmp_path / "broker", registry.all) as broker:
        links = [
            DeviceLink(
                host=broker.host,
                port=broker.port,
                site_id="centre",
                device_id=kiosk.device_id,
                password=kiosk.password,
                kind=wire.DeviceKind.KIOSK,
            )
            for kiosk in kiosks
        ]
        try:
            yield broker, links
        finally:
            for link in links:
                link.stop()


def _connect_times(links: list[DeviceLink], timeout: float) -> dict[int, float]:
    """When each link is connected again (monotonic seconds), polling every millisecond."""
    times: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while len(times) < len(links) and time.monotonic() < deadline:
        for index, link in enumerate(links):
            if index not in times and link.connected.is_set():
                times[index] = time.monotonic()
        time.sleep(0.001)
    return times


def test_fifty_devices_come_back_spread_over_time_after_the_broker_is_killed(
    fleet: tuple[ManagedMosquitto, list[DeviceLink]],
) -> None:
    broker, links = fleet
    starters = [threading.Thread(target=link.start) for link in links]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    eventually(lambda: all(link.connected.is_set() for link in links), timeout=20)

    os.kill(int(broker.pid_path.read_text()), signal.SIGKILL)
    eventually(lambda: not any(link.connected.is_set() for link in links), timeout=10)
    broker.stop()
    time.sleep(1.5)  # a few failed attempts each: the waits are at 2 s now
    broker.start()
    back = time.monotonic()
    times = _connect_times(links, timeout=30)

    assert len(times) == FLEET, f"{FLEET - len(times)} devices did not come back"
    offsets = sorted(at - back for at in times.values())
    busiest = max(sum(1 for other in offsets if start <= other < start + 0.1) for start in offsets)
    assert busiest <= FLEET // 4, f"{busiest} of {FLEET} reconnected within 100 ms: {offsets}"
    assert offsets[-1] - offsets[0] > 1.0, offsets
    assert offsets[-1] < 2 * DEVICE_CAP, offsets  # bounded: nobody waits longer than the cap (plus a connect)

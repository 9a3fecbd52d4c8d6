"""``hall-hub serve``: the hub process. All wiring of the running hub happens here.

Config (hub/config.py) -> store (migrated) -> district (from the database, or loaded from its folder into an empty
one) -> device registry -> the broker (a managed Mosquitto unless an external one is configured) -> gateway, hub,
MQTT bridge and web app. Stops cleanly on SIGTERM or SIGINT; a SIGKILL loses nothing that was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import msgspec
from aiohttp import web

import contract as wire
from engine.district import District
from hub.accounts import accounts_for
from hub.appointments import desk_for, keyfile
from hub.audit import audit_for
from hub.broker import ManagedMosquitto
from hub.config import HubConfig, load_secret, make_clock
from hub.configuration import Configuration
from hub.device_limits import DeviceLimits
from hub.devices import Device, DeviceRegistry, registry_for
from hub.district_file import load_district
from hub.gateway import Gateway
from hub.mqtt_bridge import MqttBridge
from hub.server import Hub
from hub.service import HallService
from hub.site_info import SummaryWaits, district_summary, site_info
from hub.staff import staff_for
from hub.store import EventStore, open_store
from hub.web import create_app
from hub.web_pages import HallReader, Pages

log = logging.getLogger("hub")

TICK_SECONDS = 3.0
"""How often the hub looks at the device registry and the day schedule."""


def open_district(store: EventStore, folder: Path) -> District:
    """The district in force: the database's, or the folder's loaded into an empty database."""
    stored = store.district()
    if stored is not None:
        return msgspec.json.decode(stored, type=District)
    district = load_district(folder)
    store.save_district(msgspec.json.encode(district), author="hall-hub serve", reason=f"loaded from {folder}")
    return district


class DeviceCache:
    """The registry's devices in memory (a request must not wait for the database) and verified passwords."""

    def __init__(self, registry: DeviceRegistry) -> None:
        self.registry = registry
        self.devices: dict[str, Device] = {}
        self._verified: set[tuple[str, bytes]] = set()

    def refresh(self) -> bool:
        """Reload from the registry; True when anything changed."""
        devices = {device.device_id: device for device in self.registry.all() if not device.revoked}
        changed = devices != self.devices
        if changed:
            self.devices = devices
            self._verified.clear()
        return changed

    def get(self, device_id: str) -> Device | None:
        return self.devices.get(device_id)

    def check_password(self, device_id: str, password: str) -> bool:
        key = (device_id, hashlib.sha256(password.encode()).digest())
        if key in self._verified:
            return True
        if device_id in self.devices and self.registry.verify(device_id, password):
            self._verified.add(key)
            return True
        return False

    def configs(self) -> list[wire.DeviceConfig]:
        return [
            wire.DeviceConfig(device_id=d.device_id, kind=d.kind, site_id=d.site_id, window_id=d.window_id)
            for d in self.devices.values()
        ]


async def publish_site_views(hub: Hub, waits: SummaryWaits, now: datetime) -> None:
    """Retained site info and the district summary for kiosks, rebuilt every tick (they are small, and a broker
    that restarted has them again within one tick). Built on the writer thread, where the states change."""
    gateway, bridge = hub.gateway, hub.bridge
    if bridge is None or not bridge.connected.is_set():
        return
    district = gateway.district

    def build() -> list[tuple[str, bytes]]:
        states = {site.id: gateway.service.state(site.id) for site in district.sites}
        views = [(wire.info_topic(site.id), wire.encode(site_info(district, site))) for site in district.sites]
        summary = district_summary(district, states, waits, now)
        return [*views, (wire.DISTRICT_SUMMARY_TOPIC, wire.encode(summary))]

    for topic, payload in await asyncio.get_running_loop().run_in_executor(hub.writer, build):
        bridge.publish(topic, payload, retain=True)


async def _watch(broker: ManagedMosquitto, stop: asyncio.Event) -> None:
    """Restart the managed broker on the same port if it dies; devices and the hub reconnect by themselves."""
    while not stop.is_set():
        await asyncio.sleep(0.25)
        if not broker.running and not stop.is_set():
            log.error("the managed Mosquitto stopped; restarting it on port %d", broker.port)
            broker.restart()


def _gateway(
    config: HubConfig, store: EventStore, district: District, devices: DeviceCache, clock: Callable[[], datetime]
) -> Gateway:
    secret = load_secret(Path(config.secrets.path))
    keys = keyfile.load_or_create(Path(config.appointments.keys_file))
    service = HallService(district, store, refusals_kept_seconds=config.requests.refusals_kept_seconds)
    desk = desk_for(store, district, keys, config.appointments.rules(), issued_by=service.issued_by)
    staff = staff_for(store, district)
    limits = DeviceLimits(config.requests.device_rate)
    return Gateway(service, devices.get, clock, staff=staff, secret=secret, appointments=desk, limits=limits)


def _pages(
    config: HubConfig, hub: Hub, registry: DeviceRegistry, clock: Callable[[], datetime], waits: SummaryWaits
) -> Pages:
    """The web pages' accounts and audit trail beside the hub's store; the session key derives from its secret. A
    configuration change is in force on the writer, then in the registry and the accounts, then published."""
    store, district = hub.gateway.service.store, hub.gateway.district
    hall = HallReader(hub.gateway, hub.writer, hub.feed, hub.device_status)
    accounts, audit = accounts_for(store, district), audit_for(store)
    configuration = Configuration(
        store, district, executor=hub.writer, apply=hub.reconfigure, states=hub.gateway.service.state, audit=audit,
        clock=clock, followers=(registry, accounts), published=lambda: publish_site_views(hub, waits, clock()),
    )  # fmt: skip
    broker_port = hub.bridge.port if hub.bridge is not None else config.mqtt.port
    return Pages(accounts, audit, hall, registry, configuration, config.web, hub.gateway.secret, clock, broker_port)


async def _serve_web(
    config: HubConfig, hub: Hub, devices: DeviceCache, clock: Callable[[], datetime], waits: SummaryWaits
) -> web.AppRunner:
    app = create_app(hub, devices.check_password, clock, _pages(config, hub, devices.registry, clock, waits))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.http.host, config.http.port).start()
    return runner


async def settle_appointments(hub: Hub, now: datetime) -> None:
    """Mark the bookings nobody came for, and tell the gateway today's places still kept for bookings."""
    gateway, desk = hub.gateway, hub.gateway.appointments
    if desk is None:
        return

    def settle() -> None:
        desk.mark_no_shows(now)
        for site in gateway.district.sites:
            day = gateway.service.state(site.id).day
            if day is not None:
                gateway.reserve(site.id, desk.outstanding(site.id, day))

    try:
        await asyncio.get_running_loop().run_in_executor(hub.writer, settle)
    except Exception:
        log.exception("could not settle today's appointments; will try again next tick")


async def serve(config: HubConfig, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    store = open_store(config.database.url)
    district = open_district(store, Path(config.district.path))
    registry = registry_for(store, district)
    devices = DeviceCache(registry)
    devices.refresh()
    broker: ManagedMosquitto | None = None
    if config.mqtt.managed:
        directory = Path(config.broker.directory)
        directory.mkdir(parents=True, exist_ok=True)
        broker = ManagedMosquitto(directory, registry.all, port=config.broker.port or None)
        broker.start()
        host, port, user, password = broker.host, broker.port, broker.hub_user, broker.hub_password
    else:
        host, port, user, password = config.mqtt.host, config.mqtt.port, config.mqtt.username, config.mqtt.password
    clock = make_clock(config.clock.start)
    hub = Hub(_gateway(config, store, district, devices, clock))
    hub.set_configs(devices.configs())
    await hub.start(MqttBridge(host=host, port=port, username=user, password=password, loop=loop))
    gc.collect()
    gc.freeze()  # what the start loaded lives as long as the hub: full collections no longer walk it (PERFORMANCE.md)
    waits = SummaryWaits(hub.gateway.estimators)
    runner = await _serve_web(config, hub, devices, clock, waits)
    log.info(
        "hub ready: %s, %d sites, %d devices; MQTT %s:%d%s; HTTP http://%s:%d",
        district.name_en, len(district.sites), len(devices.devices), host, port,
        " (managed Mosquitto)" if broker else "", config.http.host, config.http.port,
    )  # fmt: skip
    watchdog = asyncio.create_task(_watch(broker, stop)) if broker is not None else None
    try:
        while not stop.is_set():
            await hub.run_schedule(clock())
            await publish_site_views(hub, waits, clock())
            await settle_appointments(hub, clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
            if devices.refresh():
                log.info("device registry changed: %d devices", len(devices.devices))
                if broker is not None:
                    broker.reload()
                hub.set_configs(devices.configs())
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if hub.feed is not None:
            hub.feed.close()  # the live pages' streams end, or the web server would wait for them
        await runner.cleanup()
        await hub.stop()
        if broker is not None:
            broker.stop()
        store.close()

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
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import msgspec
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

import contract as wire
from engine.district import District
from hub.accounts import accounts_for
from hub.appointments import desk_for, keyfile
from hub.archive.files import page_files
from hub.archive.store import archive_for
from hub.audit import audit_for
from hub.broker import ManagedMosquitto
from hub.broker_accounts import with_broker_accounts
from hub.cluster import EverySite, Fence, HeldSites, SiteGate, SiteLeases, libpq_url
from hub.config import ClusterConfig, ConfigError, HubConfig, load_secret, make_clock
from hub.configuration import Configuration
from hub.device_limits import DeviceLimits
from hub.devices import Device, DeviceRegistry, registry_for
from hub.district_file import load_district
from hub.follow_ups import follow_ups_for
from hub.gateway import Gateway
from hub.mqtt_bridge import MqttBridge
from hub.reports.projection import project_now
from hub.server import Hub
from hub.service import HallService
from hub.site_info import SummaryWaits, district_summary, merged_summary, site_info
from hub.staff import staff_for
from hub.store import EventStore, open_store
from hub.store.base import expected_failure
from hub.store.sql import SqlStore
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
        decided = [site for site in district.sites if hub.sites.decides(site.id)]
        views = [(wire.info_topic(site.id), wire.encode(site_info(district, site))) for site in decided]
        states = {site.id: gateway.service.state(site.id) for site in decided}
        summary = district_summary(district, states, waits, now)
        if not isinstance(hub.sites, HeldSites):
            return [*views, (wire.DISTRICT_SUMMARY_TOPIC, wire.encode(summary))]
        # among several hubs: each publishes its own sites' part; the district lock's holder merges every part
        views.append((wire.hub_summary_topic(bridge.hub_id), wire.encode(summary)))
        if hub.sites.leases.leads:
            parts = {**hub.summary_parts, bridge.hub_id: summary}.values()
            views.append((wire.DISTRICT_SUMMARY_TOPIC, wire.encode(merged_summary(district, parts, now))))
        return views

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
    hall = HallReader(hub.gateway, hub.writer, hub.feed, hub.device_status, hub.sites)
    accounts, audit = accounts_for(store, district), audit_for(store)
    configuration = Configuration(
        store, district, executor=hub.writer, apply=hub.reconfigure, states=hub.gateway.service.state, audit=audit,
        clock=clock, followers=(registry, accounts), published=lambda: publish_site_views(hub, waits, clock()),
    )  # fmt: skip
    broker_port = hub.bridge.port if hub.bridge is not None else config.mqtt.port
    return Pages(accounts, audit, hall, registry, configuration, config.web, hub.gateway.secret, clock, broker_port)


async def _serve_web(
    config: HubConfig, hub: Hub, devices: DeviceCache, clock: Callable[[], datetime], pages: Pages
) -> web.AppRunner:
    archive = archive_for(
        hub.gateway.service.store, Path(config.archive.directory), lambda: hub.gateway.district, hub.gateway.secret,
        hub.gateway.citizen_ref, max_page_bytes=config.archive.max_page_bytes,
        retention_years=config.archive.retention_years, files=page_files(config.archive),
    )  # fmt: skip
    app = create_app(hub, devices.check_password, clock, pages, archive)
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
        for site in hub.decided():
            day = gateway.service.state(site).day
            if day is not None:
                gateway.reserve(site, desk.outstanding(site, day))

    try:
        await asyncio.get_running_loop().run_in_executor(hub.writer, settle)
    except Exception as error:
        if not expected_failure(error):
            log.exception("could not settle today's appointments; will try again next tick")
        else:
            log.error("could not settle today's appointments (%s); next tick", _first_line(error))


def _broker(config: HubConfig, registry: DeviceRegistry) -> tuple[ManagedMosquitto | None, tuple[str, int, str, str]]:
    """The managed Mosquitto, started (or None for an external broker), and where and as whom the hub connects."""
    if not config.mqtt.managed:
        return None, (config.mqtt.host, config.mqtt.port, config.mqtt.username, config.mqtt.password)
    directory = Path(config.broker.directory)
    directory.mkdir(parents=True, exist_ok=True)
    broker = ManagedMosquitto(directory, registry.all, port=config.broker.port or None)
    broker.start()
    return broker, (broker.host, broker.port, broker.hub_user, broker.hub_password)


def _bridge(
    config: ClusterConfig, gate: SiteGate, at: tuple[str, int, str, str], loop: asyncio.AbstractEventLoop
) -> MqttBridge:
    """One hub: every site's requests, under the one hub's client id; one of several: its own id and sites."""
    host, port, user, password = at
    if not gate.clustered:
        return MqttBridge(host=host, port=port, username=user, password=password, loop=loop)
    return MqttBridge(
        host=host, port=port, username=user, password=password, loop=loop, client_id=config.hub_id, sites=set()
    )


def _site_gate(config: ClusterConfig, store: EventStore, database_url: str) -> SiteGate:
    """Every site (one hub), or the sites this hub holds among several on one PostgreSQL, fenced in the store."""
    if not config.enabled:
        return EverySite()
    if not isinstance(store, SqlStore) or store.engine.dialect.name != "postgresql":
        raise ConfigError("[cluster] hub_id needs PostgreSQL: several hubs share one database")
    leases = SiteLeases(
        libpq_url(database_url), config.hub_id, prefer=config.preferred, address=config.address,
        hold_seconds=config.hold_seconds, grace_seconds=config.grace_seconds,
    )  # fmt: skip
    store.fence = Fence(leases).check
    return HeldSites(leases)


async def hold_sites(hub: Hub, gate: HeldSites, tick_seconds: float, stop: asyncio.Event) -> None:
    """Among several hubs: renew this hub's holds every tick, load the sites it takes, stop deciding for those it
    lost or hands back (``hub.cluster``). The lease's database work runs on a thread of its own. Nothing ends this
    loop but ``stop``: a failed tick is logged and the next one goes on."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="hall-leases") as lease_thread:
        try:
            while not stop.is_set():
                try:
                    await _hold_tick(hub, gate.leases, lease_thread)
                except Exception:
                    log.exception("a tick of the site leases failed; the next one goes on")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), tick_seconds)
        finally:
            await loop.run_in_executor(lease_thread, gate.leases.close)


async def _hold_tick(hub: Hub, leases: SiteLeases, lease_thread: ThreadPoolExecutor) -> None:
    loop = asyncio.get_running_loop()
    changes = await loop.run_in_executor(lease_thread, leases.tick, [site.id for site in hub.gateway.district.sites])
    for site_id in (*changes.lost, *changes.elsewhere):
        await loop.run_in_executor(hub.writer, hub.drop, site_id)
    for site_id in changes.handing_back:
        await loop.run_in_executor(hub.writer, hub.give_back, site_id)
    for site_id in changes.orphaned:
        await loop.run_in_executor(hub.writer, hub.drop, site_id, True)
    if changes.handing_back:
        await loop.run_in_executor(lease_thread, leases.release, changes.handing_back)
    for hold in changes.taken:
        try:
            await loop.run_in_executor(hub.writer, hub.take, hold.site_id)
        except Exception as error:  # not loaded: given back, and taken again on a later tick
            if expected_failure(error):
                log.error("could not load site %s (%s)", hold.site_id, _first_line(error))
            else:
                log.exception("could not load site %s", hold.site_id)
            await loop.run_in_executor(hub.writer, hub.drop, hold.site_id)
            await loop.run_in_executor(lease_thread, leases.release, [hold.site_id])


async def _tick(hub: Hub, pages: Pages, waits: SummaryWaits, clock: Callable[[], datetime]) -> None:
    """The hub's periodic work; a database that went away costs this tick's work (logged), not the hub."""
    steps: list[Callable[[], Awaitable[object]]] = [
        lambda: hub.run_schedule(clock()),
        lambda: publish_site_views(hub, waits, clock()),
        lambda: settle_appointments(hub, clock()),
        lambda: pages.off_loop(follow_ups_for(pages.configuration.store).sync, pages.hall.district, clock()),
        lambda: pages.off_loop(project_now, pages.configuration.store, pages.hall.district),  # the reports' tables
    ]
    if hub.sites.clustered:
        steps.insert(0, pages.configuration.refresh)  # a version saved on another hub
    for step in steps:
        try:
            await step()
        except Exception as error:  # whatever it was, the next tick tries again: the hub goes on
            if expected_failure(error):
                log.error("the database did not answer (%s); trying again next tick", _first_line(error))
            else:
                log.exception("a step of the hub's tick failed; trying again next tick")


def _refresh_devices(hub: Hub, devices: DeviceCache, broker: ManagedMosquitto | None) -> None:
    """A device added, rotated or revoked (on any hub): the broker's accounts and the devices' configs follow."""
    try:
        changed = devices.refresh()
    except SQLAlchemyError as error:
        log.error("could not read the device registry (%s); trying again next tick", _first_line(error))
        return
    if changed:
        log.info("device registry changed: %d devices", len(devices.devices))
        if broker is not None:
            broker.reload()
        hub.set_configs(devices.configs())


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


async def serve(config: HubConfig, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    store = open_store(config.database.url)
    gate = _site_gate(config.cluster, store, config.database.url)
    district = open_district(store, Path(config.district.path))
    registry = with_broker_accounts(registry_for(store, district), config)
    devices = DeviceCache(registry)
    devices.refresh()
    broker, (host, port, user, password) = _broker(config, registry)
    clock = make_clock(config.clock.start)
    hub = Hub(_gateway(config, store, district, devices, clock), gate)
    hub.set_configs(devices.configs())
    await hub.start(_bridge(config.cluster, gate, (host, port, user, password), loop))
    gc.collect()
    gc.freeze()  # what the start loaded lives as long as the hub: full collections no longer walk it (PERFORMANCE.md)
    waits = SummaryWaits(hub.gateway.estimators)
    pages = _pages(config, hub, devices.registry, clock, waits)
    follow_ups_for(store, config.follow_ups)  # the bad ratings' follow-ups, with the configured deadlines
    runner = await _serve_web(config, hub, devices, clock, pages)
    log.info(
        "hub ready: %s, %d sites, %d devices; MQTT %s:%d%s; HTTP http://%s:%d",
        district.name_en, len(district.sites), len(devices.devices), host, port,
        " (managed Mosquitto)" if broker else "", config.http.host, config.http.port,
    )  # fmt: skip
    watchdog = asyncio.create_task(_watch(broker, stop)) if broker is not None else None
    holder = (
        asyncio.create_task(hold_sites(hub, gate, config.cluster.tick_seconds, stop))
        if isinstance(gate, HeldSites)
        else None
    )
    try:
        while not stop.is_set():
            await _tick(hub, pages, waits, clock)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
            _refresh_devices(hub, devices, broker)
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if holder is not None:
            stop.set()
            await holder
        if hub.feed is not None:
            hub.feed.close()  # the live pages' streams end, or the web server would wait for them
        await runner.cleanup()
        await hub.stop()
        if broker is not None:
            broker.stop()
        store.close()

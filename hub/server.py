"""The running hub: one process holding the service, the gateway, the MQTT bridge and the web app.

Every request goes to the single writer thread (``hub.writer``): MQTT requests straight from paho's network thread,
HTTP ones from the event loop (``Hub.dispatch``). The writer decides a batch of them (so commands of a site are
decided and stored strictly in order, and together in one transaction), then publishes the events (in sequence
order), the replies and the sites' retained snapshots itself: the states it changes are read by no other thread.

A site's retained snapshot (whose building costs time in proportion to its queue) is published at once after the
events that changed it, unless one went out less than ``SNAPSHOT_INTERVAL`` ago: then once that interval is over,
with every change since. A board that starts from a snapshot a few events old sees those events as a gap and asks
for a fresh one, as after any lost message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

import contract as wire
from engine.commands import Command
from engine.district import District
from hub.cluster import EverySite, SiteGate
from hub.device_settings import configured
from hub.gateway import Gateway, error_reply, public
from hub.hall_feed import HallFeed
from hub.mqtt_bridge import MqttBridge
from hub.schedule import due_commands
from hub.service import Outcome
from hub.store.base import expected_failure
from hub.writer import Queued, Writer

log = logging.getLogger(__name__)

SNAPSHOT_INTERVAL = 1.0
"""Seconds between two retained snapshots of a site, at least. Every board of the site gets each one (~3 KB): at
0.1 s, 500 boards cost the broker 5,000 of them a second, and a call's event queued behind one reached the last
board up to 50 ms later; at 1 s the boards' waiting counts still move within a second (decision 0010)."""


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hall_requests",
            "Device requests by transport, action and result",
            ["transport", "action", "result"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hall_request_seconds",
            "Time from a request's arrival to its reply",
            ["transport"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
            registry=self.registry,
        )
        self.devices_online = Gauge(
            "hall_devices_online", "Devices whose retained status is online", registry=self.registry
        )
        self.broker_connected = Gauge("hall_broker_connected", "1 while the hub is connected", registry=self.registry)


class Hub:
    def __init__(self, gateway: Gateway, sites: SiteGate | None = None) -> None:
        self.gateway = gateway
        self.sites: SiteGate = sites or EverySite()
        """Which sites this hub decides for: every site, or those it holds among several hubs (``hub.cluster``)."""
        self.metrics = Metrics()
        self.bridge: MqttBridge | None = None
        self.device_status: dict[str, wire.DeviceStatus] = {}
        self.configs: dict[tuple[str, str], wire.DeviceConfig] = {}
        self._worker: asyncio.Task[None] | None = None
        self.feed: HallFeed | None = None
        """The web pages' live streams, told of every change of a site (set by ``start``)."""
        self._stale: dict[str, None] = {}
        """Sites whose retained snapshot is behind their events (the writer's own)."""
        self._snapshot_at: dict[str, float] = {}
        self.summary_parts: dict[str, wire.DistrictSummary] = {}
        """Among several hubs: each hub's part of the district summary, as last received (``hub.main``)."""
        # Last: the writer thread starts at once and calls ``_publish_stale_snapshots``, which reads the above.
        self.writer = Writer(self._run_batch, idle=self._publish_stale_snapshots)

    async def start(self, bridge: MqttBridge) -> None:
        """Load the state of every site it decides for (none yet among several hubs: ``take`` loads each), connect,
        and start taking requests."""
        loop = asyncio.get_running_loop()
        self.feed = HallFeed(loop)
        for site in self.decided():
            await loop.run_in_executor(self.writer, self.gateway.warm_up, site)
        self.bridge = bridge
        bridge.on_connected = self._republish
        bridge.on_request = self._take_mqtt_request
        bridge.start()
        self._worker = asyncio.create_task(self._serve_inbox(bridge))

    async def stop(self) -> None:
        if self.feed is not None:
            self.feed.close()
        if self._worker is not None:
            self._worker.cancel()
        if self.bridge is not None:
            self.bridge.stop()
        self.writer.shutdown(wait=True)
        self.gateway.service.close()  # the snapshots being saved, before the store closes

    def set_configs(self, configs: list[wire.DeviceConfig]) -> None:
        """The registry's devices, each with the settings its site gives it (``hub.device_settings``)."""
        self._keep_configs(configs)
        if self.bridge is not None and self.bridge.connected.is_set():
            self.writer.submit(self._publish_configs)

    async def dispatch(self, site_id: str, device_id: str, action: str, payload: bytes, transport: str) -> wire.Reply:
        """Queue a request for the writer and wait for its reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[wire.Reply] = loop.create_future()

        def settle(reply: wire.Reply) -> None:
            if not future.done():
                future.set_result(reply)

        def answer(reply: wire.Reply) -> None:
            loop.call_soon_threadsafe(settle, reply)

        self.submit((site_id, device_id, action, payload), transport, answer)
        return await future

    def submit(self, request: Request, transport: str, answer: Answer) -> None:
        """Queue a request for the writer (from any thread); ``answer`` gets its reply on the writer thread."""
        self.writer.put(Queued(request, answer, time.perf_counter(), transport))

    def _republish(self) -> None:
        self.writer.submit(self._publish_retained)

    def _take_mqtt_request(self, topic: wire.RequestTopic, payload: bytes) -> None:
        """On paho's thread: straight to the writer, whose reply is published back to the device."""
        assert self.bridge is not None
        answer = _publisher(self.bridge, wire.reply_topic(topic.site_id, topic.device_id))
        self.submit((topic.site_id, topic.device_id, topic.action, payload), "mqtt", answer)

    def decided(self) -> list[str]:
        """The district's sites this hub decides for now."""
        return [site.id for site in self.gateway.district.sites if self.sites.decides(site.id)]

    def follows(self, site_id: str) -> bool:
        """Whether this hub takes the site's MQTT requests (every site's, with one hub)."""
        followed = self.bridge.sites if self.bridge is not None else None
        return followed is None or site_id in followed

    def take(self, site_id: str) -> None:
        """On the writer thread: this hub decides for the site from now on (it holds it, ``hub.cluster``): its
        state from the store, its requests, and its retained snapshot out again."""
        self.gateway.reload(site_id)
        self.sites.taken(site_id)
        if self.bridge is not None:
            self.bridge.follow(site_id)
            self._publish_safely(self._publish_snapshot, site_id)
            self._publish_safely(self._publish_hub_status)
            self._publish_safely(self._publish_configs, [site_id])
        self.changed(site_id)

    def give_back(self, site_id: str) -> None:
        """On the writer thread, while the site is still held: say no hub decides it for now (the next holder says
        it does, after this), then drop it."""
        if self.bridge is not None:
            offline = wire.encode(wire.SiteHub(hub=self.bridge.hub_id, online=False))
            self._publish_safely(self.bridge.publish, wire.site_hub_topic(site_id), offline, True)
        self.drop(site_id)

    def drop(self, site_id: str, answering: bool = False) -> None:
        """On the writer thread: this hub no longer decides for the site; it forgets it and publishes nothing more
        of it. ``answering``: it lost the site with its database, so nobody decides for it now; it keeps taking its
        requests to answer ``unavailable`` (the devices ask again with the same id) until a hub holds it again."""
        self.sites.dropped(site_id)
        self._stale.pop(site_id, None)
        if self.bridge is not None and not answering:
            self.bridge.unfollow(site_id)
        if self.gateway.district.site(site_id) is not None:
            self.gateway.forget(site_id)
        self.changed(site_id)

    def _run_batch(self, batch: list[Queued]) -> None:
        """On the writer thread: decide and store the batch, publish its events, answer each request. A request for
        a site this hub does not decide for now is answered ``unavailable`` (nothing decided: the device asks again
        with the same id), unless it came over MQTT for a site it does not follow: another hub answers that."""
        elsewhere = [queued for queued in batch if not self.sites.decides(queued.request[0])]
        if elsewhere:
            batch = [queued for queued in batch if self.sites.decides(queued.request[0])]
            for queued in elsewhere:
                site_id = queued.request[0]
                if queued.transport != "mqtt" or (self.follows(site_id) and self.sites.may_refuse(site_id)):
                    self._publish_safely(queued.answer, _unavailable(queued.request[3]))
            if not batch:
                return
        answers = self._handle_batch([queued.request for queued in batch])
        done = time.perf_counter()
        for queued, (reply, outcome) in zip(batch, answers, strict=True):
            site_id, action = queued.request[0], queued.request[2]
            if outcome is not None and outcome.events:
                self._stale[site_id] = None
                self._publish_safely(self._publish_events, site_id, outcome)
            self._publish_safely(queued.answer, reply)
            known = action[:40] if action in _ACTIONS else "unknown"
            self.metrics.requests.labels(queued.transport, known, _result(reply)).inc()
            self.metrics.latency.labels(queued.transport).observe(done - queued.began)

    def _publish_stale_snapshots(self) -> float | None:
        """On the writer thread, before it waits: publish the snapshots that are behind and due; the seconds until
        the next one is due (how long the writer may wait), or None."""
        now = time.monotonic()
        wait = None
        for site_id in list(self._stale):
            due = self._snapshot_at.get(site_id, -SNAPSHOT_INTERVAL) + SNAPSHOT_INTERVAL
            if now >= due:
                del self._stale[site_id]
                self._snapshot_at[site_id] = now
                self._publish_safely(self._publish_snapshot, site_id)
            else:
                wait = due - now if wait is None else min(wait, due - now)
        return wait

    def _handle_batch(self, requests: list[Request]) -> list[tuple[wire.Reply, Outcome | None]]:
        """On the writer thread: answer the batch (one transaction); if that fails, each request on its own, and one
        that still fails gets an error reply."""
        try:
            return self.gateway.handle_batch(requests)
        except Exception as error:
            if not expected_failure(error):
                log.exception("a batch of %d requests failed; answering them one by one", len(requests))
        answers: list[tuple[wire.Reply, Outcome | None]] = []
        for site_id, device_id, action, payload in requests:
            try:
                answers.append(self.gateway.handle(site_id, device_id, action, payload))
            except Exception as error:
                if not expected_failure(error):  # else the service said why, in one line
                    log.exception("request %s from %s/%s failed", action[:40], site_id, device_id)
                answers.append((_unavailable(payload), None))
        return answers

    async def run_schedule(self, now: datetime) -> None:
        """Open and close the sites' days as the calendar says (idempotent: safe on every tick)."""
        await asyncio.get_running_loop().run_in_executor(self.writer, self._run_schedule, now)

    def _run_schedule(self, now: datetime) -> None:
        states = {site: self.gateway.service.state(site) for site in self.decided()}
        for command in due_commands(self.gateway.district, states, now):
            outcome = self.gateway.execute(command)
            log.info("schedule: %s %s -> %s", type(command).__name__, command.site_id, _result_of(outcome))
            if outcome.events:
                self._publish_events(command.site_id, outcome)
                self._publish_snapshot(command.site_id)

    def run_command(self, command: Command) -> Outcome:
        """On the writer thread: a command of the hub's web side (a ticket rated on its page), decided like a
        device's, its events published to the devices and the live pages."""
        outcome = self.gateway.execute(command)
        if outcome.events:
            self._stale[command.site_id] = None
            self._publish_safely(self._publish_events, command.site_id, outcome)
        return outcome

    @staticmethod
    def _publish_safely(publish: Callable[..., None], *args: Any) -> None:
        """A publishing error is logged: the replies still go out, and the hub goes on serving."""
        try:
            publish(*args)
        except Exception:
            log.exception("could not publish (%s)", args[0] if args else "hub status")

    def reconfigure(self, district: District, sites: frozenset[str]) -> None:
        """On the writer thread: a new district configuration in force (``hub.configuration``); the retained
        snapshots of the sites it changed (window names, zones, limits) go out again, and the live pages are told."""
        known = {site.id for site in self.gateway.district.sites}
        self.gateway.apply_district(district)
        if self.bridge is not None and known != {site.id for site in district.sites}:
            self._publish_safely(self._publish_hub_status)
        self._keep_configs(list(self.configs.values()))  # a board's voice policy is in its config's settings
        if self.bridge is not None:
            self._publish_safely(self._publish_configs, [site for site in sites if self.sites.decides(site)])
        for site_id in sorted(sites):
            if self.sites.decides(site_id):
                self._publish_safely(self._publish_snapshot, site_id)
            self.changed(site_id)

    def changed(self, site_id: str) -> None:
        """Tell the live pages (from any thread); a site the district does not have (a device's topic) is no one's."""
        if self.feed is not None and self.gateway.district.site(site_id) is not None:
            self.feed.changed(site_id)

    def _publish_events(self, site_id: str, outcome: Outcome) -> None:
        if outcome.events:
            self.changed(site_id)
        if self.bridge is not None and outcome.events:
            message = wire.SiteEvents(site_id=site_id, events=tuple(map(public, outcome.events)))
            self.bridge.publish(wire.events_topic(site_id), wire.encode(message))

    def _publish_snapshot(self, site_id: str) -> None:
        if self.bridge is not None:
            self.bridge.publish(wire.snapshot_topic(site_id), wire.encode(self.gateway.snapshot(site_id)), retain=True)

    def _publish_retained(self) -> None:
        """After every (re)connect: the broker may have lost retained messages, so publish them again."""
        assert self.bridge is not None
        self.metrics.broker_connected.set(1)
        self._publish_hub_status()
        for site in self.decided():
            self.bridge.publish(wire.snapshot_topic(site), wire.encode(self.gateway.snapshot(site)), retain=True)
        self._publish_configs()

    def _publish_hub_status(self) -> None:
        assert self.bridge is not None
        sites = tuple(site.id for site in self.gateway.district.sites if self.sites.serves(site.id))
        hub = self.bridge.hub_id
        status = wire.HubStatus(hub=hub, online=True, sites=sites)
        self.bridge.publish(wire.hub_status_topic(hub), wire.encode(status), retain=True)
        deciding = wire.encode(wire.SiteHub(hub=hub, online=True))
        for site_id in sites:
            self.bridge.publish(wire.site_hub_topic(site_id), deciding, retain=True)

    def _keep_configs(self, configs: Iterable[wire.DeviceConfig]) -> None:
        configured_now = configured(configs, self.gateway.district)
        self.configs = {(config.site_id, config.device_id): config for config in configured_now}

    def _publish_configs(self, sites: Collection[str] | None = None) -> None:
        """The configs of the devices of these sites (by default those this hub decides for)."""
        assert self.bridge is not None
        sites = set(self.decided() if sites is None else sites)
        for (site_id, device_id), config in self.configs.items():
            if site_id in sites:
                self.bridge.publish(wire.config_topic(site_id, device_id), wire.encode(config), retain=True)

    async def _serve_inbox(self, bridge: MqttBridge) -> None:
        """Device statuses, as they come (requests go to the writer without the event loop)."""
        while True:
            topic, payload = await bridge.inbox.get()
            if (status := wire.parse_status_topic(topic)) is not None:
                self._record_status(status[1], payload)
                self.changed(status[0])
            elif (hub_id := wire.parse_hub_summary_topic(topic)) is not None:
                self._record_summary_part(hub_id, payload)

    def _record_summary_part(self, hub_id: str, payload: bytes) -> None:
        """Replaced whole, never changed in place: the writer thread reads it while it builds the summary."""
        parts = {hub: part for hub, part in self.summary_parts.items() if hub != hub_id}
        if payload:
            try:
                parts[hub_id] = wire.decode_as(wire.DistrictSummary, payload)
            except msgspec.DecodeError:
                log.warning("unreadable summary part from hub %s", hub_id)
                return
        self.summary_parts = parts

    def _record_status(self, device_id: str, payload: bytes) -> None:
        if not payload:
            self.device_status.pop(device_id, None)
        else:
            try:
                self.device_status[device_id] = wire.decode_as(wire.DeviceStatus, payload)
            except msgspec.DecodeError:
                log.warning("unreadable status from device %s", device_id)
                return
        self.metrics.devices_online.set(sum(status.online for status in self.device_status.values()))


Request = tuple[str, str, str, bytes]
"""(site id, device id, action, payload) of a request waiting for the writer."""
Answer = Callable[[wire.Reply], None]
"""What is done with a request's reply (on the event loop): publish it, or hand it to a waiting HTTP handler."""
_ACTIONS = frozenset(wire.Action)


def _publisher(bridge: MqttBridge, topic: str) -> Answer:
    def publish(reply: wire.Reply) -> None:
        bridge.publish(topic, wire.encode(reply))

    return publish


def _unavailable(payload: bytes) -> wire.Reply:
    return error_reply(wire.request_id_of(payload), wire.ErrorCode.UNAVAILABLE)


def _result_of(outcome: Outcome) -> str:
    return "ok" if outcome.rejection is None else outcome.rejection.reason


def _result(reply: wire.Reply) -> str:
    return "ok" if reply.ok else (reply.error.code if reply.error else "error")

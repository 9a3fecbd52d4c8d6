"""The running hub: one asyncio process holding the service, the gateway, the MQTT bridge and the web app.

Every request, from MQTT or HTTP, goes through ``Hub.dispatch``: the gateway decides it on the single writer
thread (so commands of a site are decided and stored strictly in order), then the reply, the events (in sequence
order) and the site's retained snapshot are published.

Requests that arrive while the writer is busy wait in one queue and go to the writer together, in arrival order:
under load one hop to the writer thread and back serves many requests. A site's retained snapshot (whose building
costs time in proportion to its queue) is published at once after the events that changed it, unless one went out
less than ``SNAPSHOT_INTERVAL`` ago: then once that interval is over, with every change since. A board that starts
from a snapshot a few events old sees those events as a gap and asks for a fresh one, as after any lost message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

import contract as wire
from hub.gateway import Gateway, error_reply, public
from hub.mqtt_bridge import MqttBridge
from hub.schedule import due_commands
from hub.service import Outcome

log = logging.getLogger(__name__)

MAX_BATCH = 64
"""Requests handed to the writer thread at once, at most."""
SNAPSHOT_INTERVAL = 0.1
"""Seconds between two retained snapshots of a site, at least."""


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
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.metrics = Metrics()
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hall-writer")
        self.bridge: MqttBridge | None = None
        self.device_status: dict[str, wire.DeviceStatus] = {}
        self.configs: dict[tuple[str, str], wire.DeviceConfig] = {}
        self._worker: asyncio.Task[None] | None = None
        self._batcher: asyncio.Task[None] | None = None
        self._queue: list[tuple[Request, Answer]] = []
        self._queued = asyncio.Event()
        self._stale: dict[str, None] = {}
        """Sites whose retained snapshot is behind their events."""
        self._snapshot_at: dict[str, float] = {}
        self._snapshot_timer: asyncio.TimerHandle | None = None

    async def start(self, bridge: MqttBridge) -> None:
        """Load every site's state, connect, and start taking requests."""
        loop = asyncio.get_running_loop()
        for site in self.gateway.district.sites:
            await loop.run_in_executor(self.writer, self.gateway.warm_up, site.id)
        self.bridge = bridge
        bridge.on_connected = self._publish_retained
        bridge.start()
        self._batcher = asyncio.create_task(self._write_batches())
        self._worker = asyncio.create_task(self._serve_inbox(bridge))

    async def stop(self) -> None:
        for task in (self._worker, self._batcher):
            if task is not None:
                task.cancel()
        if self._snapshot_timer is not None:
            self._snapshot_timer.cancel()
        if self.bridge is not None:
            self.bridge.stop()
        self.writer.shutdown(wait=True)

    def set_configs(self, configs: list[wire.DeviceConfig]) -> None:
        self.configs = {(config.site_id, config.device_id): config for config in configs}
        if self.bridge is not None and self.bridge.connected.is_set():
            self._publish_configs()

    async def dispatch(self, site_id: str, device_id: str, action: str, payload: bytes, transport: str) -> wire.Reply:
        """Queue a request for the writer and wait for its reply."""
        future: asyncio.Future[wire.Reply] = asyncio.get_running_loop().create_future()

        def answer(reply: wire.Reply) -> None:
            if not future.done():
                future.set_result(reply)

        self.submit((site_id, device_id, action, payload), transport, answer)
        return await future

    def submit(self, request: Request, transport: str, answer: Callable[[wire.Reply], None]) -> None:
        """Queue a request for the writer; ``answer`` gets its reply on the event loop (no task per request)."""
        began = time.perf_counter()
        action = request[2]

        def answered(reply: wire.Reply) -> None:
            answer(reply)
            self.metrics.requests.labels(
                transport, action[:40] if action in _ACTIONS else "unknown", _result(reply)
            ).inc()
            self.metrics.latency.labels(transport).observe(time.perf_counter() - began)

        self._queue.append((request, answered))
        self._queued.set()

    async def _write_batches(self) -> None:
        """Hand the queued requests to the writer thread, a batch at a time, and publish what they caused."""
        loop = asyncio.get_running_loop()
        while True:
            await self._queued.wait()
            self._queued.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    answers = await loop.run_in_executor(self.writer, self._handle_batch, [r for r, _ in batch])
                except Exception:  # never stop serving: every request of the batch gets an error reply
                    log.exception("a batch of %d requests failed", len(batch))
                    answers = [(_unavailable(request[3]), None) for request, _ in batch]
                for ((site_id, *_), answer), (reply, outcome) in zip(batch, answers, strict=True):
                    if outcome is not None and outcome.events:
                        self._stale[site_id] = None
                        self._publish_safely(self._publish_events, site_id, outcome)
                    self._publish_safely(answer, reply)
                self._publish_stale_snapshots()
            self._publish_stale_snapshots()

    def _publish_stale_snapshots(self) -> None:
        """Publish the snapshots that are behind and due; wake the batch loop again when the next one is due.

        Called between batches only: the writer thread, which changes the states, is idle meanwhile."""
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
        if wait is not None and self._snapshot_timer is None:
            self._snapshot_timer = asyncio.get_running_loop().call_later(wait, self._snapshots_due)

    def _snapshots_due(self) -> None:
        self._snapshot_timer = None
        self._queued.set()

    def _handle_batch(self, requests: list[Request]) -> list[tuple[wire.Reply, Outcome | None]]:
        """On the writer thread: answer the batch (one transaction); if that fails, each request on its own, and one
        that still fails gets an error reply."""
        try:
            return self.gateway.handle_batch(requests)
        except Exception:
            log.exception("a batch of %d requests failed; answering them one by one", len(requests))
        answers: list[tuple[wire.Reply, Outcome | None]] = []
        for site_id, device_id, action, payload in requests:
            try:
                answers.append(self.gateway.handle(site_id, device_id, action, payload))
            except Exception:
                log.exception("request %s from %s/%s failed", action[:40], site_id, device_id)
                answers.append((_unavailable(payload), None))
        return answers

    async def run_schedule(self, now: datetime) -> None:
        """Open and close the sites' days as the calendar says (idempotent: safe on every tick)."""
        loop = asyncio.get_running_loop()
        states = {site.id: self.gateway.service.state(site.id) for site in self.gateway.district.sites}
        for command in due_commands(self.gateway.district, states, now):
            outcome = await loop.run_in_executor(self.writer, self.gateway.execute, command)
            log.info("schedule: %s %s -> %s", type(command).__name__, command.site_id, _result_of(outcome))
            self._publish_outcome(command.site_id, outcome)

    def _publish_outcome(self, site_id: str, outcome: Outcome) -> None:
        if outcome.events:
            self._publish_events(site_id, outcome)
            self._publish_snapshot(site_id)

    @staticmethod
    def _publish_safely(publish: Callable[..., None], *args: Any) -> None:
        """A publishing error is logged: the replies still go out, and the hub goes on serving."""
        try:
            publish(*args)
        except Exception:
            log.exception("could not publish to site %s", args[0])

    def _publish_events(self, site_id: str, outcome: Outcome) -> None:
        if self.bridge is not None:
            for event in outcome.events:
                self.bridge.publish(wire.events_topic(site_id), wire.encode(public(event)))

    def _publish_snapshot(self, site_id: str) -> None:
        if self.bridge is not None:
            self.bridge.publish(wire.snapshot_topic(site_id), wire.encode(self.gateway.snapshot(site_id)), retain=True)

    def _publish_retained(self) -> None:
        """After every (re)connect: the broker may have lost retained messages, so publish them again."""
        assert self.bridge is not None
        self.metrics.broker_connected.set(1)
        self.bridge.publish(
            wire.HUB_STATUS_TOPIC,
            wire.encode(wire.HubStatus(online=True, sites=tuple(site.id for site in self.gateway.district.sites))),
            retain=True,
        )
        for site in self.gateway.district.sites:
            self.bridge.publish(wire.snapshot_topic(site.id), wire.encode(self.gateway.snapshot(site.id)), retain=True)
        self._publish_configs()

    def _publish_configs(self) -> None:
        assert self.bridge is not None
        for (site_id, device_id), config in self.configs.items():
            self.bridge.publish(wire.config_topic(site_id, device_id), wire.encode(config), retain=True)

    async def _serve_inbox(self, bridge: MqttBridge) -> None:
        """Take requests as they come (each waits for its answer on its own, so many are decided together)."""
        while True:
            topic, payload = await bridge.inbox.get()
            request = wire.parse_request_topic(topic)
            if request is not None:
                answer = _publisher(bridge, wire.reply_topic(request.site_id, request.device_id))
                self.submit((request.site_id, request.device_id, request.action, payload), "mqtt", answer)
            elif (status := wire.parse_status_topic(topic)) is not None:
                self._record_status(status[1], payload)

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

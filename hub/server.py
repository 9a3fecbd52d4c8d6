"""The running hub: one asyncio process holding the service, the gateway, the MQTT bridge and the web app.

Every request, from MQTT or HTTP, goes through ``Hub.dispatch``: the gateway decides it on the single writer
thread (so commands of a site are decided and stored strictly in order), then the reply, the events (in sequence
order) and the site's retained snapshot are published.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

import contract as wire
from hub.gateway import Gateway, error_reply, public
from hub.mqtt_bridge import MqttBridge
from hub.schedule import due_commands
from hub.service import Outcome

log = logging.getLogger(__name__)


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

    async def start(self, bridge: MqttBridge) -> None:
        """Load every site's state, connect, and start taking requests."""
        loop = asyncio.get_running_loop()
        for site in self.gateway.district.sites:
            await loop.run_in_executor(self.writer, self.gateway.warm_up, site.id)
        self.bridge = bridge
        bridge.on_connected = self._publish_retained
        bridge.start()
        self._worker = asyncio.create_task(self._serve_inbox(bridge))

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        if self.bridge is not None:
            self.bridge.stop()
        self.writer.shutdown(wait=True)

    def set_configs(self, configs: list[wire.DeviceConfig]) -> None:
        self.configs = {(config.site_id, config.device_id): config for config in configs}
        if self.bridge is not None and self.bridge.connected.is_set():
            self._publish_configs()

    async def dispatch(self, site_id: str, device_id: str, action: str, payload: bytes, transport: str) -> wire.Reply:
        began = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            reply, outcome = await loop.run_in_executor(
                self.writer, self.gateway.handle, site_id, device_id, action, payload
            )
        except Exception:
            log.exception("request %s from %s/%s failed", action[:40], site_id, device_id)
            reply, outcome = error_reply(wire.request_id_of(payload), wire.ErrorCode.UNAVAILABLE), None
        if outcome is not None:
            self._publish_outcome(site_id, outcome)
        self.metrics.requests.labels(
            transport, action[:40] if action in set(wire.Action) else "unknown", _result(reply)
        ).inc()
        self.metrics.latency.labels(transport).observe(time.perf_counter() - began)
        return reply

    async def run_schedule(self, now: datetime) -> None:
        """Open and close the sites' days as the calendar says (idempotent: safe on every tick)."""
        loop = asyncio.get_running_loop()
        states = {site.id: self.gateway.service.state(site.id) for site in self.gateway.district.sites}
        for command in due_commands(self.gateway.district, states, now):
            outcome = await loop.run_in_executor(self.writer, self.gateway.execute, command)
            log.info("schedule: %s %s -> %s", type(command).__name__, command.site_id, _result_of(outcome))
            self._publish_outcome(command.site_id, outcome)

    def _publish_outcome(self, site_id: str, outcome: Outcome) -> None:
        if self.bridge is None or not outcome.events:
            return
        for event in outcome.events:
            self.bridge.publish(wire.events_topic(site_id), wire.encode(public(event)))
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
        while True:
            topic, payload = await bridge.inbox.get()
            request = wire.parse_request_topic(topic)
            if request is not None:
                reply = await self.dispatch(request.site_id, request.device_id, request.action, payload, "mqtt")
                bridge.publish(wire.reply_topic(request.site_id, request.device_id), wire.encode(reply))
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


def _result_of(outcome: Outcome) -> str:
    return "ok" if outcome.rejection is None else outcome.rejection.reason


def _result(reply: wire.Reply) -> str:
    return "ok" if reply.ok else (reply.error.code if reply.error else "error")

"""Simulated devices for the hub benchmark, on ``bench.mqtt_lite``: they behave as ``devicekit.link.DeviceLink``
does (retained status with a last will, requests answered on the reply topic and retried with the same id, boards
keeping a ``SiteView`` from the retained snapshot and the events, asking for a snapshot on a gap), many to a
process.

``fleet_main`` runs a fleet of boards in a child process, steered through a pipe (see ``Fleet.command``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any, Protocol

import msgspec

import contract as wire
from bench.mqtt_lite import MqttClient
from devicekit.backoff import DEVICE_BASE, DEVICE_CAP
from devicekit.site_view import Applied, SiteView
from engine import events as ev


def now_ns() -> int:
    """The clock of the receive timestamps (CLOCK_REALTIME), the same in every process of the machine."""
    return time.time_ns()


class NoReply(Exception):
    pass


def _first_wait() -> float:
    """A random first reconnect wait, so that a fleet that lost its broker at once does not come back at once
    (``devicekit.backoff``). ``bench.mqtt_lite`` doubles the wait after each failed attempt up to its
    ``max_delay``, so each device's later waits keep its random offset (a jitter on every attempt, as devices do,
    would need a hook in mqtt_lite); never 0, or the doubling would start as a tight loop."""
    return random.uniform(DEVICE_BASE / 10, DEVICE_BASE)


class Device:
    """A kiosk, caller or board: its MQTT link and its requests."""

    def __init__(
        self,
        site_id: str,
        device_id: str,
        password: str,
        kind: wire.DeviceKind,
        *,
        follow_site: bool = False,
        follow_qos: int = 1,
    ) -> None:
        self.site_id, self.device_id, self.kind = site_id, device_id, kind
        will = (wire.status_topic(site_id, device_id), self._status(online=False), True)
        self.client = MqttClient(
            device_id, device_id, password, keepalive=10, will=will, min_delay=_first_wait(), max_delay=DEVICE_CAP
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.view = SiteView(site_id) if follow_site else None
        self.follow_qos = follow_qos
        self._pending: dict[str, asyncio.Future[wire.Reply]] = {}
        self._reply_topic = wire.reply_topic(site_id, device_id)
        self._events_topic = wire.events_topic(site_id)
        self._snapshot_topic = wire.snapshot_topic(site_id)
        self.ready = asyncio.Event()
        self.retries = 0

    def _status(self, online: bool) -> bytes:
        return wire.encode(
            wire.DeviceStatus(device_id=self.device_id, kind=self.kind, online=online, at=datetime.now(UTC))
        )

    def start(self, host: str, port: int) -> None:
        self.client.start(host, port)

    async def stop(self) -> None:
        await self.client.stop()

    def _on_connect(self, client: MqttClient) -> None:
        topics = [(self._reply_topic, 1), (wire.config_topic(self.site_id, self.device_id), 1)]
        topics += [(wire.site_hub_topic(self.site_id), 1), (wire.ALL_HUB_STATUSES, 1)]
        if self.view is not None:  # DeviceLink subscribes with QoS 1
            topics += [(self._snapshot_topic, self.follow_qos), (self._events_topic, self.follow_qos)]
        client.subscribe(topics)
        client.publish(wire.status_topic(self.site_id, self.device_id), self._status(online=True), retain=True)
        self.ready.set()

    def _on_disconnect(self, client: MqttClient) -> None:
        self.ready.clear()
        client.min_delay = _first_wait()

    def _on_message(self, topic: str, payload: bytes, at: int) -> None:
        if topic == self._reply_topic:
            reply = wire.decode_as(wire.Reply, payload)
            future = self._pending.get(reply.id or "")
            if future is not None and not future.done():
                future.set_result(reply)

    def send(
        self, action: wire.Action, body: Mapping[str, Any] | None = None, request_id: str | None = None
    ) -> tuple[str, asyncio.Future[wire.Reply]]:
        """Publish a request now; its id and the future of its reply (the caller waits and retries)."""
        request_id = request_id or uuid.uuid4().hex
        future = self._pending.get(request_id)
        if future is None:
            future = self._pending[request_id] = asyncio.get_running_loop().create_future()
        payload = msgspec.json.encode({"v": wire.PROTOCOL_VERSION, "id": request_id, **(body or {})})
        self.client.publish(wire.request_topic(self.site_id, self.device_id, action), payload)
        return request_id, future

    async def request(
        self, action: wire.Action, body: Mapping[str, Any] | None = None, *, timeout: float = 2.0, attempts: int = 3
    ) -> wire.Reply:
        """As ``DeviceLink.request``: the same id on every attempt, so the hub answers a retry with its answer."""
        request_id: str | None = None
        try:
            for attempt in range(attempts):
                request_id, future = self.send(action, body, request_id)
                if attempt:
                    self.retries += 1
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(future), timeout)
            raise NoReply(f"{self.device_id}: no reply to {action} after {attempts} attempts")
        finally:
            if request_id is not None:
                self._pending.pop(request_id, None)


class Board(Device):
    """A board following its site; it notes when each TicketCalled arrived and how its view changed."""

    def __init__(self, site_id: str, device_id: str, password: str, qos: int = 1) -> None:
        super().__init__(site_id, device_id, password, wire.DeviceKind.BOARD, follow_site=True, follow_qos=qos)
        self.called: list[tuple[int, int]] = []
        """(seq, monotonic ns at receipt) of every TicketCalled received."""
        self.armed = False
        self.lost_at: int | None = None
        self.back_at: int | None = None
        self.changes: list[tuple[int, int]] = []
        """After a loss while armed: (monotonic ns, view seq) of every change of the view once connected again."""
        self.gaps = 0
        self.snapshot_requests = 0

    def _on_disconnect(self, client: MqttClient) -> None:
        super()._on_disconnect(client)
        if self.armed and self.lost_at is None:
            self.lost_at = now_ns()

    def _on_connect(self, client: MqttClient) -> None:
        super()._on_connect(client)
        if self.armed and self.lost_at is not None and self.back_at is None:
            self.back_at = now_ns()

    def _changed(self, at: int) -> None:
        if self.back_at is not None and self.view is not None:
            self.changes.append((at, self.view.seq))

    def _on_message(self, topic: str, payload: bytes, at: int) -> None:
        view = self.view
        assert view is not None
        if topic == self._events_topic:
            for event in wire.decode_events(payload).events:
                if isinstance(event, ev.TicketCalled):
                    self.called.append((event.seq, at))
                applied = view.apply_event(event)
                if applied is Applied.GAP:
                    self.gaps += 1
                    self._resync()
                    break
                if applied is Applied.APPLIED:
                    self._changed(at)
        elif topic == self._snapshot_topic:
            if payload and view.apply_snapshot(wire.decode_as(wire.Snapshot, payload)):
                self._changed(at)
        elif topic == self._reply_topic:
            reply = wire.decode_as(wire.Reply, payload)
            future = self._pending.pop(reply.id or "", None)
            if future is not None and not future.done():
                future.set_result(reply)
            if reply.snapshot is not None and view.apply_snapshot(reply.snapshot):
                self._changed(at)

    def _resync(self) -> None:
        """After a gap: ask the hub for the snapshot (its reply is applied when it comes)."""
        self.snapshot_requests += 1
        self.send(wire.Action.SNAPSHOT)


class Fleet:
    """Boards of one site in this process, steered by the parent through a pipe."""

    def __init__(self, host: str, port: int, site_id: str, credentials: list[tuple[str, str]], qos: int = 1) -> None:
        self.host, self.port = host, port
        self.boards = [Board(site_id, device_id, password, qos) for device_id, password in credentials]

    async def start(self) -> None:
        for n, board in enumerate(self.boards):
            board.start(self.host, self.port)
            if n % 50 == 49:
                await asyncio.sleep(0.05)

    def command(self, name: str, *args: Any) -> Any:
        boards = self.boards
        if name == "status":
            return {
                "connected": sum(b.client.connected for b in boards),
                "synced": sum(b.view is not None and b.view.synced for b in boards),
                "seqs": sorted({b.view.seq for b in boards if b.view is not None}),
                "gaps": sum(b.gaps for b in boards),
                "snapshot_requests": sum(b.snapshot_requests for b in boards),
            }
        if name == "clear":
            for board in boards:
                board.called.clear()
            return None
        if name == "called":
            return [board.called for board in boards]
        if name == "arm":
            for board in boards:
                board.armed, board.lost_at, board.back_at, board.changes = True, None, None, []
            return None
        if name == "resync":
            (target,) = args
            out = []
            for board in boards:
                synced = next((at for at, seq in board.changes if seq >= target), None)
                out.append((board.lost_at, board.back_at, synced))
                board.armed = False
            return out
        raise ValueError(name)

    async def stop(self) -> None:
        await asyncio.gather(*(board.stop() for board in self.boards))


class Commanded(Protocol):
    def command(self, name: str, *args: Any) -> Any: ...

    async def stop(self) -> None: ...


async def serve_parent(fleet: Commanded, pipe: Connection) -> None:
    """Answer the parent's commands on ``pipe`` with the fleet's, until ``stop``; then stop the fleet and say so."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()

    def readable() -> None:
        while pipe.poll():
            name, *args = pipe.recv()
            if name == "stop":
                loop.remove_reader(pipe.fileno())
                stopped.set()
                return
            pipe.send(fleet.command(name, *args))

    loop.add_reader(pipe.fileno(), readable)
    await stopped.wait()
    await fleet.stop()
    pipe.send("stopped")


def fleet_main(  # noqa: PLR0917
    pipe: Connection, host: str, port: int, site_id: str, credentials: list[tuple[str, str]], qos: int = 1
) -> None:
    """A child process's life: start the boards, answer the parent's commands, stop on ``stop``.

    It runs at a lower priority (nice 10): real boards have CPUs of their own, so here the hub and the broker go
    first when a call reaches all the boards at once; arrival is timed by the kernel, which the niceness does not
    delay."""
    os.nice(10)

    async def run() -> None:
        fleet = Fleet(host, port, site_id, credentials, qos)
        await fleet.start()
        await serve_parent(fleet, pipe)

    asyncio.run(run())

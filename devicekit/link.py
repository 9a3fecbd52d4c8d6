"""A device's link to the hub over MQTT (paho-mqtt 2.x): its status with a last will, requests with replies, and
for boards a SiteView kept in sync (snapshot, events, gap -> resync).

The network runs in paho's thread; callers block only in ``request`` (never call it on a UI thread: device apps
call it from a worker). A request that gets no reply is retried with the same id, so the hub answers a retry with
its first answer and never issues twice; the retries span longer than another hub takes to take the site over when
its hub dies (``REQUEST_WAITS``); when the hub stays silent ``HubUnreachable`` is raised and the device says so on
screen.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

import contract as wire
from devicekit.backoff import DEVICE_BASE, DEVICE_CAP, Reconnect, drop_connection
from devicekit.settings import DeviceSettings
from devicekit.site_view import Applied, SiteView
from engine import events as ev

log = logging.getLogger(__name__)
T = TypeVar("T", bound=msgspec.Struct)


def link_for(settings: DeviceSettings, kind: wire.DeviceKind, follow_site: bool = True) -> DeviceLink:
    return DeviceLink(
        host=settings.host,
        port=settings.port,
        site_id=settings.site,
        device_id=settings.device_id,
        password=settings.password,
        kind=kind,
        follow_site=follow_site,
    )


REQUEST_WAITS: tuple[float, ...] = (2.0, 2.0, 3.0, 3.0, 4.0)
"""Seconds a request waits for its reply after each send (the same id every time): 14 s in all, longer than the
~10 s in which another hub takes a site over when its hub dies (docs/deployment.md), so a request sent just before
that is answered by the new hub instead of failing."""

MAX_RATE_LIMITED_WAIT = 5.0
"""Seconds a request waits at most after a ``rate_limited`` reply before it is sent again."""


UNAVAILABLE_WAIT = 1.0
"""Seconds before a request answered ``unavailable`` is sent again (the hub's database is away, or its site is
changing hands: the next hub may answer it)."""


def _retry_after(reply: wire.Reply) -> float | None:
    """Seconds to wait before sending the request again (same id), when the hub decided nothing: too many requests,
    or ``unavailable``; else None (the reply is the answer)."""
    if reply.error is None:
        return None
    if reply.error.code == wire.ErrorCode.RATE_LIMITED:
        return min(reply.error.retry_after or 1.0, MAX_RATE_LIMITED_WAIT)
    return UNAVAILABLE_WAIT if reply.error.code == wire.ErrorCode.UNAVAILABLE else None


def _waits(timeout: float | None, attempts: int | None) -> tuple[float, ...]:
    if timeout is None and attempts is None:
        return REQUEST_WAITS
    if (attempts is not None and attempts < 1) or (timeout is not None and timeout <= 0):
        raise ValueError(f"a request needs at least one attempt and a positive timeout, not {attempts} x {timeout}")
    return (2.0 if timeout is None else timeout,) * (3 if attempts is None else attempts)


def no_nagle(client: mqtt.Client) -> None:
    """Switch Nagle's algorithm off on an MQTT client's socket (paho leaves it on; call it on every connect).
    Otherwise a request published right after the PUBACK of the previous reply waits for the broker's delayed ACK:
    ~40 ms on every request (a kiosk's issue round trip: median 48 ms with Nagle, 5 ms without)."""
    connection = client.socket()
    if isinstance(connection, socket.socket):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


FOLLOW_QOS = 0
"""QoS of a following device's site snapshot and events (docs/decisions/0009-site-feed-at-qos-0.md): the session is
clean, so QoS 1 would keep nothing across a reconnect; while connected it only adds an acknowledgement per event and
the broker's in-flight window, which under a fan-out to hundreds of boards queued calls for up to a second. A lost
event shows as a gap in the sequence numbers and is repaired from the snapshot."""


class HubUnreachable(Exception):
    """No reply from the hub (broker down, hub down): nothing is confirmed."""


class DeviceLink:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        site_id: str,
        device_id: str,
        password: str,
        kind: wire.DeviceKind,
        follow_site: bool = False,
    ) -> None:
        self.site_id, self.device_id, self.kind = site_id, device_id, kind
        self.host, self.port = host, port
        self.view = SiteView(site_id) if follow_site else None
        self.config: wire.DeviceConfig | None = None
        self.hub_online = False
        """The site's hub is up: its ``SiteHub`` says online and that hub's own status (if seen) too."""
        self._site_hub: wire.SiteHub | None = None
        self._hubs_online: dict[str, bool] = {}
        """Each hub's last status (``HubStatus.online``) by hub id."""
        self.detail: dict[str, str] = {}
        self.on_change: Callable[[], None] = lambda: None
        """Called from the network thread after the view, config or hub status changed."""
        self.on_call: Callable[[wire.CallView], None] = lambda call: None
        """Called from the network thread for each call as it happens (not for calls a resync brings back)."""
        self.replies_received = 0
        self.last_reply: wire.Reply | None = None
        """Every reply counts, also those to requests nobody waits for any more (diagnostics, tests)."""
        self._pending: dict[str, tuple[threading.Event, list[wire.Reply]]] = {}
        self._lock = threading.Lock()
        self._retained: list[str] = []
        """Further retained topics the device follows (``follow_retained``)."""
        self.connected = threading.Event()
        """Connected and every subscription granted: a request sent now can be answered."""
        self._subscribing: int | None = None
        """The message id of the subscription made on connect, until the broker grants it."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, clean_session=True)
        client.username_pw_set(device_id, password)
        self.reconnect = Reconnect(client, DEVICE_BASE, DEVICE_CAP)
        client.will_set(self._status_topic, self._status(online=False), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self.client = client

    def follow_retained(self, topic: str, kind: type[T], handle: Callable[[T], None]) -> None:
        """Follow one more retained topic (the site's info, the district summary): each message decoded as ``kind``
        and handed to ``handle`` on the network thread; subscribed again after every reconnect (the session is
        clean). A cleared message is skipped, an unreadable one logged and skipped."""

        def on_message(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
            if not message.payload:
                return
            try:
                decoded = wire.decode_as(kind, bytes(message.payload))
            except msgspec.DecodeError as error:
                log.warning("unreadable message on %s: %s", message.topic, error)
                return
            handle(decoded)

        self.client.message_callback_add(topic, on_message)
        self._retained.append(topic)
        if self.connected.is_set():
            self.client.subscribe(topic, qos=1)

    @property
    def _status_topic(self) -> str:
        return wire.status_topic(self.site_id, self.device_id)

    def _status(self, online: bool) -> bytes:
        status = wire.DeviceStatus(
            device_id=self.device_id, kind=self.kind, online=online, at=datetime.now(UTC), detail=self.detail
        )
        return wire.encode(status)

    def start(self, wait: float = 5.0) -> bool:
        """Connect in the background; True when connected within ``wait`` seconds (it keeps trying after)."""
        self.client.connect_async(self.host, self.port, keepalive=10)
        self.client.loop_start()
        return self.connected.wait(wait)

    def stop(self) -> None:
        """Say goodbye (offline, retained) if the broker is there, and disconnect."""
        if self.connected.is_set():
            info = self.client.publish(self._status_topic, self._status(online=False), qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    def report(self, **detail: str) -> None:
        """Publish health details (e.g. printer="paper_out") with the online status."""
        self.detail.update(detail)
        self.client.publish(self._status_topic, self._status(online=True), qos=1, retain=True)

    def request(
        self,
        action: wire.Action,
        body: Mapping[str, Any] | None = None,
        *,
        request_id: str | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
        on_retry: Callable[[int], None] | None = None,
    ) -> wire.Reply:
        """Send the request and wait for its reply, sending it again with the same id after each wait of
        ``REQUEST_WAITS`` — or, when ``timeout`` or ``attempts`` is given, ``attempts`` (3) waits of ``timeout`` (2 s)
        each. A send waits for the connection (every subscription granted) within its attempt. ``on_retry(n)`` is
        called (on this thread) before the n-th send from the second on, so a screen can say it is still trying.
        Raises ``HubUnreachable`` when no reply came."""
        waits = _waits(timeout, attempts)
        request_id = request_id or uuid.uuid4().hex
        payload = msgspec.json.encode({"v": wire.PROTOCOL_VERSION, "id": request_id, **(body or {})})
        done = threading.Event()
        answers: list[wire.Reply] = []
        with self._lock:
            self._pending[request_id] = (done, answers)
        topic = wire.request_topic(self.site_id, self.device_id, action)
        try:
            for attempt, wait in enumerate(waits, start=1):
                if attempt > 1 and on_retry is not None:
                    on_retry(attempt)
                deadline = time.monotonic() + wait
                if not self.connected.wait(wait):
                    continue
                self.client.publish(topic, payload, qos=1)
                if not done.wait(max(0.0, deadline - time.monotonic())):
                    continue
                first = answers[0]
                pause = _retry_after(first)
                if pause is None:
                    return first
                with self._lock:  # nothing was decided: ready for a later answer (another hub's) to any send
                    done.clear()
                    answers.clear()
                last = attempt == len(waits)  # then the rest of its wait, for an answer that decides
                if done.wait(max(0.0, deadline - time.monotonic()) if last else pause) and not _retry_after(answers[0]):
                    return answers[0]
                if last:
                    return first
                with self._lock:
                    done.clear()
                    answers.clear()
            raise HubUnreachable(f"no reply to {action} {request_id} after {len(waits)} attempts")
        finally:
            with self._lock:
                self._pending.pop(request_id, None)

    def resync(self) -> None:
        """Ask the hub for a fresh snapshot (in the background) after a gap."""
        threading.Thread(target=self._fetch_snapshot, daemon=True).start()

    def _fetch_snapshot(self) -> None:
        try:
            reply = self.request(wire.Action.SNAPSHOT)
        except HubUnreachable:
            log.warning("resync of %s failed; waiting for the next snapshot", self.site_id)
            return
        if reply.snapshot is not None and self.view is not None and self.view.apply_snapshot(reply.snapshot):
            self.on_change()

    # -- paho callbacks (network thread) --------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("broker refused device %s: %s", self.device_id, reason)
            return
        no_nagle(client)
        self._subscribing = self._subscribe()

    def _subscribe(self) -> int | None:
        """Subscribe to everything the device reads, in one SUBSCRIBE; its message id."""
        site, device = self.site_id, self.device_id
        topics = [(wire.reply_topic(site, device), 1), (wire.config_topic(site, device), 1)]
        topics += [(wire.site_hub_topic(site), 1), (wire.ALL_HUB_STATUSES, 1)]
        topics += [(topic, 1) for topic in self._retained]
        if self.view is not None:
            topics += [(wire.snapshot_topic(self.site_id), FOLLOW_QOS), (wire.events_topic(self.site_id), FOLLOW_QOS)]
        return self.client.subscribe(topics)[1]

    def _on_subscribe(self, client: mqtt.Client, _u: object, mid: int, reasons: list[ReasonCode], _p: object) -> None:
        """A refused subscription (a NATS cluster electing a stream leader) would silently cut the device off its
        replies or events: it counts as a failed connection (drop it, reconnect after the back-off). The device is
        connected once the broker granted every subscription made on connect."""
        if any(reason.is_failure for reason in reasons):
            refused = ", ".join(map(str, reasons))
            log.warning("the broker refused a subscription of %s (%s); reconnecting", self.device_id, refused)
            drop_connection(client)
        elif mid == self._subscribing:
            self._subscribing = None
            client.publish(self._status_topic, self._status(online=True), qos=1, retain=True)
            self.reconnect.succeeded()
            self.connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        self.connected.clear()
        self._subscribing = None
        self.reconnect.failed()
        log.warning(
            "device %s lost the broker (%s); reconnecting in %.1f s",
            self.device_id,
            reason,
            self.reconnect.last_wait or 0,
        )

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            self._dispatch(message.topic, bytes(message.payload))
        except msgspec.DecodeError as error:
            log.warning("unreadable message on %s: %s", message.topic, error)

    def _dispatch(self, topic: str, payload: bytes) -> None:
        site = self.site_id
        if topic == wire.reply_topic(site, self.device_id):
            reply = wire.decode_as(wire.Reply, payload)
            self.last_reply = reply
            self.replies_received += 1
            with self._lock:  # the first answer counts (a request waiting after "unavailable" takes the next)
                pending = self._pending.get(reply.id or "")
                if pending is not None and not pending[0].is_set():
                    pending[1].append(reply)
                    pending[0].set()
        elif topic == wire.events_topic(site) and self.view is not None:
            for event in wire.decode_events(payload).events:
                applied = self.view.apply_event(event)
                if applied is Applied.GAP:
                    self.resync()
                    break
                if applied is Applied.APPLIED and isinstance(event, ev.TicketCalled) and self.view.latest_call:
                    self.on_call(self.view.latest_call)
            self.on_change()
        elif topic == wire.snapshot_topic(site) and self.view is not None and payload:
            if self.view.apply_snapshot(wire.decode_as(wire.Snapshot, payload)):
                self.on_change()
        elif topic == wire.config_topic(site, self.device_id) and payload:
            self.config = wire.decode_as(wire.DeviceConfig, payload)
            self.on_change()
        elif topic == wire.site_hub_topic(site):
            self._site_hub = wire.decode_as(wire.SiteHub, payload) if payload else None
            self._hub_changed()
        elif (hub_id := wire.parse_hub_status_topic(topic)) is not None and payload:
            self._hubs_online[hub_id] = wire.decode_as(wire.HubStatus, payload).online
            self._hub_changed()

    def _hub_changed(self) -> None:
        deciding = self._site_hub
        online = deciding is not None and deciding.online and self._hubs_online.get(deciding.hub, True)
        if online != self.hub_online:
            self.hub_online = online
            self.on_change()

"""The hub's MQTT client (paho-mqtt 2.x, public API only): requests in, replies, events and retained state out.

paho runs its network loop in its own thread and reconnects by itself; received requests are handed to
``on_request`` on that thread (the hub queues them for its writer thread), device statuses to the asyncio loop
through a queue. The hub uses a persistent session (clean_session false, fixed client id), so requests
that arrive while the hub restarts wait in the broker instead of being lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

import contract as wire
from devicekit.link import no_nagle

log = logging.getLogger(__name__)

Message = tuple[str, bytes]


class MqttBridge:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        loop: asyncio.AbstractEventLoop,
        client_id: str = "hall-hub",
    ) -> None:
        self.host, self.port = host, port
        self.hub_id = client_id
        """This hub's id among several (its status topic is ``contract.hub_status_topic(hub_id)``)."""
        self.loop = loop
        self.on_connected: Callable[[], None] = lambda: None
        """Called on the asyncio loop after every (re)connect."""
        self.on_request: Callable[[wire.RequestTopic, bytes], None] = lambda _topic, _payload: None
        """Called on paho's network thread with each request."""
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        """Device statuses (and anything else that is not a request), in arrival order."""
        self.connected = asyncio.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        client.username_pw_set(username, password)
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.will_set(self._status_topic, self._offline(), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self.client = client

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=15)
        self.client.loop_start()

    def stop(self) -> None:
        self.publish(self._status_topic, self._offline(), retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def _status_topic(self) -> str:
        return wire.hub_status_topic(self.hub_id)

    def _offline(self) -> bytes:
        return wire.encode(wire.HubStatus(hub=self.hub_id, online=False))

    def publish(self, topic: str, payload: bytes, retain: bool = False, qos: int = 1) -> None:
        """Thread-safe; while disconnected paho queues the message and sends it after the reconnect."""
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def _on_connect(
        self, client: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("broker refused the hub: %s", reason)
            return
        log.info("connected to the broker at %s:%d", self.host, self.port)
        no_nagle(client)  # a reply, its events and the snapshot go out at once, not after the broker's delayed ACK
        self._subscribe()
        self.loop.call_soon_threadsafe(self._connected)

    def _subscribe(self) -> None:
        self.client.subscribe([(wire.ALL_REQUESTS, 1), (wire.ALL_STATUSES, 1)])

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _mid: int, reasons: list[ReasonCode], _p: object) -> None:
        """A broker may refuse a subscription (a NATS cluster electing a stream leader does): without it the hub
        would silently miss requests, so it asks again a moment later."""
        if any(reason.is_failure for reason in reasons):
            log.warning("the broker refused a subscription (%s); asking again", ", ".join(map(str, reasons)))
            threading.Timer(random.uniform(0.5, 1.5), self._subscribe).start()

    def _connected(self) -> None:
        self.connected.set()
        self.on_connected()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: object, _flags: object, reason: object, _p: object
    ) -> None:
        log.warning("lost the broker (%s); reconnecting", reason)
        self.loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        request = wire.parse_request_topic(message.topic)
        if request is not None:
            self.on_request(request, bytes(message.payload))
        else:
            self.loop.call_soon_threadsafe(self.inbox.put_nowait, (message.topic, bytes(message.payload)))

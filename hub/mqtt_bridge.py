"""The hub's MQTT client (paho-mqtt 2.x, public API only): requests in, replies, events and retained state out.

paho runs its network loop in its own thread and reconnects by itself; received requests are handed to
``on_request`` on that thread (the hub queues them for its writer thread), device statuses to the asyncio loop
through a queue. The hub uses a persistent session (clean_session false, fixed client id), so requests
that arrive while the hub restarts wait in the broker instead of being lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

import contract as wire
from devicekit.backoff import HUB_BASE, HUB_CAP, Reconnect, drop_connection
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
        sites: set[str] | None = None,
    ) -> None:
        """``sites``: None to take every site's requests (one hub, with a persistent session so that requests wait
        in the broker while it restarts); a set, empty at first, to take only those of the sites ``follow`` adds
        (one of several hubs: a clean session, since a site may be another hub's when this one comes back)."""
        self.host, self.port = host, port
        self.hub_id = client_id
        """This hub's id among several (its status topic is ``contract.hub_status_topic(hub_id)``)."""
        self.sites = sites
        self.loop = loop
        self.on_connected: Callable[[], None] = lambda: None
        """Called on the asyncio loop after every (re)connect."""
        self.on_request: Callable[[wire.RequestTopic, bytes], None] = lambda _topic, _payload: None
        """Called on paho's network thread with each request."""
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        """Device statuses (and anything else that is not a request), in arrival order."""
        self.connected = asyncio.Event()
        """Connected and subscribed (the broker granted every subscription made on connect)."""
        self._subscribing: int | None = None
        """The message id of the subscription made on connect, until the broker grants it."""
        self._stopping = False
        """``stop`` was called: the disconnect that follows is the hub's own, not a broker lost."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=sites is not None)
        client.username_pw_set(username, password)
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(0)
        self.reconnect = Reconnect(client, HUB_BASE, HUB_CAP)
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
        self._stopping = True
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
        self._subscribing = self._subscribe()

    def _subscribe(self) -> int | None:
        """Subscribe to everything the hub takes, in one SUBSCRIBE; its message id."""
        return self.client.subscribe([(topic, 1) for topic in self._topics()])[1]

    def _topics(self) -> list[str]:
        """Every site's requests, or only those of the sites this hub decides for (``follow``); every status (the
        live pages show all devices)."""
        if self.sites is None:
            return [wire.ALL_REQUESTS, wire.ALL_STATUSES]
        return [wire.ALL_STATUSES, wire.ALL_HUB_SUMMARIES, *(_site_requests(site) for site in sorted(self.sites))]

    def follow(self, site_id: str) -> None:
        """Take requests of one more site (several hubs: each subscribes only to the sites it holds)."""
        assert self.sites is not None, "a bridge made with sites=None follows every site"
        self.sites.add(site_id)
        if self.client.is_connected():  # at once, even before the connect's own SUBACK (it may not list this site)
            self.client.subscribe(_site_requests(site_id), qos=1)

    def unfollow(self, site_id: str) -> None:
        if self.sites is not None and site_id in self.sites:
            self.sites.discard(site_id)
            self.client.unsubscribe(_site_requests(site_id))

    def _on_subscribe(self, client: mqtt.Client, _u: object, mid: int, reasons: list[ReasonCode], _p: object) -> None:
        """A broker may refuse a subscription (a NATS cluster electing a stream leader does): without it the hub
        would silently miss requests, so a refusal counts as a failed connection (dropped, and made again after the
        back-off). The hub is connected once the broker granted every subscription made on connect."""
        if any(reason.is_failure for reason in reasons):
            log.warning("the broker refused a subscription (%s); reconnecting", ", ".join(map(str, reasons)))
            drop_connection(client)
        elif mid == self._subscribing:
            self._subscribing = None
            self.reconnect.succeeded()
            self.loop.call_soon_threadsafe(self._connected)

    def _connected(self) -> None:
        self.connected.set()
        self.on_connected()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: object, _flags: object, reason: object, _p: object
    ) -> None:
        self._subscribing = None
        if self._stopping:
            log.info("disconnected from the broker")
            return
        self.reconnect.failed()
        log.warning("lost the broker (%s); reconnecting in %.1f s", reason, self.reconnect.last_wait or 0)
        self.loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        request = wire.parse_request_topic(message.topic)
        if request is not None:
            self.on_request(request, bytes(message.payload))
        else:
            self.loop.call_soon_threadsafe(self.inbox.put_nowait, (message.topic, bytes(message.payload)))


def _site_requests(site_id: str) -> str:
    return wire.ALL_REQUESTS.replace("+", site_id, 1)

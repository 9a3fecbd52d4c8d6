"""Reconnect back-off for every paho client we run (devices, the hub, the bench's devices): exponential with "full
jitter" (a random wait between 0 and ``min(cap, base * 2**attempt)``), so that a fleet that lost its broker at the same
instant does not come back in the same instant and flood the broker (issue #13).

paho 2.x waits between reconnect attempts in ``Client._reconnect_wait``: ``reconnect_delay_set`` resets its delay, and
the next wait is then exactly ``min_delay``. paho calls ``on_disconnect`` (a lost or refused connection) or
``on_connect_fail`` (no TCP connection) right before each wait, so ``Reconnect.failed`` called there sets the wait.
"""

from __future__ import annotations

import logging
import math
import random
import socket

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

DEVICE_BASE, DEVICE_CAP = 0.5, 8.0
"""Seconds: a device's first wait is up to 0.5 s, then up to 1, 2, 4, and never more than 8."""
HUB_BASE, HUB_CAP = 0.5, 2.0
"""Seconds: the hub comes back sooner (one client, and every device waits on it)."""


class Backoff:
    """Full-jitter exponential back-off: the n-th wait in a row (n from 0) is uniform in [0, min(cap, base * 2**n)]."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        if not 0 < base <= cap:
            raise ValueError(f"back-off needs 0 < base <= cap, not base={base} cap={cap}")
        self.base, self.cap = base, cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def bound(self) -> float:
        """The longest the next wait may be."""
        return min(self.cap, math.ldexp(self.base, min(self.attempt, 32)))

    def next(self) -> float:
        """The next wait, in seconds; each call counts one more failure."""
        wait = self._rng.uniform(0, self.bound())
        self.attempt += 1
        return wait

    def reset(self) -> None:
        """Connected (and subscribed): the next failure waits at most ``base`` again."""
        self.attempt = 0


class Reconnect:
    """A paho client's reconnect policy: call ``failed`` from its ``on_disconnect`` (it handles ``on_connect_fail``
    itself) and ``succeeded`` once it is really connected (every subscription granted)."""

    def __init__(self, client: mqtt.Client, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.client = client
        self.backoff = Backoff(base, cap, rng)
        self.last_wait: float | None = None
        """The wait set for paho's next reconnect attempt (diagnostics, tests)."""
        client.on_connect_fail = lambda _client, _userdata: self.failed()

    def failed(self) -> None:
        wait = self.backoff.next()
        self.last_wait = wait
        # paho annotates the delays as int, but its wait is float arithmetic (Client._reconnect_wait)
        self.client.reconnect_delay_set(min_delay=wait, max_delay=wait)  # type: ignore[arg-type]

    def succeeded(self) -> None:
        self.backoff.reset()


def drop_connection(client: mqtt.Client) -> None:
    """End the connection as if it were lost (the broker publishes the last will) and let paho reconnect after its
    back-off: ``disconnect()`` would stop paho's network loop for good. Call it on paho's network thread."""
    connection = client.socket()
    if isinstance(connection, socket.socket):
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError as error:  # already gone: paho sees the loss by itself
            log.debug("dropping a connection that was already gone: %s", error)

"""A small asyncio MQTT 3.1.1 client for the hub benchmark: hundreds of simulated devices in one process.

paho-mqtt (what devices use, ``devicekit.link``) runs a network thread per client; five hundred of them in two
processes would measure the GIL more than the hub. This client is one non-blocking socket per connection on one
event loop, with only what the contract uses (MQTT 3.1.1: CONNECT with a last will, SUBSCRIBE, PUBLISH QoS 0/1 in
and out with PUBACK, PINGREQ) and paho's reconnect behaviour as ``DeviceLink`` configures it
(``reconnect_delay_set(min_delay=1, max_delay=2)``: the first retry 1 s after a loss, then every 2 s, back to 1 s
after a successful connect). Every message is handed on with the instant its bytes reached the client's socket:
the kernel's receive timestamp (``SO_TIMESTAMPNS``, CLOCK_REALTIME like ``time.time_ns()`` in every process), so
the time a simulated device waits for its share of the bench's CPU is not counted as delivery time.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Callable

OnMessage = Callable[[str, bytes, int], None]
"""(topic, payload, CLOCK_REALTIME ns when its bytes reached the socket)."""

_TIMESTAMP = struct.Struct("@qq")  # struct timespec on 64-bit Linux
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
"""Linux's value (asm-generic and x86); Python 3.11's socket module does not name it."""


class _Link:
    """A non-blocking TCP socket on the event loop, read with ``recvmsg`` to get the kernel's receive timestamps."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, client: MqttClient) -> None:
        self.loop, self.sock, self.client = loop, sock, client
        self.pending = bytearray()
        self.closed = False
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data, ancillary, _flags, _address = self.sock.recvmsg(65536, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.close()
            return
        at = 0
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = _TIMESTAMP.unpack_from(value)
                at = seconds * 1_000_000_000 + nanoseconds
        self.client.data_received(data, at or time.time_ns())

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.pending:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.close()
                return
            if sent == len(data):
                return
            data = data[sent:]
            self.loop.add_writer(self.sock.fileno(), self._writable)
        self.pending += data

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        del self.pending[:sent]
        if not self.pending:
            self.loop.remove_writer(self.sock.fileno())

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.sock.fileno())
        self.loop.remove_writer(self.sock.fileno())
        self.sock.close()
        self.client.connection_lost(None)


def _string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(data)) + data


def _packet(first: int, body: bytes) -> bytes:
    length = len(body)
    header = bytearray([first])
    while True:
        byte = length & 0x7F
        length >>= 7
        header.append(byte | 0x80 if length else byte)
        if not length:
            return bytes(header) + body


class ConnectRefused(Exception):
    pass


class MqttClient:
    def __init__(
        self,
        client_id: str,
        username: str,
        password: str,
        *,
        keepalive: int = 10,
        will: tuple[str, bytes, bool] | None = None,
        min_delay: float = 1.0,
        max_delay: float = 2.0,
    ) -> None:
        self.client_id, self.username, self.password = client_id, username, password
        self.keepalive = keepalive
        self.will = will
        self.min_delay, self.max_delay = min_delay, max_delay
        self.on_message: OnMessage = lambda topic, payload, at: None
        self.on_connect: Callable[[MqttClient], None] = lambda client: None
        """Called once the broker accepted the connection (subscribe here: the session is clean)."""
        self.on_disconnect: Callable[[MqttClient], None] = lambda client: None
        self.connected = False
        self.connects = 0
        self._transport: _Link | None = None
        self._buffer = bytearray()
        self._next_id = 0
        self._connack: asyncio.Future[int] | None = None
        self._lost: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- connection management ----------------------------------------------------------------------------------

    def start(self, host: str, port: int) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(host, port))

    async def stop(self) -> None:
        self._stopping = True
        if self._transport is not None:
            if self.connected:
                self._transport.write(b"\xe0\x00")  # DISCONNECT: no last will
            self._transport.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        delay: float | None = None
        while not self._stopping:
            try:
                await self._session(loop, host, port)
                delay = None  # a session that got its CONNACK resets the back-off
            except (OSError, ConnectRefused, TimeoutError, asyncio.IncompleteReadError):
                pass
            if self._stopping:
                return
            delay = self.min_delay if delay is None else min(2 * delay, self.max_delay)
            await asyncio.sleep(delay)

    async def _session(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        self._buffer.clear()
        self._lost = loop.create_future()
        self._connack = loop.create_future()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        try:
            await loop.sock_connect(sock, (host, port))
        except OSError:
            sock.close()
            raise
        self._transport = _Link(loop, sock, self)
        try:
            self._send_connect()
            code = await asyncio.wait_for(asyncio.shield(self._connack), 10)
            if code != 0:
                raise ConnectRefused(f"{self.client_id}: CONNACK {code}")
            self.connected = True
            self.connects += 1
            self.on_connect(self)
            while not self._lost.done() and not self._stopping:  # (3.11's wait_for may swallow a cancel)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._lost), self.keepalive / 2)
                if not self._lost.done():
                    self._write(b"\xc0\x00")  # PINGREQ
        finally:
            was_connected, self.connected = self.connected, False
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            if was_connected:
                self.on_disconnect(self)

    # -- from the link -----------------------------------------------------------------------------------------------

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(ConnectionResetError("lost before CONNACK"))
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def data_received(self, data: bytes, at: int) -> None:
        buffer = self._buffer
        buffer += data
        offset = 0
        size = len(buffer)
        while size - offset >= 2:
            first = buffer[offset]
            length, multiplier, index, complete = 0, 1, offset + 1, False
            while index < size and index - offset <= 4:
                byte = buffer[index]
                length += (byte & 0x7F) * multiplier
                multiplier <<= 7
                index += 1
                if not byte & 0x80:
                    complete = True
                    break
            if not complete or index + length > size:
                break  # an incomplete packet: wait for more bytes
            body = bytes(buffer[index : index + length])
            offset = index + length
            self._packet(first, body, at)
        del buffer[:offset]

    def _packet(self, first: int, body: bytes, at: int) -> None:
        kind = first >> 4
        if kind == 3:  # PUBLISH
            qos = (first >> 1) & 3
            (topic_length,) = struct.unpack_from("!H", body)
            topic = body[2 : 2 + topic_length].decode()
            position = 2 + topic_length
            if qos:
                packet_id = body[position : position + 2]
                position += 2
                self._write(b"\x40\x02" + packet_id)  # PUBACK
            self.on_message(topic, body[position:], at)
        elif kind == 2 and self._connack is not None and not self._connack.done():  # CONNACK
            self._connack.set_result(body[1])
        # PUBACK (4), SUBACK (9), PINGRESP (13): nothing to do

    # -- sending ---------------------------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _packet_id(self) -> bytes:
        self._next_id = self._next_id % 65535 + 1
        return struct.pack("!H", self._next_id)

    def _send_connect(self) -> None:
        flags = 0x02 | 0x80 | 0x40  # clean session, user name, password
        payload = _string(self.client_id)
        if self.will is not None:
            topic, message, retain = self.will
            flags |= 0x04 | (1 << 3) | (0x20 if retain else 0)  # will, QoS 1
            payload += _string(topic) + _string(message)
        payload += _string(self.username) + _string(self.password)
        header = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", self.keepalive)
        self._write(_packet(0x10, header + payload))

    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        body = self._packet_id() + b"".join(_string(topic) + bytes([qos]) for topic, qos in topics)
        self._write(_packet(0x82, body))

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Send now if connected (False if not: like paho while disconnected, nothing is kept for later)."""
        if not self.connected:
            return False
        body = _string(topic) + (self._packet_id() if qos else b"") + payload
        self._write(_packet(0x30 | (qos << 1) | (1 if retain else 0), body))
        return True

"""One device of the connections bench: a paho MQTT 5 client connected like the agent.

It logs in with its own credentials, leaves a retained "offline" will and
subscribes to everything addressed to it, as ``printfleet_agent.link`` does,
so the broker holds the same state per connection as for a real printer.
Many share one asyncio loop through paho's external-loop interface.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from printfleet_protocol import Family, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, Presence, PresenceStatus
from printfleet_protocol.topics import device_subscriptions

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

logger = logging.getLogger(__name__)

QOS = 1
KEEPALIVE_S = 30  # the agent's default


class NonBlockingConnectClient(mqtt.Client):
    """paho's client whose TCP connect does not block the loop the other devices share.

    paho's own connect blocks until the handshake completes; when the
    broker's accept queue overflows the kernel retries the SYN a second
    later, and every device in the process would wait that second too.
    paho treats the socket's EAGAIN until the handshake ends like a full
    send buffer: it keeps CONNECT queued and writes it once writable.
    (Overrides a private paho 2.x method; paho is pinned below 3.)
    """

    def _create_socket_connection(self) -> socket.socket:
        family, kind, protocol, _, address = socket.getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, protocol)
        sock.setblocking(False)
        error = sock.connect_ex(address)
        if error not in (0, errno.EINPROGRESS):
            sock.close()
            raise OSError(error, os.strerror(error))
        return sock


class HeldDevice:
    """A device connection the bench opens, holds, and drives through the checks."""

    def __init__(self, device_id: str, password: str, prefix: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.device_id = device_id
        self.prefix = prefix
        self._loop = loop
        self.connect_started = 0.0  # monotonic
        self.connacked_at = 0.0  # monotonic
        self.connacked_wall = 0.0
        self.dropped = False  # lost its connection after it was up
        self.ready: asyncio.Future[None] = loop.create_future()  # CONNACK + own SUBACK
        self.received: list[tuple[str, bytes]] = []
        self._subscribed: dict[int, asyncio.Future[int]] = {}  # mid -> refused count
        self._published: dict[int, asyncio.Future[bool]] = {}  # mid -> accepted
        self._client = self._build_client(password)

    def _build_client(self, password: str) -> mqtt.Client:
        client = NonBlockingConnectClient(CallbackAPIVersion.VERSION2, client_id=self.device_id,
                                          protocol=mqtt.MQTTv5)
        client.username_pw_set(self.device_id, password)
        will = Presence(v=SCHEMA_VERSION, ts=time.time(), seq=0, status=PresenceStatus.OFFLINE)
        client.will_set(self.topic(Family.PRESENCE), encode(will), qos=QOS, retain=True)
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        return client

    def topic(self, family: Family) -> str:
        return device_topic(self.prefix, self.device_id, family)

    @property
    def connected(self) -> bool:
        return self.ready.done() and not self.ready.exception() and not self.dropped

    @property
    def connect_ms(self) -> float | None:
        """TCP connect to CONNACK, as this client saw it."""
        return (self.connacked_at - self.connect_started) * 1000 if self.connacked_at else None

    def connect(self, host: str, port: int) -> None:
        """Open the TCP connection and send CONNECT (clean start off, like the agent)."""
        self.connect_started = time.monotonic()
        try:
            self._client.connect(host, port, keepalive=KEEPALIVE_S, clean_start=False)
        except OSError as error:
            self._resolve(ConnectionError(f"{self.device_id} could not connect: {error}"))

    def keep_alive(self) -> None:
        """Let paho send pings and notice timeouts (call about once a second)."""
        self._client.loop_misc()

    def subscribe(self, filters: list[str]) -> asyncio.Future[int]:
        """Subscribe to filters; the future gives how many the broker refused."""
        result, mid = self._client.subscribe([(topic, QOS) for topic in filters])
        future: asyncio.Future[int] = self._loop.create_future()
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            future.set_exception(ConnectionError(f"{self.device_id} could not subscribe: "
                                                 f"{mqtt.error_string(result)}"))
        else:
            self._subscribed[mid] = future
        return future

    def publish(self, topic: str, payload: bytes) -> asyncio.Future[bool]:
        """Publish at QoS 1; the future says whether the broker's PUBACK was a success."""
        info = self._client.publish(topic, payload, qos=QOS)
        future: asyncio.Future[bool] = self._loop.create_future()
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            future.set_exception(ConnectionError(f"{self.device_id} could not publish: "
                                                 f"{mqtt.error_string(info.rc)}"))
        else:
            self._published[info.mid] = future
        return future

    def disconnect(self) -> None:
        self._client.disconnect()

    # paho -> asyncio
    def _on_socket_open(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        self._loop.add_reader(sock.fileno(), client.loop_read)

    def _on_socket_close(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        self._loop.remove_reader(sock.fileno())
        self._loop.remove_writer(sock.fileno())

    def _on_register_write(self, client: mqtt.Client, userdata: object,
                           sock: SocketLike) -> None:
        self._loop.add_writer(sock.fileno(), client.loop_write)

    def _on_unregister_write(self, client: mqtt.Client, userdata: object,
                             sock: SocketLike) -> None:
        self._loop.remove_writer(sock.fileno())

    # MQTT events
    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            self._resolve(ConnectionError(f"broker refused {self.device_id}: {reason_code}"))
            return
        self.connacked_at = time.monotonic()
        self.connacked_wall = time.time()
        future = self.subscribe(device_subscriptions(self.prefix, self.device_id))
        future.add_done_callback(self._own_subscription_done)

    def _own_subscription_done(self, future: asyncio.Future[int]) -> None:
        error = future.exception()
        if error is None and future.result():
            error = ConnectionError(f"broker refused {self.device_id}'s own subscriptions")
        self._resolve(error)

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reason_codes: list[mqtt.ReasonCode], properties: object) -> None:
        future = self._subscribed.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(sum(code.is_failure for code in reason_codes))

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        future = self._published.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(not reason_code.is_failure)

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        self.received.append((message.topic, bytes(message.payload)))

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object,
                       reason_code: mqtt.ReasonCode, properties: object) -> None:
        if not self.ready.done():
            self._resolve(ConnectionError(f"{self.device_id} disconnected: {reason_code}"))
        else:
            self.dropped = True
        pending: list[asyncio.Future[Any]] = [*self._subscribed.values(),
                                              *self._published.values()]
        for future in pending:
            if not future.done():
                future.set_exception(ConnectionError(f"{self.device_id} disconnected"))
        self._subscribed.clear()
        self._published.clear()

    def _resolve(self, error: BaseException | None) -> None:
        if self.ready.done():
            return
        if error is None:
            self.ready.set_result(None)
        else:
            self.ready.set_exception(error)

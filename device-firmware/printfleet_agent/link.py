"""The agent's MQTT link: one paho client per device identity, bridged into asyncio.

paho runs its network loop on its own thread and reconnects by itself; every
callback is handed to the agent's event loop, so the rest of the agent is
single-threaded asyncio code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from printfleet_protocol import Family, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, Presence, PresenceStatus
from printfleet_protocol.topics import device_subscriptions

from .broker_tls import BrokerTlsContext

logger = logging.getLogger(__name__)

QOS = 1
# Unacknowledged QoS 1 messages paho keeps in flight; the outbox holds the rest.
MAX_INFLIGHT = 100


@dataclass
class LinkState:
    """What the agent knows about its broker connection."""

    connected: bool = False
    # The broker has acknowledged every subscription of this connection: from
    # here on, a command sent to the device reaches it.
    subscribed: bool = False
    auth_refused: bool = False
    # Why the last TLS handshake failed (None once one succeeds).
    tls_error: str | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    connected_since: float | None = None
    disconnected_since: float | None = None


@dataclass(frozen=True)
class LinkEvent:
    kind: str  # "connected" | "disconnected" | "refused" | "message" | "published"
    payload: bytes = b""
    topic: str = ""
    mid: int = 0


class MqttLink:
    """Connects with the device's own credentials; events arrive on `events`."""

    def __init__(self, device_id: str, password: str, host: str, port: int, topic_prefix: str,
                 keepalive_s: int, tls_context: BrokerTlsContext | None = None) -> None:
        self.device_id = device_id
        self.state = LinkState(disconnected_since=time.time())
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._host, self._port, self._keepalive = host, port, keepalive_s
        self._prefix = topic_prefix
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id,
                                   protocol=mqtt.MQTTv5)
        self._client.username_pw_set(device_id, password)
        self.uses_tls = tls_context is not None
        self._tls_failure: str | None = None
        if tls_context is not None:
            # Set once, before any connection: paho then never connects without
            # TLS, not even after a failed handshake (it only retries).
            tls_context.on_handshake_failed = self._on_handshake_failed
            self._client.tls_set_context(tls_context)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.max_inflight_messages_set(MAX_INFLIGHT)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._pending_subscriptions: set[int] = set()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    def topic(self, family: Family) -> str:
        return device_topic(self._prefix, self.device_id, family)

    def set_will(self, seq: int) -> None:
        """Set the last will for the next connection (a fresh seq each time)."""
        will = Presence(v=SCHEMA_VERSION, ts=time.time(), seq=seq, status=PresenceStatus.OFFLINE)
        self._client.will_set(self.topic(Family.PRESENCE), encode(will), qos=QOS, retain=True)

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself from then on."""
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self._host, self._port, keepalive=self._keepalive,
                                   clean_start=False)
        self._client.loop_start()

    async def stop(self, presence_seq: int | None) -> None:
        """Publish a retained 'stopped' (when connected) and disconnect cleanly."""
        if self.state.connected and presence_seq is not None:
            stopped = Presence(v=SCHEMA_VERSION, ts=time.time(), seq=presence_seq,
                               status=PresenceStatus.STOPPED)
            info = self._client.publish(self.topic(Family.PRESENCE), encode(stopped), qos=QOS,
                                        retain=True)
            await asyncio.to_thread(info.wait_for_publish, 5)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    def publish(self, family: Family, payload: bytes) -> int:
        """Publish an encoded payload on the family's topic; return paho's message id."""
        info = self._client.publish(self.topic(family), payload, qos=QOS, retain=family.retained)
        return int(info.mid)

    def publish_presence_online(self, seq: int) -> None:
        online = Presence(v=SCHEMA_VERSION, ts=time.time(), seq=seq, status=PresenceStatus.ONLINE)
        self._client.publish(self.topic(Family.PRESENCE), encode(online), qos=QOS, retain=True)

    # paho thread -> event loop
    def _post(self, event: LinkEvent) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.events.put_nowait, event)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            # Refused (for example revoked credentials): never act as connected.
            self.state.auth_refused = reason_code.value in (0x86, 0x87, 0x8C)
            self._record_error(f"broker refused the connection: {reason_code}")
            self._post(LinkEvent("refused"))
            return
        self.state = LinkState(connected=True, connected_since=time.time(),
                               last_error=self.state.last_error,
                               last_error_at=self.state.last_error_at)
        self._pending_subscriptions = {
            mid for topic in device_subscriptions(self._prefix, self.device_id)
            if (mid := client.subscribe(topic, qos=QOS)[1]) is not None}
        self._post(LinkEvent("connected"))

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reason_codes: object, properties: object) -> None:
        self._pending_subscriptions.discard(mid)
        if self.state.connected and not self._pending_subscriptions:
            self.state.subscribed = True

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: mqtt.DisconnectFlags,
                       reason_code: mqtt.ReasonCode, properties: object) -> None:
        if self.state.connected:
            self.state.connected = False
            self.state.disconnected_since = time.time()
            self._record_error(f"disconnected: {reason_code}")
        self._post(LinkEvent("disconnected"))

    def _on_handshake_failed(self, reason: str) -> None:
        # paho thread, during the attempt that _on_connect_fail then reports.
        self._tls_failure = reason

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        # No connection (broker down, no network, TLS refused): paho retries by itself.
        tls_failure, self._tls_failure = self._tls_failure, None
        self.state.tls_error = tls_failure
        if tls_failure is not None:
            text = (f"TLS handshake with {self._host}:{self._port} failed: {tls_failure}; "
                    "not connecting without TLS, retrying")
            if text != self.state.last_error:
                self._record_error(text, logging.ERROR)
        elif self.state.last_error is None or "could not connect" not in self.state.last_error:
            self._record_error(f"could not connect to {self._host}:{self._port}")
        self._post(LinkEvent("disconnected"))

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        self._post(LinkEvent("message", bytes(message.payload), message.topic))

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        self._post(LinkEvent("published", mid=mid))

    def _record_error(self, text: str, level: int = logging.WARNING) -> None:
        self.state.last_error = text
        self.state.last_error_at = time.time()
        logger.log(level, "%s: %s", self.device_id, text)

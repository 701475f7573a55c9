"""The agent's MQTT link: connects with its own credentials, says how it is doing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from printfleet_protocol import Family, device_topic, encode, family_of
from printfleet_protocol.payloads import SCHEMA_VERSION, Presence, PresenceStatus
from printfleet_protocol.topics import device_subscriptions

from .sequence import SequenceCounter

logger = logging.getLogger(__name__)

QOS = 1


@dataclass
class LinkStatus:
    """Connectivity as the agent reports it: broker reachable, then authorised."""

    connected: bool = False
    last_error: str | None = None
    last_error_at: float | None = None
    connected_since: float | None = None
    disconnected_since: float | None = field(default_factory=time.time)


class MqttLink:
    """Wraps one paho client for one device identity."""

    def __init__(self, device_id: str, host: str, port: int, password: str, topic_prefix: str,
                 keepalive_s: int, sequence: SequenceCounter,
                 on_command: Callable[[bytes], None], on_connected: Callable[[], None]) -> None:
        self.device_id = device_id
        self.status = LinkStatus()
        self._host, self._port, self._keepalive = host, port, keepalive_s
        self._prefix = topic_prefix
        self._sequence = sequence
        self._on_command = on_command
        self._on_connected = on_connected
        self._connected_event = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id,
                                   protocol=mqtt.MQTTv5)
        self._client.username_pw_set(device_id, password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message

    def start(self) -> None:
        """Connect in the background; paho reconnects on its own from then on."""
        self._set_will()
        self._client.connect_async(self._host, self._port, keepalive=self._keepalive,
                                   clean_start=False)
        self._client.loop_start()

    def stop(self) -> None:
        """Publish a retained 'stopped' and disconnect cleanly (no last will)."""
        if self.status.connected:
            info = self.publish(self._presence(PresenceStatus.STOPPED))
            info.wait_for_publish(timeout=5)
        self._client.disconnect()
        self._client.loop_stop()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected_event.wait(timeout)

    def topic(self, family: Family) -> str:
        return device_topic(self._prefix, self.device_id, family)

    def next_seq(self) -> int:
        return self._sequence.next()

    def publish(self, message: msgspec.Struct) -> mqtt.MQTTMessageInfo:
        """Publish one payload on its family's topic (QoS 1, retained where state)."""
        family = family_of(message)
        return self._client.publish(self.topic(family), encode(message), qos=QOS,
                                    retain=family.retained)

    def _presence(self, status: PresenceStatus) -> Presence:
        return Presence(v=SCHEMA_VERSION, ts=time.time(), seq=self.next_seq(), status=status)

    def _set_will(self) -> None:
        # A fresh seq per connection, so every last will is a distinct event.
        will = self._presence(PresenceStatus.OFFLINE)
        self._client.will_set(self.topic(Family.PRESENCE), encode(will), qos=QOS, retain=True)

    def _handle_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                        reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            # Refused (for example revoked credentials): never act as connected.
            self._record_error(f"broker refused connection: {reason_code}")
            return
        self.status.connected = True
        self.status.connected_since = time.time()
        for topic in device_subscriptions(self._prefix, self.device_id):
            client.subscribe(topic, qos=QOS)
        self.publish(self._presence(PresenceStatus.ONLINE))
        self._connected_event.set()
        logger.info("%s connected to %s:%s", self.device_id, self._host, self._port)
        self._on_connected()

    def _handle_disconnect(self, client: mqtt.Client, userdata: object,
                           flags: mqtt.DisconnectFlags, reason_code: mqtt.ReasonCode,
                           properties: object) -> None:
        was_connected = self.status.connected
        self.status.connected = False
        self._connected_event.clear()
        if was_connected:
            self.status.disconnected_since = time.time()
            self._record_error(f"disconnected: {reason_code}")
        self._set_will()

    def _handle_message(self, client: mqtt.Client, userdata: object,
                        message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topic(Family.COMMAND):
            try:
                self._on_command(bytes(message.payload))
            except Exception:
                logger.exception("%s: command handling failed", self.device_id)

    def _record_error(self, text: str) -> None:
        self.status.last_error = text
        self.status.last_error_at = time.time()
        logger.warning("%s: %s", self.device_id, text)

"""The fleet's view during the connections bench: one client on the fleet service account.

It reads what the fleet reads (the whole ``<prefix>/#`` tree) plus the
broker's ``$SYS/broker/clients/connected``, counts each device's telemetry
once, notes anything forged that reached it, and sends the control commands
that prove the sample devices' subscriptions deliver.
"""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from printfleet_protocol import Family, device_topic
from printfleet_protocol.topics import TopicError, parse_topic

from .processes import BenchError

CLIENTS_CONNECTED = "$SYS/broker/clients/connected"
FORGED = b"forged:"
CONTROL = b"control:"
CONNECT_TIMEOUT_S = 30.0


class FleetObserver:
    """A paho client on its own thread; every counter is read under a lock."""

    def __init__(self, host: str, port: int, prefix: str, username: str, password: str) -> None:
        self._prefix = prefix
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.telemetry_from: set[str] = set()
        self.forged_seen: list[tuple[str, bytes]] = []
        self.clients_connected: int | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-fleet-observer",
                                   protocol=mqtt.MQTTv5)
        self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(CONNECT_TIMEOUT_S):
            self.close()
            raise BenchError("the fleet account could not connect and subscribe")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def telemetry_count(self) -> int:
        with self._lock:
            return len(self.telemetry_from)

    def forged(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.forged_seen)

    def wait_for_clients(self, expected: int, timeout_s: float) -> int | None:
        """Wait until the broker reports `expected` connected clients; return its last count."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.clients_connected is not None and self.clients_connected >= expected:
                    return self.clients_connected
            time.sleep(0.2)
        with self._lock:
            return self.clients_connected

    def wait_for_telemetry(self, expected: int, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while self.telemetry_count() < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.telemetry_count()

    def send_controls(self, device_ids: list[str]) -> None:
        """Command each device on its own command topic, as the fleet would."""
        for device_id in device_ids:
            topic = device_topic(self._prefix, device_id, Family.COMMAND)
            self._client.publish(topic, CONTROL + device_id.encode(), qos=1)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if not reason_code.is_failure:
            client.subscribe([(f"{self._prefix}/#", 1), (CLIENTS_CONNECTED, 0)])

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reason_codes: list[mqtt.ReasonCode], properties: object) -> None:
        if not any(code.is_failure for code in reason_codes):
            self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        with self._lock:
            if message.topic == CLIENTS_CONNECTED:
                self.clients_connected = int(payload)
            elif payload.startswith(FORGED):
                self.forged_seen.append((message.topic, payload))
            else:
                self._count(message.topic)

    def _count(self, topic: str) -> None:
        try:
            parsed = parse_topic(self._prefix, topic)
        except TopicError:
            return
        if parsed.family is Family.TELEMETRY:
            self.telemetry_from.add(parsed.device_id)

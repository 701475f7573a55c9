"""Simulated printers for the ingest bench: one paho MQTT 5 connection per device.

Many devices share one asyncio loop through paho's external-loop interface
(``on_socket_open`` / ``loop_read`` / ``loop_write`` / ``loop_misc``), so a
generator process holds hundreds of real connections without a thread each.
Every device logs in with its own credentials, so the broker's ACL confines
it exactly as it confines a real printer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from printfleet_protocol import Family, decode, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, PrinterState, StoredAck, Telemetry

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

logger = logging.getLogger(__name__)

QOS = 1
KEEPALIVE_S = 60
# QoS 1 publishes a device keeps waiting for the broker's PUBACK.
INFLIGHT_WINDOW = 10


def telemetry(seq: int, ts: float) -> Telemetry:
    """A printing printer's telemetry sample, the shape the real agent sends."""
    return Telemetry(v=SCHEMA_VERSION, ts=ts, seq=seq, state=PrinterState.PRINTING,
                     heaters={"bed": Heater(60.0 + seq % 3 * 0.1, 60.0),
                              "tool0": Heater(214.0 + seq % 5 * 0.2, 215.0)},
                     fans_pct={"part": 100.0}, z_mm=0.2 * (seq % 500),
                     progress_pct=float(seq % 100), time_left_s=3600.0 - seq % 3600,
                     job_id="bench-job")


@dataclass
class PhaseSeqs:
    """The seqs one device published in one phase, and which the broker never acknowledged."""

    first: int
    end: int  # one past the last published
    unacked: list[int] = field(default_factory=list)


class SimulatedDevice:
    """One printer's connection: publishes telemetry with its own seq, counts broker acks."""

    def __init__(self, device_id: str, password: str, prefix: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.device_id = device_id
        self.topic = device_topic(prefix, device_id, Family.TELEMETRY)
        self._stored_topic = device_topic(prefix, device_id, Family.STORED)
        self._loop = loop
        self.seq = 0
        self.acked = 0  # broker PUBACKs in the current phase
        self.last_ack_at = 0.0
        self.disconnected = False
        self.phases: dict[str, PhaseSeqs] = {}
        self.phase: PhaseSeqs | None = None
        self._inflight: dict[int, int] = {}  # paho mid -> seq
        self._unstored: set[int] = set()  # published, no `stored` ack yet
        self._outbox_window = 0  # 0: do not wait for `stored`
        self._flooding = False
        self.ready: asyncio.Future[None] = loop.create_future()
        self._client = self._build_client(password)

    def _build_client(self, password: str) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.device_id,
                             protocol=mqtt.MQTTv5)
        client.username_pw_set(self.device_id, password)
        # paho queues beyond its own window; ours (INFLIGHT_WINDOW) is smaller
        # except in fixed-rate phases, where paho's queue is the device's buffer.
        client.max_inflight_messages_set(1000)
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

    def connect(self, host: str, port: int) -> None:
        """Open the TCP connection and send CONNECT; `ready` resolves after SUBACK."""
        self._client.connect(host, port, keepalive=KEEPALIVE_S)

    def disconnect(self) -> None:
        self._flooding = False
        self._client.disconnect()

    def keep_alive(self) -> None:
        """Let paho send pings and notice timeouts (call about once a second)."""
        self._client.loop_misc()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def begin_phase(self, name: str, outbox_window: int) -> None:
        """Start logging a new phase; outbox_window > 0 waits for `stored` acks."""
        self.phase = self.phases[name] = PhaseSeqs(self.seq, self.seq)
        self._unstored.clear()
        self._outbox_window = outbox_window
        self.acked = 0

    def stop_publishing(self) -> None:
        self._flooding = False

    def end_phase(self) -> None:
        """Close the phase's log; whatever is still unacknowledged is noted as such."""
        self._flooding = False
        if self.phase is not None:
            self.phase.end = self.seq
            self.phase.unacked.extend(sorted(self._inflight.values()))

    def flood(self) -> None:
        """Publish as fast as the broker acknowledges (and the outbox window allows)."""
        self._flooding = True
        self._pump()

    def publish_one(self) -> None:
        """Publish the next telemetry sample, stamped with the current time."""
        seq = self.seq
        self.seq += 1
        info = self._client.publish(self.topic, encode(telemetry(seq, time.time())), qos=QOS)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:  # not connected: paho keeps it for a reconnect
            logger.warning("%s could not publish seq %d: %s", self.device_id, seq,
                           mqtt.error_string(info.rc))
            if self.phase is not None:
                self.phase.unacked.append(seq)
            return
        self._inflight[info.mid] = seq
        if self._outbox_window:
            self._unstored.add(seq)

    def _pump(self) -> None:
        while (self._flooding and len(self._inflight) < INFLIGHT_WINDOW
               and (not self._outbox_window or len(self._unstored) < self._outbox_window)):
            self.publish_one()

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
        client.subscribe(self._stored_topic, qos=QOS)

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reason_codes: list[mqtt.ReasonCode], properties: object) -> None:
        refused = [code for code in reason_codes if code.is_failure]
        self._resolve(ConnectionError(f"broker refused the {self.device_id} stored-ack "
                                      f"subscription: {refused[0]}") if refused else None)

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return
        if reason_code.is_failure:
            logger.warning("broker refused %s seq %d: %s", self.device_id, seq, reason_code)
            if self.phase is not None:
                self.phase.unacked.append(seq)
            self._unstored.discard(seq)
        else:
            self.acked += 1
            self.last_ack_at = time.time()
        self._pump()

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        ack: StoredAck = decode(Family.STORED, bytes(message.payload))
        for low, high in ack.ranges:
            self._unstored.difference_update(range(low, high + 1))
        self._pump()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object,
                       reason_code: mqtt.ReasonCode, properties: object) -> None:
        if not self.ready.done():
            self._resolve(ConnectionError(f"{self.device_id} disconnected: {reason_code}"))
        elif self._flooding or self._inflight:
            self.disconnected = True
            logger.warning("%s lost its connection: %s", self.device_id, reason_code)

    def _resolve(self, error: Exception | None) -> None:
        if self.ready.done():
            return
        if error is None:
            self.ready.set_result(None)
        else:
            self.ready.set_exception(error)

"""Simulated printers for the ingest bench: one MQTT 5 connection per device.

Many devices share one asyncio loop, each an asyncio protocol on its own TCP
connection (mqtt_wire has the packets), so a generator process holds
hundreds of real connections and pushes tens of thousands of messages a
second. Every device logs in with its own credentials, so the broker's ACL
confines it exactly as it confines a real printer; it publishes QoS 1 and
waits for the broker's PUBACK like the agent does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from printfleet_protocol import Family, decode, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, PrinterState, StoredAck, Telemetry

from . import mqtt_wire as wire

logger = logging.getLogger(__name__)

QOS = 1
KEEPALIVE_S = 60
# QoS 1 publishes a device keeps waiting for the broker's PUBACK.
INFLIGHT_WINDOW = 10
SUBSCRIBE_PACKET_ID = 1


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
        self._topic_bytes = wire.encoded_topic(self.topic)
        self._stored_topic = device_topic(prefix, device_id, Family.STORED)
        self._password = password
        self._loop = loop
        self.seq = 0
        self.acked = 0  # broker PUBACKs in the current phase
        self.last_ack_at = 0.0
        self.disconnected = False
        self.phases: dict[str, PhaseSeqs] = {}
        self.phase: PhaseSeqs | None = None
        self._inflight: dict[int, int] = {}  # packet id -> seq, sent and not acknowledged
        # Beyond the broker's receive maximum publishes wait here, the
        # device's buffer in fixed-rate phases (as paho's queue is the agent's).
        self._queued: deque[tuple[int, bytes]] = deque()
        self._send_quota = 65535
        self._next_packet_id = SUBSCRIBE_PACKET_ID
        self._unstored: set[int] = set()  # published, no `stored` ack yet
        self._outbox_window = 0  # 0: do not wait for `stored`
        self._flooding = False
        self._transport: asyncio.Transport | None = None
        self._connected = False
        self._out: list[bytes] = []
        self._last_sent = 0.0
        self._buffer = bytearray()
        self._opening: asyncio.Task[None] | None = None
        self.ready: asyncio.Future[None] = loop.create_future()

    def connect(self, host: str, port: int) -> None:
        """Open the TCP connection and send CONNECT; `ready` resolves after SUBACK."""
        self._opening = self._loop.create_task(self._open(host, port))

    async def _open(self, host: str, port: int) -> None:
        try:
            await self._loop.create_connection(lambda: _DeviceProtocol(self), host, port)
        except OSError as error:
            self._resolve(ConnectionError(f"{self.device_id} cannot connect: {error}"))

    def disconnect(self) -> None:
        self._flooding = False
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(wire.DISCONNECT_PACKET)
            self._transport.close()

    def keep_alive(self) -> None:
        """Ping the broker when quiet for half the keepalive (call about once a second)."""
        if self._connected and time.monotonic() - self._last_sent > KEEPALIVE_S / 2:
            self._write(wire.PINGREQ)

    @property
    def inflight(self) -> int:
        return len(self._inflight) + len(self._queued)

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
            self.phase.unacked.extend(sorted([*self._inflight.values(),
                                              *(seq for seq, _ in self._queued)]))

    def flood(self) -> None:
        """Publish as fast as the broker acknowledges (and the outbox window allows)."""
        self._flooding = True
        self._pump()

    def publish_one(self) -> None:
        """Publish the next telemetry sample, stamped with the current time."""
        self._publish()
        self._flush()

    def _publish(self) -> None:
        seq = self.seq
        self.seq += 1
        if not self._connected:
            logger.warning("%s could not publish seq %d: not connected", self.device_id, seq)
            if self.phase is not None:
                self.phase.unacked.append(seq)
            return
        payload = encode(telemetry(seq, time.time()))
        if self._outbox_window:
            self._unstored.add(seq)
        if len(self._inflight) >= self._send_quota:
            self._queued.append((seq, payload))
        else:
            self._send_publish(seq, payload)

    def _send_publish(self, seq: int, payload: bytes) -> None:
        packet_id = self._allocate_packet_id()
        self._inflight[packet_id] = seq
        self._out.append(wire.publish_packet(self._topic_bytes, packet_id, payload))

    def _allocate_packet_id(self) -> int:
        while True:
            self._next_packet_id = self._next_packet_id % 65535 + 1
            if self._next_packet_id not in self._inflight:
                return self._next_packet_id

    def _pump(self) -> None:
        while self._queued and len(self._inflight) < self._send_quota:
            self._send_publish(*self._queued.popleft())
        while (self._flooding and self._connected and len(self._inflight) < INFLIGHT_WINDOW
               and (not self._outbox_window or len(self._unstored) < self._outbox_window)):
            self._publish()
        self._flush()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)
            self._last_sent = time.monotonic()

    def _flush(self) -> None:
        """Send what the last step queued in one write."""
        if self._out:
            data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
            self._out.clear()
            self._write(data)

    # Connection events, from _DeviceProtocol
    def _connection_made(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._write(wire.connect_packet(self.device_id, self.device_id, self._password,
                                        KEEPALIVE_S))

    def _data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            for first_byte, body in wire.split_packets(self._buffer):
                self._packet(first_byte, body)
        except (wire.ProtocolError, ValueError, IndexError) as error:
            logger.warning("%s got a packet it cannot read: %s", self.device_id, error)
            if self._transport is not None:
                self._transport.close()
        self._pump()

    def _connection_lost(self, error: Exception | None) -> None:
        was_connected, self._connected = self._connected, False
        self._transport = None
        if not self.ready.done():
            self._resolve(ConnectionError(f"{self.device_id} disconnected: {error}"))
        elif was_connected and (self._flooding or self._inflight):
            self.disconnected = True
            logger.warning("%s lost its connection: %s", self.device_id, error)

    def _packet(self, first_byte: int, body: bytes) -> None:
        kind = first_byte & 0xF0
        if kind == wire.PUBACK:
            self._on_puback(*wire.puback_result(body))
        elif kind == wire.PUBLISH:
            topic, packet_id, payload = wire.incoming_publish(first_byte, body)
            if packet_id is not None:
                self._out.append(wire.puback_packet(packet_id))
            if topic == self._stored_topic:
                self._on_stored(payload)
        elif kind == wire.CONNACK:
            reason, self._send_quota = wire.connack_result(body)
            if reason >= 0x80:
                self._resolve(ConnectionError(f"broker refused {self.device_id}: "
                                              f"reason 0x{reason:02x}"))
                return
            self._connected = True
            self._write(wire.subscribe_packet(SUBSCRIBE_PACKET_ID, self._stored_topic, QOS))
        elif kind == wire.SUBACK:
            refused = [code for code in wire.suback_codes(body) if code >= 0x80]
            self._resolve(ConnectionError(f"broker refused the {self.device_id} stored-ack "
                                          f"subscription: 0x{refused[0]:02x}")
                          if refused else None)
        elif kind == wire.DISCONNECT:
            logger.warning("%s was disconnected by the broker: %r", self.device_id, body[:1])

    def _on_puback(self, packet_id: int, reason: int) -> None:
        seq = self._inflight.pop(packet_id, None)
        if seq is None:
            return
        if reason >= 0x80:
            logger.warning("broker refused %s seq %d: 0x%02x", self.device_id, seq, reason)
            if self.phase is not None:
                self.phase.unacked.append(seq)
            self._unstored.discard(seq)
        else:
            self.acked += 1
            self.last_ack_at = time.time()

    def _on_stored(self, payload: bytes) -> None:
        ack: StoredAck = decode(Family.STORED, payload)
        for low, high in ack.ranges:
            self._unstored.difference_update(range(low, high + 1))

    def _resolve(self, error: Exception | None) -> None:
        if self.ready.done():
            return
        if error is None:
            self.ready.set_result(None)
        else:
            self.ready.set_exception(error)


class _DeviceProtocol(asyncio.Protocol):
    """Hands one device's connection events to it."""

    def __init__(self, device: SimulatedDevice) -> None:
        self._device = device

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._device._connection_made(transport)  # noqa: SLF001 - the device's own protocol

    def data_received(self, data: bytes) -> None:
        self._device._data_received(data)  # noqa: SLF001

    def connection_lost(self, exc: Exception | None) -> None:
        self._device._connection_lost(exc)  # noqa: SLF001

"""One printer's agent: reads the printer, publishes what it sees, runs commands."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from printfleet_protocol.payloads import (
    SCHEMA_VERSION,
    Facts,
    Firmware,
    Heartbeat,
    Heater,
    JobEvent,
    Telemetry,
)

from . import __version__, system_facts
from .commands import CommandHandler
from .link import MqttLink
from .printers import PrinterBackend
from .printers.base import JobEventRecord, PrinterSnapshot
from .sequence import SequenceCounter

logger = logging.getLogger(__name__)


class Agent:
    """Ticks the printer and publishes telemetry, job events, heartbeats and facts.

    The printer backend is only touched under one lock, because commands
    arrive on the MQTT thread while ticks run on the agent's own thread.
    """

    def __init__(self, device_id: str, backend: PrinterBackend, link_factory: Callable[..., MqttLink],
                 sequence: SequenceCounter, telemetry_interval_s: float,
                 heartbeat_interval_s: float, clock: Callable[[], float] = time.time) -> None:
        self.device_id = device_id
        self.backend = backend
        self._sequence = sequence
        self._telemetry_interval_s = telemetry_interval_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._clock = clock
        self._lock = threading.RLock()
        self._started_at = clock()
        self._next_heartbeat = 0.0
        self.commands = CommandHandler(backend, self._publish_ack, sequence.next, clock)
        self.link = link_factory(on_command=self._on_command, on_connected=self._on_connected)

    def start(self) -> None:
        self._sequence.open()
        with self._lock:
            self.backend.connect()
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        with self._lock:
            self.backend.disconnect()
        self._sequence.close()

    def tick(self) -> None:
        """Poll the printer once and publish what is due."""
        now = self._clock()
        with self._lock:
            snapshot = self.backend.poll(now)
            events = self.backend.drain_events()
        for event in events:
            self.link.publish(self._job_event(event))
        self.link.publish(self._telemetry(now, snapshot))
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self._heartbeat_interval_s
            self.link.publish(Heartbeat(v=SCHEMA_VERSION, ts=now, seq=self._sequence.next(),
                                        interval_s=self._heartbeat_interval_s,
                                        uptime_s=round(now - self._started_at, 1)))

    def run(self, stop: threading.Event) -> None:
        """Tick at the telemetry interval until stop is set."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:
                logger.exception("%s: tick failed", self.device_id)
            stop.wait(max(0.0, self._telemetry_interval_s - (time.monotonic() - started)))

    def facts(self) -> Facts:
        with self._lock:
            printer = self.backend.facts()
        return Facts(v=SCHEMA_VERSION,
            ts=self._clock(), seq=self._sequence.next(), hostname=system_facts.hostname(),
            agent_version=__version__, local_ip=system_facts.local_ip(),
            wifi_ssid=system_facts.wifi_ssid(), pi_model=system_facts.pi_model(),
            os=system_facts.os_description(),
            firmware=Firmware(printer.firmware_name, printer.firmware_version),
            bed_mesh=printer.bed_mesh)

    def _on_connected(self) -> None:
        self.link.publish(self.facts())
        self._next_heartbeat = 0.0

    def _on_command(self, payload: bytes) -> None:
        with self._lock:
            self.commands.handle(payload)

    def _publish_ack(self, ack: object) -> None:
        self.link.publish(ack)  # type: ignore[arg-type]

    def _telemetry(self, now: float, snapshot: PrinterSnapshot) -> Telemetry:
        return Telemetry(v=SCHEMA_VERSION,
            ts=now, seq=self._sequence.next(), state=snapshot.state,
            heaters={name: Heater(h.actual, h.target) for name, h in snapshot.heaters.items()},
            fans_pct=dict(snapshot.fans_pct), z_mm=snapshot.z_mm,
            progress_pct=snapshot.progress_pct, time_left_s=snapshot.time_left_s,
            job_id=snapshot.job_id)

    def _job_event(self, event: JobEventRecord) -> JobEvent:
        return JobEvent(v=SCHEMA_VERSION,
            ts=event.ts, seq=self._sequence.next(), job_id=event.job_id, event=event.event,
            file_name=event.file_name, origin=event.origin, progress_pct=event.progress_pct,
            time_left_s=event.time_left_s, reason=event.reason,
            filament_used_mm=event.filament_used_mm,
            command_transaction=event.command_transaction)

"""Build protocol payloads from what the printer and the machine report."""

from __future__ import annotations

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
from .printers.base import JobEventRecord, PrinterFacts, PrinterSnapshot


def telemetry(seq: int, now: float, snapshot: PrinterSnapshot) -> Telemetry:
    return Telemetry(
        v=SCHEMA_VERSION, ts=now, seq=seq, state=snapshot.state,
        heaters={name: Heater(h.actual, h.target) for name, h in snapshot.heaters.items()},
        fans_pct=dict(snapshot.fans_pct), z_mm=snapshot.z_mm,
        progress_pct=snapshot.progress_pct, time_left_s=snapshot.time_left_s,
        job_id=snapshot.job_id)


def job_event(seq: int, event: JobEventRecord) -> JobEvent:
    return JobEvent(
        v=SCHEMA_VERSION, ts=event.ts, seq=seq, job_id=event.job_id, event=event.event,
        file_name=event.file_name, origin=event.origin, progress_pct=event.progress_pct,
        time_left_s=event.time_left_s, reason=event.reason,
        filament_used_mm=event.filament_used_mm, command_transaction=event.command_transaction,
        filament_used_g=event.filament_used_g, slicer=event.slicer,
        slicer_version=event.slicer_version)


def heartbeat(seq: int, now: float, interval_s: float, uptime_s: float, outbox_depth: int,
              thinned: int, undeliverable: int) -> Heartbeat:
    return Heartbeat(v=SCHEMA_VERSION, ts=now, seq=seq, interval_s=interval_s,
                     uptime_s=round(max(0.0, uptime_s), 1), outbox_depth=outbox_depth,
                     telemetry_thinned_total=thinned, undeliverable_total=undeliverable)


def facts(seq: int, now: float, printer: PrinterFacts) -> Facts:
    return Facts(
        v=SCHEMA_VERSION, ts=now, seq=seq, hostname=system_facts.hostname(),
        agent_version=__version__, local_ip=system_facts.local_ip(),
        wifi_ssid=system_facts.wifi_ssid(), pi_model=system_facts.pi_model(),
        os=system_facts.os_description(),
        firmware=Firmware(printer.firmware_name, printer.firmware_version),
        octoprint=printer.octoprint, bed_mesh=printer.bed_mesh)

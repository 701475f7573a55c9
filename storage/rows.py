"""Turn accepted messages into per-table rows; shared by every backend."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from printfleet_protocol import Family
from printfleet_protocol.payloads import PresenceStatus

from .interface import Accepted
from .rollups import HEATER_COLUMNS, heater_values

# Column order of each time-series table, as the backends insert them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "telemetry": ("device_id", "seq", "ts", "received_at", "printer_state", "heaters_json",
                  "fans_json", "z_mm", "progress_pct", "time_left_s", "job_id")
                 + HEATER_COLUMNS,
    "job_events": ("device_id", "seq", "ts", "received_at", "job_id", "event", "file_name",
                   "origin", "progress_pct", "time_left_s", "reason", "filament_used_mm",
                   "command_transaction", "filament_used_g", "slicer", "slicer_version"),
    "presence_events": ("device_id", "seq", "ts", "received_at", "status", "source"),
    "heartbeats": ("device_id", "seq", "ts", "received_at", "interval_s", "uptime_s",
                   "outbox_depth", "telemetry_thinned_total", "undeliverable_total"),
    "downtime_reports": ("device_id", "seq", "ts", "received_at", "started_at", "ended_at",
                         "cause"),
    "device_facts": ("device_id", "seq", "ts", "received_at", "facts_json"),
    "command_acks": ("device_id", "seq", "ts", "received_at", "transaction_id", "status",
                     "data_json", "error"),
}

TABLE_BY_FAMILY = {
    Family.TELEMETRY: "telemetry",
    Family.JOB: "job_events",
    Family.PRESENCE: "presence_events",
    Family.HEARTBEAT: "heartbeats",
    Family.DOWNTIME: "downtime_reports",
    Family.FACTS: "device_facts",
    Family.ACK: "command_acks",
}


# Compact JSON with sorted keys, as json.dumps(..., separators=(",", ":"),
# sort_keys=True) writes it (but UTF-8 rather than \u escapes): ten times faster.
_encoder = msgspec.json.Encoder(order="sorted")


def compact_json(value: Any) -> str:
    """A struct, dict or list as compact JSON text with sorted keys."""
    return _encoder.encode(value).decode()


def _row(item: Accepted) -> tuple:
    m = item.message
    head = (item.device_id, m.seq, m.ts, item.received_at)
    match item.family:
        case Family.TELEMETRY:
            return head + (str(m.state), compact_json(m.heaters), compact_json(m.fans_pct),
                           m.z_mm, m.progress_pct, m.time_left_s, m.job_id) + heater_values(m.heaters)
        case Family.JOB:
            return head + (m.job_id, str(m.event), m.file_name, str(m.origin), m.progress_pct,
                           m.time_left_s, m.reason, m.filament_used_mm, m.command_transaction,
                           m.filament_used_g, m.slicer, m.slicer_version)
        case Family.PRESENCE:
            return head + (str(m.status), "device")
        case Family.HEARTBEAT:
            return head + (m.interval_s, m.uptime_s, m.outbox_depth, m.telemetry_thinned_total,
                           m.undeliverable_total)
        case Family.DOWNTIME:
            return head + (m.started_at, m.ended_at, str(m.cause))
        case Family.FACTS:
            fields = msgspec.structs.asdict(m)
            for envelope_field in ("v", "ts", "seq"):
                fields.pop(envelope_field)
            return head + (compact_json(fields),)
        case Family.ACK:
            data = None if m.data is None else compact_json(m.data)
            return head + (m.transaction, str(m.status), data, m.error)
    raise ValueError(f"no table stores {item.family}")


@dataclass
class DeviceUpdate:
    """The newest facts a batch carries about one device, for device_state."""

    last_seen_at: float = 0.0
    last_seq: int = -1
    telemetry: Any = None
    job_event: Any = None
    presence: Any = None
    presence_received_at: float = 0.0
    # The latest 'offline' in the batch, even if an 'online' followed it:
    # device_state.last_offline_at, for the offline-during-a-print notification.
    went_offline_at: float | None = None
    heartbeat_interval_s: float | None = None


@dataclass
class SplitBatch:
    rows: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    devices: dict[str, DeviceUpdate] = field(default_factory=dict)
    unstored: int = 0  # families with no table yet (camera frames)


def split_batch(accepted: Sequence[Accepted]) -> SplitBatch:
    """Group rows by table and keep the newest state per device."""
    split = SplitBatch()
    for item in accepted:
        table = TABLE_BY_FAMILY.get(item.family)
        if table is None:
            split.unstored += 1
            continue
        split.rows[table].append(_row(item))
        _merge_device_update(split.devices.setdefault(item.device_id, DeviceUpdate()), item)
    return split


def _merge_device_update(update: DeviceUpdate, item: Accepted) -> None:
    m = item.message
    update.last_seen_at = max(update.last_seen_at, item.received_at)
    update.last_seq = max(update.last_seq, m.seq)
    if item.family is Family.TELEMETRY and (update.telemetry is None or m.ts >= update.telemetry.ts):
        update.telemetry = m
    elif item.family is Family.JOB and (update.job_event is None or m.ts >= update.job_event.ts):
        update.job_event = m
    elif item.family is Family.PRESENCE and item.received_at >= update.presence_received_at:
        # Arrival order, not device time: a last will is written at connect
        # time but published by the broker when the connection dies.
        update.presence = m
        update.presence_received_at = item.received_at
    elif item.family is Family.HEARTBEAT:
        update.heartbeat_interval_s = m.interval_s
    if item.family is Family.PRESENCE and m.status == PresenceStatus.OFFLINE:
        update.went_offline_at = max(update.went_offline_at or 0.0, item.received_at)

"""Latest state per device, updated by each ingest batch with SQLite's "newer wins" rules.

The statements are the SQLite backend's, in the same order, each made
set-based: one UPDATE ... FROM unnest(arrays) per rule instead of one per
device, so a batch of 500 devices costs nine statements, not 3,000. The
arrays travel in binary (%b): psycopg's text form of a 500-string array
takes milliseconds to escape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncCursor

from ..rows import DeviceUpdate, compact_json
from .values import array_of, text_safe

_ENSURE = """INSERT INTO device_state (device_id) SELECT d FROM unnest(%b::text[]) AS d
    ORDER BY d ON CONFLICT (device_id) DO NOTHING"""
# Rows are locked in device_id order, the order every writer and the
# watchdog use, so batches touching the same devices never deadlock.
_LOCK = """SELECT device_id FROM device_state WHERE device_id = ANY(%b::text[])
    ORDER BY device_id FOR UPDATE"""
_SEEN = """UPDATE device_state s SET
    last_seen_at = GREATEST(COALESCE(s.last_seen_at, 0), u.seen_at),
    last_seq = GREATEST(COALESCE(s.last_seq, -1), u.seq)
    FROM unnest(%b::text[], %b::float8[], %b::bigint[]) AS u(device_id, seen_at, seq)
    WHERE s.device_id = u.device_id"""
# Traffic from a device the watchdog had given up on (or never heard of)
# proves it is online; an explicit offline or stopped from it is kept.
_REVIVE = """UPDATE device_state s SET presence = 'online', presence_source = 'traffic',
    presence_changed_at = u.seen_at
    FROM unnest(%b::text[], %b::float8[]) AS u(device_id, seen_at)
    WHERE s.device_id = u.device_id AND s.presence = 'offline'
    AND (s.presence_source IS NULL OR s.presence_source = 'watchdog')"""
_TELEMETRY = """UPDATE device_state s SET printer_state = u.printer_state,
    heaters_json = u.heaters_json, fans_json = u.fans_json, z_mm = u.z_mm,
    progress_pct = u.progress_pct, time_left_s = u.time_left_s, job_id = u.job_id,
    telemetry_ts = u.ts
    FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::float8[], %b::float8[],
                %b::float8[], %b::text[], %b::float8[])
        AS u(device_id, printer_state, heaters_json, fans_json, z_mm, progress_pct,
             time_left_s, job_id, ts)
    WHERE s.device_id = u.device_id AND COALESCE(s.telemetry_ts, 0) <= u.ts"""
_JOB = """UPDATE device_state s SET job_file_name = u.file_name, job_status = u.status,
    job_event_ts = u.ts
    FROM unnest(%b::text[], %b::text[], %b::text[], %b::float8[])
        AS u(device_id, file_name, status, ts)
    WHERE s.device_id = u.device_id AND COALESCE(s.job_event_ts, 0) <= u.ts"""
_PRESENCE = """UPDATE device_state s SET presence = u.status, presence_source = 'device',
    presence_changed_at = u.received_at
    FROM unnest(%b::text[], %b::text[], %b::float8[]) AS u(device_id, status, received_at)
    WHERE s.device_id = u.device_id AND COALESCE(s.presence_changed_at, 0) <= u.received_at"""
_WENT_OFFLINE = """UPDATE device_state s SET
    last_offline_at = GREATEST(COALESCE(s.last_offline_at, 0), u.went_offline_at)
    FROM unnest(%b::text[], %b::float8[]) AS u(device_id, went_offline_at)
    WHERE s.device_id = u.device_id"""
_HEARTBEAT = """UPDATE device_state s SET heartbeat_interval_s = u.interval_s
    FROM unnest(%b::text[], %b::float8[]) AS u(device_id, interval_s)
    WHERE s.device_id = u.device_id"""


async def update_device_state(cursor: AsyncCursor[Any], devices: dict[str, DeviceUpdate]) -> None:
    """Apply a batch's newest facts per device, in one transaction with its rows."""
    ids = sorted(devices)
    updates = [(d, devices[d]) for d in ids]
    await cursor.execute(_ENSURE, (ids,))
    await cursor.execute(_LOCK, (ids,))
    await _apply(cursor, _SEEN, [(d, u.last_seen_at, u.last_seq) for d, u in updates])
    await _apply(cursor, _REVIVE, [(d, u.last_seen_at) for d, u in updates])
    await _apply(cursor, _TELEMETRY, [_telemetry(d, u) for d, u in updates
                                      if u.telemetry is not None])
    await _apply(cursor, _JOB, [
        (d, u.job_event.file_name, str(u.job_event.event), u.job_event.ts)
        for d, u in updates if u.job_event is not None])
    await _apply(cursor, _PRESENCE, [
        (d, str(u.presence.status), u.presence_received_at)
        for d, u in updates if u.presence is not None])
    await _apply(cursor, _WENT_OFFLINE, [
        (d, u.went_offline_at) for d, u in updates if u.went_offline_at is not None])
    await _apply(cursor, _HEARTBEAT, [
        (d, u.heartbeat_interval_s) for d, u in updates if u.heartbeat_interval_s is not None])


async def _apply(cursor: AsyncCursor[Any], statement: str, rows: Sequence[tuple]) -> None:
    """Run a set-based statement with one array per column of rows."""
    if rows:
        columns = zip(*(text_safe(row) for row in rows), strict=True)
        await cursor.execute(statement, [array_of(list(column)) for column in columns])


def _telemetry(device_id: str, update: DeviceUpdate) -> tuple:
    t = update.telemetry
    # The same JSON text the SQLite backend and the telemetry rows hold.
    heaters, fans = compact_json(t.heaters), compact_json(t.fans_pct)
    return (device_id, str(t.state), heaters, fans, t.z_mm, t.progress_pct, t.time_left_s,
            t.job_id, t.ts)

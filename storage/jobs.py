"""Print-job records rebuilt from job events, whatever order or how often they arrived.

A pure function of the event set: events are deduplicated by seq and
ordered by the device's clock (then seq), so late, shuffled or repeated
deliveries give the same record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TERMINAL = {"finished", "failed", "cancelled"}


@dataclass(frozen=True, slots=True)
class JobRecord:
    device_id: str
    job_id: str
    file_name: str
    origin: str
    started_at: float
    ended_at: float | None
    outcome: str | None  # finished | failed | cancelled; None while running
    reason: str | None
    pause_count: int
    paused_s: float
    progress_pct: float | None  # the highest reached
    time_left_s: float | None  # at the last report
    filament_used_mm: float | None  # at the last report up to the end
    command_transaction: str | None
    filament_used_g: float | None = None  # reported with filament_used_mm
    slicer: str | None = None
    slicer_version: str | None = None
    started_by_user_id: int | None = None  # the user whose command started it


def build_job_records(events: Iterable[Mapping[str, Any]],
                      issuers: Mapping[str, int | None] | None = None) -> list[JobRecord]:
    """Fold job-event rows (as stored) into one record per (device, job), oldest first.

    `issuers` maps command transactions to the users who issued them.
    """
    unique = {(e["device_id"], e["seq"]): e for e in events}
    by_job: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for event in unique.values():
        by_job[(event["device_id"], event["job_id"])].append(event)
    records = [_fold(sorted(group, key=lambda e: (e["ts"], e["seq"])), issuers or {})
               for group in by_job.values()]
    return sorted(records, key=lambda r: (r.started_at, r.device_id, r.job_id))


def _fold(events: list[Mapping[str, Any]], issuers: Mapping[str, int | None]) -> JobRecord:
    first = events[0]
    started = next((e for e in events if e["event"] == "started"), first)
    end = next((e for e in events if e["event"] in TERMINAL), None)
    relevant = events if end is None else [e for e in events if e["ts"] <= end["ts"]]
    pauses, paused_s = _pauses(relevant, end)
    progress = [e["progress_pct"] for e in relevant if e.get("progress_pct") is not None]
    last_time_left = next((e["time_left_s"] for e in reversed(relevant)
                           if e.get("time_left_s") is not None), None)
    none: Mapping[str, Any] = {}
    filament = next((e for e in reversed(relevant) if e.get("filament_used_mm") is not None), none)
    transaction = next((e["command_transaction"] for e in events
                        if e.get("command_transaction")), None)
    sliced = next((e for e in events if e.get("slicer")), none)
    return JobRecord(
        device_id=first["device_id"], job_id=first["job_id"], file_name=started["file_name"],
        origin=started["origin"], started_at=started["ts"],
        ended_at=None if end is None else end["ts"],
        outcome=None if end is None else end["event"],
        reason=None if end is None else end.get("reason"), pause_count=pauses,
        paused_s=round(paused_s, 3), progress_pct=max(progress) if progress else None,
        time_left_s=last_time_left, filament_used_mm=filament.get("filament_used_mm"),
        command_transaction=transaction, filament_used_g=filament.get("filament_used_g"),
        slicer=sliced.get("slicer"), slicer_version=sliced.get("slicer_version"),
        started_by_user_id=issuers.get(transaction) if transaction else None)


def _pauses(events: list[Mapping[str, Any]], end: Mapping[str, Any] | None) -> tuple[int, float]:
    """Count pauses and the time spent paused (a pause open at the end lasts until it)."""
    count, total, paused_at = 0, 0.0, None
    for event in events:
        if event["event"] == "paused" and paused_at is None:
            count += 1
            paused_at = event["ts"]
        elif event["event"] in ("resumed", *TERMINAL) and paused_at is not None:
            total += event["ts"] - paused_at
            paused_at = None
    return count, total

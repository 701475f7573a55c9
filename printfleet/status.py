"""`printfleet status`: the fleet at a glance for operators."""

from __future__ import annotations

import json
import time
from typing import Any

from fleet.metrics import read_snapshots
from storage import SyncStore

from .settings import Settings

WORKER_STALE_S = 10.0


def collect(settings: Settings, store: SyncStore, now: float | None = None) -> dict[str, Any]:
    """Gather printers, workers and rejects into one document."""
    now = time.time() if now is None else now
    printers = [{
        "device_id": p.device_id, "name": p.name, "presence": p.presence,
        "state": p.printer_state, "progress_pct": p.progress_pct, "job": p.job_file_name,
        "last_message_age_s": None if p.last_seen_at is None else round(now - p.last_seen_at, 1),
    } for p in store.fleet_overview()]
    workers = []
    for snapshot in read_snapshots(settings.data_path / "run"):
        age = now - snapshot.get("written_at", 0)
        healthy = snapshot.get("connected") and age < WORKER_STALE_S
        workers.append({**snapshot, "age_s": round(age, 1), "healthy": bool(healthy)})
    return {
        "connected_devices": sum(1 for p in printers if p["presence"] == "online"),
        "printers": printers,
        "workers": workers,
        "rejects_by_reason": store.reject_counts(),
    }


def render_text(report: dict[str, Any]) -> str:
    """Format the report as a table a person can scan."""
    lines = [f"Connected devices: {report['connected_devices']} of {len(report['printers'])}"]
    lines.append(f"{'PRINTER':<24} {'DEVICE':<20} {'PRESENCE':<9} {'STATE':<12} "
                 f"{'PROGRESS':>8}  LAST MESSAGE")
    for p in report["printers"]:
        progress = "" if p["progress_pct"] is None else f"{p['progress_pct']:.0f}%"
        age = "never" if p["last_message_age_s"] is None else f"{p['last_message_age_s']:.0f}s ago"
        lines.append(f"{p['name'][:24]:<24} {p['device_id'][:20]:<20} {p['presence']:<9} "
                     f"{(p['state'] or '-'):<12} {progress:>8}  {age}")
    lines.append("")
    if not report["workers"]:
        lines.append("Workers: none has reported (is `printfleet up` or `printfleet worker` running?)")
    for w in report["workers"]:
        health = "healthy" if w["healthy"] else "NOT HEALTHY"
        lines.append(f"Worker {w['worker_id']}: {health}, {w['stored']} stored, "
                     f"{w['duplicates']} duplicates, {w.get('not_kept', 0)} not kept "
                     f"(downtime logging off), {sum(w['rejects_by_reason'].values())} "
                     f"rejected, last report {w['age_s']:.0f}s ago")
    rejects = report["rejects_by_reason"]
    if rejects:
        lines.append("Rejected messages: " + ", ".join(f"{k} {v}" for k, v in rejects.items()))
    return "\n".join(lines)


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True)

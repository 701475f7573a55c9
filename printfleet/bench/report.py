"""Turn the bench's measurements into its one JSON object: figures, ratios, targets."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .measuring import PhaseStats
from .phases import PhaseResult
from .verify import Verification

# From the issue; reported, never asserted.
POSTGRES_COMMITTED_MSGS_PER_S = 20_000
POSTGRES_RATIO_TO_BARE_DRAIN = 0.5
SQLITE_RATIO_TO_POSTGRES = 0.8
P99_MS = 250.0
TARGET_LOAD_MSGS_PER_S = 1_000  # 1,000 printers at 1 Hz


@dataclass(frozen=True)
class Measurements:
    backend: str
    devices: int
    seconds: float
    generators: int
    workers: int
    drain: PhaseResult
    flood: PhaseResult
    steady: PhaseResult
    worker_phases: dict[str, PhaseStats]
    outbox_window: int
    worker_rss_idle_mb: float
    worker_rss_peak_mb: float
    check: Verification
    copy_rows: int
    copy_rows_per_s: float
    provisioning_s: float


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def build_report(m: Measurements) -> dict[str, Any]:
    committed = m.flood.consumed_per_s
    drain = m.drain.consumed_per_s
    latencies = m.worker_phases[m.steady.name].latencies_ms
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    ratio_drain = _ratio(committed, drain)
    return {
        "backend": m.backend,
        "devices": m.devices,
        "seconds": m.seconds,
        "bare_drain_msgs_per_s": round(drain),
        "copy_rows_per_s": round(m.copy_rows_per_s),
        "committed_msgs_per_s": round(committed),
        "ratio_to_bare_drain": ratio_drain,
        "ratio_to_copy": _ratio(committed, m.copy_rows_per_s),
        "latency_ms_p50": _ms(p50),
        "latency_ms_p99": _ms(p99),
        "lost": m.check.lost,
        "duplicated": m.check.duplicated,
        "worker_rss_mb": round(m.worker_rss_peak_mb, 1),
        "details": _details(m, latencies),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "targets": _targets(m.backend, committed, ratio_drain, p99, m.steady, m.check),
    }


def _details(m: Measurements, latencies: Sequence[float]) -> dict[str, Any]:
    flood_stats = m.worker_phases[m.flood.name]
    return {
        "connections": {"devices": m.devices, "generator_processes": m.generators,
                        "worker_processes": m.workers},
        "bare_drain": {"published": m.drain.published, "received": m.drain.consumed,
                       "offered_msgs_per_s": round(m.drain.offered_per_s),
                       "cpu_percent": m.drain.cpu_percent},
        "max_rate": {"published": m.flood.published, "committed": m.flood.consumed,
                     "offered_msgs_per_s": round(m.flood.offered_per_s),
                     "outbox_window_per_device": m.outbox_window,
                     "batches": flood_stats.batches,
                     "mean_batch_rows": round(m.flood.consumed / max(1, flood_stats.batches), 1),
                     "cpu_percent": m.flood.cpu_percent},
        "latency": {"rate_msgs_per_s": round(m.steady.offered_per_s),
                    "committed_msgs_per_s": round(m.steady.consumed_per_s),
                    "samples": len(latencies), "p90_ms": _ms(percentile(latencies, 0.90)),
                    "max_ms": _ms(max(latencies, default=None)),
                    "cpu_percent": m.steady.cpu_percent},
        "storage_check": {"acknowledged": m.check.expected, "stored": m.check.stored,
                          "stored_but_not_published": m.check.unexpected,
                          "unacknowledged_by_broker": m.flood.unacked + m.steady.unacked,
                          "devices_disconnected": max(m.flood.disconnected,
                                                      m.steady.disconnected),
                          "redeliveries_ignored": sum(p.duplicates
                                                      for p in m.worker_phases.values()),
                          "rejected": sum(p.rejected for p in m.worker_phases.values())},
        "copy_rows": m.copy_rows,
        "worker_rss_idle_mb": round(m.worker_rss_idle_mb, 1),
        "provisioning_s": round(m.provisioning_s, 2),
    }


def _targets(backend: str, committed: float, ratio_drain: float | None, p99: float | None,
             steady: PhaseResult, check: Verification) -> dict[str, Any]:
    postgres = backend == "postgres"
    other_backend = "measured on PostgreSQL only (run with --backend postgres)"
    at_load = steady.offered_per_s >= TARGET_LOAD_MSGS_PER_S
    return {
        "postgres_committed_msgs_per_s": _target(
            f">= {POSTGRES_COMMITTED_MSGS_PER_S}", round(committed),
            committed >= POSTGRES_COMMITTED_MSGS_PER_S if postgres else None,
            None if postgres else other_backend),
        "postgres_ratio_to_bare_drain": _target(
            f">= {POSTGRES_RATIO_TO_BARE_DRAIN}", ratio_drain,
            (ratio_drain or 0) >= POSTGRES_RATIO_TO_BARE_DRAIN if postgres else None,
            None if postgres else other_backend),
        "sqlite_ratio_to_postgres": _target(
            f">= {SQLITE_RATIO_TO_POSTGRES}", None, None,
            "needs both backends: compare committed_msgs_per_s of a --backend sqlite and a "
            "--backend postgres run on the same machine"),
        "latency_ms_p99": _target(
            f"<= {P99_MS:g} at >= {TARGET_LOAD_MSGS_PER_S} msg/s", _ms(p99),
            (p99 is not None and p99 <= P99_MS) if at_load else None,
            None if at_load else f"measured at {steady.offered_per_s:.0f} msg/s, below the "
            f"target load of {TARGET_LOAD_MSGS_PER_S} printers at 1 Hz"),
        "lost": _target("== 0", check.lost, check.lost == 0, None),
    }


def _target(target: str, value: object, met: bool | None, note: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"target": target, "value": value, "met": met}
    if note:
        entry["note"] = note
    return entry


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator > 0 else None


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

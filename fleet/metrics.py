"""Counters a fleet worker keeps about itself: for `printfleet status` and /metrics."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from storage import BackendUnavailable, BatchResult


@dataclass
class WorkerMetrics:
    worker_id: str
    started_at: float = field(default_factory=time.time)
    connected: bool = False
    messages_received: int = 0
    stored: int = 0
    duplicates: int = 0
    # Presence events and downtime reports of printers with downtime logging
    # off: acknowledged, deliberately not stored (the privacy policy's promise).
    not_kept: int = 0
    batches: int = 0
    last_batch_size: int = 0
    last_batch_s: float = 0.0
    last_commit_at: float | None = None
    rejects_by_reason: Counter[str] = field(default_factory=Counter)
    batch_rows_sum: int = 0
    commit_seconds_sum: float = 0.0
    # Lag: from the device's clock to the commit, over every stored message.
    lag_seconds_sum: float = 0.0
    lag_count: int = 0
    last_batch_max_lag_s: float = 0.0
    online_devices: int = 0
    # Messages received and not yet acknowledged (waiting for their commit);
    # the broker's receive-maximum bounds them, so they bound memory too.
    in_flight: int = 0
    in_flight_peak: int = 0
    # False from a write that found the database unreachable to the next commit.
    store_available: bool = True
    write_errors: int = 0

    def message_in(self) -> None:
        self.messages_received += 1
        self.in_flight += 1
        self.in_flight_peak = max(self.in_flight_peak, self.in_flight)

    def message_done(self) -> None:
        self.in_flight -= 1

    def record_write_error(self, error: Exception) -> None:
        self.write_errors += 1
        if isinstance(error, BackendUnavailable):
            self.store_available = False

    def record_batch(self, result: BatchResult, size: int, seconds: float) -> None:
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.not_kept += result.not_kept
        self.batches += 1
        self.batch_rows_sum += size
        self.commit_seconds_sum += seconds
        self.last_batch_size = size
        self.last_batch_s = seconds
        self.last_commit_at = time.time()
        self.store_available = True

    def record_lag(self, lags_s: list[float]) -> None:
        if lags_s:
            self.lag_seconds_sum += sum(lags_s)
            self.lag_count += len(lags_s)
            self.last_batch_max_lag_s = max(lags_s)

    def snapshot(self) -> dict:
        values = asdict(self)
        values["rejects_by_reason"] = dict(self.rejects_by_reason)
        values["pid"] = os.getpid()
        values["written_at"] = time.time()
        return values


def write_snapshot(metrics: WorkerMetrics, directory: Path) -> Path:
    """Atomically write the worker's counters where `printfleet status` reads them."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"worker-{metrics.worker_id}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(metrics.snapshot()), encoding="utf-8")
    os.replace(temporary, path)
    return path


def remove_snapshot(metrics: WorkerMetrics, directory: Path) -> None:
    """Forget a worker that stopped cleanly."""
    (directory / f"worker-{metrics.worker_id}.json").unlink(missing_ok=True)


def read_snapshots(directory: Path) -> list[dict]:
    """Read every worker's last written counters."""
    snapshots = []
    for path in sorted(directory.glob("worker-*.json")):
        try:
            snapshots.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return snapshots

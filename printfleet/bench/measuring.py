"""An IngestStore that forwards to the real one and notes when each batch committed.

It wraps whatever ``storage.open_ingest_store`` built, so the worker runs
its real write path on the configured backend. Commit time is taken the
moment the backend's ``write_batch`` returns, which is after its transaction
committed and before the worker acknowledges anything to the broker, so
``commit time - ts`` is the device-publish-to-durable latency.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from storage import Accepted, BatchResult, IngestStore, Rejected


@dataclass
class PhaseStats:
    """Commits during one phase of the bench."""

    name: str
    record_latency: bool = False
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    first_commit_at: float = 0.0
    last_commit_at: float = 0.0
    # Milliseconds from each message's device timestamp to its commit; kept
    # only where asked (the fixed-rate phase), as 8 bytes a message.
    latencies_ms: array = field(default_factory=lambda: array("d"))

    def record(self, result: BatchResult, accepted: Sequence[Accepted], committed_at: float) -> None:
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        self.batches += 1
        self.first_commit_at = self.first_commit_at or committed_at
        self.last_commit_at = committed_at
        if self.record_latency:
            self.latencies_ms.extend((committed_at - item.message.ts) * 1000.0 for item in accepted)


def merge_phases(per_worker: list[dict[str, PhaseStats]]) -> dict[str, PhaseStats]:
    """Add up several workers' commits, phase by phase."""
    merged: dict[str, PhaseStats] = {}
    for phases in per_worker:
        for name, stats in phases.items():
            total = merged.setdefault(name, PhaseStats(name, stats.record_latency))
            total.stored += stats.stored
            total.duplicates += stats.duplicates
            total.rejected += stats.rejected
            total.batches += stats.batches
            if stats.first_commit_at:
                total.first_commit_at = min(total.first_commit_at or stats.first_commit_at,
                                            stats.first_commit_at)
            total.last_commit_at = max(total.last_commit_at, stats.last_commit_at)
            total.latencies_ms.extend(stats.latencies_ms)
    return merged


class MeasuringIngestStore:
    """Forwards every IngestStore call; records commits per phase."""

    def __init__(self, inner: IngestStore) -> None:
        self._inner = inner
        self.phases: dict[str, PhaseStats] = {}
        self.current = PhaseStats("start")

    def begin_phase(self, name: str, record_latency: bool) -> None:
        self.current = self.phases[name] = PhaseStats(name, record_latency)

    async def start(self) -> None:
        await self._inner.start()

    async def stop(self) -> None:
        await self._inner.stop()

    async def write_batch(
        self, accepted: Sequence[Accepted], rejected: Sequence[Rejected]
    ) -> BatchResult:
        result = await self._inner.write_batch(accepted, rejected)
        self.current.record(result, accepted, time.time())
        return result

    async def count_online_devices(self) -> int:
        return await self._inner.count_online_devices()

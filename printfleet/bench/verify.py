"""Did every acknowledged message reach storage exactly once? Compare seqs per device."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage import SyncStore

from .devices import PhaseSeqs


@dataclass(frozen=True)
class Verification:
    expected: int  # acknowledged by the broker in the checked phases
    stored: int  # distinct seqs in storage
    lost: int  # expected, not stored
    duplicated: int  # rows beyond the first for one (device, seq)
    unexpected: int  # stored but never published while the worker consumed


def verify(store: SyncStore, published: dict[str, dict[str, PhaseSeqs]],
           phases: Sequence[str]) -> Verification:
    """Check the telemetry table against what each device published in `phases`."""
    expected = stored = lost = duplicated = unexpected = 0
    for device_id, device_phases in published.items():
        seqs = [row["seq"] for row in store.table_rows("telemetry", device_id)]
        present = set(seqs)
        sent: set[int] = set()
        acked: set[int] = set()
        for name in phases:
            phase = device_phases.get(name)
            if phase is not None:
                sent.update(range(phase.first, phase.end))
                acked.update(set(range(phase.first, phase.end)).difference(phase.unacked))
        expected += len(acked)
        stored += len(present)
        lost += len(acked - present)
        duplicated += len(seqs) - len(present)
        unexpected += len(present - sent)
    return Verification(expected, stored, lost, duplicated, unexpected)


def next_seqs(published: dict[str, dict[str, PhaseSeqs]]) -> dict[str, int]:
    """Each device's next unused seq."""
    return {device_id: max((p.end for p in phases.values()), default=0)
            for device_id, phases in published.items()}

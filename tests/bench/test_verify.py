"""The loss check and the percentile, on hand-made data."""

from __future__ import annotations

from printfleet.bench.devices import PhaseSeqs
from printfleet.bench.report import percentile
from printfleet.bench.verify import next_seqs, verify


class TelemetryOnlyStore:
    """Just enough of a SyncStore: table_rows over a dict of seq lists."""

    def __init__(self, seqs: dict[str, list[int]]) -> None:
        self._seqs = seqs

    def table_rows(self, table: str, device_id: str) -> list[dict]:
        assert table == "telemetry"
        return [{"seq": seq} for seq in self._seqs.get(device_id, [])]


def test_counts_lost_duplicated_and_unexpected_rows_only_in_the_checked_phases():
    published = {
        "printer-1": {"drain": PhaseSeqs(0, 5), "max": PhaseSeqs(5, 10, unacked=[9])},
        "printer-2": {"drain": PhaseSeqs(0, 3), "max": PhaseSeqs(3, 6)},
    }
    store = TelemetryOnlyStore({
        "printer-1": [5, 6, 6, 8],  # 7 lost, 6 twice, 9 never acknowledged (not lost)
        "printer-2": [1, 3, 4, 5],  # 1 is from the drain phase: stored, never expected
    })

    check = verify(store, published, ("max",))  # type: ignore[arg-type]

    assert (check.expected, check.stored, check.lost, check.duplicated, check.unexpected) == (
        7, 7, 1, 1, 1)


def test_next_seqs_continue_after_the_last_phase():
    published = {"printer-1": {"drain": PhaseSeqs(0, 5), "max": PhaseSeqs(5, 12)}}

    assert next_seqs(published) == {"printer-1": 12}


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]

    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None

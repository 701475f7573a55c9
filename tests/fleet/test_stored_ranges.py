"""The `stored` ack names exactly the committed seqs, as compact ranges per device."""

from __future__ import annotations

import time

import pytest

from fleet.worker import stored_ranges
from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, Heartbeat
from storage import Accepted


def accepted(device_id: str, seq: int) -> Accepted:
    beat = Heartbeat(v=SCHEMA_VERSION, ts=time.time(), seq=seq, interval_s=30, uptime_s=1)
    return Accepted(device_id, Family.HEARTBEAT, beat, time.time())


@pytest.mark.parametrize("seqs, ranges", [
    ([5], [(5, 5)]),
    ([1, 2, 3], [(1, 3)]),
    ([3, 1, 2, 2], [(1, 3)]),
    ([1, 2, 4, 7, 8, 9], [(1, 2), (4, 4), (7, 9)]),
])
def test_seqs_merge_into_sorted_inclusive_ranges(seqs, ranges):
    assert stored_ranges([accepted("p-1", s) for s in seqs]) == {"p-1": ranges}


def test_each_device_gets_only_its_own_ranges():
    batch = [accepted("p-1", 1), accepted("p-2", 1), accepted("p-1", 2), accepted("p-2", 5)]
    assert stored_ranges(batch) == {"p-1": [(1, 2)], "p-2": [(1, 1), (5, 5)]}

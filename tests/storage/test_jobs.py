"""Job records rebuilt from job events: late, shuffled and duplicated deliveries agree."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.jobs import build_job_records


def event(seq, ts, kind, progress=None, reason=None, job_id="j-1", device_id="p-1", **extra):
    return {"device_id": device_id, "seq": seq, "ts": ts, "job_id": job_id, "event": kind,
            "file_name": "benchy.gcode", "origin": "octoprint_ui", "progress_pct": progress,
            "time_left_s": None if progress is None else 100 - progress, "reason": reason,
            "filament_used_mm": None, "command_transaction": None, **extra}


PRINT = [
    event(10, 1000.0, "started", 0.0),
    event(11, 1100.0, "paused", 20.0),
    event(12, 1130.0, "resumed", 20.0),
    event(13, 1500.0, "paused", 61.5),
    event(14, 1560.0, "resumed", 61.5),
    event(15, 1900.0, "failed", 87.25, reason="thermal runaway"),
]


def test_a_print_with_two_pauses_that_failed():
    (job,) = build_job_records(PRINT)
    assert (job.started_at, job.ended_at) == (1000.0, 1900.0)
    assert job.pause_count == 2 and job.paused_s == 90.0
    assert (job.outcome, job.reason, job.progress_pct) == ("failed", "thermal runaway", 87.25)
    assert job.time_left_s == 100 - 87.25


def test_a_running_print_has_no_end_and_an_open_pause_counts():
    (job,) = build_job_records(PRINT[:4])
    assert job.outcome is None and job.ended_at is None
    assert job.pause_count == 2 and job.paused_s == 30.0


def test_jobs_of_several_devices_stay_apart():
    events = PRINT + [event(3, 1200.0, "started", 0.0, device_id="p-2", job_id="j-9"),
                      event(4, 1300.0, "cancelled", 5.0, device_id="p-2", job_id="j-9")]
    jobs = build_job_records(events)
    assert [(j.device_id, j.outcome) for j in jobs] == [("p-1", "failed"), ("p-2", "cancelled")]


@settings(max_examples=300, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=0, max_value=6))
def test_any_order_and_any_duplicates_give_the_same_record(rng: random.Random, copies: int):
    delivered = PRINT + [rng.choice(PRINT) for _ in range(copies)]
    rng.shuffle(delivered)
    assert build_job_records(delivered) == build_job_records(PRINT)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["paused", "resumed"]), max_size=12),
       st.sampled_from(["finished", "failed", "cancelled"]))
def test_pause_accounting_never_goes_negative_or_past_the_print(kinds, end):
    events = [event(0, 0.0, "started", 0.0)]
    events += [event(n + 1, 10.0 * (n + 1), kind, float(n)) for n, kind in enumerate(kinds)]
    events.append(event(99, 10.0 * (len(kinds) + 1), end, 50.0))
    (job,) = build_job_records(events)
    assert 0 <= job.paused_s <= job.ended_at - job.started_at
    assert job.pause_count <= kinds.count("paused")
    assert job.outcome == end

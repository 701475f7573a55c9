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
            "filament_used_mm": None, "command_transaction": None, "filament_used_g": None,
            "slicer": None, "slicer_version": None, **extra}


def used(mm):
    """Filament fields as the agent reports them for a file that weighs 3 g per metre."""
    return {"filament_used_mm": mm, "filament_used_g": round(mm * 0.003, 2)}


SLICED = {"slicer": "PrusaSlicer", "slicer_version": "2.7.1", "command_transaction": "cmd-1"}
PRINT = [
    event(10, 1000.0, "started", 0.0, **used(0.0), **SLICED),
    event(11, 1100.0, "paused", 20.0, **used(250.0), **SLICED),
    event(12, 1130.0, "resumed", 20.0, **used(250.0), **SLICED),
    event(13, 1500.0, "paused", 61.5, **used(790.5), **SLICED),
    event(14, 1560.0, "resumed", 61.5, **used(790.5), **SLICED),
    event(15, 1900.0, "failed", 87.25, reason="thermal runaway", **used(1120.0), **SLICED),
]
ISSUERS = {"cmd-1": 42, "cmd-other": 7}


def test_a_print_with_two_pauses_that_failed():
    (job,) = build_job_records(PRINT)
    assert (job.started_at, job.ended_at) == (1000.0, 1900.0)
    assert job.pause_count == 2 and job.paused_s == 90.0
    assert (job.outcome, job.reason, job.progress_pct) == ("failed", "thermal runaway", 87.25)
    assert job.time_left_s == 100 - 87.25
    assert (job.filament_used_mm, job.filament_used_g) == (1120.0, 3.36)
    assert (job.slicer, job.slicer_version) == ("PrusaSlicer", "2.7.1")


def test_the_user_whose_command_started_the_job_is_named():
    (job,) = build_job_records(PRINT, ISSUERS)
    assert (job.command_transaction, job.started_by_user_id) == ("cmd-1", 42)
    (unknown,) = build_job_records(PRINT, {"cmd-other": 7})
    assert unknown.started_by_user_id is None  # a transaction Printfleet never issued
    local = [dict(e, command_transaction=None) for e in PRINT]
    assert build_job_records(local, ISSUERS)[0].started_by_user_id is None


def test_facts_missing_from_some_events_come_from_the_others():
    # The end (host lost) carries no file facts: the last report before it counts.
    events = [event(1, 10.0, "started", 0.0, **SLICED),
              event(2, 20.0, "paused", 40.0, **used(400.0)),
              event(3, 30.0, "failed", 40.0, reason="host lost")]
    (job,) = build_job_records(events, ISSUERS)
    assert (job.filament_used_mm, job.filament_used_g, job.slicer) == (400.0, 1.2, "PrusaSlicer")
    assert job.started_by_user_id == 42


def test_reports_after_the_end_do_not_change_the_filament():
    late = event(16, 2000.0, "resumed", 90.0, **used(1500.0))
    (job,) = build_job_records(PRINT + [late])
    assert job.filament_used_mm == 1120.0


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
    record = build_job_records(delivered, ISSUERS)
    assert record == build_job_records(PRINT, ISSUERS)
    assert (record[0].filament_used_mm, record[0].started_by_user_id) == (1120.0, 42)


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=len(PRINT)))
def test_any_arrival_so_far_gives_the_record_of_the_events_seen(rng: random.Random, seen: int):
    """Events arriving late: whatever subset has arrived, in any order, folds the same."""
    arrived = rng.sample(PRINT, seen)
    in_order = sorted(arrived, key=lambda e: e["seq"])
    shuffled = arrived + [rng.choice(arrived)]
    rng.shuffle(shuffled)
    assert build_job_records(shuffled, ISSUERS) == build_job_records(in_order, ISSUERS)
    (job,) = build_job_records(shuffled, ISSUERS)
    latest = max((e for e in arrived if e["ts"] <= job.ended_at) if job.ended_at else arrived,
                 key=lambda e: e["ts"])
    assert job.filament_used_mm == latest["filament_used_mm"]
    assert (job.slicer, job.started_by_user_id) == ("PrusaSlicer", 42)


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

"""The jobs history contract: print_jobs kept by ingest, filtered, paged and summed in SQL."""

from __future__ import annotations

import time

import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, JobEvent
from storage import Accepted, IssuedCommand
from storage.job_history import JobFilter

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_000_000.0
HOUR = 3600.0


def event(device_id: str, seq: int, ts: float, job_id: str, kind: str,
          transaction: str | None = None, **fields) -> Accepted:
    message = JobEvent(v=SCHEMA_VERSION, ts=ts, seq=seq, job_id=job_id, event=kind,
                       file_name=fields.pop("file_name", f"{job_id}.gcode"),
                       origin="printfleet" if transaction else "sd_card",
                       command_transaction=transaction, **fields)
    return Accepted(device_id, Family.JOB, message, time.time())


def command(transaction: str, device_id: str, user_id: int) -> IssuedCommand:
    return IssuedCommand(transaction, device_id, user_id, "start_print", {}, T0, T0 + 60)


@pytest.fixture
async def fleet(stores):
    """Alice's two printers and Bob's one, with prints started by each of them and locally."""
    sync = stores.sync
    alice = sync.create_user("alice@example.com", "h")
    bob = sync.create_user("bob@example.com", "h")
    sync.add_device("a-1", "Alpha", alice, "x")
    sync.add_device("a-2", "Beta", alice, "x")
    sync.add_device("b-1", "Bob's", bob, "x")
    for transaction, device, user in (("c1", "a-1", alice), ("c2", "a-2", bob),
                                      ("c3", "b-1", bob)):
        sync.record_command(command(transaction, device, user))
    batch = [
        # a-1: finished by alice, 2 h with a 10 min pause, 5 m of filament
        event("a-1", 1, T0, "j1", "started", "c1", progress_pct=0.0),
        event("a-1", 2, T0 + HOUR, "j1", "paused", "c1", progress_pct=50.0),
        event("a-1", 3, T0 + HOUR + 600, "j1", "resumed", "c1", progress_pct=50.0),
        event("a-1", 4, T0 + 2 * HOUR + 600, "j1", "finished", "c1", progress_pct=100.0,
              filament_used_mm=5000.0, filament_used_g=15.0),
        # a-1: failed, started at the printer, 1 h, 2 m
        event("a-1", 5, T0 + 10 * HOUR, "j2", "started", progress_pct=0.0),
        event("a-1", 6, T0 + 11 * HOUR, "j2", "failed", progress_pct=40.0, reason="spaghetti",
              filament_used_mm=2000.0, filament_used_g=6.0),
        # a-2: cancelled, started by bob (a member, say), half an hour
        event("a-2", 1, T0 + 24 * HOUR, "j3", "started", "c2"),
        event("a-2", 2, T0 + 24.5 * HOUR, "j3", "cancelled", "c2", filament_used_mm=100.0),
        # a-2: still running
        event("a-2", 3, T0 + 48 * HOUR, "j4", "started", progress_pct=0.0),
        event("a-2", 4, T0 + 48.5 * HOUR, "j4", "paused", progress_pct=12.5,
              time_left_s=3000.0),
        # b-1: bob's own
        event("b-1", 1, T0 + 5 * HOUR, "j5", "started", "c3"),
        event("b-1", 2, T0 + 6 * HOUR, "j5", "finished", "c3"),
    ]
    # Shuffled over two batches, one event delivered twice: the records must not care.
    await stores.ingest.write_batch(batch[7:] + batch[:2], [])
    await stores.ingest.write_batch(batch[2:7] + batch[:1], [])
    return {"alice": alice, "bob": bob, "sync": sync}


ALICE_DEVICES = {"a-1", "a-2"}


def test_ingest_keeps_one_record_per_print_with_every_field(fleet):
    sync = fleet["sync"]
    page = sync.print_jobs_page(ALICE_DEVICES, JobFilter(), limit=10)
    assert page.total == 4
    assert [j.job_id for j in page.jobs] == ["j4", "j3", "j2", "j1"]  # newest first
    j1 = page.jobs[3]
    assert (j1.printer_name, j1.file_name, j1.origin) == ("Alpha", "j1.gcode", "printfleet")
    assert (j1.started_at, j1.ended_at, j1.outcome) == (T0, T0 + 2 * HOUR + 600, "finished")
    assert (j1.pause_count, j1.paused_s, j1.progress_pct) == (1, 600.0, 100.0)
    assert (j1.filament_used_mm, j1.filament_used_g) == (5000.0, 15.0)
    assert (j1.started_by_user_id, j1.started_by_email) == (fleet["alice"], "alice@example.com")
    assert j1.print_s == 2 * HOUR
    j4 = page.jobs[0]
    assert (j4.outcome, j4.ended_at, j4.print_s, j4.time_left_s) == (None, None, None, 3000.0)
    j2 = page.jobs[2]
    assert (j2.outcome, j2.reason, j2.started_by_user_id) == ("failed", "spaghetti", None)


def test_records_equal_the_fold_of_the_events(fleet):
    sync = fleet["sync"]
    jobs = {j.job_id: j for j in sync.print_jobs_page(ALICE_DEVICES, JobFilter(), 10).jobs}
    for device in sorted(ALICE_DEVICES):
        for record in sync.jobs_for_device(device):
            stored = jobs[record.job_id]
            for name in ("started_at", "ended_at", "outcome", "reason", "pause_count",
                         "paused_s", "progress_pct", "time_left_s", "filament_used_mm",
                         "started_by_user_id", "file_name", "origin"):
                assert getattr(stored, name) == getattr(record, name), (record.job_id, name)


def test_filters_narrow_the_list(fleet):
    sync = fleet["sync"]

    def ids(**kwargs) -> list[str]:
        return [j.job_id for j in sync.print_jobs_page(ALICE_DEVICES, JobFilter(**kwargs),
                                                       10).jobs]

    assert ids(device_id="a-1") == ["j2", "j1"]
    assert ids(device_id="b-1") == []  # not in the scope: nothing, not bob's job
    assert ids(started_by_user_id=fleet["alice"]) == ["j1"]
    assert ids(started_by_user_id=fleet["bob"]) == ["j3"]
    assert ids(started_outside=True) == ["j4", "j2"]
    assert ids(outcome="failed") == ["j2"]
    assert ids(outcome="running") == ["j4"]
    assert ids(since=T0 + 10 * HOUR, until=T0 + 48 * HOUR) == ["j3", "j2"]
    assert ids(device_id="a-2", outcome="cancelled") == ["j3"]
    assert sync.print_jobs_page(set(), JobFilter(), 10).total == 0


def test_pages_follow_each_other(fleet):
    sync = fleet["sync"]
    first = sync.print_jobs_page(ALICE_DEVICES, JobFilter(), limit=3)
    second = sync.print_jobs_page(ALICE_DEVICES, JobFilter(), limit=3, offset=3)
    assert (first.total, second.total) == (4, 4)
    assert [j.job_id for j in first.jobs + second.jobs] == ["j4", "j3", "j2", "j1"]


def test_a_job_is_found_only_in_its_scope(fleet):
    sync = fleet["sync"]
    (bobs,) = sync.print_jobs_page({"b-1"}, JobFilter(), 10).jobs
    assert sync.print_job({"b-1"}, bobs.id) == bobs
    assert sync.print_job(ALICE_DEVICES, bobs.id) is None
    assert sync.print_job(ALICE_DEVICES, 999_999) is None


def test_statistics_overall_per_printer_and_per_user(fleet):
    sync = fleet["sync"]
    summary = sync.print_job_summary(ALICE_DEVICES, JobFilter())
    total = summary.total
    assert (total.prints, total.finished, total.failed, total.cancelled, total.running) == (
        4, 1, 1, 1, 1)
    assert total.success_rate == pytest.approx(1 / 3)
    assert total.print_hours == pytest.approx(2 + 1 + 0.5)
    assert (total.filament_used_mm, total.filament_used_g) == (7100.0, 21.0)
    assert summary.by("total") == [total]

    printers = {s.key: s for s in summary.by_printer}
    assert set(printers) == ALICE_DEVICES
    assert (printers["a-1"].label, printers["a-1"].prints, printers["a-1"].success_rate) == (
        "Alpha", 2, 0.5)
    assert printers["a-2"].success_rate == 0.0 and printers["a-2"].print_hours == 0.5
    assert [s.key for s in summary.by_printer] == ["a-1", "a-2"]  # ties: by name

    users = {s.key: s for s in summary.by_user}
    assert set(users) == {fleet["alice"], fleet["bob"], None}
    assert (users[fleet["alice"]].label, users[fleet["alice"]].prints) == (
        "alice@example.com", 1)
    assert users[None].prints == 2 and users[None].label is None
    assert summary.by_user[0].key is None  # most prints first

    # Any set of devices is a scope (an organisation's, say); filters apply too.
    everything = sync.print_job_summary(ALICE_DEVICES | {"b-1"}, JobFilter(outcome="finished"))
    assert (everything.total.prints, everything.total.success_rate) == (2, 1.0)
    assert {s.key for s in everything.by_printer} == {"a-1", "b-1"}
    nothing = sync.print_job_summary(set(), JobFilter())
    assert nothing.total.prints == 0 and nothing.total.success_rate is None
    assert nothing.by_printer == nothing.by_user == []


def test_starters_are_everyone_who_started_a_job_in_scope(fleet):
    sync = fleet["sync"]
    assert sync.print_job_starters(ALICE_DEVICES) == [
        (fleet["alice"], "alice@example.com"), (fleet["bob"], "bob@example.com")]
    assert sync.print_job_starters({"b-1"}) == [(fleet["bob"], "bob@example.com")]


async def test_a_transaction_quoted_by_another_device_names_no_one(stores):
    sync = stores.sync
    alice = sync.create_user("alice@example.com", "h")
    sync.add_device("p-1", "One", alice, "x")
    sync.add_device("p-2", "Two", alice, "x")
    sync.record_command(command("cmd-1", "p-1", alice))
    await stores.ingest.write_batch([event("p-1", 1, T0, "j", "started", "cmd-1"),
                                     event("p-2", 1, T0, "j", "started", "cmd-1")], [])
    jobs = {j.device_id: j for j in sync.print_jobs_page({"p-1", "p-2"}, JobFilter(), 10).jobs}
    assert jobs["p-1"].started_by_user_id == alice
    assert jobs["p-2"].started_by_user_id is None


async def test_backfill_folds_jobs_that_have_events_but_no_record(stores):
    sync = stores.sync
    sync.add_device("p-1", "One", sync.create_user("a@example.com", "h"), "x")
    await stores.ingest.write_batch([event("p-1", 1, T0, "j", "started"),
                                     event("p-1", 2, T0 + 60, "j", "finished")], [])
    stores.execute("DELETE FROM print_jobs")
    assert sync.print_jobs_page({"p-1"}, JobFilter(), 10).total == 0
    assert sync.backfill_print_jobs() == 1
    assert sync.backfill_print_jobs() == 0
    (job,) = sync.print_jobs_page({"p-1"}, JobFilter(), 10).jobs
    assert (job.outcome, job.print_s) == ("finished", 60.0)
    assert sync.refresh_print_jobs([("p-1", "j")]) == 1

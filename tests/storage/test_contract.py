"""The storage contract: every backend must pass these same tests.

A backend joins by adding a parameter to the `stores` fixture that yields
a started (sync store, ingest store) pair on a fresh, migrated database.
"""

from __future__ import annotations

import time

import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import (
    SCHEMA_VERSION,
    Heartbeat,
    Heater,
    JobEvent,
    Presence,
    Telemetry,
)
from storage import Accepted, EmailTaken, Rejected
from storage.sqlite import SqliteSyncStore

pytestmark = pytest.mark.timeout(30)


def accepted(device_id: str, family: Family, message, received_at: float | None = None):
    return Accepted(device_id, family, message, received_at or time.time())


def telemetry(seq: int, ts: float, bed: float = 60.0, progress: float | None = None):
    return Telemetry(v=SCHEMA_VERSION, ts=ts, seq=seq, state="printing",
                     heaters={"bed": Heater(bed, 60.0)}, progress_pct=progress)


def presence(seq: int, status: str):
    return Presence(v=SCHEMA_VERSION, ts=time.time(), seq=seq, status=status)


def test_migrations_apply_once(stores):
    assert stores.sync.migrate() == []


async def test_batches_store_each_device_sequence_once(stores):
    now = time.time()
    batch = [accepted("p-1", Family.TELEMETRY, telemetry(n, now + n)) for n in range(5)]
    first = await stores.ingest.write_batch(batch, [])
    replay = await stores.ingest.write_batch(batch[2:] + [accepted(
        "p-1", Family.TELEMETRY, telemetry(5, now + 5))], [])
    assert (first.stored, first.duplicates) == (5, 0)
    assert (replay.stored, replay.duplicates) == (1, 3)
    assert [r["seq"] for r in stores.sync.table_rows("telemetry", "p-1")] == [0, 1, 2, 3, 4, 5]
    assert stores.sync.table_rows("telemetry", "p-2") == []


async def test_latest_state_wins_even_when_batches_arrive_out_of_order(stores):
    owner = stores.sync.create_user("o@example.com", "h")
    stores.sync.add_device("p-1", "Printer", owner, "$7$h")
    now = time.time()
    await stores.ingest.write_batch([accepted("p-1", Family.TELEMETRY,
                                              telemetry(10, now + 10, bed=59.0, progress=50))], [])
    await stores.ingest.write_batch([accepted("p-1", Family.TELEMETRY,
                                              telemetry(9, now + 9, bed=40.0, progress=45))], [])
    row = stores.sync.printers_for_user(owner)[0]
    assert row.heaters["bed"]["actual"] == 59.0
    assert row.progress_pct == 50
    assert row.presence == "online"  # traffic from a device never heard of before


async def test_job_event_names_the_current_file(stores):
    owner = stores.sync.create_user("o@example.com", "h")
    stores.sync.add_device("p-1", "Printer", owner, "$7$h")
    event = JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=1, job_id="j", event="started",
                     file_name="gear.gcode", origin="sd_card")
    await stores.ingest.write_batch([accepted("p-1", Family.JOB, event)], [])
    row = stores.sync.printers_for_user(owner)[0]
    assert (row.job_file_name, row.job_status) == ("gear.gcode", "started")


async def test_presence_follows_arrival_order(stores):
    owner = stores.sync.create_user("o@example.com", "h")
    stores.sync.add_device("p-1", "Printer", owner, "$7$h")
    now = time.time()
    # A last will carries the seq taken at connect time, lower than 'online'.
    await stores.ingest.write_batch([accepted("p-1", Family.PRESENCE, presence(8, "online"), now)],
                                    [])
    await stores.ingest.write_batch([accepted("p-1", Family.PRESENCE, presence(7, "offline"),
                                              now + 1)], [])
    assert stores.sync.printers_for_user(owner)[0].presence == "offline"
    # An explicit offline is not undone by a late message from before it.
    await stores.ingest.write_batch([accepted("p-1", Family.TELEMETRY, telemetry(6, now - 5),
                                              now + 2)], [])
    assert stores.sync.printers_for_user(owner)[0].presence == "offline"


async def test_watchdog_marks_silent_devices_and_traffic_revives_them(stores):
    owner = stores.sync.create_user("o@example.com", "h")
    stores.sync.add_device("p-1", "Printer", owner, "$7$h")
    now = time.time()
    beat = Heartbeat(v=SCHEMA_VERSION, ts=now, seq=1, interval_s=10, uptime_s=5)
    await stores.ingest.write_batch([accepted("p-1", Family.HEARTBEAT, beat, now)], [])
    assert stores.sync.mark_silent_devices_offline(now + 14, 1.5, 30) == []
    assert stores.sync.mark_silent_devices_offline(now + 16, 1.5, 30) == ["p-1"]
    assert stores.sync.printers_for_user(owner)[0].presence == "offline"
    await stores.ingest.write_batch([accepted("p-1", Family.TELEMETRY, telemetry(2, now + 17),
                                              now + 17)], [])
    assert stores.sync.printers_for_user(owner)[0].presence == "online"


async def test_rejects_are_kept_with_their_reason(stores):
    reject = Rejected("pf/p-1/telemetry", "p-1", "malformed", "expected value", 9, "{not json",
                      time.time())
    result = await stores.ingest.write_batch([], [reject, reject])
    assert result.rejected == 2
    assert stores.sync.reject_counts() == {"malformed": 2}
    assert stores.sync.recent_rejects(1)[0].payload_excerpt == "{not json"


def test_printers_are_scoped_to_their_owner(stores):
    alice = stores.sync.create_user("alice@example.com", "h")
    bob = stores.sync.create_user("bob@example.com", "h")
    stores.sync.add_device("alice-printer", "A", alice, "$7$a")
    stores.sync.add_device("bob-printer", "B", bob, "$7$b")
    assert [p.device_id for p in stores.sync.printers_for_user(alice)] == ["alice-printer"]
    assert [p.device_id for p in stores.sync.printers_for_user(bob)] == ["bob-printer"]


def test_revoked_devices_lose_broker_credentials(stores):
    stores.sync.add_device("p-1", "One", None, "$7$one")
    stores.sync.add_device("p-2", "Two", None, "$7$two")
    assert stores.sync.revoke_device("p-1")
    assert not stores.sync.revoke_device("p-1")
    assert stores.sync.broker_credentials() == [("p-2", "$7$two")]
    assert not stores.sync.set_device_password("p-1", "$7$new")
    stores.sync.add_device("p-1", "One", None, "$7$again")  # re-pairing restores it
    assert dict(stores.sync.broker_credentials())["p-1"] == "$7$again"


def test_user_lookup_ignores_email_case(stores):
    user_id = stores.sync.create_user("Mixed@Example.com", "hash", "Ada", "Lovelace")
    found = stores.sync.user_by_email("mixed@example.com")
    assert found is not None and found.id == user_id
    assert stores.sync.user_by_id(user_id).first_name == "Ada"
    assert stores.sync.user_by_email("nobody@example.com") is None


async def test_a_sequence_repeated_inside_one_batch_is_stored_once_first_copy_wins(stores):
    now = time.time()
    batch = [accepted("p-1", Family.TELEMETRY, telemetry(1, now, bed=20.0)),
             accepted("p-1", Family.TELEMETRY, telemetry(1, now, bed=99.0)),
             accepted("p-2", Family.TELEMETRY, telemetry(1, now, bed=30.0))]
    result = await stores.ingest.write_batch(batch, [])
    assert (result.stored, result.duplicates, result.by_family) == (2, 1, {"telemetry": 2})
    (row,) = stores.sync.table_rows("telemetry", "p-1")
    assert '"actual":20.0' in row["heaters_json"]


async def test_nul_characters_never_make_a_batch_fail(stores):
    # A device may send "\u0000" in a string; a garbage payload may hold NUL
    # bytes. Such a batch must store, or the worker would retry it forever.
    event = JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=1, job_id="j\x00", event="started",
                     file_name="a\x00b.gcode", origin="sd_card")
    reject = Rejected("pf/p-1/telemetry", "p-1", "malformed", "bad \x00", 3, "\x00\x01{",
                      time.time())
    result = await stores.ingest.write_batch([accepted("p-1", Family.JOB, event)], [reject])
    assert (result.stored, result.rejected) == (1, 1)
    (row,) = stores.sync.table_rows("job_events", "p-1")
    assert row["file_name"].startswith("a") and row["file_name"].endswith("b.gcode")
    assert stores.sync.recent_rejects(1)[0].payload_size == 3


async def test_downtime_history_merges_presence_and_device_reports(stores):
    from printfleet_protocol.payloads import Downtime

    stores.sync.add_device("p-1", "Printer", None, "$7$h")
    created = stores.sync.device_created_at("p-1")
    assert created is not None
    stores.sync.set_downtime_logging("p-1", True, None, created)
    t = created + 10
    await stores.ingest.write_batch([
        accepted("p-1", Family.PRESENCE, presence(1, "online"), t),
        accepted("p-1", Family.PRESENCE, presence(0, "offline"), t + 100),  # a last will
        accepted("p-1", Family.PRESENCE, presence(2, "online"), t + 160),
        accepted("p-1", Family.DOWNTIME, Downtime(v=SCHEMA_VERSION, ts=t + 161, seq=3,
                                                   started_at=t + 95, ended_at=t + 158,
                                                   cause="network"), t + 161),
    ], [])
    (interval,) = stores.sync.downtime_history("p-1", now=t + 200)
    assert (interval.started_at, interval.ended_at) == (t + 95, t + 160)
    assert (interval.cause, interval.source) == ("network", "both")
    days = stores.sync.uptime_by_day("p-1", now=t + 200)
    assert days and days[-1][1] < 100.0
    assert stores.sync.uptime_by_day("unknown-device") == []


def test_one_printer_is_found_only_for_its_owner(stores):
    owner = stores.sync.create_user("o@example.com", "h")
    other = stores.sync.create_user("x@example.com", "h")
    stores.sync.add_device("p-1", "Printer", owner, "$7$h")
    assert stores.sync.printer_for_user(owner, "p-1").name == "Printer"
    assert stores.sync.printer_for_user(other, "p-1") is None
    assert stores.sync.printer_for_user(owner, "p-2") is None
    stores.sync.revoke_device("p-1")
    assert stores.sync.printer_for_user(owner, "p-1") is None


async def test_online_devices_are_counted_for_the_workers_metrics(stores):
    now = time.time()
    await stores.ingest.write_batch([accepted(d, Family.TELEMETRY, telemetry(1, now), now)
                                     for d in ("p-1", "p-2")], [])
    assert await stores.ingest.count_online_devices() == 2
    assert stores.sync.mark_silent_devices_offline(now + 100, 1.5, 30) == ["p-1", "p-2"]
    assert await stores.ingest.count_online_devices() == 0


@pytest.mark.parametrize("trial", range(12))
def test_concurrent_migrations_on_sqlite_apply_each_version_once(tmp_path, trial):
    # Many rounds because the race (several processes switching a new file to
    # WAL at once) shows only in some of them.
    import threading

    from storage.migrations import migrations_for

    path = tmp_path / "race.sqlite3"
    stores = [SqliteSyncStore(path) for _ in range(6)]
    results: list[list[int]] = []
    errors: list[BaseException] = []
    ready = threading.Barrier(len(stores))

    def run(store):
        try:
            ready.wait()
            results.append(store.migrate())
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    applied = sorted(version for result in results for version in result)
    assert applied == [m.version for m in migrations_for("sqlite")]


def job_event(seq: int, ts: float, kind: str, transaction: str | None, **fields):
    return JobEvent(v=SCHEMA_VERSION, ts=ts, seq=seq, job_id="j-1", event=kind,
                    file_name="gear.gcode", origin="printfleet" if transaction else "sd_card",
                    command_transaction=transaction, **fields)


def issued(transaction: str, device_id: str, user_id: int | None, now: float):
    from storage import IssuedCommand

    return IssuedCommand(transaction, device_id, user_id, "start_print",
                         {"file_name": "gear.gcode", "size_bytes": 1200}, now, now + 60)


def test_an_issued_command_is_kept_once_with_its_user(stores):
    from storage import CommandNotRecorded

    user = stores.sync.create_user("u@example.com", "h")
    stores.sync.add_device("p-1", "Printer", user, "$7$h")
    now = time.time()
    command = issued("cmd-1", "p-1", user, now)
    stores.sync.record_command(command)
    assert stores.sync.issued_command("cmd-1") == command
    assert stores.sync.issued_command("cmd-2") is None
    with pytest.raises(CommandNotRecorded, match="cmd-1"):
        stores.sync.record_command(issued("cmd-1", "p-1", None, now))
    with pytest.raises(CommandNotRecorded):
        stores.sync.record_command(issued("cmd-3", "no-such-printer", user, now))


async def test_a_job_names_the_user_slicer_and_filament(stores):
    alice = stores.sync.create_user("alice@example.com", "h")
    bob = stores.sync.create_user("bob@example.com", "h")
    stores.sync.add_device("p-1", "One", alice, "$7$1")
    stores.sync.add_device("p-2", "Two", bob, "$7$2")
    now = time.time()
    stores.sync.record_command(issued("cmd-alice", "p-1", alice, now))
    stores.sync.record_command(issued("cmd-bob", "p-2", bob, now))
    facts = {"slicer": "PrusaSlicer", "slicer_version": "2.7.1"}
    # The end arrives first, and twice; the start comes late.
    end = job_event(3, now + 60, "finished", "cmd-alice", progress_pct=100.0,
                    filament_used_mm=1532.67, filament_used_g=4.57, **facts)
    await stores.ingest.write_batch([accepted("p-1", Family.JOB, end)] * 2, [])
    await stores.ingest.write_batch([accepted("p-1", Family.JOB, job_event(
        1, now, "started", "cmd-alice", progress_pct=0.0, filament_used_mm=0.0, **facts))], [])
    # p-2 claims alice's transaction for a print of its own: not hers, not bob's.
    await stores.ingest.write_batch([accepted("p-2", Family.JOB, job_event(
        1, now, "started", "cmd-alice"))], [])
    (job,) = stores.sync.jobs_for_device("p-1")
    assert (job.started_by_user_id, job.outcome, job.progress_pct) == (alice, "finished", 100.0)
    assert (job.slicer, job.slicer_version) == ("PrusaSlicer", "2.7.1")
    assert (job.filament_used_mm, job.filament_used_g) == (1532.67, 4.57)
    (forged,) = stores.sync.jobs_for_device("p-2")
    assert forged.command_transaction == "cmd-alice" and forged.started_by_user_id is None
    assert stores.sync.command_issuers("p-1") == {"cmd-alice": alice}


def test_a_user_profile_is_corrected_in_place_and_emails_stay_unique(stores):
    alice = stores.sync.create_user("alice@example.com", "h", "Alice", "L")
    bob = stores.sync.create_user("bob@example.com", "h", "Bob", "B")

    assert stores.sync.update_user_profile(alice, "ALICE2@example.com", "Alicia", "Liddell")
    with pytest.raises(EmailTaken):
        stores.sync.update_user_profile(bob, "Alice2@Example.com", "Bob", "B")

    user = stores.sync.user_by_email("alice2@example.com")
    assert user is not None and (user.id, user.first_name, user.last_name) == (
        alice, "Alicia", "Liddell")
    assert stores.sync.user_by_id(bob).email == "bob@example.com"
    assert stores.sync.update_user_profile(9999, "x@example.com", "X", "Y") is False

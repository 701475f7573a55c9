"""Both backends, fed the same traffic, answer every read with the same values and types.

The contract tests check behaviour backend by backend; this one puts the
answers side by side, so a float turned int, a JSON string reformatted or a
different sort order shows up as a difference.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Any

import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import (
    SCHEMA_VERSION,
    CommandAck,
    Downtime,
    Facts,
    Firmware,
    Heartbeat,
    Heater,
    JobEvent,
    Presence,
    Telemetry,
)
from storage import Accepted, IssuedCommand, Rejected, SyncStore
from storage.interface import TIME_SERIES_TABLES
from storage.postgres import PostgresIngestStore, PostgresSyncStore
from storage.sqlite import SqliteIngestStore, SqliteSyncStore

from .postgres_server import fresh_database

pytestmark = pytest.mark.timeout(30)

T0 = 1_700_000_000.0
DEVICES = ("P-2", "p-1", "p_3", "p-10")  # byte order differs from most locales' order
LOGGING_OFF = "p-10"  # its downtime history is not kept, by either backend


def traffic(device: str, base: int) -> list[Accepted]:
    def at(seq: int) -> float:
        return T0 + base + seq

    messages: list[tuple[Family, Any]] = [
        (Family.PRESENCE, Presence(v=SCHEMA_VERSION, ts=at(1), seq=1, status="online")),
        (Family.TELEMETRY, Telemetry(v=SCHEMA_VERSION, ts=at(2), seq=2, state="printing",
                                     heaters={"tool0": Heater(210.5, 215), "bed": Heater(60)},
                                     fans_pct={"part": 40}, z_mm=0.2, progress_pct=12,
                                     time_left_s=900, job_id="j-1")),
        (Family.JOB, JobEvent(v=SCHEMA_VERSION, ts=at(3), seq=3, job_id="j-1", event="started",
                              file_name="benchy.gcode", origin="printfleet", progress_pct=0,
                              command_transaction=f"cmd-{device}", slicer="PrusaSlicer",
                              slicer_version="2.7.1")),
        (Family.HEARTBEAT, Heartbeat(v=SCHEMA_VERSION, ts=at(4), seq=4, interval_s=10,
                                     uptime_s=120, outbox_depth=3, telemetry_thinned_total=7)),
        (Family.DOWNTIME, Downtime(v=SCHEMA_VERSION, ts=at(5), seq=5, started_at=at(-60),
                                   ended_at=at(-5), cause="network")),
        (Family.FACTS, Facts(v=SCHEMA_VERSION, ts=at(6), seq=6, hostname="pi", agent_version="1",
                             firmware=Firmware("Marlin", "2.1"))),
        (Family.ACK, CommandAck(v=SCHEMA_VERSION, ts=at(7), seq=7, transaction="t-1",
                                status="finished", data={"b": [1, 2.5], "a": None})),
        (Family.JOB, JobEvent(v=SCHEMA_VERSION, ts=at(8), seq=8, job_id="j-1", event="finished",
                              file_name="benchy.gcode", origin="printfleet", progress_pct=100,
                              filament_used_mm=1234.5, filament_used_g=3.7,
                              command_transaction=f"cmd-{device}")),
    ]
    return [Accepted(device, family, message, at(seq) + 0.25)
            for seq, (family, message) in enumerate(messages, start=1)]


REJECTS = [Rejected("pf/p-1/telemetry", "p-1", "malformed", "expected value", 9, "{not json", T0),
           Rejected("pf/x/bogus", None, "unknown_family", "bogus", 2, "{}", T0 + 1)]


@pytest.fixture
async def both(tmp_path) -> AsyncIterator[dict[str, SyncStore]]:
    with ExitStack() as cleanup:
        dsn = cleanup.enter_context(fresh_database())
        path = tmp_path / "parity.sqlite3"
        pairs = {"sqlite": (SqliteSyncStore(path), SqliteIngestStore(path)),
                 "postgres": (PostgresSyncStore(dsn), PostgresIngestStore(dsn))}
        for sync, ingest in pairs.values():
            sync.start()
            cleanup.callback(sync.stop)
            sync.migrate()
            await ingest.start()
            try:
                await feed(sync, ingest)
            finally:
                await ingest.stop()
        yield {name: sync for name, (sync, _) in pairs.items()}


async def feed(sync: SyncStore, ingest: Any) -> None:
    owner = sync.create_user("Owner@Example.com", "hash", "Ada", "L")
    for n, device in enumerate(DEVICES):
        sync.add_device(device, f"Printer {device}", owner if n % 2 else None, f"$7${device}")
        sync.record_command(IssuedCommand(f"cmd-{device}", device, owner if n % 2 else None,
                                          "start_print", {"file_name": "benchy.gcode",
                                                          "size_bytes": 1200, "scale": 1.5},
                                          T0 + n, T0 + n + 60.5))
        if device != LOGGING_OFF:
            sync.set_downtime_logging(device, True, owner if n % 2 else None, T0 - 1)
        batch = traffic(device, base=100 * n)
        await ingest.write_batch(batch + batch[:3], REJECTS if n == 0 else [])
    sync.revoke_device("p_3")
    assert sorted(sync.mark_silent_devices_offline(T0 + 10_000, 1.5, 30)) == sorted(DEVICES)
    sync.add_pending_device("new-1", "code", "token", "203.0.113.9", "pi", "1.0", T0, T0 + 600)


def answers(store: SyncStore) -> dict[str, Any]:
    owner = store.user_by_email("owner@example.com")
    assert owner is not None
    pending = store.pending_by_code("code", T0 + 1)
    assert pending is not None
    result: dict[str, Any] = {
        "user": owner,
        "printers": store.printers_for_user(owner.id),
        "fleet": store.fleet_overview(),
        "credentials": store.broker_credentials(),
        "rejects": store.recent_rejects(),
        "reject_counts": store.reject_counts(),
        "pending": [store.pending_by_token("token"), store.pending_from_ip("203.0.113.9", T0),
                    store.count_pending_from_ip("203.0.113.9", 0)],
        "claimed": store.claim_pending(pending.id, owner.id, T0 + 2),
    }
    store.park_pending_credentials(pending.id, '{"password": "x"}')
    result["taken"] = [store.take_pending_credentials(pending.id, T0 + 3),
                       store.take_pending_credentials(pending.id, T0 + 4)]
    for device in DEVICES:
        result[f"jobs {device}"] = store.jobs_for_device(device)
        result[f"command {device}"] = store.issued_command(f"cmd-{device}")
        result[f"downtime {device}"] = store.downtime_history(device, now=T0 + 20_000)
        for table in TIME_SERIES_TABLES:
            rows = store.table_rows(table, device)
            if table == "presence_events":
                # The watchdog numbers its events in the order it finds silent
                # devices, which the interface leaves to each backend.
                rows = [{k: v for k, v in row.items() if k != "id"} for row in rows]
            result[f"{table} {device}"] = rows
    return result


def typed(value: Any) -> Any:
    """Make 1 and 1.0 (and other equal values of different types) compare unequal."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [typed(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return (type(value).__name__, typed({f: getattr(value, f)
                                             for f in value.__dataclass_fields__}))
    return (type(value).__name__, value)


def test_both_backends_give_the_same_answers(both):
    sqlite, postgres = (typed(answers(both[name])) for name in ("sqlite", "postgres"))
    assert sqlite.keys() == postgres.keys()
    for key in sqlite:
        assert postgres[key] == sqlite[key], key
    # The traffic really reached every table (an empty answer would agree too).
    for table in TIME_SERIES_TABLES:
        assert both["postgres"].table_rows(table, "p-1"), table
    for name in both:
        assert not both[name].table_rows("presence_events", LOGGING_OFF)
        assert not both[name].table_rows("downtime_reports", LOGGING_OFF)
        assert both[name].table_rows("heartbeats", LOGGING_OFF)
    (job,) = both["postgres"].jobs_for_device("p-1")
    assert job.started_by_user_id is not None and job.filament_used_g == 3.7

"""Nothing is lost while PostgreSQL is down: the worker holds on, waits, and catches up.

A worker process on the PostgreSQL backend keeps consuming busy devices
while the test stops its own PostgreSQL server for PF_PG_OUTAGE_S seconds
(short in CI; 60 at full scale), then starts it again. Nothing the devices
queued may be lost or stored twice, the worker must stay up with at most
receive-maximum messages in flight (the broker holds the rest), say plainly
that the database is unavailable, and commit again once it is back.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from printfleet.context import Context

from ..agent.conftest import eventually
from ..storage.private_postgres import PrivatePostgres
from ..support import make_settings
from .fault_load import RUN_S, check_nothing_lost, report_figures, start_devices, worker_process

# Not PRINTFLEET_*: the settings loader reads those (and the worker inherits them).
OUTAGE_S = float(os.environ.get("PF_PG_OUTAGE_S", "10"))
RECEIVE_MAXIMUM = 200  # small, so that the outage fills it many times over
DSN_VARIABLE = "PF_TEST_OUTAGE_DATABASE_URL"

pytestmark = pytest.mark.timeout(180 + 2 * RUN_S + 2 * OUTAGE_S)


@pytest.fixture
def server(private_postgres_server: PrivatePostgres) -> PrivatePostgres:
    return private_postgres_server


@pytest.fixture
def context(server, tmp_path, monkeypatch) -> Context:
    """The test's settings, storing into its own PostgreSQL server."""
    monkeypatch.setenv(DSN_VARIABLE, server.dsn)
    return Context(make_settings(
        tmp_path / "data", storage={"backend": "postgres", "postgres_dsn_env": DSN_VARIABLE},
        fleet={"receive_maximum": RECEIVE_MAXIMUM}))


@pytest.mark.parametrize("shutdown", ["fast", "immediate"])
async def test_postgres_stopped_for_a_while_loses_nothing(shutdown, server, broker, store,
                                                          context, owner, tmp_path):
    started = time.monotonic()
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = worker_process(context, "pg", log)
    try:
        devices = await start_devices(context, store, owner)
        await eventually(lambda: snapshot(context).get("stored", 0) > 0, 30,
                         "the worker to store something")
        await asyncio.sleep(RUN_S / 2)

        server.stop(shutdown)
        stopped_at = time.monotonic()
        during = await watch_worker(context, OUTAGE_S)
        assert worker.poll() is None, f"the worker died during the outage:\n{tail(log_path)}"
        server.start()
        restarted_at = time.time()
        outage_s = time.monotonic() - stopped_at

        await eventually(lambda: (snapshot(context).get("last_commit_at") or 0) > restarted_at,
                         30, "the worker to commit again after the restart")
        resumed_after_s = snapshot(context)["last_commit_at"] - restarted_at
        await asyncio.sleep(RUN_S / 2)
        fleet = await check_nothing_lost(devices, store, timeout_s=90 + OUTAGE_S)
        assert worker.poll() is None, f"the worker died:\n{tail(log_path)}"
        final = snapshot(context)
    finally:
        worker.terminate()
        worker.wait(15)

    # Backpressure: while nothing commits, the broker holds all but
    # receive-maximum messages; the worker does not pile them up.
    assert during["in_flight_peak"] <= RECEIVE_MAXIMUM
    assert during["in_flight_max"] > 0, "messages were waiting for the database"
    assert during["saw_unavailable"], "the worker's metrics said the database was unavailable"
    assert final["store_available"] is True
    log_text = tail(log_path, 200_000)
    assert "database unavailable" in log_text
    assert "writing works again" in log_text
    assert "Traceback" not in log_text, f"a traceback, not a clear line:\n{log_text[-3000:]}"
    report_figures(started, fleet, shutdown=shutdown, outage_s=round(outage_s, 1),
                   resumed_commit_after_s=round(resumed_after_s, 2),
                   receive_maximum=RECEIVE_MAXIMUM,
                   in_flight_peak_during_outage=during["in_flight_peak"],
                   in_flight_peak_overall=final["in_flight_peak"],
                   worker_log_lines=log_text.count("\n"))


def snapshot(context: Context) -> dict:
    """The worker's last written metrics (fleet/metrics.py), or {} before the first."""
    path = context.settings.data_path / "run" / "worker-pg.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


async def watch_worker(context: Context, seconds: float) -> dict:
    """Sample the worker's metrics for a while: peaks, and whether it saw the outage."""
    seen = {"in_flight_peak": 0, "in_flight_max": 0, "saw_unavailable": False}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        current = snapshot(context)
        seen["in_flight_peak"] = max(seen["in_flight_peak"], current.get("in_flight_peak", 0))
        seen["in_flight_max"] = max(seen["in_flight_max"], current.get("in_flight", 0))
        seen["saw_unavailable"] |= current.get("store_available") is False
    return seen


def tail(path: Path, size: int = 4000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-size:]

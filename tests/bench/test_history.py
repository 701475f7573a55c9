"""The bench's synthetic history: every column ingest writes, consistent with heaters_json."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from printfleet.bench.direct import DirectConnection, PostgresDirect, SqliteDirect
from printfleet.bench.history import History, device_id, insert_device_history, insert_device_state
from storage.postgres import PostgresSyncStore
from storage.sqlite import SqliteSyncStore
from tests.storage.postgres_server import fresh_database

pytestmark = pytest.mark.timeout(60)

HISTORY = History(printers=2, days=1, interval_s=10, end=1_700_002_800.0)


@pytest.fixture(params=["sqlite", "postgres"])
def direct(request, tmp_path) -> Iterator[DirectConnection]:
    if request.param == "sqlite":
        store = SqliteSyncStore(tmp_path / "history.sqlite3")
        store.start()
        store.migrate()
        connection: DirectConnection = SqliteDirect(tmp_path / "history.sqlite3")
        yield connection
        connection.close()
        store.stop()
        return
    with fresh_database() as dsn:
        store = PostgresSyncStore(dsn, timescaledb="off")
        store.start()
        store.migrate()
        connection = PostgresDirect(dsn)
        yield connection
        connection.close()
        store.stop()


def test_each_printer_gets_one_sample_per_interval_over_the_window(direct):
    for number in range(HISTORY.printers):
        assert direct.execute(insert_device_history(HISTORY, number, direct.dialect)) == 8640

    rows = direct.rows("SELECT device_id, count(*), min(seq), max(seq), min(ts), max(ts) "
                       "FROM telemetry GROUP BY device_id ORDER BY device_id")
    assert [row[:4] for row in rows] == [(device_id(n), 8640, 0, 8639) for n in range(2)]
    for _, _, _, _, first, last in rows:
        assert HISTORY.start <= first < HISTORY.start + 1
        assert HISTORY.end - 10 <= last < HISTORY.end


def test_heater_columns_equal_heaters_json_and_prints_alternate_with_idle_time(direct):
    direct.execute(insert_device_history(HISTORY, 0, direct.dialect))
    rows = direct.rows("SELECT printer_state, heaters_json, tool0_actual, tool0_target, "
                       "bed_actual, bed_target, chamber_actual, chamber_target, job_id, "
                       "progress_pct, fans_json FROM telemetry ORDER BY seq")

    states = {row[0] for row in rows}
    assert states == {"printing", "idle"}
    for state, heaters_json, *heaters, job_id, progress, fans in rows:
        heaters_in_json = json.loads(heaters_json)
        assert [heaters_in_json["tool0"]["actual"], heaters_in_json["tool0"]["target"],
                heaters_in_json["bed"]["actual"], heaters_in_json["bed"]["target"],
                heaters_in_json["chamber"]["actual"], heaters_in_json["chamber"]["target"],
                ] == heaters
        json.loads(fans)
        printing = state == "printing"
        assert (job_id is not None, progress is not None) == (printing, printing)
        assert (heaters[1] > 150) == printing  # the tool has a target only while printing
    hot = [row[2] for row in rows if row[0] == "printing"]
    assert min(hot) < 100 < 190 < max(hot)  # heats up from ambient to near its target


def test_printers_without_a_chamber_have_no_chamber_readings(direct):
    direct.execute(insert_device_history(HISTORY, 1, direct.dialect))

    assert direct.rows("SELECT count(*) FROM telemetry WHERE chamber_actual IS NOT NULL "
                       "OR heaters_json LIKE '%chamber%'") == [(0,)]


def test_device_state_holds_the_newest_sample(direct):
    direct.execute(insert_device_history(HISTORY, 0, direct.dialect))
    direct.execute(insert_device_state(direct.dialect), (device_id(0),))

    assert direct.rows("SELECT device_id, presence, last_seq, heaters_json = "
                       "(SELECT heaters_json FROM telemetry WHERE seq = 8639) "
                       "FROM device_state") == [(device_id(0), "online", 8639, True)]

"""Retention per data class on every backend: preview equals the run, pictures and telemetry go.

A store is prepared with rows of every class on both sides of its cutoff
(through the real ingest path, the real camera files, the real session and
action queries); then the run must remove exactly what the preview said.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from printfleet.retention import Retention
from printfleet.settings import Settings, load
from printfleet_protocol import SCHEMA_VERSION, Family
from printfleet_protocol.payloads import (
    Downtime,
    Heartbeat,
    Heater,
    JobEvent,
    JobEventKind,
    JobOrigin,
    Presence,
    PresenceStatus,
    Telemetry,
)
from storage import Accepted, Rejected
from storage.actions import ActionDraft
from storage.camera_images import CameraImages, Picture
from storage.retention_classes import CLASSES, DAY_S

pytestmark = pytest.mark.timeout(120)

NOW = time.time()
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 50 + b"\xff\xd9"
DEVICE = "ret-1"
# Ages in days on both sides of every default: 7 (pictures), 30 (telemetry),
# 90 and 1825 (rollups), 365 (events, downtime, sessions, actions), 30 (rejects).
AGES = (2000, 400, 100, 40, 8, 6, 1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path / "data")})


def _seq() -> int:
    _seq.value += 1  # type: ignore[attr-defined]
    return _seq.value  # type: ignore[attr-defined]


_seq.value = 0  # type: ignore[attr-defined]


def _accepted(family: Family, message: object, at: float) -> Accepted:
    return Accepted(DEVICE, family, message, at)


def _device_rows(age_days: float) -> list[Accepted]:
    ts = NOW - age_days * DAY_S
    v = SCHEMA_VERSION
    return [
        _accepted(Family.TELEMETRY, Telemetry(v=v, ts=ts, seq=_seq(), state="printing",
                                              heaters={"bed": Heater(60.0, 60.0)}), ts),
        _accepted(Family.TELEMETRY, Telemetry(v=v, ts=ts + 1, seq=_seq(), state="printing",
                                              heaters={"bed": Heater(61.0, 60.0)}), ts),
        _accepted(Family.HEARTBEAT, Heartbeat(v=v, ts=ts, seq=_seq(), interval_s=30,
                                              uptime_s=5), ts),
        _accepted(Family.JOB, JobEvent(v=v, ts=ts, seq=_seq(), job_id=f"job-{age_days}",
                                       event=JobEventKind.STARTED, file_name="a.gcode",
                                       origin=JobOrigin.PRINTFLEET), ts),
        _accepted(Family.DOWNTIME, Downtime(v=v, ts=ts, seq=_seq(), started_at=ts - 60,
                                            ended_at=ts), ts),
        _accepted(Family.PRESENCE, Presence(v=v, ts=ts, seq=_seq(),
                                          status=PresenceStatus.ONLINE), ts),
    ]


async def _prepare(stores, settings: Settings) -> CameraImages:
    sync = stores.sync
    sync.add_device(DEVICE, "Retention printer", None, "hash")
    # On from the start, so the downtime class has presence events and reports.
    sync.set_downtime_logging(DEVICE, True, None, NOW - 3000 * DAY_S)
    user = sync.create_user("ret@example.org", "hash")
    images = CameraImages(sync, settings.camera_dir)
    for age_days in AGES:
        at = NOW - age_days * DAY_S
        await stores.ingest.write_batch(_device_rows(age_days), [Rejected(
            "printfleet/x/telemetry", DEVICE, "bad_json", "no", 3, "abc", at)])
        session = sync.open_web_session(user, f"token-{age_days}", "192.0.2.1", "test", at)
        sync.record_web_activity(session, at, "/printers")
        sync.record_action(ActionDraft(at, user, None, "192.0.2.1", None, None, None,
                                       "printer.add", "printer", DEVICE, "added"))
        images.save(Picture(DEVICE, _seq(), at, at, "job_started", f"job-{age_days}", JPEG))
        # A finished data export and its file under <data_dir>/exports.
        export = sync.create_data_export(user, f"{user}/export-{age_days}.zip", at)
        sync.finish_data_export(export.id, 3, at)
        (settings.data_path / "exports" / str(user)).mkdir(parents=True, exist_ok=True)
        (settings.data_path / "exports" / export.path).write_bytes(b"zip")
    # A live picture 20 s old (gone) and one just in (kept).
    images.save(Picture(DEVICE, _seq(), NOW - 20, NOW - 20, "live", None, JPEG + b"old"))
    images.save(Picture("ret-2", _seq(), NOW, NOW, "live", None, JPEG + b"new"))
    # A picture file no row names, left 9 days ago (a crash between write and record).
    orphan = settings.camera_dir / DEVICE / "999-orphan.jpg"
    orphan.write_bytes(JPEG)
    os.utime(orphan, (NOW - 9 * DAY_S, NOW - 9 * DAY_S))
    return images


def _query(sync, sql: str, params: tuple = ()) -> list[tuple]:
    """query_rows with `?` marks on either backend."""
    return sync.query_rows(sql if sync.chart_flavour == "sqlite" else sql.replace("?", "%s"),
                           params)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_preview_counts_exactly_what_the_run_then_removes(stores, settings):
    await _prepare(stores, settings)
    retention = Retention(settings, stores.sync)
    preview = {o.data_class: o for o in retention.preview(NOW)}
    assert set(preview) == {item.name for item in CLASSES}
    run = {o.data_class: o for o in retention.run(NOW, triggered_by="cli")}
    for name, expected in preview.items():
        got = run[name]
        assert (got.rows, got.files, got.oldest, got.newest, got.cutoff, got.error) == (
            expected.rows, expected.files, expected.oldest, expected.newest, expected.cutoff,
            None), name
    # Every class had something to remove.
    assert all(preview[item.name].rows for item in CLASSES)
    assert preview["exports"].rows == preview["exports"].files > 0
    assert preview["job_pictures"].files == 5 + 1  # 2000, 400, 100, 40, 8 days, the orphan
    assert preview["camera_live"].rows == preview["camera_live"].files == 1
    assert preview["sessions"].rows == 2 * 2  # page views and sessions of 2000 and 400 days
    # Nothing is left to remove, and every run is recorded.
    assert all(o.rows == o.files == 0 for o in retention.preview(NOW))
    recorded = {r.data_class: r for r in stores.sync.retention_runs()}
    assert recorded["telemetry"].rows_removed == run["telemetry"].rows
    assert recorded["job_pictures"].files_removed == 6 and not recorded["job_pictures"].preview
    assert recorded["exports"].files_removed == run["exports"].files


async def test_no_picture_older_than_seven_days_is_left_on_disk_or_in_the_database(
        stores, settings):
    images = await _prepare(stores, settings)
    Retention(settings, stores.sync).run(NOW, ["job_pictures"])
    cutoff = NOW - 7 * DAY_S
    rows = stores.sync.query_rows("SELECT received_at, path FROM camera_frames", ())
    assert rows and all(received_at >= cutoff for received_at, _ in rows)
    on_disk = _files(images.root)
    assert all(path.stat().st_mtime >= cutoff for path in on_disk)
    assert sorted(images.root / path for _, path in rows) == on_disk
    kept = {row[0] for row in stores.sync.query_rows(
        "SELECT job_id FROM camera_frames WHERE kind = 'job'", ())}
    assert kept == {"job-6", "job-1"}


async def test_raw_telemetry_older_than_its_setting_goes_while_its_rollups_remain(
        stores, settings):
    await _prepare(stores, settings)
    sync = stores.sync
    before_1m = sync.query_rows("SELECT count(*) FROM telemetry_1m", ())[0][0]
    Retention(settings, sync).run(NOW, ["telemetry"])
    cutoff = NOW - settings.retention.telemetry_days * DAY_S
    left = [row["ts"] for row in sync.table_rows("telemetry", DEVICE)]
    assert left and min(left) >= cutoff
    assert len(left) == 2 * 3  # 8, 6 and 1 days old, two samples each
    # The 40- and 100-day-old samples' rollups are still there, with both samples.
    for age_days in (40, 100):
        bucket = (NOW - age_days * DAY_S) // 3600 * 3600
        # A continuous aggregate's bucket is a timestamp; the rollup tables' an epoch.
        when = "extract(epoch FROM bucket)" if sync.chart_flavour == "timescale" else "bucket"
        rows = _query(sync, f"SELECT samples FROM telemetry_1h WHERE device_id = ? AND "
                            f"{when} >= ? AND {when} < ?", (DEVICE, bucket, bucket + 3600))
        assert [r[0] for r in rows] == [2], age_days
    assert sync.query_rows("SELECT count(*) FROM telemetry_1m", ())[0][0] == before_1m


async def test_a_class_runs_on_its_own_setting(stores, settings):
    await _prepare(stores, settings)
    shorter = load(None, environ={"PRINTFLEET_DATA_DIR": settings.data_dir,
                                  "PRINTFLEET_RETENTION__ACTIONS_DAYS": "7"})
    [outcome] = Retention(shorter, stores.sync).run(NOW, ["actions"])
    assert outcome.rows == 5  # 2000, 400, 100, 40 and 8 days
    ats = [row[0] for row in stores.sync.query_rows("SELECT at FROM actions", ())]
    assert sorted(round((NOW - at) / DAY_S) for at in ats) == [1, 6]


async def test_downtime_kept_before_logging_was_turned_off_stays_until_retention_removes_it(
        stores, settings):
    await _prepare(stores, settings)
    sync = stores.sync
    sync.set_downtime_logging(DEVICE, False, None, NOW)  # turning it off deletes nothing
    ages = {table: sorted(round((NOW - row["ts"]) / DAY_S) for row in sync.table_rows(table, DEVICE))
            for table in ("presence_events", "downtime_reports")}
    assert ages == {table: sorted(AGES) for table in ages}
    [outcome] = Retention(settings, sync).run(NOW, ["downtime"])
    assert outcome.rows == 2 * 2  # presence and reports of 2000 and 400 days
    for table in ages:
        left = sorted(round((NOW - row["ts"]) / DAY_S) for row in sync.table_rows(table, DEVICE))
        assert left == [1, 6, 8, 40, 100], table

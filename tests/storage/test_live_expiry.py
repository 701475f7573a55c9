"""The live picture is gone from disk and database within its TTL + 1 s, on every backend."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from printfleet.live_expiry import LiveImageExpiry
from printfleet.settings import load
from storage.camera_images import CameraImages, Picture

pytestmark = pytest.mark.timeout(60)

JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 50 + b"\xff\xd9"
TTL_S = 3.0


def _gone_after(images: CameraImages, frame_path: Path, frame_id: int, arrived: float,
                limit_s: float) -> float:
    """Seconds from arrival until row and file are both gone (fails past limit_s)."""
    while time.time() - arrived < limit_s:
        if not frame_path.exists() and images.store.camera_frame(frame_id) is None:
            return time.time() - arrived
        time.sleep(0.02)
    pytest.fail(f"the live picture was still there {limit_s} s after it arrived")


def test_the_live_picture_is_gone_within_its_ttl_plus_one_second(stores, tmp_path):
    settings = load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path),
                                   "PRINTFLEET_RETENTION__CAMERA_LIVE_S": str(TTL_S)})
    images = CameraImages(stores.sync, settings.camera_dir)
    expiry = LiveImageExpiry(settings, stores.sync, record_every_s=0.0)
    expiry.start()
    try:
        for seq, device in enumerate(("live-1", "live-2")):
            # The second arrives while the timer is already waiting.
            arrived = time.time()
            frame = images.save(Picture(device, seq, arrived, arrived, "live", None, JPEG))
            assert frame is not None
            path = images.file_path(frame)
            assert path.is_file()
            time.sleep(TTL_S - 0.5)
            assert path.is_file(), "removed before its time was up"
            took = _gone_after(images, path, frame.id, arrived, TTL_S + 2)
            assert TTL_S <= took <= TTL_S + 1, took
    finally:
        expiry.stop()
    runs = [run for run in stores.sync.retention_runs() if run.data_class == "camera_live"]
    assert runs and sum(run.rows_removed for run in runs) == 2
    assert sum(run.files_removed for run in runs) == 2
    assert {run.triggered_by for run in runs} == {"expiry"}


def test_the_timer_sleeps_until_the_next_expiry_and_polls_for_new_pictures(stores, tmp_path):
    settings = load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path)})
    images = CameraImages(stores.sync, settings.camera_dir)
    expiry = LiveImageExpiry(settings, stores.sync, poll_s=0.5)
    now = time.time()
    assert expiry.expire_once(now) == 0.5  # nothing stored: look again soon
    images.save(Picture("live-1", 1, now, now - 9.9, "live", None, JPEG))
    assert 0.1 <= expiry.expire_once(now) < 0.11  # 0.1 s left, plus the margin
    assert expiry.expire_once(now + 0.11) == 0.5
    assert stores.sync.latest_live_frame("live-1") is None

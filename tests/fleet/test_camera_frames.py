"""Camera pictures through the real worker and Mosquitto, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator

import pytest

from printfleet.context import Context
from printfleet_protocol import Family, device_topic
from printfleet_protocol.payloads import SCHEMA_VERSION, CameraSnapshot, Heater, Telemetry
from storage.camera_images import CameraImages

from ..storage.postgres_server import fresh_database
from ..support import make_settings, wait_until

pytestmark = pytest.mark.timeout(60)

MAX_IMAGE_BYTES = 4096
JPEG = b"\xff\xd8\xff\xe0" + b"live" * 100 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"job" * 100


@pytest.fixture(params=["sqlite", "postgres"])
def context(request, tmp_path, monkeypatch) -> Iterator[Context]:
    camera = {"max_image_bytes": MAX_IMAGE_BYTES}
    if request.param == "sqlite":
        yield Context(make_settings(tmp_path / "data", camera=camera))
        return
    with fresh_database() as dsn:
        monkeypatch.setenv("PF_TEST_DATABASE_URL", dsn)
        yield Context(make_settings(tmp_path / "data", camera=camera, storage={
            "backend": "postgres", "postgres_dsn_env": "PF_TEST_DATABASE_URL"}))


@pytest.fixture
def device(broker, store, context):
    credentials = context.provisioner(store).provision("cam-1", "Camera printer", None)
    client = wait_until(lambda: _connected(broker, credentials), 5, "the device")
    yield client
    client.close()


def _connected(broker, credentials):
    client = broker.connect_device(credentials.username, credentials.password, client_id="cam-1")
    if client.connect_result[0].is_failure:
        client.close()
        return None
    return client


def snapshot(seq: int, image: bytes, reason: str = "live", job_id: str | None = None,
             content_type: str = "image/jpeg") -> CameraSnapshot:
    return CameraSnapshot(v=SCHEMA_VERSION, ts=time.time(), seq=seq, reason=reason, image=image,
                          content_type=content_type, job_id=job_id)


def telemetry(seq: int) -> Telemetry:
    return Telemetry(v=SCHEMA_VERSION, ts=time.time(), seq=seq, state="printing",
                     heaters={"bed": Heater(60.0, 60.0)})


async def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def test_pictures_are_stored_and_bad_ones_refused_with_their_reason(
        worker, device, store, broker, context):
    camera = device_topic(broker.prefix, "cam-1", Family.CAMERA)
    telemetry_topic = device_topic(broker.prefix, "cam-1", Family.TELEMETRY)
    sends = [
        (telemetry_topic, telemetry(1)),
        (camera, snapshot(2, JPEG)),
        (camera, snapshot(3, b"GIF89a" + b"x" * 50, content_type="image/jpeg")),
        (camera, snapshot(4, b"\xff\xd8\xff" + b"x" * MAX_IMAGE_BYTES)),
        (camera, snapshot(5, PNG, "job_started", "job-9", "image/png")),
        (camera, snapshot(6, JPEG, "job_failed")),  # a job picture naming no job
        (telemetry_topic, telemetry(7)),
        (camera, snapshot(8, JPEG + b"newer")),
    ]
    for topic, payload in sends:
        await asyncio.to_thread(device.publish, topic, payload)

    await wait_for(lambda: len(store.table_rows("telemetry", "cam-1")) == 2, 10, "telemetry")
    await wait_for(lambda: sum(store.reject_counts().values()) == 3, 10, "three rejects")
    live = await wait_for(lambda: (f := store.latest_live_frame("cam-1")) and f.seq == 8 and f,
                          10, "the newest live picture")
    assert store.reject_counts() == {"image_too_large": 1, "not_an_image": 1, "invalid": 1}
    reasons = {r.reason: r for r in store.recent_rejects()}
    assert "neither JPEG nor PNG" in reasons["not_an_image"].detail
    assert f"exceeds {MAX_IMAGE_BYTES} bytes" in reasons["image_too_large"].detail
    assert "names no job_id" in reasons["invalid"].detail
    assert all(r.topic == camera and r.device_id == "cam-1" for r in reasons.values())
    assert worker.metrics.rejects_by_reason["not_an_image"] == 1

    images = CameraImages(store, context.settings.camera_dir)
    assert images.read(live) == JPEG + b"newer"
    assert live.content_type == "image/jpeg" and live.kind == "live"
    [job] = store.job_pictures("cam-1", "job-9")
    assert (job.seq, job.reason, job.content_type) == (5, "job_started", "image/png")
    assert job.sha256 == hashlib.sha256(PNG).hexdigest() and images.read(job) == PNG
    # Only the newest live picture is kept, on disk too; nothing under the web root.
    files = sorted(p.name for p in context.settings.camera_dir.rglob("*") if p.is_file())
    assert files == sorted([live.path.split("/")[1], job.path.split("/")[1]])
    assert context.settings.camera_dir.is_relative_to(context.settings.data_path)

"""Camera pictures: rows and files kept together, on every backend (the `stores` fixture)."""

from __future__ import annotations

import hashlib

import pytest

from storage.camera_images import CameraImages, Picture, image_content_type

pytestmark = pytest.mark.timeout(60)

JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 50 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"png-body" * 30
NOW = 1_800_000_000.0


def picture(seq: int, reason: str = "live", job_id: str | None = None, image: bytes = JPEG,
            device_id: str = "cam-1", received_at: float = NOW) -> Picture:
    return Picture(device_id, seq, NOW + seq, received_at, reason, job_id, image)


@pytest.fixture
def images(stores, tmp_path) -> CameraImages:
    return CameraImages(stores.sync, tmp_path / "camera")


def files_of(images: CameraImages) -> list[str]:
    return sorted(str(p.relative_to(images.root)) for p in images.root.rglob("*") if p.is_file())


def test_a_picture_is_stored_as_a_file_with_its_metadata(images):
    frame = images.save(picture(5, "job_started", "job-1", PNG))
    assert frame is not None
    assert (frame.device_id, frame.seq, frame.kind, frame.reason, frame.job_id) == (
        "cam-1", 5, "job", "job_started", "job-1")
    assert frame.content_type == "image/png" and frame.size_bytes == len(PNG)
    assert frame.sha256 == hashlib.sha256(PNG).hexdigest()
    assert images.read(frame) == PNG
    assert files_of(images) == [frame.path] and frame.path.startswith("cam-1/5-")
    assert images.store.camera_frame(frame.id) == frame
    assert images.store.job_pictures("cam-1", "job-1") == [frame]
    assert images.store.job_pictures("cam-2", "job-1") == []


def test_only_the_newest_live_picture_of_a_device_is_kept(images):
    first = images.save(picture(1))
    other_device = images.save(picture(1, device_id="cam-2"))
    job = images.save(picture(2, "job_paused", "job-1"))
    newest = images.save(picture(3, image=JPEG + b"3"))
    late = images.save(picture(0, image=JPEG + b"0"))  # older by its clock: gone at once
    assert first and other_device and job and newest and late
    assert images.store.latest_live_frame("cam-1") == newest
    assert images.store.camera_frame(first.id) is None
    assert images.store.camera_frame(late.id) is None
    assert images.store.latest_live_frame("cam-2") == other_device
    assert files_of(images) == sorted([other_device.path, job.path, newest.path])


def test_a_redelivered_picture_is_stored_once(images):
    frame = images.save(picture(1, "job_started", "job-1"))
    assert images.save(picture(1, "job_started", "job-1")) is None
    # A reused seq with other bytes (a device set up afresh) keeps the first.
    assert images.save(picture(1, "job_started", "job-1", PNG)) is None
    assert frame is not None and images.read(frame) == JPEG
    assert files_of(images) == [frame.path]


def test_expiry_removes_live_images_after_their_ttl_and_job_pictures_after_theirs(images):
    live = images.save(picture(1, received_at=NOW))
    job = images.save(picture(2, "job_finished", "job-1", received_at=NOW))
    assert live and job
    assert images.expire_live_images(NOW + 10, ttl_s=10) == 0  # not older than the TTL yet
    assert images.expire_live_images(NOW + 10.5, ttl_s=10) == 1
    assert images.store.latest_live_frame("cam-1") is None
    assert files_of(images) == [job.path]
    assert images.expire_job_pictures(NOW + 6 * 86400, keep_s=7 * 86400) == 0
    assert images.expire_job_pictures(NOW + 8 * 86400, keep_s=7 * 86400) == 1
    assert files_of(images) == [] and images.store.camera_frame(job.id) is None


def test_pictures_that_are_not_jpeg_or_png_are_refused(images):
    assert image_content_type(JPEG) == "image/jpeg"
    assert image_content_type(PNG) == "image/png"
    assert image_content_type(b"GIF89a....") is None
    with pytest.raises(ValueError):
        images.save(picture(1, image=b"GIF89a...."))
    with pytest.raises(ValueError):
        images.save(picture(2, reason="selfie"))
    assert not images.root.exists() or files_of(images) == []

"""Camera pictures on disk and their rows, kept together: <root>/<device id>/<seq>-<sha>.<ext>.

The root is under the data directory, never the web root: pictures are
served only through the web's authorization check. Every removal takes the
row first and then the file, so no row ever names a missing file for long.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from printfleet_protocol.topics import validate_device_id

from .camera import JOB, LIVE, CameraFrame, CameraStore, NewCameraFrame

logger = logging.getLogger(__name__)

# Magic bytes of the image types a picture may have; anything else is refused.
IMAGE_TYPES = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"),
               (b"\x89PNG\r\n\x1a\n", "image/png", ".png"))
LIVE_REASON = "live"
JOB_REASON_PREFIX = "job_"


def image_content_type(image: bytes) -> str | None:
    """The image's type from its first bytes (JPEG or PNG), or None."""
    for magic, content_type, _ in IMAGE_TYPES:
        if image.startswith(magic):
            return content_type
    return None


def frame_kind(reason: str) -> str | None:
    """LIVE or JOB for a picture's reason ("live" or "job_<event>"), None for anything else."""
    if reason == LIVE_REASON:
        return LIVE
    return JOB if reason.startswith(JOB_REASON_PREFIX) else None


@dataclass(frozen=True, slots=True)
class Picture:
    """One picture as the device sent it."""

    device_id: str
    seq: int
    ts: float
    received_at: float
    reason: str
    job_id: str | None
    image: bytes


class CameraImages:
    """Saves, finds and expires pictures: files under root, rows in the store."""

    def __init__(self, store: CameraStore, root: Path) -> None:
        self.store = store
        self.root = Path(root)

    def save(self, picture: Picture) -> CameraFrame | None:
        """Write the file, then record it; None for a redelivery already stored.

        Raises ValueError for a picture that is not a JPEG or PNG, or has an
        unknown reason (the fleet's edge refuses those before they get here).
        """
        content_type = image_content_type(picture.image)
        kind = frame_kind(picture.reason)
        if content_type is None or kind is None:
            raise ValueError(f"not a storable picture: {picture.reason!r}, {content_type}")
        sha256 = hashlib.sha256(picture.image).hexdigest()
        relative = self._relative_path(picture.device_id, picture.seq, sha256, content_type)
        # Job pictures are kept for days: make them durable before the
        # broker is told (and the device lets go); a live one is gone in seconds.
        self._write(relative, picture.image, durable=kind == JOB)
        new = NewCameraFrame(picture.device_id, picture.seq, picture.ts, picture.received_at,
                             kind, picture.reason, picture.job_id, content_type, relative,
                             len(picture.image), sha256)
        try:
            recorded = self.store.record_camera_frame(new)
        except BaseException:
            self._unlink(relative)
            raise
        if recorded.frame is None and recorded.existing_path != relative:
            self._unlink(relative)  # same seq, other bytes: the first copy stays
        self._unlink_all(recorded.removed_paths)
        return recorded.frame

    def file_path(self, frame: CameraFrame) -> Path:
        """Where a frame's bytes are; refuses a stored path that leaves the root."""
        root = self.root.resolve()
        path = (root / frame.path).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"camera frame {frame.id} points outside the camera directory")
        return path

    def read(self, frame: CameraFrame) -> bytes | None:
        """The frame's bytes, or None if its file is gone (expired meanwhile)."""
        try:
            return self.file_path(frame).read_bytes()
        except FileNotFoundError:
            return None

    def expire_live_images(self, now: float, ttl_s: float) -> int:
        """Remove live pictures (row and file) that arrived more than ttl_s ago; return how many."""
        return self._expire(LIVE, now - ttl_s)

    def expire_job_pictures(self, now: float, keep_s: float) -> int:
        """Remove job pictures (row and file) that arrived more than keep_s ago; return how many."""
        return self._expire(JOB, now - keep_s)

    def _expire(self, kind: str, received_before: float) -> int:
        paths = self.store.delete_camera_frames(kind, received_before)
        self._unlink_all(paths)
        if paths:
            logger.info("removed %d %s picture(s) that arrived before %.3f", len(paths), kind,
                        received_before)
        return len(paths)

    def _relative_path(self, device_id: str, seq: int, sha256: str, content_type: str) -> str:
        extension = next(ext for _, kind, ext in IMAGE_TYPES if kind == content_type)
        # The sha keeps a reused seq (a device set up afresh) from overwriting
        # an older picture's file.
        return f"{validate_device_id(device_id)}/{int(seq)}-{sha256[:16]}{extension}"

    def _write(self, relative: str, image: bytes, durable: bool) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".frame-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(image)
                if durable:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _unlink_all(self, relatives: list[str]) -> None:
        for relative in relatives:
            self._unlink(relative)

    def _unlink(self, relative: str) -> None:
        try:
            (self.root / relative).unlink(missing_ok=True)
        except OSError as error:
            logger.warning("could not remove camera file %s: %s", relative, error)

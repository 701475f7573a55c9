"""Camera frames' rows: the records and the queries both backends share.

A row describes one picture whose bytes sit on disk (see camera_images.py,
which keeps rows and files together). Live pictures: only the newest per
device is kept, and only for seconds. Job pictures stay with their job.
The SQL is written once with ``?`` placeholders (see shared_sql.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .shared_sql import SharedQueries, SqlRunner

LIVE = "live"
JOB = "job"
_COLUMNS = ("id, device_id, seq, ts, received_at, kind, reason, job_id, content_type, path, "
            "size_bytes, sha256")


@dataclass(frozen=True, slots=True)
class NewCameraFrame:
    """A picture whose file is written, about to be recorded."""

    device_id: str
    seq: int
    ts: float
    received_at: float
    kind: str  # LIVE or JOB
    reason: str
    job_id: str | None
    content_type: str
    path: str  # relative to the camera directory
    size_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class CameraFrame:
    id: int
    device_id: str
    seq: int
    ts: float
    received_at: float
    kind: str
    reason: str
    job_id: str | None
    content_type: str
    path: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """What recording a frame did: the row (None for a replay) and rows it replaced."""

    frame: CameraFrame | None
    existing_path: str | None  # a replay: the path the first copy was recorded with
    removed_paths: list[str]


class CameraStore(Protocol):
    def record_camera_frame(self, new: NewCameraFrame) -> RecordedFrame:
        """Record a picture; a live one replaces the device's older live pictures."""
        ...

    def latest_live_frame(self, device_id: str) -> CameraFrame | None: ...

    def camera_frame(self, frame_id: int) -> CameraFrame | None: ...

    def job_pictures(self, device_id: str, job_id: str) -> list[CameraFrame]:
        """A job's pictures in the order they were taken."""
        ...

    def delete_camera_frames(self, kind: str, received_before: float) -> list[str]:
        """Remove rows of one kind that arrived before a time; return their paths."""
        ...


class CameraQueries(SharedQueries):
    """Camera frame rows, on whichever store this is mixed into."""

    # PostgreSQL keeps ts also as a timestamp (`time`), for TimescaleDB.
    _camera_time_column = False

    def record_camera_frame(self, new: NewCameraFrame) -> RecordedFrame:
        time_column, time_value = ((", time", ", to_timestamp(?)") if self._camera_time_column
                                   else ("", ""))
        params = (new.device_id, new.seq, new.ts, new.received_at, new.kind, new.reason,
                  new.job_id, new.content_type, new.path, new.size_bytes, new.sha256)
        with self._sql_tx() as tx:
            rows, _ = tx.run(
                "INSERT INTO camera_frames (device_id, seq, ts, received_at, kind, reason, "
                f"job_id, content_type, path, size_bytes, sha256{time_column}) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?{time_value}) "
                f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
                params + ((new.ts,) if time_value else ()))
            if not rows:  # a redelivery: the first copy stays as it is
                existing, _ = tx.run("SELECT path FROM camera_frames WHERE device_id = ? "
                                     "AND seq = ?", (new.device_id, new.seq))
                return RecordedFrame(None, existing[0][0] if existing else None, [])
            removed: list[str] = []
            if new.kind == LIVE:
                removed = _keep_newest_live(tx, new.device_id)
        return RecordedFrame(CameraFrame(*rows[0]), None, removed)

    def latest_live_frame(self, device_id: str) -> CameraFrame | None:
        rows = self._run(f"SELECT {_COLUMNS} FROM camera_frames WHERE device_id = ? AND "
                         "kind = 'live' ORDER BY ts DESC, seq DESC LIMIT 1", (device_id,))
        return CameraFrame(*rows[0]) if rows else None

    def camera_frame(self, frame_id: int) -> CameraFrame | None:
        rows = self._run(f"SELECT {_COLUMNS} FROM camera_frames WHERE id = ?", (frame_id,))
        return CameraFrame(*rows[0]) if rows else None

    def job_pictures(self, device_id: str, job_id: str) -> list[CameraFrame]:
        rows = self._run(f"SELECT {_COLUMNS} FROM camera_frames WHERE device_id = ? AND "
                         "job_id = ? AND kind = 'job' ORDER BY ts, seq", (device_id, job_id))
        return [CameraFrame(*row) for row in rows]

    def delete_camera_frames(self, kind: str, received_before: float) -> list[str]:
        rows = self._run("DELETE FROM camera_frames WHERE kind = ? AND received_at < ? "
                         "RETURNING path", (kind, received_before))
        return [row[0] for row in rows]


def _keep_newest_live(tx: SqlRunner, device_id: str) -> list[str]:
    """Delete all but the device's newest live picture (by its clock); return their paths.

    A late, older frame is thus removed at once rather than replacing a newer one.
    """
    rows, _ = tx.run("SELECT id FROM camera_frames WHERE device_id = ? AND kind = 'live' "
                     "ORDER BY ts DESC, seq DESC LIMIT 1", (device_id,))
    deleted, _ = tx.run("DELETE FROM camera_frames WHERE device_id = ? AND kind = 'live' "
                        "AND id <> ? RETURNING path", (device_id, rows[0][0]))
    return [row[0] for row in deleted]

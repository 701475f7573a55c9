"""The classes of data retention removes, table by table: pure policy, no I/O.

Each class is kept for one [retention] setting and removes rows from one or
more tables ("sweeps") by the age of one column. A sweep whose rows name
files (camera pictures, exports) removes those files too. A class may name
a table that a later migration adds (exports): until it exists the class
has nothing to remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DAY_S = 86400

FilesRoot = Literal["camera", "exports"]


@dataclass(frozen=True)
class Sweep:
    """One table of a class and how its old rows are found and removed."""

    table: str
    age_column: str  # epoch seconds on every backend
    # An extra condition, literal SQL without parameters.
    where: str = ""
    # "id": batches by the table's own id; "device": device by device, in
    # batches of seq (tables keyed by (device_id, seq)).
    by: Literal["id", "device"] = "id"
    # The column naming each row's file, relative to the class's files root.
    file_column: str | None = None
    # Under TimescaleDB: a hypertable or continuous aggregate whose old
    # chunks are dropped whole instead (drop_chunks).
    chunked: bool = False
    # The column batches are taken by (within a device for "device" sweeps).
    batch_key: str = ""

    @property
    def key(self) -> str:
        return self.batch_key or ("seq" if self.by == "device" else "id")

    def condition(self) -> str:
        """The WHERE clause of rows older than the cutoff (one `?`: the cutoff)."""
        extra = f" AND ({self.where})" if self.where else ""
        return f"{self.age_column} < ?{extra}"


@dataclass(frozen=True)
class DataClass:
    """One kind of data, kept for as long as one [retention] setting says."""

    name: str
    setting: str  # the key under [retention]
    unit: Literal["s", "days"]
    description: str
    sweeps: tuple[Sweep, ...]
    files: FilesRoot | None = None
    # Files on disk under the root older than the cutoff that no row names
    # (left by a crash between writing and recording) go too.
    orphan_files: bool = False
    optional: bool = False  # its table may not exist yet

    def keep_s(self, value: float) -> float:
        """Seconds kept for a setting value in this class's unit."""
        return float(value) * (DAY_S if self.unit == "days" else 1)

    def cutoff(self, now: float, value: float) -> float:
        """The epoch second before which this class's rows go."""
        return now - self.keep_s(value)


def _device(table: str, column: str = "ts", key: str = "") -> Sweep:
    return Sweep(table, column, by="device", chunked=True, batch_key=key)


CLASSES: tuple[DataClass, ...] = (
    DataClass("camera_live", "camera_live_s", "s", "the camera's live picture",
              (Sweep("camera_frames", "received_at", "kind = 'live'", file_column="path"),),
              files="camera"),
    DataClass("job_pictures", "job_pictures_days", "days", "pictures taken at job events",
              (Sweep("camera_frames", "received_at", "kind = 'job'", file_column="path"),),
              files="camera", orphan_files=True),
    DataClass("telemetry", "telemetry_days", "days", "raw telemetry samples",
              (_device("telemetry"),)),
    DataClass("telemetry_1m", "telemetry_1m_days", "days", "1-minute telemetry rollups",
              (_device("telemetry_1m", "bucket", "bucket"),)),
    DataClass("telemetry_1h", "telemetry_1h_days", "days", "1-hour telemetry rollups",
              (_device("telemetry_1h", "bucket", "bucket"),)),
    DataClass("events", "events_days", "days", "job events and heartbeats",
              (_device("job_events"), _device("heartbeats"))),
    DataClass("downtime", "downtime_days", "days", "presence changes and reported downtime",
              (_device("downtime_reports"), Sweep("presence_events", "ts", chunked=True))),
    # Page views first: a session's views are never younger than its last
    # activity, so removing the session afterwards cascades to nothing.
    DataClass("sessions", "sessions_days", "days", "sign-in sessions and their page views",
              (Sweep("page_views", "at"), Sweep("web_sessions", "last_activity_at"))),
    DataClass("actions", "actions_days", "days", "the action log",
              (Sweep("actions", "at"),)),
    DataClass("rejects", "rejects_days", "days", "messages refused at the MQTT edge",
              (Sweep("rejected_messages", "received_at"),)),
    DataClass("exports", "exports_days", "days", "finished data exports",
              (Sweep("data_exports", "created_at", file_column="path"),),
              files="exports", optional=True),
)

BY_NAME = {data_class.name: data_class for data_class in CLASSES}
BY_SETTING = {data_class.setting: data_class for data_class in CLASSES}


def data_class(name: str) -> DataClass:
    """The class with this name or setting key; ValueError naming the known ones."""
    found = BY_NAME.get(name) or BY_SETTING.get(name)
    if found is None:
        raise ValueError(f"unknown retention class {name!r}; known: {', '.join(BY_NAME)}")
    return found

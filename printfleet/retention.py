"""Retention runs: what each data class would remove now (preview), and removing it (run).

The policy (which tables, by which column) is storage/retention_classes.py;
the settings say how long. A run removes rows first and then their files
(so no row names a missing file for long), and is recorded in
retention_runs. A preview at the same moment counts exactly what a run
removes: the same cutoffs, the same conditions, the same files.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from storage import SyncStore
from storage.retention_classes import CLASSES, DataClass, data_class
from storage.retention_runs import Expired, RetentionRun

from .settings import RETENTION_CEILINGS, RetentionSettings, Settings

logger = logging.getLogger(__name__)

EXPORTS_DIRECTORY = "exports"


@dataclass(frozen=True)
class Outcome:
    """What one class's preview counted or its run removed."""

    data_class: str
    cutoff: float
    rows: int
    files: int
    oldest: float | None
    newest: float | None
    seconds: float = 0.0
    present: bool = True  # False: the class's table does not exist yet
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"class": self.data_class, "cutoff": self.cutoff, "rows": self.rows,
                "files": self.files, "oldest": self.oldest, "newest": self.newest,
                "seconds": round(self.seconds, 4), "present": self.present,
                "error": self.error}


@dataclass(frozen=True)
class ClassSetting:
    """A class as operators see it: its setting, value, default and ceiling."""

    data_class: DataClass
    value: float
    default: float
    ceiling: float | None
    promise: str | None

    @property
    def key(self) -> str:
        return f"retention.{self.data_class.setting}"


def class_settings(settings: Settings) -> list[ClassSetting]:
    """Every class with its configured value, default and the policy's ceiling, if any."""
    defaults = RetentionSettings()
    rows = []
    for item in CLASSES:
        ceiling, promise = RETENTION_CEILINGS.get(item.setting, (None, None))
        rows.append(ClassSetting(item, getattr(settings.retention, item.setting),
                                 getattr(defaults, item.setting), ceiling, promise))
    return rows


class Retention:
    """Previews and runs retention for the settings' classes on one store."""

    def __init__(self, settings: Settings, store: SyncStore) -> None:
        self.settings = settings
        self.store = store

    def cutoff(self, item: DataClass, now: float) -> float:
        return item.cutoff(now, getattr(self.settings.retention, item.setting))

    def files_root(self, item: DataClass) -> Path | None:
        if item.files == "camera":
            return self.settings.camera_dir
        if item.files == "exports":
            return self.settings.data_path / EXPORTS_DIRECTORY
        return None

    def preview(self, now: float, names: list[str] | None = None) -> list[Outcome]:
        """Count what a run now would remove, per class; nothing is removed or recorded."""
        self._materialize_rollups(now)
        return [self._preview(item, now) for item in _selected(names)]

    def run(self, now: float, names: list[str] | None = None, triggered_by: str = "schedule",
            record: bool = True) -> list[Outcome]:
        """Remove what each class no longer keeps; record each class's run."""
        selected = _selected(names)
        if all(item.name != "telemetry" for item in selected):
            # Otherwise the raw-telemetry class materializes them itself, before
            # dropping and before the rollup classes (after it in CLASSES) count.
            self._materialize_rollups(now)
        outcomes = []
        for item in selected:
            outcome = self.run_class(item, now)
            if record and outcome.present:
                self.record(outcome, triggered_by, preview=False, started_at=now)
            outcomes.append(outcome)
        return outcomes

    def record_preview(self, outcomes: list[Outcome], now: float, triggered_by: str) -> None:
        """Keep previews in the runs log, marked as previews."""
        for outcome in outcomes:
            if outcome.present:
                self.record(outcome, triggered_by, preview=True, started_at=now)

    def record(self, outcome: Outcome, triggered_by: str, preview: bool,
               started_at: float) -> None:
        self.store.record_retention_run(RetentionRun(
            outcome.data_class, preview, triggered_by, outcome.cutoff, started_at,
            started_at + outcome.seconds, outcome.seconds, outcome.rows, outcome.files,
            outcome.oldest, outcome.newest, outcome.error))

    def _materialize_rollups(self, now: float) -> None:
        # What the raw-telemetry class's run materializes before dropping, done
        # up front by previews and runs alike, so that both count the same rollups.
        telemetry = next(item for item in CLASSES if item.name == "telemetry")
        self.store.materialize_rollups(self.cutoff(telemetry, now))

    def run_class(self, item: DataClass, now: float) -> Outcome:
        """Remove one class's expired rows and files; errors are reported, never raised."""
        cutoff = self.cutoff(item, now)
        started = time.perf_counter()
        if item.optional and not self.store.has_table(item.sweeps[0].table):
            return Outcome(item.name, cutoff, 0, 0, None, None, present=False)
        try:
            expired, files = self._remove(item, cutoff)
        except Exception as error:  # recorded for operators; the next class still runs
            logger.exception("retention of %s failed", item.name)
            return Outcome(item.name, cutoff, 0, 0, None, None, time.perf_counter() - started,
                           error=f"{type(error).__name__}: {error}")
        seconds = time.perf_counter() - started
        if expired.rows or files:
            logger.info("retention removed %d %s row(s) and %d file(s) older than %.0f in %.2fs",
                        expired.rows, item.name, files, cutoff, seconds)
        return Outcome(item.name, cutoff, expired.rows, files, expired.oldest, expired.newest,
                       seconds)

    def _preview(self, item: DataClass, now: float) -> Outcome:
        cutoff = self.cutoff(item, now)
        started = time.perf_counter()
        if item.optional and not self.store.has_table(item.sweeps[0].table):
            return Outcome(item.name, cutoff, 0, 0, None, None, present=False)
        devices = self.store.retention_devices()
        expired = Expired()
        paths: list[str] = []
        for sweep in item.sweeps:
            expired = expired.plus(self.store.measure_expired(sweep, cutoff, devices))
            paths += self.store.expired_paths(sweep, cutoff)
        root = self.files_root(item)
        files = 0
        if root is not None:
            files = sum(1 for path in paths if (root / path).is_file())
            files += len(self._orphans(item, root, cutoff))
        return Outcome(item.name, cutoff, expired.rows, files, expired.oldest, expired.newest,
                       time.perf_counter() - started)

    def _remove(self, item: DataClass, cutoff: float) -> tuple[Expired, int]:
        devices = self.store.retention_devices()
        root = self.files_root(item)
        orphans = self._orphans(item, root, cutoff) if root is not None else []
        expired = Expired()
        paths: list[str] = []
        for sweep in item.sweeps:
            removed, found = self.store.delete_expired(sweep, cutoff, devices,
                                                       self.settings.retention.batch_rows)
            expired = expired.plus(removed)
            paths += found
        files = 0
        if root is not None:
            files = sum(_unlink(root / path) for path in paths)
            files += sum(_unlink(path) for path in orphans)
        return expired, files

    def _orphans(self, item: DataClass, root: Path, cutoff: float) -> list[Path]:
        """Files under the root older than the cutoff that no row names."""
        if not item.orphan_files or not root.is_dir():
            return []
        named: set[str] = set()
        for sweep in item.sweeps:
            named |= self.store.referenced_paths(sweep)
        found = []
        for directory, _, names in os.walk(root):
            for name in names:
                path = Path(directory) / name
                if path.relative_to(root).as_posix() in named:
                    continue
                try:
                    if path.stat().st_mtime < cutoff:
                        found.append(path)
                except FileNotFoundError:
                    continue
        return sorted(found)


def _selected(names: list[str] | None) -> list[DataClass]:
    return list(CLASSES) if not names else [data_class(name) for name in names]


def _unlink(path: Path) -> int:
    try:
        path.unlink()
        return 1
    except FileNotFoundError:
        return 0
    except OSError as error:
        logger.warning("could not remove %s: %s", path, error)
        return 0

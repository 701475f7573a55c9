"""Building data exports: a ZIP of everything held about a user, in the scheduler process.

The web app only queues an export (data_exports row); the scheduler's
export job claims it and writes the ZIP under <data_dir>/exports (outside
the web root): one JSON file per table (storage/personal_data.py decides
which rows and which columns), CSV for jobs, sessions, page views and
actions, the user's files and their printers' pictures, and a manifest.
Progress is recorded as it goes; the user is mailed when it is ready.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import secrets
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from storage import SyncStore
from storage.data_exports import DataExport, json_value
from storage.file_contents import FileContents
from storage.files import FileOwner
from storage.personal_data import BY_TABLE, NOT_PERSONAL, NOTES, RULES, Scope, TableRule

from .notify.mail import Mailer, MailError
from .retention import EXPORTS_DIRECTORY
from .settings import Settings

logger = logging.getLogger(__name__)

EXPORT_SCHEMA_VERSION = 1
PAGE_ROWS = 2000
# How often the scheduler looks for queued exports.
EXPORT_POLL_S = 2.0
CSV_FILES = {"print_jobs": "csv/jobs.csv", "web_sessions": "csv/sessions.csv",
             "page_views": "csv/page_views.csv", "actions": "csv/actions.csv"}


def exports_root(settings: Settings) -> Path:
    return settings.data_path / EXPORTS_DIRECTORY


def new_export_path(user_id: int) -> str:
    """Where a new export's ZIP will be, relative to the exports root (not guessable)."""
    return f"{int(user_id)}/export-{secrets.token_hex(12)}.zip"


class _Progress:
    """Counts rows and files written; records them every so often."""

    def __init__(self, store: SyncStore, export_id: int, total: int) -> None:
        self.store, self.export_id, self.total, self.done = store, export_id, total, 0
        self._recorded_at = 0.0

    def add(self, count: int) -> None:
        self.done += count
        if time.monotonic() - self._recorded_at > 0.5:
            self._recorded_at = time.monotonic()
            self.store.record_export_progress(self.export_id, self.done, self.total)


class ExportBuilder:
    """Claims queued exports and builds them, one at a time."""

    def __init__(self, settings: Settings, store: SyncStore) -> None:
        self.settings = settings
        self.store = store
        self.root = exports_root(settings)
        self._first_run = True

    def run_pending(self) -> int:
        """Build every queued export; return how many were built or failed."""
        if self._first_run:
            # One scheduler process: an export "running" now was left by one that stopped.
            self._first_run = False
            if requeued := self.store.requeue_running_exports():
                logger.info("queued %d interrupted export(s) again", requeued)
        built = 0
        while (export := self.store.claim_data_export(time.time())) is not None:
            self.build(export)
            built += 1
        return built

    def build(self, export: DataExport) -> None:
        """Write one export's ZIP; a failure is recorded on the export, never raised."""
        target = self.root / export.path
        partial = target.with_name(target.name + ".part")
        started = time.perf_counter()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            scope = self.store.export_scope(export.user_id, export.id)
            if scope is None:
                raise LookupError(f"user {export.user_id} no longer exists")
            self._write(export, scope, partial)
            os.replace(partial, target)
        except Exception as error:  # recorded for the user; the next export still runs
            logger.exception("data export %d failed", export.id)
            with contextlib.suppress(OSError):  # there may be no folder to hold it
                partial.unlink(missing_ok=True)
            self.store.fail_data_export(export.id, f"{type(error).__name__}: {error}",
                                        time.time())
            return
        size = target.stat().st_size
        self.store.finish_data_export(export.id, size, time.time())
        logger.info("data export %d of user %d: %d bytes in %.2fs", export.id, export.user_id,
                    size, time.perf_counter() - started)
        self._notify(scope, export)

    def _write(self, export: DataExport, scope: Scope, path: Path) -> None:
        present = set(self.store.table_names())
        plan = [(rule, [c for c in self.store.table_columns(rule.table) if c not in rule.withheld])
                for rule in RULES if rule.table in present]
        counts = {rule.table: self.store.count_personal_rows(rule, scope) for rule, _ in plan}
        files = self._rows_as_dicts(BY_TABLE["file_entries"], scope)
        files = [entry for entry in files if entry["kind"] == "file"]
        pictures = self._rows_as_dicts(BY_TABLE["camera_frames"], scope)
        progress = _Progress(self.store, export.id, sum(counts.values()) + len(files)
                             + len(pictures))
        entries: list[dict[str, Any]] = []
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for rule, columns in plan:
                entries += self._write_table(archive, rule, columns, scope, progress)
            entries.append(self._write_files(archive, scope, files, progress))
            entries.append(self._write_pictures(archive, pictures, progress))
            manifest = _manifest(export, scope, entries, present)
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        self.store.record_export_progress(export.id, progress.total, progress.total)

    def _pages(self, rule: TableRule, scope: Scope, columns: list[str]
               ) -> Iterator[list[tuple[Any, ...]]]:
        offset = 0
        while True:
            page = self.store.personal_rows(rule, scope, columns, PAGE_ROWS, offset)
            if page:
                yield page
            if len(page) < PAGE_ROWS:
                return
            offset += len(page)

    def _rows_as_dicts(self, rule: TableRule, scope: Scope) -> list[dict[str, Any]]:
        columns = [c for c in self.store.table_columns(rule.table) if c not in rule.withheld]
        return [dict(zip(columns, row, strict=True)) for page in self._pages(rule, scope, columns)
                for row in page]

    def _write_table(self, archive: zipfile.ZipFile, rule: TableRule, columns: list[str],
                     scope: Scope, progress: _Progress) -> list[dict[str, Any]]:
        name, rows = f"data/{rule.table}.json", 0
        with archive.open(name, "w") as raw, io.TextIOWrapper(raw, "utf-8") as out:
            out.write(json.dumps({"table": rule.table, "columns": columns})[:-1] + ', "rows": [')
            for page in self._pages(rule, scope, columns):
                for row in page:
                    out.write(("," if rows else "") + "\n" + json.dumps(
                        {c: json_value(v) for c, v in zip(columns, row, strict=True)}))
                    rows += 1
                progress.add(len(page))
            out.write("\n]}\n")
        written = [{"path": name, "table": rule.table, "holds": rule.description, "rows": rows,
                    "format": "json"}]
        if rule.table in CSV_FILES:
            written.append(self._write_csv(archive, rule, columns, scope))
        return written

    def _write_csv(self, archive: zipfile.ZipFile, rule: TableRule, columns: list[str],
                   scope: Scope) -> dict[str, Any]:
        name, rows = CSV_FILES[rule.table], 0
        with archive.open(name, "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            for page in self._pages(rule, scope, columns):
                writer.writerows([json_value(v) for v in row] for row in page)
                rows += len(page)
        return {"path": name, "table": rule.table, "holds": f"{rule.description} (CSV)",
                "rows": rows, "format": "csv"}

    def _write_files(self, archive: zipfile.ZipFile, scope: Scope, files: list[dict[str, Any]],
                     progress: _Progress) -> dict[str, Any]:
        contents = FileContents(self.settings.files_dir, self.settings.files.max_upload_bytes)
        owner, missing = FileOwner(user_id=scope.user_id), []
        for entry in files:
            name = f"files/{entry['id']}-{entry['name']}"
            try:
                archive.write(contents.path(owner, entry["sha256"] or ""), name)
            except (OSError, ValueError):
                missing.append(entry["id"])
            progress.add(1)
        return {"path": "files/", "holds": "the contents of your files, as <id>-<name> "
                "(folders and names in data/file_entries.json)", "count": len(files) - len(missing),
                "missing_ids": missing, "format": "files"}

    def _write_pictures(self, archive: zipfile.ZipFile, pictures: list[dict[str, Any]],
                        progress: _Progress) -> dict[str, Any]:
        root, missing = self.settings.camera_dir.resolve(), []
        for frame in pictures:
            source = (root / frame["path"]).resolve()
            name = f"pictures/{frame['device_id']}/{frame['id']}-{source.name}"
            try:
                if not source.is_relative_to(root):
                    raise ValueError("outside the camera directory")
                archive.write(source, name)
            except (OSError, ValueError):
                missing.append(frame["id"])  # expired since it was listed
            progress.add(1)
        return {"path": "pictures/", "holds": "your printers' camera pictures, as "
                "<device>/<frame id>-<file> (details in data/camera_frames.json)",
                "count": len(pictures) - len(missing), "missing_ids": missing,
                "format": "files"}

    def _notify(self, scope: Scope, export: DataExport) -> None:
        mailer = Mailer(self.settings.mail)
        if not mailer.configured:
            return
        link = f"{self.settings.link_base_url}/account/export"
        try:
            mailer.send(scope.email, "Your Printfleet data export is ready",
                        f"The export of your data you asked for is ready to download:\n\n"
                        f"{link}\n\nIt is kept for {self.settings.retention.exports_days} "
                        f"day(s), then removed.\n")
            logger.info("data export %d ready mail sent", export.id)
        except MailError as error:
            logger.warning("data export %d ready mail not sent: %s", export.id, error)


def _manifest(export: DataExport, scope: Scope, entries: list[dict[str, Any]],
              present: set[str]) -> dict[str, Any]:
    now = time.time()
    undecided = sorted(present - set(BY_TABLE) - set(NOT_PERSONAL))
    if undecided:
        logger.warning("tables with no export rule: %s", ", ".join(undecided))
    return {
        "schema_version": EXPORT_SCHEMA_VERSION,
        "export_id": export.id,
        "user_id": scope.user_id,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "exported_at_epoch_s": now,
        "printers": list(scope.device_ids),
        "files": entries,
        "withheld_columns": [{"table": rule.table, "column": column, "reason": reason}
                             for rule in RULES for column, reason in rule.withheld.items()],
        "not_exported_tables": [{"table": table, "reason": reason}
                                for table, reason in sorted(NOT_PERSONAL.items())],
        "undecided_tables": undecided,
        "notes": list(NOTES),
    }


def add_export_job(scheduler: BaseScheduler, settings: Settings, store: SyncStore) -> None:
    """Register the export builder (one at a time, in the scheduler process only)."""
    scheduler.add_job(ExportBuilder(settings, store).run_pending, "interval",
                      seconds=EXPORT_POLL_S, id="data_exports", name="data exports",
                      misfire_grace_time=60)

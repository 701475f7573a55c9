"""Jobs and their statistics as plain values (JSON) and as CSV rows safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from typing import Any

from storage.job_history import JobStats, PrintJob

CSV_COLUMNS = ("id", "printer", "device_id", "job_id", "file_name", "origin", "started_at",
               "ended_at", "outcome", "reason", "progress_pct", "time_left_s", "pause_count",
               "paused_s", "print_s", "filament_used_mm", "filament_used_g", "slicer",
               "slicer_version", "started_by", "command_transaction")
# A spreadsheet runs a cell starting with one of these as a formula, so a file
# named "=HYPERLINK(...)" would run when the export is opened (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def iso_utc(epoch: float | None) -> str | None:
    """An epoch second as ISO 8601 in UTC, to the second."""
    if epoch is None:
        return None
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def job_to_dict(job: PrintJob) -> dict[str, Any]:
    """Every field of a job, times also in ISO 8601, as JSON-ready values."""
    return {
        "id": job.id, "device_id": job.device_id, "printer": job.printer_name,
        "job_id": job.job_id, "file_name": job.file_name, "origin": job.origin,
        "started_at": job.started_at, "started_at_iso": iso_utc(job.started_at),
        "ended_at": job.ended_at, "ended_at_iso": iso_utc(job.ended_at),
        "outcome": job.outcome or "running", "reason": job.reason,
        "progress_pct": job.progress_pct, "time_left_s": job.time_left_s,
        "pause_count": job.pause_count, "paused_s": job.paused_s, "print_s": job.print_s,
        "filament_used_mm": job.filament_used_mm, "filament_used_g": job.filament_used_g,
        "slicer": job.slicer, "slicer_version": job.slicer_version,
        "started_by_user_id": job.started_by_user_id, "started_by": job.started_by_email,
        "command_transaction": job.command_transaction,
    }


def stats_to_dict(stats: JobStats) -> dict[str, Any]:
    """One group's statistics as JSON-ready values."""
    rate = stats.success_rate
    return {
        "key": stats.key, "label": stats.label, "prints": stats.prints,
        "finished": stats.finished, "failed": stats.failed, "cancelled": stats.cancelled,
        "running": stats.running,
        "success_rate": None if rate is None else round(rate, 4),
        "print_hours": round(stats.print_hours, 3),
        "filament_used_mm": round(stats.filament_used_mm, 2),
        "filament_used_g": round(stats.filament_used_g, 2),
    }


def csv_safe(value: object) -> object:
    """Neutralise text a spreadsheet would run as a formula; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(job: PrintJob) -> list[object]:
    """One job as a CSV row in CSV_COLUMNS order."""
    values = job_to_dict(job)
    values["started_at"], values["ended_at"] = values["started_at_iso"], values["ended_at_iso"]
    values["outcome"] = job.outcome or "running"
    return [csv_safe(values[column]) for column in CSV_COLUMNS]


def csv_lines(pages: Iterable[list[PrintJob]]) -> Iterator[str]:
    """The header, then the jobs, as CSV text in chunks (one per page of jobs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for jobs in pages:
        writer.writerows(csv_row(job) for job in jobs)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()

"""The print-jobs history in SQL, written once with ``?`` placeholders for both backends.

Lists, filters and statistics run over print_jobs (one row per print, see
job_records.py), never over every event; callers pass the device ids in scope.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from .job_history import Cell, JobFilter, JobPage, JobStats, JobSummary, PrintJob, summarise
from .job_records import (
    MISSING_SQL,
    RECORD_COLUMNS,
    UPSERT_SQL,
    JobKey,
    as_events,
    chunks,
    events_query,
    issuers_query,
    record_rows,
    transactions_of,
)
from .shared_sql import SharedQueries, SqlRunner

_JOB_COLUMNS = ", ".join(f"j.{c}" for c in ("id",) + RECORD_COLUMNS)
_JOINED = ("FROM print_jobs j JOIN devices d ON d.device_id = j.device_id "
           "LEFT JOIN users u ON u.id = j.started_by_user_id")
_SELECT_JOBS = f"SELECT {_JOB_COLUMNS}, d.name, u.email {_JOINED}"
# One pass over the print_jobs_stats index: a cell per (printer, user).
_CELLS = """SELECT j.device_id, j.started_by_user_id, count(*),
    count(*) FILTER (WHERE j.outcome = 'finished'), count(*) FILTER (WHERE j.outcome = 'failed'),
    count(*) FILTER (WHERE j.outcome = 'cancelled'), count(*) FILTER (WHERE j.outcome IS NULL),
    coalesce(sum(j.print_s), 0), coalesce(sum(j.filament_used_mm), 0),
    coalesce(sum(j.filament_used_g), 0)
    FROM print_jobs j WHERE {where} GROUP BY j.device_id, j.started_by_user_id"""


class JobQueries(SharedQueries):
    """The jobs history, on whichever store this is mixed into."""

    def print_jobs_page(self, device_ids: Collection[str], job_filter: JobFilter,
                        limit: int, offset: int = 0, count: bool = True) -> JobPage:
        where, params = _where(device_ids, job_filter)
        if where is None:
            return JobPage([], 0)
        # The page's ids come from the (device_id, started_at) index alone; only
        # those rows are read and joined.
        with self._sql_read() as tx:
            rows, _ = tx.run(f"{_SELECT_JOBS} WHERE j.id IN (SELECT j.id FROM print_jobs j "
                             f"WHERE {where} ORDER BY j.started_at DESC, j.id DESC "
                             "LIMIT ? OFFSET ?) ORDER BY j.started_at DESC, j.id DESC",
                             (*params, limit, offset))
            total = (tx.run(f"SELECT count(*) FROM print_jobs j WHERE {where}", params)[0][0][0]
                     if count else -1)
        return JobPage([PrintJob(*row) for row in rows], int(total))

    def print_job(self, device_ids: Collection[str], job_id: int) -> PrintJob | None:
        if not device_ids:
            return None
        rows = self._run(f"{_SELECT_JOBS} WHERE j.id = ?", (job_id,))
        if not rows or rows[0][1] not in device_ids:
            return None
        return PrintJob(*rows[0])

    def print_job_summary(self, device_ids: Collection[str], job_filter: JobFilter
                          ) -> JobSummary:
        where, params = _where(device_ids, job_filter)
        if where is None:
            return summarise([], {}, {})
        with self._sql_read() as tx:
            cells = [_cell(row) for row in tx.run(_CELLS.format(where=where), params)[0]]
            devices = sorted({device for device, _, _ in cells})
            users = sorted({user for _, user, _ in cells if user is not None})
            names = _lookup(tx, "SELECT device_id, name FROM devices WHERE device_id", devices)
            emails = _lookup(tx, "SELECT id, email FROM users WHERE id", users)
        return summarise(cells, names, emails)

    def print_job_starters(self, device_ids: Collection[str]) -> list[tuple[int, str]]:
        where, params = _where(device_ids, JobFilter())
        if where is None:
            return []
        rows = self._run("SELECT u.id, u.email FROM users u WHERE u.id IN (SELECT "
                         f"j.started_by_user_id FROM print_jobs j WHERE {where}) "
                         "ORDER BY u.email", params)
        return [(int(row[0]), str(row[1])) for row in rows]

    def refresh_print_jobs(self, keys: Sequence[JobKey]) -> int:
        done = 0
        for chunk in chunks(sorted(set(keys))):
            with self._sql_tx() as tx:
                done += _refresh(tx, chunk)
        return done

    def backfill_print_jobs(self) -> int:
        with self._sql_tx() as tx:
            return backfill_print_jobs(tx)


def backfill_print_jobs(tx: SqlRunner) -> int:
    """Fold every job with events but no record (a store from before print_jobs)."""
    keys = [(str(row[0]), str(row[1])) for row in tx.run(MISSING_SQL, ())[0]]
    return sum(_refresh(tx, chunk) for chunk in chunks(keys))


def _refresh(tx: SqlRunner, keys: Sequence[JobKey]) -> int:
    events = as_events(tx.run(*events_query(keys))[0])
    transactions = transactions_of(events)
    issuers = tx.run(*issuers_query(transactions))[0] if transactions else []
    rows = record_rows(events, issuers)
    for row in rows:
        tx.run(UPSERT_SQL, row)
    return len(rows)


def _where(device_ids: Collection[str], f: JobFilter) -> tuple[str | None, tuple]:
    """The WHERE clause over print_jobs j for a scope and filter; None when nothing can match."""
    devices = sorted(device_ids)
    if f.device_id is not None:
        devices = [f.device_id] if f.device_id in device_ids else []
    if not devices:
        return None, ()
    clauses = [f"j.device_id IN ({', '.join('?' for _ in devices)})"]
    params: list[object] = list(devices)
    if f.started_outside:
        clauses.append("j.started_by_user_id IS NULL")
    elif f.started_by_user_id is not None:
        clauses.append("j.started_by_user_id = ?")
        params.append(f.started_by_user_id)
    if f.outcome == "running":
        clauses.append("j.outcome IS NULL")
    elif f.outcome is not None:
        clauses.append("j.outcome = ?")
        params.append(f.outcome)
    if f.since is not None:
        clauses.append("j.started_at >= ?")
        params.append(f.since)
    if f.until is not None:
        clauses.append("j.started_at < ?")
        params.append(f.until)
    return " AND ".join(clauses), tuple(params)


def _cell(row: tuple) -> Cell:
    device, user, prints, finished, failed, cancelled, running, print_s, mm, grams = row
    return device, user, JobStats(None, None, int(prints), int(finished), int(failed),
                                  int(cancelled), int(running), float(print_s), float(mm),
                                  float(grams))


def _lookup(tx: SqlRunner, select: str, keys: Sequence) -> dict:
    """Map keys to labels with `select ... IN (keys)`, a few hundred at a time."""
    found: dict = {}
    for first in range(0, len(keys), 500):
        chunk = keys[first:first + 500]
        rows, _ = tx.run(f"{select} IN ({', '.join('?' for _ in chunk)})", tuple(chunk))
        found.update((row[0], row[1]) for row in rows)
    return found

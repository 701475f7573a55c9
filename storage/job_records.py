"""Keep print_jobs in step with job events: refold every job a batch of events touched.

The fold is storage/jobs.py's pure function over all of a job's stored
events, so a record is the same whatever order its events arrived in. The
SQL here is written once with ``?`` placeholders; the PostgreSQL paths swap
in ``%s`` (see shared_sql.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .job_history import JobKey
from .jobs import JobRecord, build_job_records
from .rows import COLUMNS

# Jobs per statement: two parameters each, well under every driver's limit.
KEYS_PER_QUERY = 400
_EVENT_COLUMNS = COLUMNS["job_events"]
_DEVICE, _JOB = _EVENT_COLUMNS.index("device_id"), _EVENT_COLUMNS.index("job_id")

RECORD_COLUMNS = ("device_id", "job_id", "file_name", "origin", "started_at", "ended_at",
                  "outcome", "reason", "pause_count", "paused_s", "progress_pct", "time_left_s",
                  "filament_used_mm", "filament_used_g", "command_transaction", "slicer",
                  "slicer_version", "started_by_user_id", "print_s")
_UPDATED = ", ".join(f"{c} = excluded.{c}" for c in RECORD_COLUMNS[2:])
UPSERT_SQL = (f"INSERT INTO print_jobs ({', '.join(RECORD_COLUMNS)}) "
              f"VALUES ({', '.join('?' for _ in RECORD_COLUMNS)}) "
              f"ON CONFLICT (device_id, job_id) DO UPDATE SET {_UPDATED}")

# Jobs with events but no record: what a store had before print_jobs existed.
MISSING_SQL = """SELECT DISTINCT e.device_id, e.job_id FROM job_events e WHERE NOT EXISTS
    (SELECT 1 FROM print_jobs p WHERE p.device_id = e.device_id AND p.job_id = e.job_id)"""


def job_keys(event_rows: Iterable[Sequence[Any]]) -> list[JobKey]:
    """The jobs that rows of the job_events table (in COLUMNS order) belong to, sorted."""
    return sorted({(row[_DEVICE], row[_JOB]) for row in event_rows})


def chunks(keys: Sequence[JobKey]) -> list[Sequence[JobKey]]:
    """Split keys into groups small enough for one query each."""
    return [keys[i:i + KEYS_PER_QUERY] for i in range(0, len(keys), KEYS_PER_QUERY)]


def events_query(keys: Sequence[JobKey]) -> tuple[str, tuple]:
    """Every stored event of these jobs, as (sql, params).

    The keys are joined in as a table, so each is looked up through the
    (device_id, job_id) index rather than the whole table scanned.
    """
    pairs = ", ".join("(?, ?)" for _ in keys)
    columns = ", ".join(f"e.{c}" for c in _EVENT_COLUMNS)
    sql = (f"WITH k(device_id, job_id) AS (VALUES {pairs}) SELECT {columns} FROM k "
           "JOIN job_events e ON e.device_id = k.device_id AND e.job_id = k.job_id")
    return sql, tuple(value for key in keys for value in key)


def issuers_query(transactions: Sequence[str]) -> tuple[str, tuple]:
    """Who issued these commands to which device: (transaction_id, device_id, user_id) rows."""
    marks = ", ".join("?" for _ in transactions)
    return (f"SELECT transaction_id, device_id, user_id FROM device_commands "
            f"WHERE transaction_id IN ({marks})", tuple(transactions))


def as_events(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """job_events rows (in COLUMNS order) as the dicts build_job_records folds."""
    return [dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in rows]


def transactions_of(events: Iterable[dict[str, Any]]) -> list[str]:
    """The command transactions these events name, sorted."""
    return sorted({e["command_transaction"] for e in events if e.get("command_transaction")})


def record_rows(events: list[dict[str, Any]], issuer_rows: Iterable[Sequence[Any]]
                ) -> list[tuple]:
    """Fold events into one UPSERT_SQL parameter tuple per job.

    A job names its starter only through a command issued to its own device:
    another device quoting the transaction gets no one.
    """
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_device[event["device_id"]].append(event)
    issued = [(str(t), str(d), u) for t, d, u in issuer_rows]
    rows = []
    for device_id, device_events in by_device.items():
        issuers = {t: u for t, d, u in issued if d == device_id}
        rows += [record_values(r) for r in build_job_records(device_events, issuers)]
    return rows


def record_values(record: JobRecord) -> tuple:
    """A record as UPSERT_SQL's parameters, with the time it spent printing."""
    print_s = None
    if record.ended_at is not None:
        print_s = max(0.0, record.ended_at - record.started_at - record.paused_s)
    values = {name: getattr(record, name) for name in RECORD_COLUMNS if name != "print_s"}
    return (*values.values(), print_s)

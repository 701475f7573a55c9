"""Retention in the store: measuring and removing expired rows, the runs log, operators.

The SQL is written once with ``?`` placeholders (see shared_sql.py). Rows
go in batches, each in its own short transaction; under TimescaleDB a
sweep of a hypertable drops whole chunks instead (postgres/retention_chunks.py).
Measuring and removing use the same condition, so a preview counts exactly
what a run at the same moment removes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .retention_classes import Sweep
from .shared_sql import SharedQueries

# Every device that may have rows: registered or merely heard from.
_DEVICES = "SELECT device_id FROM devices UNION SELECT device_id FROM device_state"
_RUN_COLUMNS = ("data_class, preview, triggered_by, cutoff, started_at, ended_at, seconds, "
                "rows_removed, files_removed, oldest, newest, error")


@dataclass(frozen=True, slots=True)
class Expired:
    """What a sweep would remove: how many rows, the oldest and newest age among them."""

    rows: int = 0
    oldest: float | None = None
    newest: float | None = None

    def plus(self, other: Expired) -> Expired:
        """Both together."""
        return Expired(self.rows + other.rows, _least(self.oldest, other.oldest),
                       _most(self.newest, other.newest))


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """One recorded run (or preview) of one class."""

    data_class: str
    preview: bool
    triggered_by: str  # schedule | expiry | cli | bench
    cutoff: float | None
    started_at: float
    ended_at: float
    seconds: float
    rows_removed: int
    files_removed: int
    oldest: float | None
    newest: float | None
    error: str | None = None
    id: int | None = None


class RetentionStore(Protocol):
    def retention_devices(self) -> list[str]:
        """Devices whose rows device-by-device sweeps visit."""
        ...

    def has_table(self, table: str) -> bool: ...

    def materialize_rollups(self, until: float) -> None:
        """Bring continuous aggregates up to date before `until` (TimescaleDB; else nothing).

        A run does this before dropping raw chunks, so a preview does it too:
        both then count the same rollup rows.
        """
        ...

    def measure_expired(self, sweep: Sweep, cutoff: float, devices: list[str]) -> Expired:
        """Count a sweep's rows older than the cutoff, as a run now would remove them."""
        ...

    def expired_paths(self, sweep: Sweep, cutoff: float) -> list[str]:
        """The files named by a sweep's rows older than the cutoff."""
        ...

    def referenced_paths(self, sweep: Sweep) -> set[str]:
        """Every file a row of the sweep's table names."""
        ...

    def delete_expired(self, sweep: Sweep, cutoff: float, devices: list[str],
                       batch_rows: int) -> tuple[Expired, list[str]]:
        """Remove a sweep's rows older than the cutoff: what went (as measured) and their files."""
        ...

    def record_retention_run(self, run: RetentionRun) -> int: ...

    def retention_runs(self, limit: int = 50) -> list[RetentionRun]:
        """The latest runs, newest first."""
        ...

    def set_operator(self, user_id: int, is_operator: bool) -> bool: ...

    def is_operator(self, user_id: int) -> bool: ...

    def oldest_live_frame_at(self) -> float | None:
        """When the oldest live picture still stored arrived."""
        ...


class RetentionQueries(SharedQueries):
    """Retention's queries, on whichever store this is mixed into."""

    def _drops_chunks(self, sweep: Sweep) -> bool:
        """Whether this store drops the sweep's chunks (TimescaleDB) rather than deleting."""
        return False

    def _chunks_expired(self, sweep: Sweep, cutoff: float) -> Expired:
        raise NotImplementedError

    def _drop_expired_chunks(self, sweep: Sweep, cutoff: float) -> Expired:
        raise NotImplementedError

    def retention_devices(self) -> list[str]:
        return sorted(row[0] for row in self._run(_DEVICES))

    def materialize_rollups(self, until: float) -> None:
        return None  # rollup tables are folded at ingest: nothing waits to be materialized

    def has_table(self, table: str) -> bool:
        return bool(self._run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (table,)))

    def measure_expired(self, sweep: Sweep, cutoff: float, devices: list[str]) -> Expired:
        if self._drops_chunks(sweep):
            return self._chunks_expired(sweep, cutoff)
        measure = (f"SELECT count(*), min({sweep.age_column}), max({sweep.age_column}) "
                   f"FROM {sweep.table} WHERE ")
        total = Expired()
        if sweep.by == "id":
            return _expired(self._run(measure + sweep.condition(), (cutoff,)))
        for device in devices:
            total = total.plus(_expired(self._run(
                measure + "device_id = ? AND " + sweep.condition(), (device, cutoff))))
        return total

    def expired_paths(self, sweep: Sweep, cutoff: float) -> list[str]:
        if sweep.file_column is None:
            return []
        return [row[0] for row in self._run(
            f"SELECT {sweep.file_column} FROM {sweep.table} WHERE {sweep.condition()}",
            (cutoff,))]

    def referenced_paths(self, sweep: Sweep) -> set[str]:
        if sweep.file_column is None:
            return set()
        return {row[0] for row in self._run(f"SELECT {sweep.file_column} FROM {sweep.table}")}

    def delete_expired(self, sweep: Sweep, cutoff: float, devices: list[str],
                       batch_rows: int) -> tuple[Expired, list[str]]:
        if self._drops_chunks(sweep):
            return self._drop_expired_chunks(sweep, cutoff), []
        # Measured first, under the same condition, for the oldest and newest.
        measured = self.measure_expired(sweep, cutoff, devices)
        removed, paths = self._delete_rows(sweep, cutoff, devices, batch_rows)
        return Expired(removed, measured.oldest, measured.newest), paths

    def _delete_rows(self, sweep: Sweep, cutoff: float, devices: list[str],
                     batch_rows: int) -> tuple[int, list[str]]:
        returning = f" RETURNING {sweep.file_column}" if sweep.file_column else ""
        key, table = sweep.key, sweep.table
        if sweep.by == "id":
            statement = (f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} "
                         f"WHERE {sweep.condition()} ORDER BY {key} LIMIT ?){returning}")
            return self._delete_in_batches(statement, (cutoff,), batch_rows, bool(returning))
        statement = (f"DELETE FROM {table} WHERE device_id = ? AND {key} IN (SELECT {key} "
                     f"FROM {table} WHERE device_id = ? AND {sweep.condition()} "
                     f"LIMIT ?){returning}")
        removed, paths = 0, []
        for device in devices:
            count, found = self._delete_in_batches(statement, (device, device, cutoff),
                                                   batch_rows, bool(returning))
            removed += count
            paths += found
        return removed, paths

    def _delete_in_batches(self, statement: str, params: tuple, batch_rows: int,
                           returning: bool) -> tuple[int, list[str]]:
        removed, paths = 0, []
        while True:
            # One transaction per batch: ingest waits for a batch, never a whole run.
            with self._sql_tx() as tx:
                rows, count = tx.run(statement, params + (batch_rows,))
            count = len(rows) if returning else count
            removed += count
            paths += [row[0] for row in rows if row[0]]
            if count < batch_rows:
                return removed, paths

    def record_retention_run(self, run: RetentionRun) -> int:
        rows = self._run(
            f"INSERT INTO retention_runs ({_RUN_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (run.data_class, run.preview, run.triggered_by, run.cutoff, run.started_at,
             run.ended_at, run.seconds, run.rows_removed, run.files_removed, run.oldest,
             run.newest, run.error))
        return int(rows[0][0])

    def retention_runs(self, limit: int = 50) -> list[RetentionRun]:
        rows = self._run(f"SELECT {_RUN_COLUMNS}, id FROM retention_runs "
                         "ORDER BY started_at DESC, id DESC LIMIT ?", (limit,))
        return [RetentionRun(row[0], bool(row[1]), *row[2:]) for row in rows]

    def set_operator(self, user_id: int, is_operator: bool) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE users SET is_operator = ? WHERE id = ?",
                              (is_operator, user_id))
        return count == 1

    def is_operator(self, user_id: int) -> bool:
        rows = self._run("SELECT is_operator FROM users WHERE id = ?", (user_id,))
        return bool(rows and rows[0][0])

    def oldest_live_frame_at(self) -> float | None:
        rows = self._run("SELECT min(received_at) FROM camera_frames WHERE kind = 'live'")
        return None if not rows or rows[0][0] is None else float(rows[0][0])


def _expired(rows: list[tuple]) -> Expired:
    count, oldest, newest = rows[0]
    return Expired(int(count), None if oldest is None else float(oldest),
                   None if newest is None else float(newest))


def _least(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _most(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)

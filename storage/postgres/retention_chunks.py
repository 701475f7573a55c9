"""Retention under TimescaleDB: whole chunks of hypertables and aggregates are dropped.

A chunk goes only once all of it is older than the cutoff (drop_chunks),
so what a run removes is counted chunk by chunk, and a preview counts the
same chunks. Without TimescaleDB the shared batched deletes run instead
(storage/retention_runs.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import psycopg

from ..retention_classes import Sweep
from ..retention_runs import Expired
from .connection import ServerMode

# The continuous aggregates: their chunks are judged by the bucket.
AGGREGATES = ("telemetry_1m", "telemetry_1h")


class TimescaleRetention:
    """Mixed into PostgresSyncStore before the shared RetentionQueries."""

    _mode: ServerMode | None

    if TYPE_CHECKING:  # provided by PostgresSyncStore
        def _connection(self) -> AbstractContextManager[psycopg.Connection]: ...

        def _rows(self, query: str, params: tuple = ()) -> list[tuple]: ...

    def has_table(self, table: str) -> bool:
        return bool(self._rows("SELECT to_regclass(%s::text) IS NOT NULL", (table,))[0][0])

    def _drops_chunks(self, sweep: Sweep) -> bool:
        return sweep.chunked and self._mode is not None and self._mode.timescale

    def _chunks_expired(self, sweep: Sweep, cutoff: float) -> Expired:
        total = Expired()
        with self._connection() as connection:
            for chunk in _old_chunks(connection, sweep.table, cutoff):
                row = connection.execute(
                    f"SELECT count(*), extract(epoch FROM min({_time(sweep)})), "
                    f"extract(epoch FROM max({_time(sweep)})) FROM {chunk}").fetchone()
                if row is not None:
                    total = total.plus(Expired(int(row[0]), _float(row[1]), _float(row[2])))
        return total

    def materialize_rollups(self, until: float) -> None:
        if self._mode is None or not self._mode.timescale:
            return
        # Only invalidated ranges are recomputed, so buckets whose raw chunks
        # are already gone stay as they are.
        with self._connection() as connection:
            for view in AGGREGATES:
                connection.execute("CALL refresh_continuous_aggregate(%s, NULL, "
                                   "to_timestamp(%s))", (view, until))

    def _drop_expired_chunks(self, sweep: Sweep, cutoff: float) -> int:
        if sweep.table == "telemetry":
            # Materialize what is about to go first: rows that arrived
            # late, outside the refresh policy's window, must reach the rollups.
            self.materialize_rollups(cutoff)
        with self._connection() as connection:
            rows = 0
            for chunk in _old_chunks(connection, sweep.table, cutoff):
                counted = connection.execute(f"SELECT count(*) FROM {chunk}").fetchone()
                rows += int(counted[0]) if counted else 0
            connection.execute("SELECT drop_chunks(%s, older_than => to_timestamp(%s))",
                               (sweep.table, cutoff))
        return rows


def _old_chunks(connection: psycopg.Connection, relation: str, cutoff: float) -> Iterator[str]:
    for (chunk,) in connection.execute("SELECT show_chunks(%s, older_than => to_timestamp(%s))",
                                       (relation, cutoff)).fetchall():
        yield str(chunk)


def _time(sweep: Sweep) -> str:
    return "bucket" if sweep.table in AGGREGATES else "time"


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]

"""Retention under TimescaleDB: whole chunks of hypertables and aggregates are dropped.

A chunk goes only once all of it is older than the cutoff (drop_chunks),
so what a run removes is counted chunk by chunk, and a preview counts the
same chunks the same way. Without TimescaleDB the shared batched deletes
run instead (storage/retention_runs.py).

Counting must not cost what the drop saves: scanning a day of raw telemetry
to count it takes longer than a plain DELETE's share of the work. Raw
telemetry's rows are therefore counted from the hour rollup (the sum of its
samples over the chunk's range), which is exact once the rollups are
materialized up to the cutoff, as every run and preview first does (and must,
so that nothing is dropped before it is rolled up). The run holds the chunks
against writers from before that materialization until the drop, so a late row
can neither slip past the count nor the rollups. Other tables are counted
by a scan of their (small) expired chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import psycopg

from ..retention_classes import Sweep
from ..retention_runs import Expired
from .connection import ServerMode

# The continuous aggregates: their chunks are judged by the bucket.
AGGREGATES = ("telemetry_1m", "telemetry_1h")
# Raw telemetry's rows are counted from here (see the module's docstring).
COUNTING_ROLLUP = "telemetry_1h"

# show_chunks resolves an aggregate to its materialization hypertable; the
# information view gives each chunk's range.
_CHUNKS = ("SELECT s::text, c.range_start, c.range_end "
           "FROM show_chunks(%s::regclass, older_than => to_timestamp(%s)) AS s "
           "JOIN pg_class r ON r.oid = s JOIN pg_namespace n ON n.oid = r.relnamespace "
           "JOIN timescaledb_information.chunks c "
           "ON c.chunk_schema = n.nspname AND c.chunk_name = r.relname ORDER BY c.range_start")


@dataclass(frozen=True, slots=True)
class _Chunk:
    name: str
    start: datetime
    end: datetime


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
        with self._connection() as connection, connection.transaction():
            return _measure(connection, sweep, _old_chunks(connection, sweep.table, cutoff))

    def materialize_rollups(self, until: float) -> None:
        if self._mode is None or not self._mode.timescale:
            return
        # Only invalidated ranges are recomputed, so buckets whose raw chunks
        # are already gone stay as they are.
        with self._connection() as connection:
            for view in AGGREGATES:
                connection.execute("CALL refresh_continuous_aggregate(%s, NULL, "
                                   "to_timestamp(%s))", (view, until))

    def _drop_expired_chunks(self, sweep: Sweep, cutoff: float) -> Expired:
        with self._connection() as connection, connection.transaction():
            chunks = _old_chunks(connection, sweep.table, cutoff)
            if not chunks:
                return Expired()
            # Writers wait from here to the drop: the rows counted are the rows dropped.
            for chunk in chunks:
                connection.execute(f"LOCK TABLE {chunk.name} IN SHARE MODE")
            if sweep.table == "telemetry":
                # On another connection, reading the held chunks: rows that came
                # late, outside the refresh policy's window, reach the rollups.
                self.materialize_rollups(cutoff)
            expired = _measure(connection, sweep, chunks)
            connection.execute("SELECT drop_chunks(%s, older_than => to_timestamp(%s))",
                               (sweep.table, cutoff))
        return expired


def _old_chunks(connection: psycopg.Connection, relation: str, cutoff: float) -> list[_Chunk]:
    """The chunks drop_chunks(older_than => cutoff) drops, oldest first."""
    return [_Chunk(*row) for row in connection.execute(_CHUNKS, (relation, cutoff)).fetchall()]


def _measure(connection: psycopg.Connection, sweep: Sweep, chunks: list[_Chunk]) -> Expired:
    """Rows, oldest and newest of these chunks (inside a transaction)."""
    # Each query reads little (an index end, a compressed chunk's metadata, a
    # rollup's few rows): starting parallel workers would cost more than it.
    connection.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    count: Callable[[_Chunk], int] = (
        (lambda chunk: _rollup_count(connection, chunk)) if sweep.table == "telemetry"
        else (lambda chunk: _scan_count(connection, chunk)))
    column = "bucket" if sweep.table in AGGREGATES else "time"
    total = Expired()
    for chunk in chunks:
        oldest, newest = connection.execute(
            f"SELECT extract(epoch FROM min({column})), extract(epoch FROM max({column})) "
            f"FROM {chunk.name}").fetchone() or (None, None)
        total = total.plus(Expired(count(chunk), _float(oldest), _float(newest)))
    return total


def _rollup_count(connection: psycopg.Connection, chunk: _Chunk) -> int:
    # Hour buckets nest in the day-aligned chunks, so each lies in exactly one.
    row = connection.execute(
        f"SELECT COALESCE(sum(samples), 0) FROM {COUNTING_ROLLUP} "
        "WHERE bucket >= %s AND bucket < %s", (chunk.start, chunk.end)).fetchone()
    return int(row[0]) if row else 0


def _scan_count(connection: psycopg.Connection, chunk: _Chunk) -> int:
    row = connection.execute(f"SELECT count(*) FROM {chunk.name}").fetchone()
    return int(row[0]) if row else 0


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]

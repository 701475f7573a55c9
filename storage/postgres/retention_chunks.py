"""Retention under TimescaleDB: whole chunks of hypertables and aggregates are dropped.

A chunk goes only once all of it is older than the cutoff (drop_chunks),
so what a run removes is counted chunk by chunk, and a preview counts the
same chunks the same way. Without TimescaleDB the shared batched deletes
run instead (storage/retention_runs.py).

Counting must not cost what the drop saves. By the time raw telemetry
expires (telemetry_days) the compression policy has long compressed it
(compress_after_days), and counting a compressed chunk reads its batches'
metadata, not its rows. Before raw chunks go the rollups are materialized up
to the cutoff, so rows that came late still reach them; the chunks are then
held against writers while they are counted and dropped, so the rows counted
are the rows dropped.
"""

from __future__ import annotations

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

# show_chunks resolves an aggregate to its materialization hypertable; the
# information view gives each chunk's end.
_CHUNKS = ("SELECT s::text, c.range_end "
           "FROM show_chunks(%s::regclass, older_than => to_timestamp(%s)) AS s "
           "JOIN pg_class r ON r.oid = s JOIN pg_namespace n ON n.oid = r.relnamespace "
           "JOIN timescaledb_information.chunks c "
           "ON c.chunk_schema = n.nspname AND c.chunk_name = r.relname ORDER BY c.range_end")


@dataclass(frozen=True, slots=True)
class _Chunk:
    name: str
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
        if sweep.table == "telemetry":
            # It cannot run inside the transaction below. A row more than
            # telemetry_days late, landing in the milliseconds between the two,
            # is counted and dropped (it has expired) without reaching the rollups.
            self.materialize_rollups(cutoff)
        with self._connection() as connection, connection.transaction():
            chunks = _old_chunks(connection, sweep.table, cutoff)
            if not chunks:
                return Expired()
            # Writers wait from here to the drop: the rows counted are the rows dropped.
            connection.execute(f"LOCK TABLE {', '.join(chunk.name for chunk in chunks)} "
                               "IN SHARE MODE")
            expired = _measure(connection, sweep, chunks)
            connection.execute("SELECT drop_chunks(%s, older_than => to_timestamp(%s))",
                               (sweep.table, cutoff))
        return expired


def _old_chunks(connection: psycopg.Connection, relation: str, cutoff: float) -> list[_Chunk]:
    """The chunks drop_chunks(older_than => cutoff) drops, oldest first."""
    return [_Chunk(*row) for row in connection.execute(_CHUNKS, (relation, cutoff)).fetchall()]


def _measure(connection: psycopg.Connection, sweep: Sweep, chunks: list[_Chunk]) -> Expired:
    """Rows, oldest and newest of these chunks (inside a transaction)."""
    if not chunks:
        return Expired()
    # Expired chunks are compressed (compress_after_days comes long before any
    # retention), so this reads batch metadata, not rows: little enough that
    # starting parallel workers would cost more than it.
    connection.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    column = "bucket" if sweep.table in AGGREGATES else "time"
    # Chunks do not overlap, so the rows before the newest expired chunk's end
    # are exactly the rows of the expired chunks.
    row = connection.execute(
        f"SELECT count(*), extract(epoch FROM min({column})), "
        f"extract(epoch FROM max({column})) FROM {sweep.table} WHERE {column} < %s",
        (max(chunk.end for chunk in chunks),)).fetchone()
    rows, oldest, newest = row if row else (0, None, None)
    return Expired(int(rows), _float(oldest), _float(newest))


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]

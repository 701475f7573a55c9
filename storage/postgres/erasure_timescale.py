"""Erasure under TimescaleDB: compressed chunks and continuous aggregates.

Not run by the test suite (its PostgreSQL has no TimescaleDB); written to
TimescaleDB 2.x's documented behaviour. Raw hypertables: from 2.11 on, a
DELETE reaches into compressed chunks itself; before that the compressed
chunks holding the devices' rows are decompressed first (the compression
policy compresses them again later). Continuous aggregates are views and take
no DELETE, so the devices' rows are deleted from each aggregate's
materialization hypertable; the invalidations the raw DELETE leaves make the
next refresh recompute those buckets from raw rows that no longer exist.
"""

from __future__ import annotations

import logging

from ..shared_sql import SqlRunner
from .connection import ServerMode
from .timescale import COMPRESSED

logger = logging.getLogger(__name__)

AGGREGATES = ("telemetry_1m", "telemetry_1h")
# The first TimescaleDB whose DELETE works on compressed chunks.
DML_ON_COMPRESSED = (2, 11)


def _version(text: str | None) -> tuple[int, int]:
    parts = (text or "0.0").split(".")
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


def _qualified(schema: str, name: str) -> str:
    """A schema-qualified relation name, each part quoted."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in (schema, name))


class TimescaleErasure:
    """Mixed into PostgresSyncStore before the shared ErasureQueries."""

    _mode: ServerMode | None

    def _erase_device_series(self, tx: SqlRunner, table: str, devices: list[str]) -> int:
        marks = ", ".join("?" for _ in devices)
        if self._mode is None or not self._mode.timescale:
            return tx.run(f"DELETE FROM {table} WHERE device_id IN ({marks})", tuple(devices))[1]
        if table in AGGREGATES:
            return _erase_from_aggregate(tx, table, devices, marks)
        if table in COMPRESSED and _version(self._mode.timescale_version) < DML_ON_COMPRESSED:
            _decompress_chunks_of(tx, table, devices, marks)
        return tx.run(f"DELETE FROM {table} WHERE device_id IN ({marks})", tuple(devices))[1]


def _erase_from_aggregate(tx: SqlRunner, view: str, devices: list[str], marks: str) -> int:
    rows, _ = tx.run(
        "SELECT materialization_hypertable_schema, materialization_hypertable_name "
        "FROM timescaledb_information.continuous_aggregates WHERE view_name = ?", (view,))
    if not rows:  # plain rollup table (TimescaleDB installed but not used for it)
        return tx.run(f"DELETE FROM {view} WHERE device_id IN ({marks})", tuple(devices))[1]
    materialization = _qualified(rows[0][0], rows[0][1])
    removed = tx.run(f"DELETE FROM {materialization} WHERE device_id IN ({marks})",
                     tuple(devices))[1]
    logger.info("erased %d rows of %s's materialization %s", removed, view, materialization)
    return removed


def _decompress_chunks_of(tx: SqlRunner, table: str, devices: list[str], marks: str) -> None:
    # Only the chunks that hold rows of these devices: the compressed rows are
    # segmented by device_id, so each compressed chunk says whether it has them.
    chunks, _ = tx.run(
        "SELECT chunk_schema, chunk_name FROM timescaledb_information.chunks "
        "WHERE hypertable_name = ? AND is_compressed", (table,))
    for schema, name in chunks:
        chunk = _qualified(schema, name)
        found, _ = tx.run(f"SELECT 1 FROM {chunk} WHERE device_id IN ({marks}) LIMIT 1",
                          tuple(devices))
        if found:
            tx.run("SELECT decompress_chunk(?::regclass, true)", (chunk,))
            logger.info("decompressed %s to erase rows of %d device(s)", chunk, len(devices))

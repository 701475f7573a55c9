"""Batched, idempotent ingest into PostgreSQL: COPY into staging, then insert-or-ignore.

Per batch, in one transaction: each table's rows are COPYed into a
session-local staging table, then moved with INSERT ... SELECT ... ON
CONFLICT DO NOTHING, whose row count is what was new. device_state then
follows the SQLite backend's "newer wins" rules, rule for rule
(device_state.py). Presence events and downtime reports of printers whose
downtime logging is off are dropped first, in the same transaction
(downtime_switch.py).

Workers sharing a subscription write overlapping devices at the same time,
so every lock is taken in one global order: tables in COLUMNS order, rows by
(device_id, seq), then device_state rows by device_id. Two batches may wait
on each other but never deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection, AsyncCursor
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ..downtime_switch import devices_with_log_rows, drop_unlogged
from ..interface import Accepted, BatchResult, Rejected
from ..job_records import (
    UPSERT_SQL,
    JobKey,
    as_events,
    chunks,
    events_query,
    issuers_query,
    job_keys,
    record_rows,
    transactions_of,
)
from ..rollups import ROLLUP_WIDTHS_S, fold_into
from ..rows import COLUMNS, SplitBatch, split_batch
from .connection import (
    CONNECT_TIMEOUT_S,
    POOL_WAIT_S,
    RECONNECT_TIMEOUT_S,
    check_server_async,
    describe,
    lost_server,
    pool_kwargs,
    unavailable,
)
from .device_state import update_device_state
from .values import text_safe

logger = logging.getLogger(__name__)

# Tables with a `time` column (timestamptz from the device's ts): the ones
# TimescaleDB partitions, given the column in plain mode too (0004 migration).
TIMED_TABLES = frozenset({"telemetry", "job_events", "presence_events", "heartbeats",
                          "downtime_reports"})


def _statements(table: str, columns: tuple[str, ...], fold_rollups: bool
                ) -> tuple[str, str, str]:
    names = ", ".join(columns)
    staging = f"staging_{table}"
    # Created once per session and emptied by every commit: no catalog churn
    # per batch. `ord` keeps the first copy of a (device, seq) repeated
    # inside one batch, as SQLite's INSERT OR IGNORE does.
    create = (f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
              f"SELECT {names}, 0 AS ord FROM {table} WITH NO DATA")
    copy = f"COPY {staging} ({names}, ord) FROM STDIN"
    targets, values = names, names
    if table in TIMED_TABLES:
        targets, values = f"{names}, time", f"{names}, to_timestamp(ts)"
    # No conflict target: the key is (device_id, seq) on plain PostgreSQL and
    # (device_id, seq, time) on a hypertable, which must include its time.
    move = (f"INSERT INTO {table} ({targets}) SELECT DISTINCT ON (device_id, seq) {values} "
            f"FROM {staging} ORDER BY device_id, seq, ord ON CONFLICT DO NOTHING")
    if fold_rollups and table == "telemetry":
        # Without TimescaleDB the rollups are tables kept here, from exactly
        # the rows that were new; the statement returns how many those were.
        folds = ", ".join(f"fold_{rollup} AS ({fold_into(rollup, 'new', width_s, 'postgres')})"
                          for rollup, width_s in ROLLUP_WIDTHS_S.items())
        move = f"WITH new AS ({move} RETURNING {names}), {folds} SELECT count(*) FROM new"
    return create, copy, move


_COPY_REJECTS = """COPY rejected_messages (received_at, topic, device_id, reason, detail,
    payload_size, payload_excerpt) FROM STDIN"""


class PostgresIngestStore:
    """The fleet worker's write path on PostgreSQL; one transaction per batch."""

    def __init__(self, dsn: str, pool_min: int = 1, pool_max: int = 10) -> None:
        self._dsn = dsn
        self._pool_min = pool_min
        self._pool_max = pool_max
        self._pool: AsyncConnectionPool | None = None
        self._staging: dict[str, tuple[str, str, str]] = {}

    async def start(self) -> None:
        """Check the server, then open the connection pool."""
        if self._pool is not None:
            return
        mode = await check_server_async(self._dsn)
        pool = AsyncConnectionPool(self._dsn, min_size=self._pool_min, max_size=self._pool_max,
                                   kwargs=pool_kwargs("ingest"), open=False,
                                   check=AsyncConnectionPool.check_connection,
                                   name="printfleet-ingest", timeout=POOL_WAIT_S,
                                   reconnect_timeout=RECONNECT_TIMEOUT_S)
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout as error:
            raise unavailable(self._dsn, error) from error
        self._pool = pool
        # TimescaleDB's continuous aggregates keep the rollups; else ingest does.
        self._staging = {table: _statements(table, columns, fold_rollups=not mode.timescale)
                         for table, columns in COLUMNS.items()}
        logger.info("ingest store on %s: %s", describe(self._dsn), mode)

    async def stop(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def write_batch(
        self, accepted: Sequence[Accepted], rejected: Sequence[Rejected]
    ) -> BatchResult:
        split = split_batch(accepted)
        result = BatchResult(rejected=len(rejected))
        async with self._connection() as connection, connection.transaction():
            cursor = connection.cursor()
            result.not_kept = await _drop_unlogged(cursor, split)
            for table in COLUMNS:  # a fixed order, for the lock order
                rows = split.rows.get(table)
                if rows:
                    stored = await _insert_new(cursor, self._staging[table], rows)
                    result.by_family[table] = stored
                    result.stored += stored
                    result.duplicates += len(rows) - stored
            if split.devices:
                await update_device_state(cursor, split.devices)
            if split.rows.get("job_events"):
                await _refresh_jobs(cursor, job_keys(split.rows["job_events"]))
            if rejected:
                await _copy(cursor, _COPY_REJECTS, [_reject_row(r) for r in rejected])
        return result

    async def count_online_devices(self) -> int:
        async with self._connection() as connection:
            cursor = await connection.execute(
                "SELECT COUNT(*) FROM device_state WHERE presence = 'online'")
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """Lend a pooled connection; losing the server raises PostgresUnavailable."""
        assert self._pool is not None, "start() the store first"
        try:
            async with self._pool.connection() as connection:
                yield connection
        except Exception as error:
            # The transaction rolled back (or never began): nothing was stored.
            if lost_server(error):
                raise unavailable(self._dsn, error) from error
            raise


async def _insert_new(cursor: AsyncCursor[Any], statements: tuple[str, str, str],
                      rows: list[tuple]) -> int:
    """COPY rows into the table's staging, move the new ones; return how many were new."""
    create, copy, move = statements
    await cursor.execute(create)
    await _copy(cursor, copy, [row + (ordinal,) for ordinal, row in enumerate(rows)])
    await cursor.execute(move)
    if cursor.description is not None:  # the rollup-folding form counts its new rows
        counted = await cursor.fetchone()
        return int(counted[0]) if counted else 0
    return cursor.rowcount


_LOGGING_ON = ("SELECT device_id FROM device_settings WHERE downtime_logging = 1 "
               "AND device_id = ANY(%b::text[])")


async def _drop_unlogged(cursor: AsyncCursor[Any], split: SplitBatch) -> int:
    """Drop the downtime log rows of printers whose switch is off; return how many."""
    # Read in the batch's transaction, right before the rows are staged: a
    # switch turned off before this statement applies to this batch. Rows
    # are dropped before the COPY, so staging and hypertables never see them.
    device_ids = devices_with_log_rows(split.rows)
    if not device_ids:
        return 0  # telemetry-only batches pay nothing
    await cursor.execute(_LOGGING_ON, (device_ids,))
    logging_on = {row[0] for row in await cursor.fetchall()}
    dropped = drop_unlogged(split.rows, logging_on)
    if dropped:
        logger.debug("not kept: %d presence events or downtime reports of printers "
                     "with downtime logging off", dropped)
    return dropped


# Workers refolding the same job wait for each other here, so the second one
# reads the first one's events once committed (READ COMMITTED: each statement
# sees what committed before it). Taken last and in key order: no deadlock.
_LOCK_JOB = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
_UPSERT_JOB = UPSERT_SQL.replace("?", "%s")


async def _refresh_jobs(cursor: AsyncCursor[Any], keys: list[JobKey]) -> None:
    """Refold the print_jobs records of the jobs this batch brought events for."""
    # As COPY stored them: NUL characters replaced (values.text_safe).
    keys = sorted({text_safe(key) for key in keys})
    for device_id, job_id in keys:
        await cursor.execute(_LOCK_JOB, (f"print_job/{device_id}/{job_id}",))
    for chunk in chunks(keys):
        sql, params = events_query(chunk)
        await cursor.execute(sql.replace("?", "%s"), params)
        events = as_events(await cursor.fetchall())
        issuers: list = []
        if transactions := transactions_of(events):
            sql, params = issuers_query(transactions)
            await cursor.execute(sql.replace("?", "%s"), params)
            issuers = list(await cursor.fetchall())
        await cursor.executemany(_UPSERT_JOB, record_rows(events, issuers))


async def _copy(cursor: AsyncCursor[Any], statement: str, rows: list[tuple]) -> None:
    async with cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(text_safe(row))


def _reject_row(r: Rejected) -> tuple:
    return (r.received_at, r.topic, r.device_id, r.reason, r.detail, r.payload_size,
            r.payload_excerpt)


"""TimescaleDB mode: hypertables, compression, continuous aggregates and retention policies.

Applied after the numbered migrations, once, when the extension can be used
(storage.timescaledb = "auto" or "on"): the plain schema is converted in
place, existing rows included. Policies are (re)applied on every migrate so
that the retention and compression settings always rule.

Without the extension the same schema runs on plain PostgreSQL: rollup
tables kept by the workers (storage/rollups.py) and retention by batched
deletes (storage/retention.py, the stores' apply_retention).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psycopg

from ..retention import RetentionPolicy
from ..rollups import CHART_HEATERS
from .connection import connect

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimescalePolicy:
    """What the operator configured: compression and how long each kind of row is kept."""

    compress_after_days: int = 7
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)


# Hypertable -> chunk interval. Telemetry is by far the largest: a chunk a
# day keeps the newest chunk's indexes in memory and retention a cheap drop.
HYPERTABLES = {
    "telemetry": "1 day",
    "heartbeats": "7 days",
    "job_events": "7 days",
    "presence_events": "7 days",
    "downtime_reports": "30 days",
    "camera_frames": "1 day",
}
COMPRESSED = ("telemetry", "heartbeats")
# Tables with an id of their own, which stays unique together with the time.
ID_KEYED = ("presence_events", "camera_frames")



def _refresh_windows(policy: TimescalePolicy) -> dict[str, tuple[str, str, str]]:
    """Per aggregate: start offset, end offset, schedule of its refresh policy.

    The windows reach back almost to the raw retention, so rows a device
    replays days late are still folded in (a refresh only recomputes buckets
    that changed, so a wide window costs little), yet stay inside it:
    refreshing a bucket whose raw rows were dropped would empty it.
    """
    back = f"INTERVAL '{policy.retention.telemetry_days - 1} days'"
    return {"telemetry_1m": (back, "INTERVAL '1 minute'", "INTERVAL '1 minute'"),
            "telemetry_1h": (back, "INTERVAL '1 hour'", "INTERVAL '15 minutes'")}


def convert_to_timescale(connection: psycopg.Connection) -> None:
    """Turn the plain schema into hypertables and continuous aggregates, in one transaction."""
    with connection.transaction():
        connection.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        for table, chunk in HYPERTABLES.items():
            _make_hypertable(connection, table, chunk)
        connection.execute("DROP INDEX IF EXISTS telemetry_device_ts")
        connection.execute("CREATE INDEX telemetry_device_time ON telemetry (device_id, time DESC)")
        for table in COMPRESSED:
            connection.execute(
                f"ALTER TABLE {table} SET (timescaledb.compress, "
                "timescaledb.compress_segmentby = 'device_id', "
                "timescaledb.compress_orderby = 'time DESC, seq')")
        connection.execute("DROP TABLE telemetry_1h")
        connection.execute("DROP TABLE telemetry_1m")
        connection.execute(_minute_aggregate())
        connection.execute(_hour_aggregate())
    # Materializing what already exists cannot run inside a transaction.
    for view in ("telemetry_1m", "telemetry_1h"):
        connection.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
    logger.info("converted the time series to TimescaleDB hypertables")


def convert_new_tables(connection: psycopg.Connection) -> None:
    """Make hypertables of tables a migration added after the conversion (idempotent)."""
    converted = {row[0] for row in connection.execute(
        "SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()}
    with connection.transaction():
        for table, chunk in HYPERTABLES.items():
            if table not in converted:
                _make_hypertable(connection, table, chunk)
                logger.info("converted %s to a TimescaleDB hypertable", table)


def apply_policies(connection: psycopg.Connection, policy: TimescalePolicy) -> None:
    """Set compression, refresh and retention policies from the settings (idempotent)."""
    with connection.transaction():
        for table in COMPRESSED:
            connection.execute(f"SELECT remove_compression_policy('{table}', if_exists => true)")
            connection.execute(f"SELECT add_compression_policy('{table}', "
                               f"INTERVAL '{policy.compress_after_days} days')")
        for view, (start, end, every) in _refresh_windows(policy).items():
            connection.execute(
                f"SELECT remove_continuous_aggregate_policy('{view}', if_exists => true)")
            connection.execute(f"SELECT add_continuous_aggregate_policy('{view}', "
                               f"start_offset => {start}, end_offset => {end}, "
                               f"schedule_interval => {every})")
        for relation, days in policy.retention.kept_days().items():
            connection.execute(f"SELECT remove_retention_policy('{relation}', if_exists => true)")
            connection.execute(f"SELECT add_retention_policy('{relation}', "
                               f"INTERVAL '{int(days) + BACKSTOP_DELAY_DAYS} days')")


# Pauses every policy job (refresh, compression, retention backstop): for
# scratch databases whose users do what the jobs would, on their own clock.
PAUSE_POLICY_JOBS = ("SELECT alter_job(job_id, scheduled => false) "
                     "FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL")

# The native retention policies are a backstop for a scheduler that is down:
# a day behind the setting, they leave the work to the scheduler's run, which
# rolls late rows up before dropping and records what it removed.
BACKSTOP_DELAY_DAYS = 1


def refresh_aggregates(dsn: str, since: float, until: float) -> None:
    """Materialize both continuous aggregates over [since, until), minutes first.

    A day at a time, each retried while a refresh policy job holds an
    overlapping window: a long window would otherwise fail on the policy's
    next run, which comes every minute.
    """
    # CALL refresh_continuous_aggregate cannot run inside a transaction, so
    # not on a pooled connection someone may have left in one.
    with connect(dsn) as connection:
        for view in ("telemetry_1m", "telemetry_1h"):
            start = since
            while start < until:
                end = min(start + REFRESH_STEP_S, until)
                _refresh(connection, view, start, end)
                start = end


REFRESH_STEP_S = 86400
REFRESH_ATTEMPTS = 30
REFRESH_RETRY_PAUSE_S = 2.0


def _refresh(connection: psycopg.Connection, view: str, start: float, end: float) -> None:
    for attempt in range(1, REFRESH_ATTEMPTS + 1):
        try:
            connection.execute(f"CALL refresh_continuous_aggregate('{view}', "
                               f"to_timestamp({float(start)!r}), to_timestamp({float(end)!r}))")
            return
        except psycopg.errors.LockNotAvailable:
            if attempt == REFRESH_ATTEMPTS:
                raise
            logger.info("%s: a policy job is refreshing an overlapping window; retrying", view)
            time.sleep(REFRESH_RETRY_PAUSE_S)


def _make_hypertable(connection: psycopg.Connection, table: str, chunk: str) -> None:
    # A hypertable's unique keys must include its time column. `ts` is the
    # device's own timestamp, identical in every redelivery, so adding it to
    # (device_id, seq) still makes replays collide.
    for (name,) in connection.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype IN ('p', 'u')", (table,)).fetchall():
        connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    if table in ID_KEYED:
        connection.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id, time), "
                           "ADD UNIQUE (device_id, seq, time)")
    else:
        connection.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (device_id, seq, time)")
    connection.execute(f"SELECT create_hypertable('{table}', by_range('time', INTERVAL '{chunk}'), "
                       "migrate_data => true)")


def _minute_aggregate() -> str:
    parts = ["device_id", "time_bucket(INTERVAL '1 minute', time) AS bucket",
             "count(*) AS samples"]
    for h in CHART_HEATERS:
        parts += [f"count({h}_actual) AS {h}_n", f"COALESCE(sum({h}_actual), 0) AS {h}_sum",
                  f"min({h}_actual) AS {h}_min", f"max({h}_actual) AS {h}_max",
                  f"max({h}_target) AS {h}_target"]
    return ("CREATE MATERIALIZED VIEW telemetry_1m WITH (timescaledb.continuous, "
            f"timescaledb.materialized_only = false) AS SELECT {', '.join(parts)} "
            "FROM telemetry GROUP BY device_id, bucket WITH NO DATA")


def _hour_aggregate() -> str:
    # Hierarchical: the hour is the sum of its minutes, never a raw rescan.
    hour = "time_bucket(INTERVAL '1 hour', bucket)"
    parts = ["device_id", f"{hour} AS bucket",
             "sum(samples)::bigint AS samples"]
    for h in CHART_HEATERS:
        parts += [f"sum({h}_n)::bigint AS {h}_n", f"sum({h}_sum) AS {h}_sum",
                  f"min({h}_min) AS {h}_min", f"max({h}_max) AS {h}_max",
                  f"max({h}_target) AS {h}_target"]
    return ("CREATE MATERIALIZED VIEW telemetry_1h WITH (timescaledb.continuous, "
            f"timescaledb.materialized_only = false) AS SELECT {', '.join(parts)} "
            f"FROM telemetry_1m GROUP BY device_id, {hour} WITH NO DATA")

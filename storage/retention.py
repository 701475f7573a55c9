"""How long each kind of time series is kept, and what a retention run removed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DAY_S = 86400


@dataclass(frozen=True)
class RetentionPolicy:
    telemetry_days: int = 30
    telemetry_1m_days: int = 90
    telemetry_1h_days: int = 1825
    events_days: int = 365  # job events, heartbeats
    downtime_days: int = 365  # presence changes, downtime reports

    def kept_days(self) -> dict[str, int]:
        """Days kept per table (or continuous aggregate), by name."""
        return {
            "telemetry": self.telemetry_days,
            "telemetry_1m": self.telemetry_1m_days,
            "telemetry_1h": self.telemetry_1h_days,
            "heartbeats": self.events_days,
            "job_events": self.events_days,
            "presence_events": self.downtime_days,
            "downtime_reports": self.downtime_days,
        }

    def cutoffs(self, now: float) -> dict[str, float]:
        """The epoch second before which each table's rows go."""
        return {table: now - days * DAY_S for table, days in self.kept_days().items()}


# The column each table's age is judged by: a rollup by its bucket, raw rows
# by the device's timestamp.
AGE_COLUMN = {"telemetry_1m": "bucket", "telemetry_1h": "bucket"}


def age_column(table: str) -> str:
    return AGE_COLUMN.get(table, "ts")


# Tables with an index led by (device_id, age column): deleted device by
# device, so each delete is a short index range scan and a short transaction.
PER_DEVICE = frozenset({"telemetry", "telemetry_1m", "telemetry_1h"})


def delete_statement(table: str, mark: str) -> str:
    """A DELETE of one table's expired rows: params (device_id, cutoff) or (cutoff,)."""
    column = age_column(table)
    if table in PER_DEVICE:
        return f"DELETE FROM {table} WHERE device_id = {mark} AND {column} < {mark}"
    return f"DELETE FROM {table} WHERE {column} < {mark}"


# Every device that may have rows: registered or merely heard from.
DEVICES_WITH_DATA = "SELECT device_id FROM devices UNION SELECT device_id FROM device_state"


def delete_expired(policy: RetentionPolicy, now: float, devices: list[str], mark: str,
                   delete: Callable[[str, tuple], int]) -> dict[str, int]:
    """Delete what the policy no longer keeps; return rows removed per table.

    `delete(statement, params)` runs one DELETE in its own transaction and
    returns its row count, so no transaction holds locks for long.
    """
    removed = {}
    for table, cutoff in policy.cutoffs(now).items():
        statement = delete_statement(table, mark)
        batches = [(d, cutoff) for d in devices] if table in PER_DEVICE else [(cutoff,)]
        removed[table] = sum(delete(statement, params) for params in batches)
    return removed

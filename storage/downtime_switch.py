"""The per-printer downtime logging switch, as ingest and the watchdog obey it.

The privacy policy promises that a printer's downtime is logged only if its
user turned that on. The switch is device_settings.downtime_logging; a
printer without a row there has it off (the agent's default is off too).
While it is off, neither the presence history (presence_events: the
device's online/offline, its last will, the watchdog's verdict) nor the
intervals the device reports (downtime_reports) are stored. The current
presence in device_state is the service itself, not a log, and is kept.

The switch is read inside the transaction that inserts, so turning it off
stops logging with the next batch, without restarting a worker.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

# The tables that make up a printer's downtime history.
DOWNTIME_LOG_TABLES = ("presence_events", "downtime_reports")

# Which of some printers log their downtime; {marks} is one placeholder per id.
LOGGING_ON = ("SELECT device_id FROM device_settings WHERE downtime_logging = 1 "
              "AND device_id IN ({marks})")
# SQL for "this printer logs its downtime", with the device id as its one parameter.
LOGGING_ON_FOR = ("EXISTS (SELECT 1 FROM device_settings WHERE device_settings.device_id = ? "
                  "AND device_settings.downtime_logging = 1)")
_IDS_PER_QUERY = 500


def devices_with_log_rows(rows: dict[str, list[tuple]]) -> list[str]:
    """The printers a batch brings presence events or downtime reports for, sorted."""
    return sorted({row[0] for table in DOWNTIME_LOG_TABLES for row in rows.get(table, ())})


def id_chunks(device_ids: list[str]) -> Iterator[tuple[str, list[str]]]:
    """LOGGING_ON with its placeholders, and the ids to bind, a bounded number at a time."""
    for start in range(0, len(device_ids), _IDS_PER_QUERY):
        chunk = device_ids[start:start + _IDS_PER_QUERY]
        yield LOGGING_ON.format(marks=", ".join("?" for _ in chunk)), chunk


def drop_unlogged(rows: dict[str, list[tuple]], logging_on: Collection[str]) -> int:
    """Remove the log rows of printers whose switch is off; return how many were dropped."""
    dropped = 0
    for table in DOWNTIME_LOG_TABLES:
        if table in rows:
            kept = [row for row in rows[table] if row[0] in logging_on]
            dropped += len(rows[table]) - len(kept)
            if kept:
                rows[table] = kept
            else:
                del rows[table]
    return dropped

"""Synthetic telemetry history for `printfleet bench queries`, generated inside the database.

Every printer prints in cycles of its own length: the heaters ramp up to
their targets, hold them with a little noise, and cool down linearly once
the print ends; every fifth cycle is skipped, so there are idle hours too.
Some printers have a passive chamber (readings, no target), the rest none
(NULL columns). Rows carry every column ingest writes, heaters_json
included, with the chart heaters' columns equal to its values.

One INSERT ... SELECT per printer: 259,200 rows for 30 days at 10 s, built
by the server (generate_series) or SQLite (a recursive CTE), never in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.rollups import Dialect
from storage.rows import COLUMNS

AMBIENT_C = 22.0
SKIPPED_CYCLE_EVERY = 5
TOOL_HEATUP_S, BED_HEATUP_S, CHAMBER_HEATUP_S = 180, 600, 1800
TOOL_COOLDOWN_S, BED_COOLDOWN_S, CHAMBER_COOLDOWN_S = 900, 1800, 3600


@dataclass(frozen=True)
class History:
    """Which samples exist: `printers` devices, `days` days up to `end`, one per `interval_s`."""

    printers: int
    days: int
    interval_s: int
    end: float  # a whole hour, so every rollup bucket in the history is complete

    @property
    def start(self) -> float:
        return self.end - self.days * 86400

    @property
    def samples_per_device(self) -> int:
        return self.days * 86400 // self.interval_s

    @property
    def rows(self) -> int:
        return self.printers * self.samples_per_device


def device_id(number: int) -> str:
    """The id of bench printer `number` (0-based)."""
    return f"bench-{number + 1:05d}"


@dataclass(frozen=True)
class _Printer:
    number: int
    cycle_s: int
    print_s: int
    offset_s: int
    tool_target: float
    bed_target: float
    chamber: bool

    @classmethod
    def of(cls, number: int) -> _Printer:
        cycle_s = 4 * 3600 + (number % 7) * 3600
        return cls(number, cycle_s, int(cycle_s * (0.5 + (number % 5) * 0.08)),
                   number * 1777 % cycle_s, 200.0 + (number % 3) * 20, 60.0 + (number % 2) * 20,
                   number % 4 == 0)


def insert_device_history(history: History, number: int, dialect: Dialect) -> str:
    """One INSERT that writes printer `number`'s whole history into telemetry."""
    p = _Printer.of(number)
    pg = dialect == "postgres"
    low, high = ("LEAST", "GREATEST") if pg else ("min", "max")

    def rounded(expression: str, digits: int = 2) -> str:
        if pg:
            return f"round(({expression})::numeric, {digits})::double precision"
        return f"round({expression}, {digits})"

    def heater(target: float, heatup_s: int, cooldown_s: int, noise: float) -> str:
        rise = target - AMBIENT_C
        return rounded(f"CASE WHEN printing = 1 "
                       f"THEN {AMBIENT_C} + {rise} * {low}(1.0, phase / {heatup_s}.0) "
                       f"+ noise * {noise} "
                       f"ELSE {AMBIENT_C} + {rise} * {high}(0.0, 1 - cooling / {cooldown_s}.0) "
                       f"+ noise * {noise / 5} END")

    last = history.samples_per_device - 1
    series = (f"s AS (SELECT i FROM generate_series(0, {last}) AS i)" if pg else
              f"RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {last})")
    chamber = (heater(AMBIENT_C + 13, CHAMBER_HEATUP_S, CHAMBER_COOLDOWN_S, 0.4)
               if p.chamber else "CAST(NULL AS DOUBLE PRECISION)")
    chamber_json = ("'\"chamber\":{\"actual\":' || chamber || ',\"target\":null},'"
                    if p.chamber else "''")
    columns = COLUMNS["telemetry"] + (("time",) if pg else ())
    ts = f"{history.start + p.number % 100 * 0.01!r} + i * {history.interval_s}"
    return f"""WITH {series},
    k AS (SELECT i, (i * {history.interval_s} + {p.offset_s}) / {p.cycle_s} AS cycle_no,
                 (i * {history.interval_s} + {p.offset_s}) % {p.cycle_s} AS phase FROM s),
    m AS (SELECT i, cycle_no, phase,
                 CASE WHEN phase < {p.print_s} AND (cycle_no + {p.number})
                      % {SKIPPED_CYCLE_EVERY} <> 0 THEN 1 ELSE 0 END AS printing,
                 CASE WHEN phase >= {p.print_s} THEN phase - {p.print_s}
                      ELSE phase + {p.cycle_s - p.print_s} END AS cooling,
                 ((i * 7919 + {p.number * 104729}) % 1000) / 1000.0 - 0.5 AS noise
          FROM k),
    h AS (SELECT i, cycle_no, phase, printing,
                 {heater(p.tool_target, TOOL_HEATUP_S, TOOL_COOLDOWN_S, 1.0)} AS tool,
                 CASE WHEN printing = 1 THEN {p.tool_target} ELSE 0.0 END AS tool_target,
                 {heater(p.bed_target, BED_HEATUP_S, BED_COOLDOWN_S, 0.4)} AS bed,
                 CASE WHEN printing = 1 THEN {p.bed_target} ELSE 0.0 END AS bed_target,
                 {chamber} AS chamber
          FROM m)
    INSERT INTO telemetry ({", ".join(columns)})
    SELECT '{device_id(p.number)}', i, {ts}, {ts} + 0.05 + (i % 7) * 0.01,
           CASE WHEN printing = 1 THEN 'printing' ELSE 'idle' END,
           '{{"bed":{{"actual":' || bed || ',"target":' || bed_target || '}},' || {chamber_json}
               || '"tool0":{{"actual":' || tool || ',"target":' || tool_target || '}}}}',
           CASE WHEN printing = 1 THEN '{{"part":100.0}}' ELSE '{{"part":0.0}}' END,
           CASE WHEN printing = 1 THEN {rounded("0.2 + 0.2 * (phase / 60)")} END,
           CASE WHEN printing = 1 THEN {rounded(f"100.0 * phase / {p.print_s}", 1)} END,
           CASE WHEN printing = 1 THEN {p.print_s} - phase END,
           CASE WHEN printing = 1 THEN 'job-{p.number}-' || cycle_no END,
           tool, tool_target, bed, bed_target, chamber, NULL{", to_timestamp(" + ts + ")" if pg else ""}
    FROM h"""


def insert_device_state(dialect: Dialect) -> str:
    """Copy a device's newest sample into device_state, as ingest would; params (device_id,)."""
    mark = "%s" if dialect == "postgres" else "?"
    return f"""INSERT INTO device_state (device_id, presence, presence_source,
        presence_changed_at, heartbeat_interval_s, last_seen_at, last_seq, printer_state,
        heaters_json, fans_json, z_mm, progress_pct, time_left_s, job_id, telemetry_ts,
        job_file_name, job_status, job_event_ts)
    SELECT device_id, 'online', 'device', ts, 30, received_at, seq, printer_state,
        heaters_json, fans_json, z_mm, progress_pct, time_left_s, job_id, ts,
        CASE WHEN job_id IS NOT NULL THEN job_id || '.gcode' END,
        CASE WHEN job_id IS NOT NULL THEN 'printing' END,
        CASE WHEN job_id IS NOT NULL THEN ts END
    FROM telemetry WHERE device_id = {mark} ORDER BY seq DESC LIMIT 1"""

"""The synthetic fleet `printfleet bench web` loads: who prints what, when, and when it was down.

Pure generators of table rows (no database here): every printer prints
jobs back to back with idle gaps, some paused once, most finished, some
failed or cancelled, about half started from Printfleet by the bench user
(with the command that started them), the newest still running; each
printer drops off the network every few days for a while and reports it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from .history import device_id

FILES = ("benchy.gcode", "bracket_v3.gcode", "gear_m2_z40.gcode", "enclosure_lid.gcode",
         "calibration_cube.gcode", "phone_stand.gcode", "cable_clip_x20.gcode")
SLICERS = (("PrusaSlicer", "2.7.1"), ("Cura", "5.6.0"), ("OrcaSlicer", "2.0.0"))
FAILURES = ("thermal runaway", "filament runout", "spaghetti detected")
FILAMENT_MM_PER_S = 0.8
GRAMS_PER_MM = 0.003
OUTAGE_EVERY_S = 3 * 86400
JOB_SEQ_BASE, PRESENCE_SEQ_BASE, DOWNTIME_SEQ_BASE = 1_000_000, 2_000_000, 3_000_000


@dataclass(frozen=True)
class Fleet:
    """`printers` printers with `days` days of jobs and outages up to `end`."""

    printers: int
    days: int
    end: float
    user_id: int

    @property
    def start(self) -> float:
        return self.end - self.days * 86400


@dataclass(frozen=True)
class _Job:
    number: int
    started_at: float
    print_s: float
    outcome: str | None  # None: still running at the end
    paused: bool
    transaction: str | None


def _jobs(fleet: Fleet, n: int) -> Iterator[_Job]:
    cycle_s = 4 * 3600 + (n % 5) * 1800
    at = fleet.start + (n * 613) % cycle_s
    k = 0
    while at < fleet.end:
        print_s = cycle_s * (0.6 + (k + n) % 6 * 0.05)
        ends = at + print_s
        outcome = (None if ends >= fleet.end else "failed" if (k + n) % 20 == 0
                   else "cancelled" if (k + n) % 20 == 7 else "finished")
        if outcome in ("failed", "cancelled"):
            print_s *= 0.4
        transaction = f"bench-cmd-{n}-{k}" if k % 2 == 0 else None
        yield _Job(k, at, print_s, outcome, k % 4 == 1, transaction)
        at += cycle_s
        k += 1


def job_event_rows(fleet: Fleet, n: int) -> Iterator[tuple]:
    """Printer n's job events, in storage.rows.COLUMNS["job_events"] order."""
    device = device_id(n)
    seq = JOB_SEQ_BASE
    for job in _jobs(fleet, n):
        file_name = FILES[(job.number + n) % len(FILES)]
        slicer, version = SLICERS[(job.number + n) % len(SLICERS)]
        origin = "printfleet" if job.transaction else ("sd_card" if n % 2 else "octoprint_ui")
        for ts, event, progress, reason in _events(fleet, job):
            seq += 1
            used = round(progress / 100 * job.print_s * FILAMENT_MM_PER_S, 2)
            left = round(job.print_s * (1 - progress / 100))
            yield (device, seq, ts, ts + 0.2, f"job-{job.number}", event, file_name, origin,
                   progress, left, reason, used, job.transaction, round(used * GRAMS_PER_MM, 2),
                   slicer, version)


def _events(fleet: Fleet, job: _Job) -> Iterator[tuple[float, str, float, str | None]]:
    """(ts, event, progress, reason) of one job: started, a pause maybe, its end if it ended."""
    pause_s = 600.0 if job.paused else 0.0
    yield job.started_at, "started", 0.0, None
    middle = job.started_at + job.print_s / 2
    if job.paused and middle + pause_s < fleet.end:
        yield middle, "paused", 50.0, None
        yield middle + pause_s, "resumed", 50.0, None
    if job.outcome is not None:
        progress = 100.0 if job.outcome == "finished" else 40.0
        reason = FAILURES[job.number % len(FAILURES)] if job.outcome == "failed" else None
        yield job.started_at + job.print_s + pause_s, job.outcome, progress, reason


def command_rows(fleet: Fleet, n: int) -> Iterator[tuple]:
    """The start commands of printer n's jobs started from Printfleet (device_commands)."""
    device = device_id(n)
    for job in _jobs(fleet, n):
        if job.transaction:
            args = json.dumps({"file_name": FILES[(job.number + n) % len(FILES)]})
            yield (job.transaction, device, fleet.user_id, "start_print", args,
                   job.started_at - 2, job.started_at + 58)


def outages(fleet: Fleet, n: int) -> Iterator[tuple[float, float]]:
    """(started_at, ended_at) of printer n's network outages."""
    at = fleet.start + (n * 7919) % OUTAGE_EVERY_S
    while at < fleet.end - 3600:
        yield at, at + 300 + (n * 31 + int(at)) % 2400
        at += OUTAGE_EVERY_S


def presence_rows(fleet: Fleet, n: int) -> Iterator[tuple]:
    """Offline, then online again, around each outage (seq, ts, received_at, status, source)."""
    seq = PRESENCE_SEQ_BASE
    for began, ended in outages(fleet, n):
        yield (device_id(n), seq + 1, began, began + 1, "offline", "device")
        yield (device_id(n), seq + 2, ended, ended + 1, "online", "device")
        seq += 2


def downtime_rows(fleet: Fleet, n: int) -> Iterator[tuple]:
    """The device's own report of each outage, sent once it was back."""
    for index, (began, ended) in enumerate(outages(fleet, n)):
        yield (device_id(n), DOWNTIME_SEQ_BASE + index, ended + 5, ended + 5.2, began, ended,
               "network")


def facts_json(n: int) -> str:
    """System facts of printer n, as ingest stores them (sorted keys, compact)."""
    facts = {"agent_version": "1.0.0", "bed_mesh": None, "firmware": None,
             "hostname": f"printer-{n + 1:05d}", "local_ip": f"10.{n // 250}.{n % 250}.10",
             "octoprint": None, "os": "Debian GNU/Linux 12", "pi_model": "Raspberry Pi 4 Model B",
             "wifi_ssid": "workshop"}
    return json.dumps(facts, separators=(",", ":"), sort_keys=True)

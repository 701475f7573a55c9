"""The print-jobs history as the store speaks it: records, filters, statistics, the Protocol.

Every read takes the device ids the caller may see (a user's printers, an
organisation's, ...), so scoping stays with the caller and statistics for
any scope are the same query. The SQL is in job_queries.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

JobKey = tuple[str, str]  # (device_id, job_id)

OUTCOMES = ("finished", "failed", "cancelled", "running")  # running: no outcome yet
StatsScope = Literal["total", "printer", "user"]


@dataclass(frozen=True, slots=True)
class PrintJob:
    """One print as the history shows it."""

    id: int
    device_id: str
    job_id: str
    file_name: str
    origin: str
    started_at: float
    ended_at: float | None
    outcome: str | None
    reason: str | None
    pause_count: int
    paused_s: float
    progress_pct: float | None
    time_left_s: float | None
    filament_used_mm: float | None
    filament_used_g: float | None
    command_transaction: str | None
    slicer: str | None
    slicer_version: str | None
    started_by_user_id: int | None
    print_s: float | None
    printer_name: str
    started_by_email: str | None


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Which jobs a list or statistic covers; None means any."""

    device_id: str | None = None
    started_by_user_id: int | None = None
    started_outside: bool = False  # only jobs not started from Printfleet
    outcome: str | None = None  # one of OUTCOMES
    since: float | None = None  # started at or after
    until: float | None = None  # started before


@dataclass(frozen=True, slots=True)
class JobPage:
    jobs: list[PrintJob]
    total: int  # jobs matching the filter, over all pages (-1: not counted)


@dataclass(frozen=True, slots=True)
class JobStats:
    """Prints, outcomes, print hours and filament over one group of jobs."""

    key: str | int | None  # device id, user id (None: started outside Printfleet) or 'all'
    label: str | None
    prints: int
    finished: int
    failed: int
    cancelled: int
    running: int
    print_s: float
    filament_used_mm: float
    filament_used_g: float

    @property
    def success_rate(self) -> float | None:
        """Finished over ended prints (a cancelled print is not a success); None if none ended."""
        ended = self.finished + self.failed + self.cancelled
        return None if ended == 0 else self.finished / ended

    @property
    def print_hours(self) -> float:
        return self.print_s / 3600

    def plus(self, other: JobStats) -> JobStats:
        """These statistics and another group's, added up (keeping this key and label)."""
        return JobStats(self.key, self.label, self.prints + other.prints,
                        self.finished + other.finished, self.failed + other.failed,
                        self.cancelled + other.cancelled, self.running + other.running,
                        self.print_s + other.print_s,
                        self.filament_used_mm + other.filament_used_mm,
                        self.filament_used_g + other.filament_used_g)


@dataclass(frozen=True, slots=True)
class JobSummary:
    """Statistics of a scope's matching jobs: overall, per printer and per starting user.

    Groups are ordered by prints, most first, then by label.
    """

    total: JobStats
    by_printer: list[JobStats]
    by_user: list[JobStats]  # key None: started at the printer, not from Printfleet

    def by(self, scope: StatsScope) -> list[JobStats]:
        return {"total": [self.total], "printer": self.by_printer, "user": self.by_user}[scope]


def empty_stats(key: str | int | None, label: str | None) -> JobStats:
    return JobStats(key, label, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0)


Cell = tuple[str, int | None, JobStats]  # (device_id, started_by_user_id, their statistics)


def summarise(cells: list[Cell], printer_names: dict[str, str],
              user_emails: dict[int, str]) -> JobSummary:
    """Add up per-(printer, user) cells into a JobSummary."""
    total = empty_stats("all", "All printers")
    printers: dict[str, JobStats] = {}
    users: dict[int | None, JobStats] = {}
    for device, user, cell in cells:
        total = total.plus(cell)
        printers[device] = printers.get(device, empty_stats(
            device, printer_names.get(device))).plus(cell)
        users[user] = users.get(user, empty_stats(
            user, None if user is None else user_emails.get(user))).plus(cell)
    return JobSummary(total, _ranked(printers.values()), _ranked(users.values()))


def _ranked(groups: Iterable[JobStats]) -> list[JobStats]:
    return sorted(groups, key=lambda s: (-s.prints, s.label or "", str(s.key)))


class JobHistoryStore(Protocol):
    def print_jobs_page(self, device_ids: Collection[str], job_filter: JobFilter,
                        limit: int, offset: int = 0, count: bool = True) -> JobPage:
        """The scope's jobs matching the filter, newest first, one page and the total.

        count=False leaves the total out (-1) for a caller that has it already,
        e.g. from print_job_summary over the same filter.
        """
        ...

    def print_job(self, device_ids: Collection[str], job_id: int) -> PrintJob | None:
        """One job by its id if it ran on one of these devices, else None."""
        ...

    def print_job_summary(self, device_ids: Collection[str], job_filter: JobFilter
                          ) -> JobSummary:
        """Statistics of the matching jobs: overall, per printer and per starting user."""
        ...

    def print_job_starters(self, device_ids: Collection[str]) -> list[tuple[int, str]]:
        """(user id, email) of everyone who started a job on these devices, by email."""
        ...

    def refresh_print_jobs(self, keys: Sequence[JobKey]) -> int:
        """Refold these (device_id, job_id) jobs from their stored events; return how many."""
        ...

    def backfill_print_jobs(self) -> int:
        """Fold every job that has events but no record yet; return how many."""
        ...

"""The storage interface every backend implements, and the records it speaks.

Two halves: ``IngestStore`` (async, for fleet workers: batched, idempotent
writes) and ``SyncStore`` (sync, for the web app, the scheduler and the
command line). Each backend provides both; one contract test suite in
tests/storage/ runs against every backend.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from printfleet_protocol import Family

from .actions import ActionStore
from .api_tokens import ApiTokenStore
from .camera import CameraStore
from .charts import Flavour, TemperatureChart
from .data_exports import DataExportStore
from .devices import DeviceEditStore
from .downtime import DowntimeInterval
from .erasure import ErasureStore
from .files import FileStore
from .job_history import JobHistoryStore
from .jobs import JobRecord
from .locations import LocationStore
from .notification_outbox import NotificationOutboxStore
from .notifications import NotificationSettingsStore
from .org_actions import OrgActionStore
from .orgs import OrgStore
from .password_resets import PasswordResetStore
from .printer_page import PrinterPageStore
from .restriction import RestrictionStore
from .retention import RetentionPolicy
from .retention_runs import RetentionStore


@dataclass(frozen=True, slots=True)
class Accepted:
    """A validated message from a device, ready to store."""

    device_id: str
    family: Family
    message: Any  # the payload struct for the family
    received_at: float


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message refused at the MQTT edge, kept for operators."""

    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload_size: int
    payload_excerpt: str
    received_at: float


@dataclass(slots=True)
class BatchResult:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    by_family: dict[str, int] = field(default_factory=dict)
    # Presence events and downtime reports of printers whose downtime logging
    # is off: handled (and acknowledged), deliberately not stored.
    not_kept: int = 0


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    password_hash: str
    first_name: str
    last_name: str


class EmailTaken(ValueError):
    """An account with this email (in any letter case) exists already."""

    def __init__(self, email: str) -> None:
        super().__init__(f"an account with the email {email!r} exists already")


@dataclass(frozen=True, slots=True)
class WebSession:
    """A sign-in session of the web UI, as its user sees it."""

    id: int
    user_id: int
    ip: str
    user_agent: str
    started_at: float
    last_activity_at: float
    ended_at: float | None
    page_view_count: int


@dataclass(frozen=True, slots=True)
class PageView:
    path: str
    at: float


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """Recent failed sign-ins for one email and one IP, and when the last one was."""

    by_email: int
    by_ip: int
    last_at: float | None


@dataclass(frozen=True, slots=True)
class PrinterRow:
    """What the printers page shows for one printer."""

    device_id: str
    name: str
    presence: str
    last_seen_at: float | None
    printer_state: str | None
    heaters: dict[str, dict[str, float | None]]
    progress_pct: float | None
    time_left_s: float | None
    job_file_name: str | None
    job_status: str | None
    telemetry_ts: float | None
    org_id: int | None = None  # set when an organisation owns the printer
    role: str | None = None  # the reading user's: owner (their own printer) or their org role


@dataclass(frozen=True, slots=True)
class PendingDevice:
    """A device that registered for pairing and waits for its owner."""

    id: int
    device_id: str
    public_ip: str
    hostname: str
    agent_version: str
    created_at: float
    expires_at: float
    claimed_by: int | None
    credentials_json: str | None
    collected_at: float | None


@dataclass(frozen=True, slots=True)
class IssuedCommand:
    """A command sent to a device from Printfleet, and who asked for it."""

    transaction_id: str
    device_id: str
    user_id: int | None  # None: issued by Printfleet itself (a schedule, a rule)
    kind: str
    args: dict[str, Any]
    issued_at: float
    expires_at: float


class CommandNotRecorded(ValueError):
    """A command the store refused: its transaction id is taken, or its device or user unknown."""

    def __init__(self, command: IssuedCommand, detail: str) -> None:
        super().__init__(f"command {command.transaction_id} for {command.device_id} was not "
                         f"recorded: {detail}")


@dataclass(frozen=True, slots=True)
class RejectRow:
    received_at: float
    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload_size: int
    payload_excerpt: str


class IngestStore(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def write_batch(
        self, accepted: Sequence[Accepted], rejected: Sequence[Rejected]
    ) -> BatchResult:
        """Store a batch in one transaction; replays of (device, seq) are ignored.

        Raises BackendUnavailable while the database cannot be reached; nothing
        of the batch is stored then, and the caller tries again.
        """
        ...

    async def count_online_devices(self) -> int:
        """How many devices are online now (for the workers' metrics)."""
        ...


class SyncStore(
    ApiTokenStore,
    DeviceEditStore,
    NotificationSettingsStore,
    NotificationOutboxStore,
    PasswordResetStore,
    ActionStore,
    OrgStore,
    OrgActionStore,
    PrinterPageStore,
    CameraStore,
    JobHistoryStore,
    FileStore,
    RetentionStore,
    LocationStore,
    RestrictionStore,
    DataExportStore,
    ErasureStore,
    Protocol,
):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def migrate(self) -> list[int]:
        """Apply pending migrations; return the versions applied."""
        ...

    # Accounts
    def create_user(self, email: str, password_hash: str, first_name: str = "",
                    last_name: str = "") -> int:
        """Add an account; raise EmailTaken if the email exists in any letter case."""
        ...

    def user_by_email(self, email: str) -> User | None: ...

    def user_by_id(self, user_id: int) -> User | None: ...

    def update_user_profile(self, user_id: int, email: str, first_name: str,
                            last_name: str) -> bool:
        """Correct a user's name and email; raise EmailTaken if another account has the email."""
        ...

    # Web sign-in sessions
    def open_web_session(self, user_id: int, token_hash: str, ip: str, user_agent: str,
                         now: float) -> int:
        """Store a new session (its token only as a hash); return its id."""
        ...

    def web_session_by_token(self, token_hash: str) -> WebSession | None:
        """The session with this token hash, ended or not."""
        ...

    def record_web_activity(self, session_id: int, now: float, path: str | None) -> None:
        """Move a session's last activity to now; with a path, also log a page view."""
        ...

    def end_web_session(self, session_id: int, user_id: int, now: float) -> bool:
        """End one of a user's sessions; False if the user has no session with this id."""
        ...

    def web_sessions_for_user(self, user_id: int) -> list[WebSession]:
        """A user's sessions, newest first, with their page view counts."""
        ...

    def page_views(self, session_id: int, user_id: int) -> list[PageView]:
        """The pages visited in one of a user's sessions, in order."""
        ...

    def record_login_failure(self, email: str, ip: str, now: float) -> None:
        """Log a failed sign-in (emails compared lower-cased); forget ones older than a day."""
        ...

    def login_failures(self, email: str, ip: str, since: float) -> LoginFailures: ...

    def clear_login_failures(self, email: str) -> None:
        """Forget an email's failed sign-ins (after it signed in)."""
        ...

    # Device registry
    def add_device(self, device_id: str, name: str, owner_user_id: int | None,
                   mqtt_password_hash: str) -> None: ...

    def revoke_device(self, device_id: str) -> bool: ...

    def set_device_password(self, device_id: str, mqtt_password_hash: str) -> bool: ...

    def broker_credentials(self) -> list[tuple[str, str]]:
        """(username, hash) of every device that may connect."""
        ...

    def device_password_hash(self, device_id: str) -> str | None:
        """The active MQTT password hash of a device, None if unknown or revoked."""
        ...

    # Pairing
    def add_pending_device(self, device_id: str, code_hash: str, poll_token_hash: str,
                           public_ip: str, hostname: str, agent_version: str, now: float,
                           expires_at: float) -> None: ...

    def pending_by_token(self, poll_token_hash: str) -> PendingDevice | None: ...

    def pending_by_code(self, code_hash: str, now: float) -> PendingDevice | None:
        """An unexpired, unclaimed device with this code."""
        ...

    def pending_from_ip(self, public_ip: str, now: float) -> list[PendingDevice]: ...

    def count_pending_from_ip(self, public_ip: str, since: float) -> int: ...

    def claim_pending(self, pending_id: int, user_id: int, now: float) -> bool:
        """Mark claimed by a user; False if someone was faster."""
        ...

    def park_pending_credentials(self, pending_id: int, credentials_json: str) -> None:
        """Keep a claimed device's credentials until it collects them."""
        ...

    def take_pending_credentials(self, pending_id: int, now: float) -> str | None:
        """Hand out parked credentials once, erasing them."""
        ...

    def record_pairing_failure(self, user_id: int, now: float) -> None: ...

    def count_pairing_failures(self, user_id: int, since: float) -> int: ...

    def delete_expired_pending(self, now: float) -> int: ...

    # Commands issued from Printfleet
    def record_command(self, command: IssuedCommand) -> None:
        """Keep a command before it is sent; a transaction id is recorded once."""
        ...

    def issued_command(self, transaction_id: str) -> IssuedCommand | None: ...

    def command_issuers(self, device_id: str) -> dict[str, int | None]:
        """Who issued each command a job event of this device names: transaction -> user id."""
        ...

    # Reads
    def printers_for_user(self, user_id: int) -> list[PrinterRow]: ...

    def printer_for_user(self, user_id: int, device_id: str) -> PrinterRow | None:
        """Return one printer the user may see, or None (missing or not theirs alike)."""
        ...

    def fleet_overview(self) -> list[PrinterRow]: ...

    def jobs_for_device(self, device_id: str) -> list[JobRecord]:
        """One record per print, rebuilt from the device's job events."""
        ...

    def device_created_at(self, device_id: str) -> float | None: ...

    def downtime_logged_since(self, device_id: str) -> float | None:
        """When the printer's downtime logging was last turned on; None while it is off
        (no device_settings row counts as off)."""
        ...

    def downtime_history(self, device_id: str, now: float | None = None
                         ) -> list[DowntimeInterval]:
        """Server-seen and device-reported downtime, merged, as stored since downtime
        logging was last turned on; empty while it is off."""
        ...

    def uptime_by_day(self, device_id: str, now: float | None = None
                      ) -> list[tuple[datetime.date, float]]:
        """Uptime % per UTC day since the device was added and its downtime logging was
        last turned on; empty while it is off."""
        ...

    def temperature_chart(self, device_id: str, since: float, until: float
                          ) -> TemperatureChart:
        """Chart heaters over [since, until): raw samples, 1-minute or 1-hour rollups."""
        ...

    def apply_retention(self, now: float, policy: RetentionPolicy) -> dict[str, int]:
        """Remove time series older than the policy keeps; return rows removed per table."""
        ...

    @property
    def chart_flavour(self) -> Flavour:
        """Which SQL dialect and table layout the chart queries are written for."""
        ...

    def query_rows(self, sql: str, params: tuple) -> list[tuple]:
        """Run one read-only statement; return its rows as tuples."""
        ...

    def rebuild_rollups(self, since: float, until: float,
                        device_ids: Sequence[str] | None = None) -> None:
        """Recompute the telemetry rollups over [since, until), widened to whole hours.

        For operators and backfills: rows imported around the workers get
        their buckets. Without TimescaleDB one transaction per device (all
        registered devices when device_ids is None); under TimescaleDB the
        continuous aggregates are refreshed over the window for every device.
        """
        ...

    def recent_rejects(self, limit: int = 100) -> list[RejectRow]: ...

    def reject_counts(self) -> dict[str, int]: ...

    def table_rows(self, table: str, device_id: str) -> list[dict[str, Any]]:
        """Every stored row of one time-series table for a device, ordered by seq."""
        ...

    # Presence watchdog
    def mark_silent_devices_offline(self, now: float, silence_factor: float,
                                    default_interval_s: float) -> list[str]:
        """Mark offline every online device silent for too long; return their ids."""
        ...


TIME_SERIES_TABLES = (
    "telemetry",
    "job_events",
    "presence_events",
    "heartbeats",
    "downtime_reports",
    "device_facts",
    "command_acks",
)

"""Turn one printer's stored history into what its page and its JSON twin show."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from storage import SyncStore
from storage.downtime import DowntimeInterval, uptime_by_day
from storage.jobs import JobRecord
from storage.printer_page import CommandState, DeviceFacts, DeviceSettings

from .mesh_svg import mesh_figures
from .presenters import printer_to_dict

JOBS_SHOWN = 50
DOWNTIME_SHOWN = 50
UPTIME_DAYS_SHOWN = 30
COMMANDS_SHOWN = 10

EXPIRED_MESSAGE = ("The printer did not answer before the command expired; it may have gone "
                   "offline. Nothing was done.")
STATUS_TEXT = {
    "pending": "sent, waiting for the printer",
    "accepted": "accepted, running",
    "finished": "done",
    "failed": "failed",
    "rejected": "refused by the printer",
    "expired": "no answer",
}
APPLIED_TEXT = {
    "not_sent": "waiting for the printer to come online",
    "pending": "sent, waiting for the printer",
    "accepted": "being applied",
    "finished": "applied on the printer",
    "failed": "the printer could not apply it",
    "rejected": "expired before it reached the printer; sent again when it is online",
}


def command_to_dict(command: CommandState, now: float) -> dict[str, Any]:
    """A command and its acknowledgement: status, the device's message, its result."""
    status = command.status
    last = command.last_ack
    message = None if last is None else last.error
    if status == "pending" and command.expires_at < now:
        status, message = "expired", EXPIRED_MESSAGE
    return {"transaction_id": command.transaction_id, "kind": command.kind,
            "args": _shown_args(command.args), "user_id": command.user_id,
            "issued_at": command.issued_at, "expires_at": command.expires_at,
            "status": status, "status_text": STATUS_TEXT[status],
            "final": status in ("finished", "failed", "rejected", "expired"),
            "message": message, "data": None if last is None else last.data,
            "acks": [{"status": a.status, "ts": a.ts, "received_at": a.received_at,
                      "error": a.error} for a in command.acks]}


def _shown_args(args: dict[str, Any]) -> dict[str, Any]:
    # The download URL carries a signed token: not for showing back.
    return {key: value for key, value in args.items() if key != "url"}


def facts_to_dict(facts: DeviceFacts | None) -> dict[str, Any] | None:
    """The system facts as labelled values, plus plugins and when they were reported."""
    if facts is None:
        return None
    f = facts.facts
    firmware = f.get("firmware") or {}
    octoprint = f.get("octoprint") or {}
    return {
        "reported_at": facts.received_at,
        "hostname": f.get("hostname"), "local_ip": f.get("local_ip"),
        "wifi_ssid": f.get("wifi_ssid"), "pi_model": f.get("pi_model"), "os": f.get("os"),
        "agent_version": f.get("agent_version"),
        "firmware": " ".join(p for p in (firmware.get("name"), firmware.get("version")) if p)
        or None,
        "octoprint_version": octoprint.get("version"),
        "octoprint_plugins": list(octoprint.get("plugins") or []),
    }


def mesh_to_dict(facts: DeviceFacts | None) -> dict[str, Any] | None:
    figures = mesh_figures(None if facts is None else facts.facts.get("bed_mesh"))
    if figures is None:
        return None
    return {"rows": figures.rows, "min_mm": figures.min_mm, "max_mm": figures.max_mm,
            "range_mm": round(figures.range_mm, 4), "size": figures.size,
            "min_x": figures.min_x, "max_x": figures.max_x, "min_y": figures.min_y,
            "max_y": figures.max_y}


def job_to_dict(job: JobRecord) -> dict[str, Any]:
    values = dataclasses.asdict(job)
    end = job.ended_at
    values["duration_s"] = None if end is None else max(0.0, end - job.started_at)
    return values


def downtime_to_dict(interval: DowntimeInterval, now: float) -> dict[str, Any]:
    end = interval.ended_at
    return {"started_at": interval.started_at, "ended_at": end, "cause": interval.cause,
            "source": interval.source, "ongoing": end is None,
            "duration_s": (now if end is None else end) - interval.started_at}


def uptime_to_dicts(days: list[tuple[datetime.date, float]]) -> list[dict[str, Any]]:
    """The last days' uptime, newest first."""
    return [{"date": day.isoformat(), "uptime_pct": pct}
            for day, pct in reversed(days[-UPTIME_DAYS_SHOWN:])]


def settings_to_dict(settings: DeviceSettings | None) -> dict[str, Any]:
    if settings is None:
        return {"downtime_logging": None, "set_here": False, "applied": None,
                "applied_text": "never set here, so off",
                "error": None, "changed_at": None}
    return {"downtime_logging": settings.downtime_logging, "set_here": True,
            "applied": settings.applied, "applied_text": APPLIED_TEXT[settings.applied],
            "error": settings.error, "changed_at": settings.changed_at}


def page_data(sync: SyncStore, printer: Any, now: float) -> dict[str, Any]:
    """Everything the printer page shows but the chart, as plain JSON-ready values."""
    device_id = printer.device_id
    facts = sync.latest_facts(device_id)
    jobs = sync.jobs_for_device(device_id)
    # Nothing is recorded while downtime logging is off (the privacy policy's
    # promise), and only what was recorded since it was last turned on is shown.
    logged_since = sync.downtime_logged_since(device_id)
    downtime = [] if logged_since is None else sync.downtime_history(device_id, now)
    created = sync.device_created_at(device_id)
    # From the history already read, not store.uptime_by_day (which reads it again).
    uptime = ([] if created is None or logged_since is None
              else uptime_by_day(downtime, max(created, logged_since), now))
    return {
        "printer": printer_to_dict(printer, now),
        "facts": facts_to_dict(facts),
        "bed_mesh": mesh_to_dict(facts),
        "jobs": [job_to_dict(job) for job in reversed(jobs[-JOBS_SHOWN:])],
        "downtime_logging_on": logged_since is not None,
        "downtime_logged_since": logged_since,
        "downtime": [downtime_to_dict(i, now) for i in reversed(downtime[-DOWNTIME_SHOWN:])],
        "uptime_by_day": uptime_to_dicts(uptime),
        "commands": [command_to_dict(c, now)
                     for c in sync.recent_commands(device_id, COMMANDS_SHOWN)],
        "settings": settings_to_dict(sync.device_settings(device_id)),
    }


def format_when(at: float | None) -> str:
    """Format an epoch time as 'YYYY-MM-DD HH:MM UTC', or a dash."""
    if at is None:
        return "—"
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_duration(seconds: float | None) -> str:
    """Format a duration as '2 d 3 h', '1 h 05 min', '12 min' or '45 s'."""
    if seconds is None:
        return "—"
    if seconds >= 86400:
        return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    if seconds >= 60:
        return f"{int(seconds // 60)} min"
    return f"{int(seconds)} s"


PAGE_FILTERS = {"when": format_when, "duration": format_duration}

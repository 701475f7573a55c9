"""The one scheduler process: the presence watchdog, retention and notifications.

It runs in exactly one process (never inside web workers), so a job never
runs twice at once. APScheduler 3.x: 4.x is still pre-release.
"""

from __future__ import annotations

import logging
import time

from apscheduler.schedulers.blocking import BlockingScheduler

from storage import SyncStore, retention_policy
from storage.retention import RetentionPolicy

from .context import Context
from .device_commands import fleet_publisher
from .device_settings import deliver_settings
from .notify.jobs import add_notification_jobs
from .print_location import add_location_job
from .settings import Settings

logger = logging.getLogger(__name__)

# A heartbeat interval to assume for devices that have not sent one yet.
DEFAULT_HEARTBEAT_INTERVAL_S = 30.0
# How often to look for printers that came online with settings to receive.
SETTINGS_CHECK_S = 10.0


def check_presence(store: SyncStore, silence_factor: float) -> list[str]:
    """Mark devices that fell silent offline, even when no last will arrived."""
    silent = store.mark_silent_devices_offline(time.time(), silence_factor,
                                               DEFAULT_HEARTBEAT_INTERVAL_S)
    for device_id in silent:
        logger.info("device %s fell silent; marked offline", device_id)
    return silent


def apply_retention(store: SyncStore, policy: RetentionPolicy) -> dict[str, int]:
    """Remove time series older than the [retention] settings keep."""
    started = time.perf_counter()
    removed = store.apply_retention(time.time(), policy)
    logger.info("retention removed %s in %.1fs",
                ", ".join(f"{table} {count}" for table, count in removed.items() if count)
                or "nothing", time.perf_counter() - started)
    return removed


def build_scheduler(settings: Settings, store: SyncStore) -> BlockingScheduler:
    """Build the scheduler with every job registered (not started)."""
    scheduler = BlockingScheduler(job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    scheduler.add_job(check_presence, "interval", seconds=settings.presence.check_interval_s,
                      args=(store, settings.presence.silence_factor), id="presence_watchdog",
                      name="presence watchdog")
    # Hourly keeps each run small; under TimescaleDB the same settings are
    # also native policies, and this run just drops whole chunks.
    scheduler.add_job(apply_retention, "interval", hours=1, args=(store, retention_policy(settings)),
                      id="time_series_retention", name="time-series retention",
                      misfire_grace_time=3600)
    add_notification_jobs(scheduler, settings, store)
    add_location_job(scheduler, settings, store)
    # Built now, connected on the first command it sends.
    publisher = fleet_publisher(Context(settings))
    scheduler.add_job(deliver_settings, "interval", seconds=SETTINGS_CHECK_S,
                      args=(store, publisher, settings.broker.topic_prefix,
                            settings.web.settings_resend_s),
                      id="printer_settings", name="printer settings delivery")
    return scheduler

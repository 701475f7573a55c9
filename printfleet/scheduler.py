"""The one scheduler process: watchdog, retention, live expiry, notifications and data exports.

It runs in exactly one process (never inside web workers), so a job never
runs twice at once. APScheduler 3.x: 4.x is still pre-release.
"""

from __future__ import annotations

import datetime
import logging
import time

from apscheduler.schedulers.blocking import BlockingScheduler

from storage import SyncStore
from storage.retention_classes import CLASSES

from .context import Context
from .data_export import add_export_job
from .device_commands import fleet_publisher
from .device_settings import deliver_settings
from .live_expiry import LiveImageExpiry
from .notify.jobs import add_notification_jobs
from .print_location import add_location_job
from .retention import Outcome, Retention
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


# The live picture has its own timer (live_expiry.py); every other class
# runs as a job of its own, so one slow class never delays another.
SCHEDULED_CLASSES = tuple(item.name for item in CLASSES if item.name != "camera_live")
# The first runs come soon after start-up (new settings apply at once),
# spread out so they do not all start together.
FIRST_RUN_AFTER_S = 60.0
FIRST_RUN_SPREAD_S = 15.0


def run_retention_class(retention: Retention, name: str) -> Outcome:
    """Remove what one class no longer keeps, and record the run."""
    return retention.run(time.time(), [name], triggered_by="schedule")[0]


def start_live_expiry(settings: Settings, store: SyncStore) -> LiveImageExpiry:
    """Start the live picture's expiry timer (stop() it on shutdown)."""
    expiry = LiveImageExpiry(settings, store)
    expiry.start()
    return expiry


def build_scheduler(settings: Settings, store: SyncStore) -> BlockingScheduler:
    """Build the scheduler with every job registered (not started)."""
    scheduler = BlockingScheduler(job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    scheduler.add_job(check_presence, "interval", seconds=settings.presence.check_interval_s,
                      args=(store, settings.presence.silence_factor), id="presence_watchdog",
                      name="presence watchdog")
    # Hourly keeps each run small; under TimescaleDB the time series'
    # settings are also native policies, and these runs drop whole chunks.
    retention = Retention(settings, store)
    first = datetime.datetime.now(datetime.UTC)
    for number, name in enumerate(SCHEDULED_CLASSES):
        start = first + datetime.timedelta(
            seconds=FIRST_RUN_AFTER_S + number * FIRST_RUN_SPREAD_S)
        scheduler.add_job(run_retention_class, "interval",
                          seconds=settings.retention.run_interval_s, args=(retention, name),
                          id=f"retention_{name}", name=f"retention of {name}",
                          next_run_time=start, misfire_grace_time=3600)
    add_notification_jobs(scheduler, settings, store)
    add_location_job(scheduler, settings, store)
    add_export_job(scheduler, settings, store)
    # Built now, connected on the first command it sends.
    publisher = fleet_publisher(Context(settings))
    scheduler.add_job(deliver_settings, "interval", seconds=SETTINGS_CHECK_S,
                      args=(store, publisher, settings.broker.topic_prefix,
                            settings.web.settings_resend_s),
                      id="printer_settings", name="printer settings delivery")
    return scheduler

"""The one scheduler process: presence watchdog now, retention jobs later.

It runs in exactly one process (never inside web workers), so a job never
runs twice at once. APScheduler 3.x: 4.x is still pre-release.
"""

from __future__ import annotations

import logging
import time

from apscheduler.schedulers.blocking import BlockingScheduler

from storage import SyncStore

from .settings import Settings

logger = logging.getLogger(__name__)

# A heartbeat interval to assume for devices that have not sent one yet.
DEFAULT_HEARTBEAT_INTERVAL_S = 30.0


def check_presence(store: SyncStore, silence_factor: float) -> list[str]:
    """Mark devices that fell silent offline, even when no last will arrived."""
    silent = store.mark_silent_devices_offline(time.time(), silence_factor,
                                               DEFAULT_HEARTBEAT_INTERVAL_S)
    for device_id in silent:
        logger.info("device %s fell silent; marked offline", device_id)
    return silent


def build_scheduler(settings: Settings, store: SyncStore) -> BlockingScheduler:
    """Build the scheduler with every job registered (not started)."""
    scheduler = BlockingScheduler(job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    scheduler.add_job(check_presence, "interval", seconds=settings.presence.check_interval_s,
                      args=(store, settings.presence.silence_factor), id="presence_watchdog",
                      name="presence watchdog")
    return scheduler

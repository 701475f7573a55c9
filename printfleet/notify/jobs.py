"""The scheduler's notification jobs: the outbox scan and the dispatcher."""

from __future__ import annotations

from apscheduler.schedulers.base import BaseScheduler

from printfleet.settings import Settings
from storage import SyncStore

from .dispatch import Dispatcher
from .scan import scan


def add_notification_jobs(scheduler: BaseScheduler, settings: Settings, store: SyncStore) -> None:
    """Register the scan and the dispatcher (each runs one at a time, never in web workers)."""
    config = settings.notifications
    scheduler.add_job(scan, "interval", seconds=config.scan_interval_s,
                      args=(store, config), id="notification_scan", name="notification scan")
    scheduler.add_job(Dispatcher(store, settings).dispatch_due, "interval",
                      seconds=config.dispatch_interval_s, id="notification_dispatch",
                      name="notification dispatch")

"""The scan that fills the notification outbox, run by the scheduler (never by web workers).

It reads what the fleet workers and the presence watchdog stored (job ends,
and when each printer last went offline) since its last run, minus an overlap for batches that
committed late, and queues one event per device/job/kind with a delivery
per recipient and channel. Queuing is idempotent, so scanning twice, or
overlapping, sends nothing twice.
"""

from __future__ import annotations

import logging
import secrets
import time

from printfleet.settings import NotificationsSettings
from storage import SyncStore
from storage.notification_outbox import ObservedEvent, PlannedDelivery
from storage.notifications import Webhook
from storage.orgs import MANAGING_ROLES

logger = logging.getLogger(__name__)

ENDED_JOBS = "ended_jobs"
OFFLINE_DURING_PRINT = "offline_during_print"


def scan(store: SyncStore, settings: NotificationsSettings, now: float | None = None) -> int:
    """Queue notifications for what happened since the last scan; return the new events."""
    now = time.time() if now is None else now
    found = 0
    for name, finder in ((ENDED_JOBS, store.ended_jobs_received_since),
                         (OFFLINE_DURING_PRINT, store.offline_during_print_since)):
        cursor = store.notification_scan_cursor(name)
        # The first scan looks back one overlap only: no burst for old history.
        since = (now if cursor is None else cursor) - settings.scan_overlap_s
        for event in finder(since):
            if store.queue_notification(event, plan_deliveries(store, event), now):
                found += 1
                logger.info("queued %s notification for %s job %s", event.kind,
                            event.device_id, event.job_id)
        store.set_notification_scan_cursor(name, now)
    return found


def recipients(store: SyncStore, event: ObservedEvent) -> list[int]:
    """Return who hears about an event, once each, in the order they are named.

    A user's printer: its owner and the job's starter. An organisation's
    printer: the job's starter while still a member, then the owners and
    admins; nobody outside the organisation.
    """
    if event.owner_org_id is None:
        candidates = [event.owner_user_id, event.started_by_user_id]
    else:
        members = store.org_members(event.owner_org_id)
        member_ids = {member.user_id for member in members}
        starter = event.started_by_user_id if event.started_by_user_id in member_ids else None
        candidates = [starter] + [m.user_id for m in members if m.role in MANAGING_ROLES]
    return [user for user in dict.fromkeys(candidates) if user is not None]


def plan_deliveries(store: SyncStore, event: ObservedEvent) -> list[PlannedDelivery]:
    """Return a delivery per recipient and channel their own settings ask for."""
    planned = []
    for user_id in recipients(store, event):
        wanted = store.notification_settings(user_id)
        if not wanted.wants(event.kind):
            continue
        if wanted.by_email:
            planned.append(PlannedDelivery(user_id, "email"))
        if wanted.by_sms and wanted.phone:
            planned.append(PlannedDelivery(user_id, "sms"))
        planned += [PlannedDelivery(user_id, "webhook", hook.id)
                    for hook in store.webhooks_for_user(user_id)]
    return planned


def queue_test_delivery(store: SyncStore, webhook: Webhook, now: float) -> None:
    """Queue a test event for one webhook; the dispatcher sends it like any other."""
    event = ObservedEvent("test", "", "", f"test-{secrets.token_hex(8)}", "", None, now,
                          webhook.user_id, None)
    store.queue_notification(event, [PlannedDelivery(webhook.user_id, "webhook", webhook.id)],
                             now)

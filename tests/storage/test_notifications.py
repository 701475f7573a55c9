"""Notification settings, webhooks, the outbox and password resets on every backend."""

from __future__ import annotations

import time

import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, JobEvent, Presence
from storage import Accepted, IssuedCommand
from storage.notification_outbox import ObservedEvent, PlannedDelivery
from storage.notifications import NotificationSettings, NotificationSettingsError

pytestmark = pytest.mark.timeout(30)


def job(seq: int, kind: str, job_id: str = "j-1", transaction: str | None = None) -> JobEvent:
    return JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=seq, job_id=job_id, event=kind,
                    file_name="gear.gcode", origin="printfleet" if transaction else "sd_card",
                    command_transaction=transaction)


async def write(stores, device_id: str, family: Family, message, received_at: float) -> None:
    await stores.ingest.write_batch([Accepted(device_id, family, message, received_at)], [])


def test_settings_default_until_saved_and_the_phone_lives_only_with_sms(stores):
    sync = stores.sync
    alice = sync.create_user("alice@example.com", "h")
    assert sync.notification_settings(alice) == NotificationSettings()
    assert sync.notification_settings(alice).phone is None

    sync.save_notification_settings(alice, NotificationSettings(
        on_offline=False, by_sms=True, phone="+4512345678"), 1.0)
    saved = sync.notification_settings(alice)
    assert (saved.on_offline, saved.by_sms, saved.phone) == (False, True, "+4512345678")

    # Turning SMS off removes the number, whatever the form still carried.
    sync.save_notification_settings(alice, NotificationSettings(phone="+4512345678"), 2.0)
    assert sync.notification_settings(alice).phone is None
    assert sync.query_rows("SELECT COUNT(*) FROM notification_settings WHERE phone IS NOT NULL",
                           ()) == [(0,)]
    with pytest.raises(NotificationSettingsError, match="phone"):
        sync.save_notification_settings(alice, NotificationSettings(by_sms=True), 3.0)


def test_marketing_recipients_are_only_the_users_who_opted_in(stores):
    sync = stores.sync
    alice = sync.create_user("alice@example.com", "h")
    bob = sync.create_user("bob@example.com", "h")
    carol = sync.create_user("carol@example.com", "h")
    sync.save_notification_settings(bob, NotificationSettings(), 1.0)  # saved, not opted in
    sync.save_notification_settings(carol, NotificationSettings(marketing_opt_in_at=5.0), 5.0)
    assert sync.marketing_recipients() == [(carol, "carol@example.com")]
    assert alice not in [user for user, _ in sync.marketing_recipients()]


def test_webhooks_are_scoped_to_their_user(stores):
    sync = stores.sync
    alice = sync.create_user("alice@example.com", "h")
    bob = sync.create_user("bob@example.com", "h")
    hook = sync.add_webhook(alice, "https://example.com/hook", "s3cret", 1.0)
    assert sync.webhooks_for_user(alice) == [hook]
    assert sync.webhook(alice, hook.id) == hook
    assert sync.webhook(bob, hook.id) is None and sync.webhooks_for_user(bob) == []
    assert sync.delete_webhook(bob, hook.id) is False
    assert sync.webhook_attempts(bob, hook.id) == []
    assert sync.delete_webhook(alice, hook.id) is True
    assert sync.webhooks_for_user(alice) == []


async def test_ended_jobs_name_the_owner_and_the_starter(stores):
    sync = stores.sync
    owner = sync.create_user("owner@example.com", "h")
    starter = sync.create_user("starter@example.com", "h")
    sync.add_device("p-1", "Prusa", owner, "$7$h")
    now = time.time()
    sync.record_command(IssuedCommand("cmd-1", "p-1", starter, "start_print", {}, now, now + 60))
    await write(stores, "p-1", Family.JOB, job(1, "started", transaction="cmd-1"), now)
    await write(stores, "p-1", Family.JOB, job(2, "failed"), now + 1)
    await write(stores, "p-1", Family.JOB, job(3, "started", "j-2"), now + 2)
    await write(stores, "p-1", Family.JOB, job(4, "cancelled", "j-2"), now + 3)

    (ended,) = sync.ended_jobs_received_since(now - 1)
    assert (ended.kind, ended.device_name, ended.job_id, ended.file_name) == (
        "failed", "Prusa", "j-1", "gear.gcode")
    assert (ended.owner_user_id, ended.started_by_user_id) == (owner, starter)
    assert sync.ended_jobs_received_since(now + 1) == []  # the cursor moved past it


async def test_offline_counts_only_while_a_job_was_running(stores):
    sync = stores.sync
    owner = sync.create_user("owner@example.com", "h")
    sync.add_device("p-1", "Prusa", owner, "$7$h")
    sync.add_device("p-2", "Idle", owner, "$7$h")
    now = time.time()
    await write(stores, "p-1", Family.JOB, job(1, "started"), now)
    await write(stores, "p-1", Family.PRESENCE, Presence(
        v=SCHEMA_VERSION, ts=now, seq=2, status="offline"), now + 1)
    await write(stores, "p-2", Family.JOB, job(1, "started"), now)
    await write(stores, "p-2", Family.JOB, job(2, "finished"), now + 1)
    await write(stores, "p-2", Family.PRESENCE, Presence(
        v=SCHEMA_VERSION, ts=now, seq=3, status="offline"), now + 2)
    (offline,) = sync.offline_during_print_since(now - 1)
    assert (offline.kind, offline.device_id, offline.job_id, offline.occurred_at) == (
        "offline", "p-1", "j-1", now + 1)
    assert offline.owner_user_id == owner and offline.started_by_user_id is None


def test_an_event_is_queued_once_and_attempts_are_logged(stores):
    sync = stores.sync
    alice = sync.create_user("alice@example.com", "h")
    hook = sync.add_webhook(alice, "https://example.com/hook", "s3cret", 1.0)
    event = ObservedEvent("finished", "p-1", "Prusa", "j-1", "gear.gcode", None, 10.0, alice, None)
    plan = [PlannedDelivery(alice, "email"), PlannedDelivery(alice, "webhook", hook.id)]
    assert sync.queue_notification(event, plan, 20.0) is True
    assert sync.queue_notification(event, plan, 21.0) is False

    due = sync.due_deliveries(20.0)
    assert [(d.channel, d.webhook_url) for d in due] == [
        ("email", None), ("webhook", "https://example.com/hook")]
    assert due[0].email == "alice@example.com" and due[0].settings == NotificationSettings()
    email, webhook = due
    sync.record_delivery_attempt(email, True, None, "250 sent", 20.0, None)
    sync.record_delivery_attempt(webhook, False, 500, "HTTP 500", 20.0, 30.0)
    assert [d.id for d in sync.due_deliveries(25.0)] == []
    (retry,) = sync.due_deliveries(30.0)
    assert (retry.id, retry.attempts) == (webhook.id, 1)
    sync.record_delivery_attempt(retry, False, None, "timed out", 30.0, None)
    assert sync.due_deliveries(1e12) == []

    log = sync.webhook_attempts(alice, hook.id)
    assert [(a.attempt, a.ok, a.status_code, a.detail) for a in log] == [
        (2, False, None, "timed out"), (1, False, 500, "HTTP 500")]
    assert {a.delivery_status for a in log} == {"gave_up"}
    assert sync.notification_scan_cursor("jobs") is None
    sync.set_notification_scan_cursor("jobs", 5.0)
    sync.set_notification_scan_cursor("jobs", 6.0)
    assert sync.notification_scan_cursor("jobs") == 6.0


def test_a_reset_token_works_once_and_ends_every_session(stores):
    sync = stores.sync
    alice = sync.create_user("alice@example.com", "old-hash")
    session = sync.open_web_session(alice, "session-hash", "10.0.0.1", "ua", 1.0)
    sync.add_password_reset_token(alice, "token-1", 1.0, 100.0)
    sync.add_password_reset_token(alice, "token-2", 1.0, 100.0)
    sync.add_password_reset_token(alice, "expired", 1.0, 2.0)
    assert sync.password_reset_user("token-1", 5.0) == alice
    assert sync.password_reset_user("expired", 5.0) is None
    assert sync.reset_password("expired", "new-hash", 5.0) is None
    assert sync.user_by_id(alice).password_hash == "old-hash"

    assert sync.reset_password("token-1", "new-hash", 5.0) == alice
    assert sync.user_by_id(alice).password_hash == "new-hash"
    assert sync.web_session_by_token("session-hash").ended_at == 5.0
    assert session == sync.web_session_by_token("session-hash").id
    assert sync.reset_password("token-1", "other", 6.0) is None  # used
    assert sync.reset_password("token-2", "other", 6.0) is None  # voided with it
    assert sync.user_by_id(alice).password_hash == "new-hash"


def test_reset_requests_are_counted_per_email_and_per_ip(stores):
    sync = stores.sync
    sync.record_password_reset_request("Alice@Example.com", "10.0.0.1", 10.0)
    sync.record_password_reset_request("alice@example.com", "10.0.0.2", 11.0)
    sync.record_password_reset_request("nobody@example.com", "10.0.0.1", 12.0)
    assert sync.password_reset_requests("ALICE@example.com", "10.0.0.1", 0.0) == (2, 2)
    assert sync.password_reset_requests("alice@example.com", "10.0.0.9", 10.5) == (1, 0)

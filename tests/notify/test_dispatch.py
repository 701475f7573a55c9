"""From stored job and presence events to mail, SMS and webhooks: the scan and the dispatcher.

Real parts throughout: SQLite written through the ingest path, the SMTP
server (aiosmtpd), a local HTTP receiver that fails before it accepts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from printfleet.notify.dispatch import Dispatcher
from printfleet.notify.scan import queue_test_delivery, scan
from printfleet.notify.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from printfleet.settings import Settings
from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, JobEvent, Presence
from storage import Accepted, IssuedCommand
from storage.notifications import NotificationSettings
from storage.sqlite import SqliteIngestStore, SqliteSyncStore

from .receiver import http_receiver

pytestmark = pytest.mark.timeout(60)

ALICE, BOB = "alice@example.org", "bob@example.org"


def ingest(path: Path, device_id: str, messages: list, received_at: float) -> None:
    """Store messages through the real async ingest path, all received at one time."""

    async def write() -> None:
        store = SqliteIngestStore(path)
        await store.start()
        try:
            family = {JobEvent: Family.JOB, Presence: Family.PRESENCE}
            await store.write_batch([Accepted(device_id, family[type(m)], m, received_at)
                                     for m in messages], [])
        finally:
            await store.stop()

    asyncio.run(asyncio.wait_for(write(), timeout=10))


def job(seq: int, kind: str, transaction: str | None = None, reason: str | None = None):
    return JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=seq, job_id="j-1", event=kind,
                    file_name="gear.gcode", origin="printfleet" if transaction else "sd_card",
                    command_transaction=transaction, reason=reason)


@pytest.fixture
def db(store: SqliteSyncStore, tmp_path: Path) -> Path:
    return tmp_path / "notify.sqlite3"


@pytest.fixture
def people(store: SqliteSyncStore) -> dict[str, int]:
    users = {email: store.create_user(email, "h") for email in (ALICE, BOB)}
    store.add_device("p-1", "Prusa", users[ALICE], "$7$h")
    return users


def test_a_finished_print_is_mailed_once_however_often_it_is_scanned(
        store, settings: Settings, smtp, db, people):
    now = time.time()
    ingest(db, "p-1", [job(1, "started"), job(2, "finished")], now)
    dispatcher = Dispatcher(store, settings)

    assert scan(store, settings.notifications, now + 1) == 1
    assert scan(store, settings.notifications, now + 2) == 0  # the overlap sees it again
    assert dispatcher.dispatch_due(now + 3) == 1
    assert scan(store, settings.notifications, now + 4) == 0
    assert dispatcher.dispatch_due(now + 5) == 0

    (mail,) = smtp.wait_for(ALICE)
    assert mail["Subject"] == "[Printfleet] Print finished: gear.gcode on Prusa"
    assert "https://print.example.com/account/notifications" in mail.get_content()
    assert smtp.to(BOB) == []


def test_a_failed_print_reaches_the_owner_and_the_starter_on_their_channels(
        store, settings: Settings, smtp, db, people, caplog):
    now = time.time()
    store.record_command(IssuedCommand("cmd-1", "p-1", people[BOB], "start_print", {}, now,
                                       now + 60))
    store.save_notification_settings(people[BOB], NotificationSettings(
        by_sms=True, phone="+4512345678"), now)
    ingest(db, "p-1", [job(1, "started", "cmd-1"), job(2, "failed", reason="thermal runaway")],
           now)
    scan(store, settings.notifications, now + 1)
    with caplog.at_level(logging.INFO, logger="printfleet.notify.sms"):
        assert Dispatcher(store, settings).dispatch_due(now + 2) == 3

    for address in (ALICE, BOB):
        (mail,) = smtp.wait_for(address)
        assert mail["Subject"] == "[Printfleet] Print failed: gear.gcode on Prusa"
        assert "Reason: thermal runaway" in mail.get_content()
    texts = [r.getMessage() for r in caplog.records if r.name == "printfleet.notify.sms"]
    assert texts == ["SMS to +45*****678: Printfleet: Print failed: gear.gcode on Prusa "
                     "(thermal runaway)"]


def test_what_a_user_turned_off_is_not_sent(store, settings: Settings, smtp, db, people):
    now = time.time()
    store.save_notification_settings(people[ALICE], NotificationSettings(on_finished=False),
                                     now)
    ingest(db, "p-1", [job(1, "started"), job(2, "finished")], now)
    assert scan(store, settings.notifications, now + 1) == 1
    assert Dispatcher(store, settings).dispatch_due(now + 2) == 0
    assert smtp.to(ALICE) == []


def test_a_printer_the_watchdog_marks_offline_during_a_print_is_notified(
        store, settings: Settings, smtp, db, people):
    now = time.time()
    ingest(db, "p-1", [Presence(v=SCHEMA_VERSION, ts=now - 100, seq=1, status="online"),
                       job(2, "started")], now - 100)
    assert store.mark_silent_devices_offline(now, 1.5, 30.0) == ["p-1"]
    assert scan(store, settings.notifications, now + 1) == 1
    Dispatcher(store, settings).dispatch_due(now + 2)
    (mail,) = smtp.wait_for(ALICE)
    assert mail["Subject"] == "[Printfleet] Printer offline during a print: gear.gcode on Prusa"


def test_a_last_will_during_a_print_is_notified_with_downtime_logging_off(
        store, settings: Settings, smtp, db, people):
    store.set_downtime_logging("p-1", False, people[ALICE], time.time())
    now = time.time()
    ingest(db, "p-1", [Presence(v=SCHEMA_VERSION, ts=now - 100, seq=1, status="online"),
                       job(2, "started")], now - 100)
    ingest(db, "p-1", [Presence(v=SCHEMA_VERSION, ts=now - 100, seq=3, status="offline")], now)
    # Back online before the scan ran: the outage is still seen.
    ingest(db, "p-1", [Presence(v=SCHEMA_VERSION, ts=now + 1, seq=4, status="online")], now + 1)
    assert store.table_rows("presence_events", "p-1") == []  # no downtime history kept
    assert scan(store, settings.notifications, now + 2) == 1
    Dispatcher(store, settings).dispatch_due(now + 3)
    (mail,) = smtp.wait_for(ALICE)
    assert mail["Subject"] == "[Printfleet] Printer offline during a print: gear.gcode on Prusa"


def test_a_webhook_is_retried_with_back_off_until_the_receiver_accepts(
        store, settings: Settings, db, people):
    store.save_notification_settings(people[ALICE], NotificationSettings(by_email=False), 0)
    now = time.time()
    with http_receiver([500, "slow"], slow_s=1.5) as receiver:
        hook = store.add_webhook(people[ALICE], receiver.url, "whsec_test", now)
        ingest(db, "p-1", [job(1, "started"), job(2, "finished")], now)
        scan(store, settings.notifications, now)
        dispatcher = Dispatcher(store, settings)
        assert dispatcher.dispatch_due(now) == 1  # 500
        assert dispatcher.dispatch_due(now + 9) == 0  # first_retry_s is 10
        assert dispatcher.dispatch_due(now + 10) == 1  # times out
        assert dispatcher.dispatch_due(now + 29) == 0  # then 20 s
        assert dispatcher.dispatch_due(now + 30) == 1  # accepted
        assert dispatcher.dispatch_due(now + 1e6) == 0

    log = store.webhook_attempts(people[ALICE], hook.id)
    assert [(a.attempt, a.ok, a.status_code) for a in log] == [
        (3, True, 204), (2, False, None), (1, False, 500)]
    assert "no answer within 0.5 s" in log[1].detail
    assert {a.delivery_status for a in log} == {"sent"}
    bodies = {request.body for request in receiver.requests}
    assert len(bodies) == 1  # the same body every time; a receiver may drop repeats
    payload = json.loads(bodies.pop())
    assert payload["event"] == "finished" and payload["job"]["file_name"] == "gear.gcode"
    assert payload["printer"] == {"device_id": "p-1", "name": "Prusa"}
    for request in receiver.requests:
        assert verify_signature("whsec_test", request.headers[TIMESTAMP_HEADER], request.body,
                                request.headers[SIGNATURE_HEADER])


def test_a_webhook_that_keeps_failing_is_given_up_after_max_attempts(
        store, settings: Settings, people):
    now = time.time()
    with http_receiver([503] * 10) as receiver:
        hook = store.add_webhook(people[ALICE], receiver.url, "whsec_test", now)
        queue_test_delivery(store, hook, now)
        dispatcher = Dispatcher(store, settings)
        for step in range(10):
            dispatcher.dispatch_due(now + 1000 * step)
    assert len(receiver.requests) == settings.notifications.max_attempts == 4
    log = store.webhook_attempts(people[ALICE], hook.id)
    assert {a.delivery_status for a in log} == {"gave_up"}
    assert json.loads(receiver.requests[0].body)["event"] == "test"


"""Notifications for an organisation's printers: the starter and the owners and admins, nobody else, once.

Real parts: SQLite written through the ingest path, the scan, the dispatcher
and the SMTP server (aiosmtpd).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from printfleet.notify.dispatch import Dispatcher
from printfleet.notify.scan import plan_deliveries, recipients, scan
from printfleet.settings import Settings
from printfleet_protocol.payloads import SCHEMA_VERSION, Presence
from storage import IssuedCommand
from storage.notification_outbox import PlannedDelivery
from storage.notifications import NotificationSettings
from storage.orgs import OrgProfile

from .test_dispatch import ingest, job

pytestmark = pytest.mark.timeout(60)

PEOPLE = ("owner", "admin", "quiet-admin", "operator", "viewer", "former", "stranger")


def address(name: str) -> str:
    return f"{name}@example.org"


@pytest.fixture
def db(store, tmp_path: Path) -> Path:
    return tmp_path / "notify.sqlite3"


@pytest.fixture
def org(store) -> dict[str, int]:
    """An organisation owning printer p-org, with a member in each role and two outsiders."""
    ids = {name: store.create_user(address(name), "h") for name in PEOPLE}
    org = store.create_organisation(ids["owner"], OrgProfile(name="Acme"), 1.0)
    for name, role in (("admin", "admin"), ("quiet-admin", "admin"), ("operator", "operator"),
                       ("viewer", "viewer"), ("former", "operator")):
        invitation = store.create_invitation(org.id, address(name), role, f"h-{name}",
                                             ids["owner"], 1.0, 4e9)
        assert store.accept_invitation(invitation.id, ids[name], 2.0)
    store.add_device("p-org", "Acme MK4", ids["owner"], "$7$h")
    assert store.move_printer_to_org(ids["owner"], "p-org", org.id)
    store.save_notification_settings(ids["quiet-admin"], NotificationSettings(on_finished=False),
                                     1.0)
    return ids | {"org_id": org.id}


def started_by(store, who: int, now: float) -> None:
    store.record_command(IssuedCommand(f"cmd-{who}", "p-org", who, "start_print", {}, now,
                                       now + 60))


def test_the_starter_and_the_owners_and_admins_hear_of_a_finished_print_on_their_settings(
        store, settings: Settings, smtp, db, org):
    now = time.time()
    started_by(store, org["operator"], now)
    ingest(db, "p-org", [job(1, "started", f"cmd-{org['operator']}"), job(2, "finished")], now)

    (event,) = store.ended_jobs_received_since(now - 1)
    assert recipients(store, event) == [org["operator"], org["owner"], org["admin"],
                                        org["quiet-admin"]]
    assert scan(store, settings.notifications, now + 1) == 1
    assert Dispatcher(store, settings).dispatch_due(now + 2) == 3  # quiet-admin turned it off
    for name in ("operator", "owner", "admin"):
        (mail,) = smtp.wait_for(address(name))
        assert mail["Subject"] == "[Printfleet] Print finished: gear.gcode on Acme MK4"
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        address(n) for n in ("operator", "owner", "admin"))


def test_someone_no_longer_a_member_is_not_told_though_they_started_the_print(
        store, settings: Settings, smtp, db, org):
    now = time.time()
    started_by(store, org["former"], now)
    assert store.remove_member(org["org_id"], org["former"])
    ingest(db, "p-org", [job(1, "started", f"cmd-{org['former']}"),
                         job(2, "failed", reason="thermal runaway")], now)
    scan(store, settings.notifications, now + 1)
    assert Dispatcher(store, settings).dispatch_due(now + 2) == 3  # owner, admin, quiet-admin
    for name in ("owner", "admin", "quiet-admin"):
        smtp.wait_for(address(name))
    told = {m["To"] for m in smtp.messages}
    assert told == {address(n) for n in ("owner", "admin", "quiet-admin")}
    assert not told & {address(n) for n in ("former", "viewer", "operator", "stranger")}


def test_an_admin_who_started_the_print_is_told_once_on_each_of_their_channels(
        store, settings: Settings, smtp, db, org, caplog):
    now = time.time()
    store.save_notification_settings(org["admin"], NotificationSettings(
        by_sms=True, phone="+4512345678"), now)
    hook = store.add_webhook(org["admin"], "https://hooks.example.org/x", "whsec", now)
    started_by(store, org["admin"], now)
    ingest(db, "p-org", [job(1, "started", f"cmd-{org['admin']}"), job(2, "failed")], now)
    (event,) = store.ended_jobs_received_since(now - 1)

    admin_deliveries = [d for d in plan_deliveries(store, event) if d.user_id == org["admin"]]
    assert admin_deliveries == [PlannedDelivery(org["admin"], "email"),
                                PlannedDelivery(org["admin"], "sms"),
                                PlannedDelivery(org["admin"], "webhook", hook.id)]
    scan(store, settings.notifications, now + 1)
    store.delete_webhook(org["admin"], hook.id)  # the mail and the text are what this checks
    with caplog.at_level(logging.INFO, logger="printfleet.notify.sms"):
        Dispatcher(store, settings).dispatch_due(now + 2)
    assert len(smtp.wait_for(address("admin"))) == 1
    smtp.wait_for(address("owner"))
    texts = [r.getMessage() for r in caplog.records if r.name == "printfleet.notify.sms"]
    assert texts == ["SMS to +45*****678: Printfleet: Print failed: gear.gcode on Acme MK4"]


def test_an_organisation_printer_going_offline_mid_print_tells_the_owners_and_admins(
        store, settings: Settings, smtp, db, org):
    now = time.time()
    ingest(db, "p-org", [Presence(v=SCHEMA_VERSION, ts=now - 100, seq=1, status="online"),
                         job(2, "started")], now - 100)
    assert store.mark_silent_devices_offline(now, 1.5, 30.0) == ["p-org"]
    assert scan(store, settings.notifications, now + 1) == 1
    assert Dispatcher(store, settings).dispatch_due(now + 2) == 3
    for name in ("owner", "admin", "quiet-admin"):  # on_finished off, on_offline still on
        (mail,) = smtp.wait_for(address(name))
        assert mail["Subject"] == "[Printfleet] Printer offline during a print: gear.gcode on Acme MK4"
    assert len(smtp.messages) == 3


def test_a_printer_taken_out_of_the_organisation_tells_only_its_new_owner(
        store, settings: Settings, smtp, db, org):
    now = time.time()
    assert store.move_printer_to_user(org["admin"], "p-org", org["org_id"])
    ingest(db, "p-org", [job(1, "started"), job(2, "finished")], now)
    (event,) = store.ended_jobs_received_since(now - 1)
    assert recipients(store, event) == [org["admin"]]

"""The notification settings page: channels, the phone only with SMS, marketing opt-in, webhooks."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from flask import Flask

from printfleet.notify.dispatch import Dispatcher
from printfleet.settings import Settings, load
from storage.sqlite import SqliteSyncStore
from tests.notify.receiver import http_receiver

from .conftest import ALICE, BOB
from .flask_client import form_post, sign_in, text

pytestmark = pytest.mark.timeout(60)

PAGE = "/account/notifications"
ALL_ON = {"on_finished": "on", "on_failed": "on", "on_offline": "on", "by_email": "on"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path), "PRINTFLEET_WEB__PORT": "0"})


def signed_in(app: Flask, who: tuple[str, str]):
    client = app.test_client()
    assert sign_in(client, *who).status_code == 302
    return client


def stored_phones(store: SqliteSyncStore) -> list[tuple]:
    return store.query_rows("SELECT phone FROM notification_settings", ())


def test_the_phone_number_is_kept_only_while_sms_is_on(app: Flask, store, users):
    client = signed_in(app, ALICE)
    alice = users[ALICE[0]]
    assert 'name="phone"' in text(client.get(PAGE))

    # A number typed while SMS stays off is not stored.
    form_post(client, PAGE, PAGE, {**ALL_ON, "phone": "+45 12 34 56 78"})
    assert store.notification_settings(alice).phone is None and stored_phones(store) == [(None,)]

    bad = form_post(client, PAGE, PAGE, {**ALL_ON, "by_sms": "on", "phone": "12"})
    assert bad.status_code == 400 and "international form" in text(bad)
    assert store.notification_settings(alice).by_sms is False

    saved = form_post(client, PAGE, PAGE, {**ALL_ON, "by_sms": "on", "phone": "0045 12-34 56 78"})
    assert saved.status_code == 200 and 'data-field="notifications-saved"' in text(saved)
    assert store.notification_settings(alice).phone == "+4512345678"

    form_post(client, PAGE, PAGE, {**ALL_ON, "phone": "+4512345678"})  # SMS turned off
    assert store.notification_settings(alice).by_sms is False
    assert stored_phones(store) == [(None,)]


def test_events_and_channels_are_saved(app: Flask, store, users):
    client = signed_in(app, ALICE)
    form_post(client, PAGE, PAGE, {"on_failed": "on"})
    saved = store.notification_settings(users[ALICE[0]])
    assert (saved.on_finished, saved.on_failed, saved.on_offline, saved.by_email) == (
        False, True, False, False)
    assert store.notification_settings(users[BOB[0]]).on_finished is True  # bob's untouched


def test_marketing_mail_needs_an_explicit_opt_in(app: Flask, store, users):
    client = signed_in(app, ALICE)
    assert 'data-field="marketing" checked' not in text(client.get(PAGE))
    form_post(client, PAGE, PAGE, ALL_ON)
    assert store.marketing_recipients() == []

    form_post(client, PAGE, PAGE, {**ALL_ON, "marketing": "on"})
    assert store.marketing_recipients() == [(users[ALICE[0]], ALICE[0])]
    opted_in_at = store.notification_settings(users[ALICE[0]]).marketing_opt_in_at
    form_post(client, PAGE, PAGE, {**ALL_ON, "marketing": "on"})
    assert store.notification_settings(users[ALICE[0]]).marketing_opt_in_at == opted_in_at
    form_post(client, PAGE, PAGE, ALL_ON)
    assert store.marketing_recipients() == []


def test_the_profile_asks_for_no_phone_and_no_address(app: Flask, users):
    page = text(signed_in(app, ALICE).get("/account/profile"))
    assert 'name="phone"' not in page and "address" not in page.lower().replace(
        "email address", "")


def test_a_webhook_secret_is_shown_once_and_private_addresses_are_refused(
        app: Flask, store, users):
    client = signed_in(app, ALICE)
    # A literal public address: the check needs no name lookup.
    added = form_post(client, PAGE, f"{PAGE}/webhooks", {"url": "https://93.184.216.34/p"})
    assert added.status_code == 201
    (hook,) = store.webhooks_for_user(users[ALICE[0]])
    assert f'data-field="webhook-secret">{hook.secret}<' in text(added)
    assert hook.secret not in text(client.get(PAGE))
    assert hook.secret not in text(client.get(f"{PAGE}/webhooks/{hook.id}"))

    refused = form_post(client, PAGE, f"{PAGE}/webhooks", {"url": "http://127.0.0.1:9/x"})
    assert refused.status_code == 400 and "private or local" in text(refused)
    assert len(store.webhooks_for_user(users[ALICE[0]])) == 1


def test_another_users_webhook_is_404_and_stays(app: Flask, store, users):
    hook = store.add_webhook(users[ALICE[0]], "https://hooks.example.com/a", "whsec_a", 1.0)
    bob = signed_in(app, BOB)
    assert bob.get(f"{PAGE}/webhooks/{hook.id}").status_code == 404
    for action in ("delete", "test"):
        response = form_post(bob, PAGE, f"{PAGE}/webhooks/{hook.id}/{action}", {})
        assert response.status_code == 404
    assert "hooks.example.com/a" not in text(bob.get(PAGE))
    assert store.webhook(users[ALICE[0]], hook.id) == hook
    assert store.due_deliveries(1e12) == []  # bob's "test" queued nothing

    alice = signed_in(app, ALICE)
    removed = form_post(alice, PAGE, f"{PAGE}/webhooks/{hook.id}/delete", {})
    assert removed.status_code == 302 and store.webhooks_for_user(users[ALICE[0]]) == []
    assert alice.get(f"{PAGE}/webhooks/{hook.id}").status_code == 404


def test_a_test_delivery_and_its_retries_show_in_the_delivery_log(
        app: Flask, store, users, settings: Settings):
    from printfleet.settings import with_changes

    allowed = with_changes(settings, notifications={"webhook_allow_private": True,
                                                    "first_retry_s": 5.0})
    with http_receiver([502]) as receiver:
        hook = store.add_webhook(users[ALICE[0]], receiver.url, "whsec_a", 1.0)
        client = signed_in(app, ALICE)
        queued = form_post(client, PAGE, f"{PAGE}/webhooks/{hook.id}/test", {})
        assert queued.status_code == 302
        assert "Test queued" in text(client.get(queued.headers["Location"]))
        dispatcher = Dispatcher(store, allowed)
        assert dispatcher.dispatch_due() == 1
        assert dispatcher.dispatch_due(time.time() + 5) == 1
    log = text(client.get(f"{PAGE}/webhooks/{hook.id}"))
    rows = re.findall(r'data-field="result">(\w+)<', log)
    assert rows == ["delivered", "failed"]  # newest first
    assert "HTTP 502" in log and 'data-field="delivery-status">sent<' in log

"""Renaming and removing a printer from its settings page."""

from __future__ import annotations

from broker_config import BrokerPaths

from .conftest import ALICE
from .flask_client import form_post, sign_in, text


def test_rename_and_refuse_an_empty_name(app, users, store):
    store.add_device("p-1", "Old name", users[ALICE[0]], "$7$h")
    client = app.test_client()
    sign_in(client, *ALICE)
    page = "/printers/p-1/settings"
    assert form_post(client, page, "/printers/p-1/rename", {"name": "  "}).status_code == 400
    response = form_post(client, page, "/printers/p-1/rename", {"name": "Prusa MK4 #2"})
    assert response.status_code == 200 and 'data-field="saved"' in text(response)
    assert store.printer_for_user(users[ALICE[0]], "p-1").name == "Prusa MK4 #2"


def test_removal_needs_the_name_typed_then_revokes_the_credentials(app, users, store, settings):
    store.add_device("p-1", "Garage", users[ALICE[0]], "$7$secret-hash")
    client = app.test_client()
    sign_in(client, *ALICE)
    page = "/printers/p-1/settings"
    refused = form_post(client, page, "/printers/p-1/remove", {"confirm_name": "garage?"})
    assert refused.status_code == 400 and "exactly to confirm its removal" in text(refused)
    assert store.printer_for_user(users[ALICE[0]], "p-1") is not None
    removed = form_post(client, page, "/printers/p-1/remove", {"confirm_name": "Garage"})
    assert removed.status_code == 302 and removed.headers["Location"].endswith("/printers")
    assert store.printer_for_user(users[ALICE[0]], "p-1") is None
    assert "p-1" not in dict(store.broker_credentials())
    # The broker's password file no longer lets the device in.
    password_file = BrokerPaths.in_data_dir(settings.data_path).password_file.read_text()
    assert "p-1:" not in password_file
    assert client.get(page).status_code == 404


def test_a_rename_is_logged_and_undone_from_the_action_log(app, users, store):
    store.add_device("p-1", "Old name", users[ALICE[0]], "$7$h")
    client = app.test_client()
    sign_in(client, *ALICE)
    form_post(client, "/printers/p-1/settings", "/printers/p-1/rename", {"name": "New name"})
    (action,) = [a for a in store.actions_for_user(users[ALICE[0]]) if a.kind == "printer.rename"]
    undone = form_post(client, "/account/actions", f"/account/actions/{action.id}/undo", {})
    assert undone.status_code in (200, 302), text(undone)
    assert store.printer_for_user(users[ALICE[0]], "p-1").name == "Old name"


def test_a_removal_is_logged(app, users, store):
    store.add_device("p-1", "Garage", users[ALICE[0]], "$7$h")
    client = app.test_client()
    sign_in(client, *ALICE)
    form_post(client, "/printers/p-1/settings", "/printers/p-1/remove", {"confirm_name": "Garage"})
    kinds = [a.kind for a in store.actions_for_user(users[ALICE[0]])]
    assert "printer.remove" in kinds


def test_the_downtime_switch_is_logged_and_undone_to_its_previous_value(app, users, store):
    store.add_device("p-1", "Garage", users[ALICE[0]], "$7$h")  # offline: saved, sent later
    client = app.test_client()
    sign_in(client, *ALICE)
    switched = form_post(client, "/printers/p-1", "/printers/p-1/settings/downtime-logging",
                         {"enabled": "on"})
    assert switched.status_code == 302
    assert store.device_settings("p-1").downtime_logging is True
    (action,) = [a for a in store.actions_for_user(users[ALICE[0]]) if a.kind == "setting.update"]
    undone = form_post(client, "/account/actions", f"/account/actions/{action.id}/undo", {})
    assert undone.status_code in (200, 302), text(undone)
    assert store.device_settings("p-1").downtime_logging is False

"""An organisation's viewer watches its printer but cannot control it: no controls, 403, nothing sent."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from web.access import VIEWER_CANNOT_COMMAND
from web.context import EXTENSION_KEY

from .conftest import ALICE, BOB, online, write_messages
from .flask_client import text
from .org_support import CAROL, add_carol, create_org, join, post, signed_in

pytestmark = pytest.mark.timeout(60)

PAGE = "/printers/p-shared"
COMMAND_FORMS = re.compile(r'<form[^>]*action="(?:/api/v1)?/printers/p-shared/(commands|settings/[\w-]+)"')
ATTEMPTS = [{"kind": "pause"}, {"kind": "resume"}, {"kind": "cancel"},
            {"kind": "send_gcode", "gcode": "M104 S250"}, {"kind": "start_print", "file_id": "1"}]


@pytest.fixture
def org(app: Flask, store, users, db_path):
    """Alice's organisation owns p-shared, online; Bob operates it and Carol views it."""
    store.add_device("p-shared", "Shared", users[ALICE[0]], "x")
    write_messages(db_path, [("p-shared", online(1))])
    carol_id = add_carol(store)
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    bob = join(app, org_id, alice, BOB, "operator")
    carol = join(app, org_id, alice, CAROL, "viewer")
    assert post(alice, f"/orgs/{org_id}/printers", {"device_id": "p-shared"}).status_code == 302
    return {"bob": bob, "carol": carol, "carol_id": carol_id}


def _token(client: FlaskClient) -> str:
    match = re.search(r'data-csrf="([^"]+)"', text(client.get(PAGE)))
    assert match, "the printer page carries no CSRF token"
    return match.group(1)


def test_the_viewer_page_shows_the_printer_and_says_why_there_are_no_controls(org):
    page = text(org["carol"].get(PAGE))
    assert 'data-field="name">Shared<' in page
    assert 'id="state"' in page, "the Now card is for viewers too"
    assert 'data-field="viewer-note"' in page and "viewer of its organisation" in page
    assert COMMAND_FORMS.findall(page) == [], "a viewer is offered controls"
    assert "data-command-form" not in page
    assert 'data-field="downtime-logging"' in page and "Turn on" not in page


def test_an_operator_gets_every_control(org):
    page = text(org["bob"].get(PAGE))
    assert sorted(set(COMMAND_FORMS.findall(page))) == ["commands", "settings/downtime-logging"]
    assert page.count("data-command-form") == 5
    assert 'data-field="viewer-note"' not in page


def test_a_forced_command_from_a_viewer_answers_403_with_the_reason_and_sends_nothing(
        org, app: Flask, store):
    carol = org["carol"]
    token = _token(carol)
    for body in ATTEMPTS:
        as_json = carol.post("/api/v1/printers/p-shared/commands", json=body,
                             headers={"X-CSRF-Token": token})
        assert as_json.status_code == 403, (body, text(as_json))
        assert as_json.get_json() == {"error": "forbidden", "message": VIEWER_CANNOT_COMMAND}
        as_form = carol.post("/printers/p-shared/commands", data={**body, "csrf_token": token})
        assert as_form.status_code == 403, (body, text(as_form))
        assert VIEWER_CANNOT_COMMAND in text(as_form)
    switch = carol.post("/printers/p-shared/settings/downtime-logging",
                        data={"enabled": "1", "csrf_token": token})
    assert switch.status_code == 403 and VIEWER_CANNOT_COMMAND in text(switch)

    assert store.recent_commands("p-shared", 50) == [], "a viewer's command was recorded"
    assert store.device_settings("p-shared") is None, "a viewer changed a setting"
    assert app.extensions[EXTENSION_KEY].publisher is None, "the app connected to send"
    logged = [a.kind for a in store.actions_for_user(org["carol_id"])]
    assert not {"printer.command", "setting.update"} & set(logged), f"refused but logged: {logged}"

"""Restriction of processing from the web, on SQLite and PostgreSQL: page views, places, marketing.

The app runs with the bundled geolocation database and the test client
comes from a public address (RIPE NCC's, in Amsterdam), so a logged action
gets a place unless its user restricts processing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from flask import Flask
from flask.testing import FlaskClient

from printfleet.settings import Settings
from storage import SyncStore
from storage.postgres import PostgresSyncStore
from storage.sqlite import SqliteSyncStore
from web import create_app
from web.passwords import hash_password

from ..storage.postgres_server import fresh_database
from .conftest import ALICE, BOB, csrf_from
from .flask_client import form_post, sign_in, text

pytestmark = pytest.mark.timeout(60)

PUBLIC_IP = "193.0.6.139"
PAGE, API = "/account/privacy", "/api/v1/account/privacy"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path) -> Iterator[SyncStore]:
    with ExitStack() as cleanup:
        if request.param == "sqlite":
            sync: SyncStore = SqliteSyncStore(tmp_path / "privacy.sqlite3")
        else:
            sync = PostgresSyncStore(cleanup.enter_context(fresh_database()), timescaledb="off")
        sync.start()
        cleanup.callback(sync.stop)
        sync.migrate()
        yield sync


@pytest.fixture
def accounts(backend: SyncStore) -> dict[str, int]:
    return {email: backend.create_user(email, hash_password(password))
            for email, password in (ALICE, BOB)}


@pytest.fixture
def privacy_app(settings: Settings, backend: SyncStore, accounts) -> Flask:
    return create_app(settings, backend)


def _client(app: Flask, who=ALICE) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PUBLIC_IP
    assert sign_in(client, *who).status_code == 302
    return client


def _csrf(client: FlaskClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_from(text(client.get(PAGE)))}


def _page_views(backend: SyncStore, user_id: int) -> list[str]:
    session = backend.web_sessions_for_user(user_id)[0]
    return [view.path for view in backend.page_views(session.id, user_id)]


def test_the_privacy_page_turns_the_restriction_on_and_off(privacy_app, backend, accounts):
    alice = accounts[ALICE[0]]
    client = _client(privacy_app)
    page = text(client.get(PAGE))
    assert "not restricted" in page and 'data-action="restrict"' in page
    assert "marketing mail" in page and "logging of the pages you visit" in page
    response = form_post(client, PAGE, PAGE, {"processing_restricted": "on"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "<strong>restricted</strong> since" in page and 'data-action="unrestrict"' in page
    assert backend.is_processing_restricted(alice)
    assert not backend.is_processing_restricted(accounts[BOB[0]])
    form_post(client, PAGE, PAGE, {"processing_restricted": "off"})
    assert not backend.is_processing_restricted(alice)
    assert form_post(client, PAGE, PAGE, {"processing_restricted": "maybe"}).status_code == 400
    assert client.post(PAGE, data={"processing_restricted": "on"}).status_code == 400  # no CSRF
    assert not backend.is_processing_restricted(alice)
    kinds = [(a.kind, a.country) for a in backend.actions_for_user(alice, 10)]
    # Newest first: lifting is logged with its place, restricting without one.
    assert kinds == [("privacy.unrestrict", "Netherlands"), ("privacy.restrict", None)]


def test_the_json_api_reads_and_sets_the_restriction(privacy_app, backend, accounts):
    client = _client(privacy_app)
    body = client.get(API).get_json()
    assert body["processing_restricted"] is False and body["changed_at"] is None
    assert "marketing mail" in body["stopped_while_restricted"]
    headers = _csrf(client)
    before = time.time()
    body = client.put(API, json={"processing_restricted": True}, headers=headers).get_json()
    assert body["processing_restricted"] is True and body["changed_at"] >= before
    assert client.get(API).get_json()["processing_restricted"] is True
    for bad in ({}, {"processing_restricted": "yes"}, {"processing_restricted": 1},
                {"processing_restricted": False, "extra": 1}, [True]):
        assert client.put(API, json=bad, headers=headers).status_code == 400, bad
    assert client.put(API, json={"processing_restricted": False}).status_code == 400  # no CSRF
    assert backend.is_processing_restricted(accounts[ALICE[0]])
    assert privacy_app.test_client().get(API).status_code in (302, 401)  # signed out
    assert "/api/v1/account/privacy" in client.get("/api/v1/openapi.json").get_json()["paths"]


def test_restriction_stops_page_view_logging_at_once_and_the_service_keeps_working(
        privacy_app, backend, accounts):
    alice = accounts[ALICE[0]]
    client = _client(privacy_app)
    headers = _csrf(client)
    client.get("/printers")
    logged = _page_views(backend, alice)
    assert logged[-1] == "/printers"
    client.put(API, json={"processing_restricted": True}, headers=headers)
    for page in ("/printers", "/jobs", "/account/profile", PAGE):
        assert client.get(page).status_code == 200, page  # still signed in, still served
    assert _page_views(backend, alice) == logged
    client.put(API, json={"processing_restricted": False}, headers=headers)
    client.get("/jobs")
    assert _page_views(backend, alice) == [*logged, "/jobs"]


def test_restriction_stops_places_in_the_action_log_at_once(privacy_app, backend, accounts):
    alice = accounts[ALICE[0]]
    client = _client(privacy_app)
    headers = _csrf(client)
    assert client.patch("/api/v1/account", json={"first_name": "Alice", "last_name": "A"},
                        headers=headers).status_code == 200
    first = backend.actions_for_user(alice, 1)[0]
    assert (first.kind, first.country, first.city) == ("profile.update", "Netherlands",
                                                       "Amsterdam")
    client.put(API, json={"processing_restricted": True}, headers=headers)
    client.patch("/api/v1/account", json={"first_name": "Alicia", "last_name": "A"}, headers=headers)
    latest = backend.actions_for_user(alice, 1)[0]
    assert latest.kind == "profile.update" and latest.ip == PUBLIC_IP  # still logged, for undo
    assert (latest.country, latest.region, latest.city) == (None, None, None)
    # Bob is not restricted: his actions keep their places.
    bob_client = _client(privacy_app, BOB)
    bob_client.patch("/api/v1/account", json={"first_name": "Bob", "last_name": "B"},
                     headers=_csrf(bob_client))
    assert backend.actions_for_user(accounts[BOB[0]], 1)[0].country == "Netherlands"


def test_restriction_stops_marketing_at_once(privacy_app, backend, accounts):
    alice = accounts[ALICE[0]]
    client = _client(privacy_app)
    form_post(client, "/account/notifications", "/account/notifications",
              {"on_finished": "on", "by_email": "on", "marketing": "on"})
    assert [user for user, _ in backend.marketing_recipients()] == [alice]
    form_post(client, PAGE, PAGE, {"processing_restricted": "on"})
    assert backend.marketing_recipients() == []
    # The opt-in itself is kept: lifting the restriction brings the mail back.
    assert backend.notification_settings(alice).marketing_opt_in_at is not None
    form_post(client, PAGE, PAGE, {"processing_restricted": "off"})
    assert [user for user, _ in backend.marketing_recipients()] == [alice]

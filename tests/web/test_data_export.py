"""Data exports through the page and the JSON API: queued by the web, built by the scheduler's
builder, mailed when ready (a real SMTP server), another user's export is 404."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from printfleet.data_export import ExportBuilder
from printfleet.settings import Settings
from tests.mail_server import MailSink, smtp_server, web_settings_sending_to

from .conftest import ALICE, BOB, csrf_from
from .flask_client import form_post, sign_in, text

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def settings(tmp_path: Path, smtp: MailSink) -> Settings:
    return web_settings_sending_to(smtp, tmp_path)


def _client(app: Flask, who=ALICE):
    client = app.test_client()
    assert sign_in(client, *who).status_code == 302
    return client


def test_the_page_queues_an_export_that_the_scheduler_builds_and_mails(
        app, store, users, settings, smtp):
    alice = _client(app)
    page = text(alice.get("/account/export"))
    assert 'data-action="start-export"' in page and "http-equiv" not in page
    response = form_post(alice, "/account/export", "/account/export", {})
    assert response.status_code == 302
    page = text(alice.get("/account/export"))
    # Queued, not built in the request: the page says so and refreshes itself.
    assert "queued" in page and 'http-equiv="refresh"' in page and "<progress" in page
    (export,) = store.data_exports_for_user(users[ALICE[0]])
    assert export.status == "queued"
    assert ExportBuilder(settings, store).run_pending() == 1
    page = text(alice.get("/account/export"))
    assert 'data-action="download-export"' in page and "http-equiv" not in page
    with alice.get(f"/account/export/{export.id}/download") as download:
        assert download.status_code == 200 and download.mimetype == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(download.data))
    users_json = json.loads(archive.read("data/users.json"))
    assert [row["email"] for row in users_json["rows"]] == [ALICE[0]]
    assert "password_hash" not in users_json["columns"]
    # The request is in the action log (and so in the export itself).
    assert json.loads(archive.read("data/actions.json"))["rows"][0]["kind"] == "account.export"
    (mail,) = smtp.wait_for(ALICE[0])
    assert "ready" in mail["Subject"]
    assert "https://print.example.com/account/export" in mail.get_content()
    # The file lives under <data_dir>/exports, outside the web root.
    assert (settings.data_path / "exports" / export.path).is_file()


def test_the_api_starts_reports_progress_and_downloads(app, store, users, settings):
    alice = _client(app)
    token = csrf_from(text(alice.get("/account/export")))
    started = alice.post("/api/v1/account/exports", headers={"X-CSRF-Token": token})
    assert started.status_code == 202
    body = started.get_json()
    assert body["status"] == "queued" and body["download_url"] is None
    # A second request while one is pending gives the same export.
    again = alice.post("/api/v1/account/exports", headers={"X-CSRF-Token": token}).get_json()
    assert again["id"] == body["id"]
    assert alice.get(f"/api/v1/account/exports/{body['id']}/download").status_code == 409
    ExportBuilder(settings, store).run_pending()
    shown = alice.get(f"/api/v1/account/exports/{body['id']}").get_json()
    assert shown["status"] == "ready" and shown["percent"] == 100
    assert shown["progress"]["done"] == shown["progress"]["total"] > 0
    with alice.get(shown["download_url"]) as download:
        assert download.status_code == 200
        assert "manifest.json" in zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert [e["id"] for e in alice.get("/api/v1/account/exports").get_json()] == [body["id"]]


def test_another_users_export_is_404_everywhere(app, store, users, settings):
    alice = _client(app)
    form_post(alice, "/account/export", "/account/export", {})
    (export,) = store.data_exports_for_user(users[ALICE[0]])
    ExportBuilder(settings, store).run_pending()
    bob = _client(app, BOB)
    for url in (f"/account/export/{export.id}/download", f"/api/v1/account/exports/{export.id}",
                f"/api/v1/account/exports/{export.id}/download"):
        with bob.get(url) as response:
            assert response.status_code == 404, url
    assert f'data-export-id="{export.id}"' not in text(bob.get("/account/export"))
    assert bob.get("/api/v1/account/exports").get_json() == []


def test_a_failed_export_is_recorded_and_shown(app, store, users, settings):
    alice = _client(app)
    form_post(alice, "/account/export", "/account/export", {})
    # The exports directory cannot be made: a file stands where it should be.
    (settings.data_path / "exports").write_text("in the way")
    assert ExportBuilder(settings, store).run_pending() == 1
    (export,) = store.data_exports_for_user(users[ALICE[0]])
    assert export.status == "failed" and export.error
    assert "failed" in text(alice.get("/account/export"))
    # The next one is a new export, not the failed one.
    (settings.data_path / "exports").unlink()
    form_post(alice, "/account/export", "/account/export", {})
    ExportBuilder(settings, store).run_pending()
    assert [e.status for e in store.data_exports_for_user(users[ALICE[0]])] == ["ready", "failed"]

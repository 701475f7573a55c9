"""/admin/retention: operators see the settings, the latest runs and a preview; others get 404."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask

from printfleet.retention import Retention
from storage.retention_runs import RetentionRun

from .conftest import ALICE, BOB
from .flask_client import sign_in, text

pytestmark = pytest.mark.timeout(60)


def signed_in(app: Flask, who: tuple[str, str]):
    client = app.test_client()
    assert sign_in(client, *who).status_code == 302
    return client


def test_only_operators_see_the_retention_page(app, store, users):
    store.set_operator(users[ALICE[0]], True)
    assert signed_in(app, ALICE).get("/admin/retention").status_code == 200
    assert signed_in(app, BOB).get("/admin/retention").status_code == 404
    anonymous = app.test_client().get("/admin/retention")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # Only operators get the Admin link in the header.
    assert 'data-field="admin-link"' in text(signed_in(app, ALICE).get("/printers"))
    assert 'data-field="admin-link"' not in text(signed_in(app, BOB).get("/printers"))


def test_the_page_shows_settings_runs_and_a_preview(app, store, users, settings):
    store.set_operator(users[ALICE[0]], True)
    now = time.time()
    store.record_web_activity(store.open_web_session(users[BOB[0]], "t", "192.0.2.9", "x",
                                                     now - 400 * 86400), now - 400 * 86400,
                              "/printers")
    store.record_retention_run(RetentionRun("telemetry", False, "schedule", now - 30 * 86400,
                                            now - 60, now - 59, 1.25, 8640, 0, None, None))
    page = text(signed_in(app, ALICE).get("/admin/retention"))
    assert 'data-class="job_pictures"' in page and "retention.job_pictures_days" in page
    assert '<td data-field="ceiling">7 days</td>' in page
    assert '<td data-field="ceiling">10 s</td>' in page
    assert '<td data-field="rows">8640</td>' in page  # the recorded run
    # The preview counts the 400-day-old session and its page view, and removes nothing.
    preview = {o.data_class: o for o in Retention(settings, store).preview(time.time())}
    assert preview["sessions"].rows == 2
    assert re.search(r'<tr data-class="sessions">\s*<td>sessions</td>\s*<td>[^<]+</td>\s*'
                     r'<td data-field="rows">2</td>', page)
    assert len(store.retention_runs()) == 1

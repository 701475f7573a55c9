"""The Sessions page: a user's own sessions, their pages, and ending them."""

from __future__ import annotations

import re

from flask import Flask

from storage.sqlite import SqliteSyncStore

from .conftest import ALICE, BOB, csrf_from
from .flask_client import sign_in, text


def _session_rows(html: str) -> dict[int, str]:
    """Return each session's table row by its id."""
    return {int(match[1]): match[2] for match in
            re.finditer(r'<tr data-session-id="(\d+)">(.*?)</tr>', html, re.S)}


def test_the_page_lists_each_session_with_ip_times_and_pages(
        app: Flask, store: SqliteSyncStore, users):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, *ALICE, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    sign_in(phone, *ALICE, environ_base={"REMOTE_ADDR": "198.51.100.2"},
            headers={"User-Agent": "PhoneBrowser"})
    phone.get("/printers")
    phone.get("/printers")
    html = text(laptop.get("/account/sessions"))
    sessions = {s.ip: s for s in store.web_sessions_for_user(users[ALICE[0]])}
    rows = _session_rows(html)
    assert set(rows) == {sessions["198.51.100.1"].id, sessions["198.51.100.2"].id}

    phone_row = rows[sessions["198.51.100.2"].id]
    assert 'data-field="ip">198.51.100.2<' in phone_row
    assert "PhoneBrowser" in phone_row
    assert 'data-field="page-count">2<' in phone_row
    assert phone_row.count('data-field="page-view"><code>/printers</code>') == 2
    assert 'data-field="this-session"' not in phone_row
    assert re.search(r'data-field="started">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<', phone_row)
    assert re.search(r'data-field="length">\d+ min \d\d s<', phone_row)

    laptop_row = rows[sessions["198.51.100.1"].id]
    assert 'data-field="this-session">This session<' in laptop_row


def test_other_users_sessions_are_not_listed(app: Flask, users):
    alice, bob = app.test_client(), app.test_client()
    sign_in(alice, *ALICE)
    sign_in(bob, *BOB, environ_base={"REMOTE_ADDR": "192.0.2.77"})
    html = text(alice.get("/account/sessions"))
    assert len(_session_rows(html)) == 1
    assert "192.0.2.77" not in html


def test_ending_another_session_signs_that_browser_out(app: Flask, store: SqliteSyncStore,
                                                      users):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, *ALICE)
    sign_in(phone, *ALICE, environ_base={"REMOTE_ADDR": "198.51.100.2"})
    phone_id = next(s.id for s in store.web_sessions_for_user(users[ALICE[0]])
                    if s.ip == "198.51.100.2")
    page = text(laptop.get("/account/sessions"))
    response = laptop.post(f"/account/sessions/{phone_id}/end",
                           data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/sessions"
    assert phone.get("/printers").status_code == 302
    assert laptop.get("/printers").status_code == 200
    html = text(laptop.get("/account/sessions"))
    assert "Ended " in _session_rows(html)[phone_id]
    assert f"/account/sessions/{phone_id}/end" not in html


def test_ending_this_session_signs_out_here(app: Flask, store: SqliteSyncStore, users):
    client = app.test_client()
    sign_in(client, *ALICE)
    [session] = store.web_sessions_for_user(users[ALICE[0]])
    page = text(client.get("/account/sessions"))
    response = client.post(f"/account/sessions/{session.id}/end",
                           data={"csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/login"
    assert client.get("/printers").status_code == 302


def test_ending_someone_elses_session_is_404_and_leaves_it_alive(
        app: Flask, store: SqliteSyncStore, users):
    alice, bob = app.test_client(), app.test_client()
    sign_in(alice, *ALICE)
    sign_in(bob, *BOB)
    [alice_session] = store.web_sessions_for_user(users[ALICE[0]])
    page = text(bob.get("/account/sessions"))
    response = bob.post(f"/account/sessions/{alice_session.id}/end",
                        data={"csrf_token": csrf_from(page)})
    assert response.status_code == 404
    assert alice.get("/printers").status_code == 200
    missing = bob.post("/account/sessions/999999/end", data={"csrf_token": csrf_from(page)})
    assert missing.status_code == 404


def test_ending_a_session_needs_the_csrf_token(app: Flask, store: SqliteSyncStore, users):
    client = app.test_client()
    sign_in(client, *ALICE)
    [session] = store.web_sessions_for_user(users[ALICE[0]])
    assert client.post(f"/account/sessions/{session.id}/end").status_code == 400
    assert client.get("/printers").status_code == 200


def test_the_sessions_page_needs_a_signed_in_user(app: Flask):
    response = app.test_client().get("/account/sessions")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/account/sessions")

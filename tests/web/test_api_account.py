"""The account's JSON API: profile read and correction, sessions listed and ended."""

from __future__ import annotations

from flask import Flask

from .conftest import ALICE, BOB
from .flask_client import sign_in
from .test_api_tokens import create_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_profile_is_read_and_corrected_and_the_change_is_undoable(app: Flask, users, store):
    token = create_token(app)
    api = app.test_client()
    assert api.get("/api/v1/account", headers=bearer(token)).get_json()["email"] == ALICE[0]
    changed = api.patch("/api/v1/account", headers=bearer(token),
                        json={"first_name": "Alicia", "last_name": "Liddell"})
    assert changed.status_code == 200 and changed.get_json()["first_name"] == "Alicia"
    assert store.user_by_id(users[ALICE[0]]).first_name == "Alicia"
    (logged,) = [a for a in store.actions_for_user(users[ALICE[0]]) if a.kind == "profile.update"]
    assert logged.undo and logged.undo["fields"]["first_name"] != "Alicia"


def test_bad_corrections_are_refused_and_change_nothing(app: Flask, users, store):
    token = create_token(app)
    api = app.test_client()
    for body, status in (({"email": "not an email"}, 400), ({"phone": "+45"}, 400),
                         ([1, 2], 400), ({"email": BOB[0]}, 409)):
        response = api.patch("/api/v1/account", headers=bearer(token), json=body)
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["error"]
    assert store.user_by_id(users[ALICE[0]]).email == ALICE[0]


def test_sessions_are_listed_with_their_pages_and_can_be_ended(app: Flask, users):
    browser = app.test_client()
    sign_in(browser, *ALICE)
    browser.get("/files")
    token = create_token(app)
    api = app.test_client()
    listed = api.get("/api/v1/sessions", headers=bearer(token)).get_json()
    with_files = [s for s in listed if any(p["path"] == "/files" for p in s["pages"])]
    assert with_files and with_files[0]["live"] and with_files[0]["ip"]
    ended = api.post(f"/api/v1/sessions/{with_files[0]['id']}/end", headers=bearer(token))
    assert ended.status_code == 200
    assert browser.get("/files").status_code == 302  # that browser is signed out
    bob = create_token(app, BOB, "bob")
    assert api.post(f"/api/v1/sessions/{with_files[0]['id']}/end",
                    headers=bearer(bob)).status_code == 404

"""Profile: a user corrects their own name and email (the right to rectification)."""

from __future__ import annotations

from flask import Flask

from storage.sqlite import SqliteSyncStore

from .conftest import ALICE, BOB
from .flask_client import form_post, sign_in, text

CHANGES = {"email": "alice.new@example.org", "first_name": "Alice", "last_name": "Liddell"}


def test_a_user_corrects_their_name_and_email_and_signs_in_with_the_new_email(
        app: Flask, store: SqliteSyncStore, users):
    client = app.test_client()
    assert sign_in(client, *ALICE).status_code == 302

    response = form_post(client, "/account/profile", "/account/profile", CHANGES)

    assert response.status_code == 200 and 'data-field="profile-saved"' in text(response)
    user = store.user_by_id(users[ALICE[0]])
    assert user is not None
    assert (user.email, user.first_name, user.last_name) == (
        "alice.new@example.org", "Alice", "Liddell")
    assert 'data-field="user-email">alice.new@example.org<' in text(client.get("/printers"))
    assert sign_in(app.test_client(), "alice.new@example.org", ALICE[1]).status_code == 302
    bob = store.user_by_id(users[BOB[0]])
    assert bob is not None and bob.email == BOB[0]  # nobody else's row changed


def test_another_accounts_email_or_a_bad_form_is_refused_and_nothing_changes(
        app: Flask, store: SqliteSyncStore, users):
    client = app.test_client()
    sign_in(client, *ALICE)

    taken = form_post(client, "/account/profile", "/account/profile",
                      dict(CHANGES, email=BOB[0].upper()))
    bad = form_post(client, "/account/profile", "/account/profile",
                    {"email": "not-an-email", "first_name": "", "last_name": "L"})

    assert taken.status_code == 409 and "Another account uses this email." in text(taken)
    assert bad.status_code == 400
    assert "Enter a valid email address." in text(bad)
    assert "Enter your first and last name." in text(bad)
    user = store.user_by_id(users[ALICE[0]])
    assert user is not None and user.email == ALICE[0]


def test_the_profile_needs_a_signed_in_user_and_a_csrf_token(app: Flask, users):
    anonymous = app.test_client()
    assert anonymous.get("/account/profile").status_code == 302
    client = app.test_client()
    sign_in(client, *ALICE)
    forged = client.post("/account/profile", data=CHANGES)
    assert forged.status_code in (400, 403)

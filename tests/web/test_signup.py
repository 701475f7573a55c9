"""Sign-up: a new account is stored once, signed in, and bad forms get clear errors."""

from __future__ import annotations

from flask import Flask

from storage.sqlite import SqliteSyncStore
from web.passwords import verify_password

from .conftest import ALICE
from .flask_client import form_post, sign_in, text

GOOD = {"email": "Carol@Example.org", "password": "a long enough passphrase",
        "first_name": "Carol", "last_name": "Shaw"}


def test_signing_up_stores_the_account_hashed_and_signs_it_in(app: Flask,
                                                             store: SqliteSyncStore):
    client = app.test_client()
    response = form_post(client, "/signup", "/signup", GOOD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/printers"
    user = store.user_by_email("carol@example.org")
    assert user is not None
    assert (user.email, user.first_name, user.last_name) == (
        "Carol@Example.org", "Carol", "Shaw")
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, GOOD["password"])
    assert 'data-field="user-email">Carol@Example.org<' in text(client.get("/printers"))
    assert len(store.web_sessions_for_user(user.id)) == 1

    # The new account signs in again with its password.
    other = app.test_client()
    assert sign_in(other, "carol@example.org", GOOD["password"]).status_code == 302


def test_a_taken_email_is_refused_whatever_its_case_and_stored_once(
        app: Flask, store: SqliteSyncStore, users):
    client = app.test_client()
    response = form_post(client, "/signup", "/signup",
                         {**GOOD, "email": ALICE[0].upper()})
    assert response.status_code == 409
    assert "An account with this email exists already." in text(response)
    rows = store.query_rows("SELECT COUNT(*) FROM users WHERE lower(email) = ?", (ALICE[0],))
    assert rows == [(1,)]
    assert client.get("/printers").status_code == 302
    # Alice's password is untouched.
    assert sign_in(app.test_client(), *ALICE).status_code == 302


def test_a_short_password_is_refused_and_nothing_is_stored(app: Flask,
                                                          store: SqliteSyncStore):
    response = form_post(app.test_client(), "/signup", "/signup",
                         {**GOOD, "password": "short pass"})
    assert response.status_code == 400
    assert "at least 12 characters" in text(response)
    assert 'value="Carol@Example.org"' in text(response)
    assert store.user_by_email(GOOD["email"]) is None


def test_a_bad_email_and_missing_names_are_each_reported(app: Flask,
                                                        store: SqliteSyncStore):
    response = form_post(app.test_client(), "/signup", "/signup",
                         {**GOOD, "email": "not-an-email", "last_name": "  "})
    assert response.status_code == 400
    assert "Enter a valid email address." in text(response)
    assert "Enter your first and last name." in text(response)
    assert store.query_rows("SELECT COUNT(*) FROM users", ()) == [(0,)]


def test_signing_up_needs_the_csrf_token(app: Flask, store: SqliteSyncStore):
    client = app.test_client()
    client.get("/signup")
    assert client.post("/signup", data=GOOD).status_code == 400
    assert store.user_by_email(GOOD["email"]) is None

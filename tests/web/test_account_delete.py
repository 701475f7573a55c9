"""Deleting one's account: password and typed email required; the user is signed out everywhere."""

from __future__ import annotations

import time

from flask import Flask

from printfleet.erasure_verify import verify_erasure
from printfleet.settings import Settings
from storage.orgs import OrgProfile
from storage.sqlite import SqliteSyncStore
from web.token_auth import new_token

from .conftest import ALICE, BOB
from .flask_client import form_post, sign_in, text


def _delete(client, password: str, confirm: str, **kwargs):
    return form_post(client, "/account/delete", "/account/delete",
                     {"password": password, "confirm": confirm}, **kwargs)


def test_the_page_needs_the_password_and_the_email_then_signs_out_everywhere(
        app: Flask, store: SqliteSyncStore, settings: Settings, users):
    laptop, phone, bob = app.test_client(), app.test_client(), app.test_client()
    sign_in(laptop, *ALICE, environ_base={"REMOTE_ADDR": "203.0.113.5"})
    sign_in(phone, *ALICE, environ_base={"REMOTE_ADDR": "203.0.113.6"})
    sign_in(bob, *BOB)
    page = text(laptop.get("/account/delete"))
    assert 'name="password"' in page and 'name="confirm"' in page and ALICE[0] in page
    assert 'href="/account/delete"' in text(laptop.get("/account/profile"))

    wrong_password = _delete(laptop, "not my password", ALICE[0])
    assert wrong_password.status_code == 403 and "password is not right" in text(wrong_password)
    no_confirmation = _delete(laptop, ALICE[1], "yes")
    assert no_confirmation.status_code == 400 and "Type your account" in text(no_confirmation)
    assert store.user_by_email(ALICE[0]) is not None
    assert phone.get("/printers").status_code == 200

    deleted = _delete(laptop, ALICE[1], ALICE[0].upper())
    assert deleted.status_code == 200 and 'data-field="account-deleted"' in text(deleted)
    assert store.user_by_email(ALICE[0]) is None
    # Both of Alice's sessions are dead; Bob's lives on.
    for client in (laptop, phone):
        response = client.get("/printers")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert bob.get("/printers").status_code == 200
    report = verify_erasure(store, settings, ALICE[0])
    assert report.erased and report.total == 0, report.as_json()
    # Signing in again fails (and that failure, like any, is kept a day for back-off).
    assert sign_in(app.test_client(), *ALICE).status_code != 302
    assert verify_erasure(store, settings, ALICE[0]).tables == {"login_failures": {"email": 1}}


def test_the_api_deletes_the_account_with_password_and_confirmation(
        app: Flask, store: SqliteSyncStore, settings: Settings, users):
    token, token_hash, prefix = new_token()
    store.create_api_token(users[ALICE[0]], "script", token_hash, prefix, time.time())
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.delete("/api/v1/account", headers=auth, json={}).status_code == 400
    assert api.delete("/api/v1/account", headers=auth,
                      json={"password": "nope", "confirm": ALICE[0]}).status_code == 403
    response = api.delete("/api/v1/account", headers=auth,
                          json={"password": ALICE[1], "confirm": ALICE[0]})
    assert response.status_code == 200 and response.get_json() == {"deleted": True}
    # The token died with the account.
    assert api.get("/api/v1/account", headers=auth).status_code == 401
    assert verify_erasure(store, settings, ALICE[0]).total == 0


def test_the_last_owner_of_an_organisation_is_told_to_hand_it_over(
        app: Flask, store: SqliteSyncStore, users):
    store.create_organisation(users[ALICE[0]], OrgProfile(name="Alice Works"), time.time())
    alice = app.test_client()
    sign_in(alice, *ALICE)
    page = text(alice.get("/account/delete"))
    assert 'data-field="last-owner"' in page and "Alice Works" in page
    refused = _delete(alice, ALICE[1], ALICE[0])
    assert refused.status_code == 409 and "last owner of “Alice Works”" in text(refused)
    assert store.user_by_email(ALICE[0]) is not None
    assert alice.get("/printers").status_code == 200

"""API tokens: created on a page, shown once, open /api/ only, stop working when revoked."""

from __future__ import annotations

import re

from flask import Flask

from .conftest import ALICE, BOB, csrf_from
from .flask_client import form_post, sign_in, text

_NEW_TOKEN = re.compile(r'data-field="new-token">(pf_[^<]+)<')


def create_token(app: Flask, who=ALICE, name="script") -> str:
    client = app.test_client()
    sign_in(client, *who)
    page = form_post(client, "/account/tokens", "/account/tokens", {"name": name})
    assert page.status_code == 200
    match = _NEW_TOKEN.search(text(page))
    assert match, text(page)
    return match.group(1)


def test_a_token_opens_the_api_as_its_user(app: Flask, users, store):
    store.add_device("p-1", "Alice's Prusa", users[ALICE[0]], "$7$h")
    token = create_token(app)
    api = app.test_client()
    response = api.get("/api/v1/printers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [p["name"] for p in response.get_json()] == ["Alice's Prusa"]
    # The page shows the token only once, then just its first characters.
    client = app.test_client()
    sign_in(client, *ALICE)
    listing = text(client.get("/account/tokens"))
    assert token not in listing and token[:10] in listing


def test_a_token_never_opens_pages(app: Flask, users):
    token = create_token(app)
    response = app.test_client().get("/printers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_and_revoked_tokens_get_401(app: Flask, users, store):
    token = create_token(app)
    api = app.test_client()
    assert api.get("/api/v1/printers", headers={"Authorization": "Bearer pf_wrong"}
                   ).status_code == 401
    client = app.test_client()
    sign_in(client, *ALICE)
    (listed,) = store.api_tokens_for_user(users[ALICE[0]])
    page = client.get("/account/tokens")
    assert client.post(f"/account/tokens/{listed.id}/revoke",
                       data={"csrf_token": csrf_from(text(page))}).status_code == 302
    assert api.get("/api/v1/printers", headers={"Authorization": f"Bearer {token}"}
                   ).status_code == 401


def test_a_bearer_request_is_never_judged_by_the_cookie_it_also_carries(app: Flask, users):
    client = app.test_client()
    sign_in(client, *ALICE)
    assert client.get("/api/v1/printers").status_code == 200
    assert client.get("/api/v1/printers", headers={"Authorization": "Bearer pf_wrong"}
                      ).status_code == 401


def test_another_users_token_cannot_be_revoked(app: Flask, users, store):
    create_token(app, ALICE)
    (alices,) = store.api_tokens_for_user(users[ALICE[0]])
    bob = app.test_client()
    sign_in(bob, *BOB)
    page = bob.get("/account/tokens")
    response = bob.post(f"/account/tokens/{alices.id}/revoke",
                        data={"csrf_token": csrf_from(text(page))})
    assert response.status_code == 404
    assert store.api_tokens_for_user(users[ALICE[0]])[0].revoked_at is None


def test_a_token_needs_a_name(app: Flask, users, store):
    client = app.test_client()
    sign_in(client, *ALICE)
    response = form_post(client, "/account/tokens", "/account/tokens", {"name": "  "})
    assert response.status_code == 400 and "Give the token a name" in text(response)
    assert store.api_tokens_for_user(users[ALICE[0]]) == []


def test_a_bearer_that_is_no_api_token_leaves_the_cookie_in_charge(app: Flask, users):
    # Agents polling for pairing send bearer tokens of their own.
    client = app.test_client()
    sign_in(client, *ALICE)
    assert client.get("/api/v1/printers", headers={"Authorization": "Bearer poll-token"}
                      ).status_code == 200

"""Helpers for the organisation tests: signed-in clients and form posts."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from storage.sqlite import SqliteSyncStore
from web.passwords import hash_password

from .conftest import csrf_from
from .flask_client import sign_in, text

CAROL = ("carol@example.org", "a third long passphrase")


def add_carol(store: SqliteSyncStore) -> int:
    return store.create_user(CAROL[0], hash_password(CAROL[1]), "Carol", "C")


def signed_in(app: Flask, email: str, password: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email, password).status_code == 302
    return client


def post(client: FlaskClient, url: str, data: dict[str, str] | None = None) -> TestResponse:
    """Post a form with the session's CSRF token (read from the organisations page)."""
    token = csrf_from(text(client.get("/orgs")))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def create_org(client: FlaskClient, name: str = "Acme Prints") -> int:
    response = post(client, "/orgs", {"name": name})
    assert response.status_code == 302, text(response)
    match = re.search(r"/orgs/(\d+)/profile", response.headers["Location"])
    assert match
    return int(match.group(1))


def invitation_link(page: str) -> str:
    match = re.search(r'data-field="invitation-link" value="[^"]*(/orgs/invitations/[^"]+)"', page)
    assert match, "no invitation link on the page"
    return match.group(1)


def invite(client: FlaskClient, org_id: int, email: str, role: str) -> str:
    """Invite through the form; return the link's path."""
    response = post(client, f"/orgs/{org_id}/invitations", {"email": email, "role": role})
    assert response.status_code == 201, text(response)
    return invitation_link(text(response))


def join(app: Flask, org_id: int, inviter: FlaskClient, who: tuple[str, str], role: str
         ) -> FlaskClient:
    """Invite `who` and accept as them; return their signed-in client."""
    link = invite(inviter, org_id, who[0], role)
    client = signed_in(app, *who)
    assert post(client, link).status_code == 302
    return client

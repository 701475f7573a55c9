"""Invitations: a link for one email address, used once, before it expires."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from storage.sqlite import SqliteSyncStore
from web.org_invitations import token_hash

from .conftest import ALICE, BOB
from .flask_client import text
from .org_support import CAROL, add_carol, create_org, invite, post, signed_in

pytestmark = pytest.mark.timeout(60)


def test_the_invited_user_joins_with_the_role_through_the_link_once(
        app: Flask, store: SqliteSyncStore, users):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    link = invite(alice, org_id, BOB[0].upper(), "operator")  # any letter case matches
    assert 'data-field="invitations"' in text(alice.get(f"/orgs/{org_id}"))
    token = link.rsplit("/", 1)[1]
    stored = store.pending_invitations(org_id, time.time())
    assert len(stored) == 1 and store.invitation_by_token(token_hash(token)) == stored[0]
    assert store.query_rows("SELECT token_hash FROM org_invitations", ()) == [(token_hash(token),)]

    bob = signed_in(app, *BOB)
    offer = bob.get(link)
    assert offer.status_code == 200
    assert "Acme Prints" in text(offer) and 'data-field="invitation-role">operator<' in text(offer)
    assert store.membership(users[BOB[0]], org_id) is None  # looking is not accepting

    accepted = post(bob, link)
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(f"/orgs/{org_id}")
    assert store.membership(users[BOB[0]], org_id).role == "operator"
    assert 'data-field="my-role">operator<' in text(bob.get(f"/orgs/{org_id}"))
    assert store.pending_invitations(org_id, time.time()) == []

    again = post(bob, link)
    assert again.status_code == 410 and "accepted this invitation already" in text(again)
    add_carol(store)
    carol = signed_in(app, *CAROL)
    used = carol.get(link)
    assert used.status_code == 410 and "used already" in text(used)


def test_only_the_invited_email_can_accept(app: Flask, store, users):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    link = invite(alice, org_id, "carol@example.org", "admin")
    bob = signed_in(app, *BOB)

    for response in (bob.get(link), post(bob, link)):
        page = text(response)
        assert response.status_code == 403
        assert "sent to another email address than yours (bob@example.org)" in page
        assert "Acme Prints" not in page and "carol@" not in page
    assert store.membership(users[BOB[0]], org_id) is None
    assert len(store.pending_invitations(org_id, time.time())) == 1


def test_expired_withdrawn_and_unknown_links_say_so(app: Flask, store, users):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    now = time.time()
    store.create_invitation(org_id, BOB[0], "viewer", token_hash("old-token"),
                            users[ALICE[0]], now - 10 * 86400, now - 3 * 86400)
    withdrawn_link = invite(alice, org_id, BOB[0], "viewer")
    invitation = store.pending_invitations(org_id, now)[0]
    assert post(alice, f"/orgs/{org_id}/invitations/{invitation.id}/withdraw").status_code == 302
    bob = signed_in(app, *BOB)

    expired = post(bob, "/orgs/invitations/old-token")
    assert expired.status_code == 410 and "has expired" in text(expired)
    for link in (withdrawn_link, "/orgs/invitations/never-issued"):
        response = bob.get(link)
        assert response.status_code == 404 and "not valid" in text(response)
    assert store.membership(users[BOB[0]], org_id) is None
    assert app.test_client().get(withdrawn_link).status_code == 302  # sign in first


def test_invitations_are_checked_and_made_by_managers_only(app: Flask, store, users):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    bad = post(alice, f"/orgs/{org_id}/invitations", {"email": "nope", "role": "boss"})
    assert bad.status_code == 400
    assert "Enter a valid email address." in text(bad) and "Choose a role" in text(bad)
    member = post(alice, f"/orgs/{org_id}/invitations", {"email": ALICE[0], "role": "viewer"})
    assert member.status_code == 400 and "is a member already" in text(member)

    bob_link = invite(alice, org_id, BOB[0], "admin")
    bob = signed_in(app, *BOB)
    post(bob, bob_link)
    refused = post(bob, f"/orgs/{org_id}/invitations", {"email": CAROL[0], "role": "owner"})
    assert refused.status_code == 400 and "Only an owner can invite another owner." in text(refused)
    assert post(bob, f"/orgs/{org_id}/invitations",
                {"email": CAROL[0], "role": "viewer"}).status_code == 201
    post(alice, f"/orgs/{org_id}/members/{users[BOB[0]]}/role", {"role": "operator"})
    assert post(bob, f"/orgs/{org_id}/invitations",
                {"email": "dave@example.org", "role": "viewer"}).status_code == 403
    assert [i.email for i in store.pending_invitations(org_id, time.time())] == [CAROL[0]]

"""Organisation pages: creating one, its company details, members and roles, printers moved in and out."""

from __future__ import annotations

import pytest
from flask import Flask

from storage.sqlite import SqliteSyncStore

from .conftest import ALICE, BOB
from .flask_client import text
from .org_support import CAROL, add_carol, create_org, join, post, signed_in

pytestmark = pytest.mark.timeout(60)

DETAILS = {"name": "Acme Prints ApS", "email": "billing@acme.example", "country": "DK",
           "timezone": "Europe/Copenhagen", "address": "Vej 1\n1000 København",
           "billing_address": "", "phone": "+45 12 34 56 78", "attention": "Ada Lovelace",
           "vat_number": "dk 1234 5678", "ean_number": "5790000000005"}


def test_the_creator_owns_a_new_organisation_and_fills_in_its_details(
        app: Flask, store: SqliteSyncStore, users):
    alice = signed_in(app, *ALICE)
    assert 'data-field="no-orgs"' in text(alice.get("/orgs"))

    org_id = create_org(alice)
    created = alice.get(f"/orgs/{org_id}/profile?created=1")
    assert created.status_code == 200 and 'data-field="org-created"' in text(created)
    saved = post(alice, f"/orgs/{org_id}/profile", DETAILS)

    assert saved.status_code == 200 and 'data-field="profile-saved"' in text(saved)
    profile = store.organisation(org_id).profile
    assert (profile.name, profile.country, profile.timezone, profile.vat_number,
            profile.ean_number, profile.address) == (
        "Acme Prints ApS", "DK", "Europe/Copenhagen", "DK12345678", "5790000000005",
        "Vej 1\n1000 København")
    listing = text(alice.get("/orgs"))
    assert f'data-org-id="{org_id}"' in listing and 'data-field="role">owner<' in listing
    page = text(alice.get(f"/orgs/{org_id}"))
    assert 'data-field="my-role">owner<' in page and 'data-field="vat">DK12345678<' in page


def test_bad_company_details_are_refused_field_by_field_and_nothing_changes(
        app: Flask, store: SqliteSyncStore, users):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    bad = dict(DETAILS, name="", email="not-an-email", country="XX", timezone="Mars/Olympus",
               vat_number="12", ean_number="5790000000001", phone="call me")

    response = post(alice, f"/orgs/{org_id}/profile", bad)

    page = text(response)
    assert response.status_code == 400 and 'data-field="profile-invalid"' in page
    for field in ("name", "email", "country", "timezone", "vat_number", "ean_number", "phone"):
        assert f'data-field="error-{field}"' in page, field
    assert "last digit does not match" in page
    assert 'value="Ada Lovelace"' in page  # what was typed is kept for correcting
    assert store.organisation(org_id).profile.name == "Acme Prints"
    assert post(alice, "/orgs", {"name": ""}).status_code == 400


def test_non_members_get_404_on_every_organisation_page(app: Flask, store, users):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    store.add_device("bobs", "Bob's", users[BOB[0]], "x")
    bob = signed_in(app, *BOB)

    assert bob.get(f"/orgs/{org_id}").status_code == 404
    assert bob.get(f"/orgs/{org_id}/profile").status_code == 404
    assert bob.get(f"/orgs/{org_id + 1000}").status_code == 404
    alice_id = users[ALICE[0]]
    for url, data in ((f"/orgs/{org_id}/profile", DETAILS),
                      (f"/orgs/{org_id}/members/{alice_id}/role", {"role": "viewer"}),
                      (f"/orgs/{org_id}/members/{alice_id}/remove", {}),
                      (f"/orgs/{org_id}/leave", {}),
                      (f"/orgs/{org_id}/invitations", {"email": BOB[0], "role": "owner"}),
                      (f"/orgs/{org_id}/printers", {"device_id": "bobs"})):
        assert post(bob, url, data).status_code == 404, url
    assert store.membership(users[BOB[0]], org_id) is None
    assert store.organisation(org_id).profile.name == "Acme Prints"
    assert store.printer_for_user(users[BOB[0]], "bobs").org_id is None
    assert app.test_client().get(f"/orgs/{org_id}").status_code == 302  # to sign in


def test_owners_and_admins_manage_roles_within_their_rights(app: Flask, store, users):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    carol_id = add_carol(store)
    bob = join(app, org_id, alice, BOB, "admin")
    carol = join(app, org_id, alice, CAROL, "viewer")
    alice_id, bob_id = users[ALICE[0]], users[BOB[0]]
    role = f"/orgs/{org_id}/members/{{}}/role"

    forbidden = post(carol, role.format(carol_id), {"role": "admin"})
    assert forbidden.status_code == 403 and "owners and admins" in text(forbidden)
    assert post(bob, role.format(carol_id), {"role": "operator"}).status_code == 302
    assert store.membership(carol_id, org_id).role == "operator"
    for target, new in ((bob_id, "owner"), (alice_id, "admin")):
        refused = post(bob, role.format(target), {"role": new})
        assert refused.status_code == 403 and "Only an owner" in text(refused)
    refused = post(bob, f"/orgs/{org_id}/members/{alice_id}/remove")
    assert refused.status_code == 403
    assert post(alice, role.format(bob_id), {"role": "emperor"}).status_code == 400
    assert post(alice, role.format(alice_id + 1000), {"role": "viewer"}).status_code == 404
    assert [(m.user_id, m.role) for m in store.org_members(org_id)] == [
        (alice_id, "owner"), (bob_id, "admin"), (carol_id, "operator")]

    assert post(bob, f"/orgs/{org_id}/members/{carol_id}/remove").status_code == 302
    assert store.membership(carol_id, org_id) is None
    assert carol.get(f"/orgs/{org_id}").status_code == 404


def test_the_last_owner_can_be_neither_demoted_nor_removed_nor_leave(app: Flask, store, users):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    bob = join(app, org_id, alice, BOB, "viewer")
    alice_id, bob_id = users[ALICE[0]], users[BOB[0]]

    for response in (post(alice, f"/orgs/{org_id}/members/{alice_id}/role", {"role": "admin"}),
                     post(alice, f"/orgs/{org_id}/members/{alice_id}/remove"),
                     post(alice, f"/orgs/{org_id}/leave")):
        assert response.status_code == 409 and "at least one owner" in text(response)
    assert store.membership(alice_id, org_id).role == "owner"

    assert post(bob, f"/orgs/{org_id}/leave").status_code == 302
    assert store.membership(bob_id, org_id) is None
    assert post(alice, f"/orgs/{org_id}/leave").status_code == 409  # still the last owner


def test_an_admin_moves_a_printer_in_members_see_it_by_role_and_it_moves_back(
        app: Flask, store, users):
    alice_id, bob_id = users[ALICE[0]], users[BOB[0]]
    store.add_device("p-1", "Prusa MK4", alice_id, "x")
    store.add_device("bobs", "Bob's", bob_id, "x")
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    bob = join(app, org_id, alice, BOB, "viewer")
    assert bob.get("/api/v1/printers").get_json()[0]["device_id"] == "bobs"

    refused = post(alice, f"/orgs/{org_id}/printers", {"device_id": "bobs"})
    assert refused.status_code == 404  # not alice's to give
    assert post(bob, f"/orgs/{org_id}/printers", {"device_id": "bobs"}).status_code == 403
    assert post(alice, f"/orgs/{org_id}/printers", {"device_id": "p-1"}).status_code == 302

    seen = {p["device_id"]: (p["role"], p["org_id"]) for p in bob.get("/api/v1/printers").get_json()}
    assert seen == {"bobs": ("owner", None), "p-1": ("viewer", org_id)}
    assert 'data-device-id="p-1"' in text(bob.get(f"/orgs/{org_id}"))
    assert "Move to my own printers" not in text(bob.get(f"/orgs/{org_id}"))
    assert post(bob, f"/orgs/{org_id}/printers/p-1/to-me").status_code == 403

    assert post(alice, f"/orgs/{org_id}/printers/p-1/to-me").status_code == 302
    assert [p["device_id"] for p in bob.get("/api/v1/printers").get_json()] == ["bobs"]
    assert store.printer_for_user(alice_id, "p-1").org_id is None
    assert post(alice, f"/orgs/{org_id}/printers/p-1/to-me").status_code == 404

"""Organisations in every backend: members and roles, invitations, and printer reads scoped by them."""

from __future__ import annotations

import pytest

from storage.orgs import LastOwner, OrgProfile

pytestmark = pytest.mark.timeout(30)

PROFILE = OrgProfile(name="Acme Prints", email="billing@acme.example", country="DK",
                     timezone="Europe/Copenhagen", address="Vej 1\n1000 København",
                     billing_address="Postboks 2", phone="+45 12 34 56 78",
                     attention="Ada Lovelace", vat_number="DK12345678",
                     ean_number="5790000000005")


def _users(sync, *names):
    return [sync.create_user(f"{name}@example.org", "x", name.title(), "X") for name in names]


def _org_with(sync, owner, **roles):
    """An organisation owned by `owner`, with the given users (name -> (id, role)) joined."""
    org = sync.create_organisation(owner, PROFILE, 1.0)
    for user_id, role in roles.values():
        invitation = sync.create_invitation(org.id, "x@example.org", role,
                                            f"hash-{org.id}-{user_id}", owner, 1.0, 100.0)
        assert sync.accept_invitation(invitation.id, user_id, 2.0)
    return org


def test_the_creator_owns_the_organisation_and_its_profile_round_trips(stores):
    sync = stores.sync
    alice, bob = _users(sync, "alice", "bob")
    org = sync.create_organisation(alice, PROFILE, 5.0)

    membership = sync.membership(alice, org.id)
    assert membership is not None and membership.role == "owner"
    assert membership.org == org and org.profile == PROFILE and org.created_at == 5.0
    assert sync.membership(bob, org.id) is None
    assert sync.organisation(org.id) == org and sync.organisation(org.id + 1000) is None
    assert [m.org.id for m in sync.organisations_for_user(alice)] == [org.id]
    assert sync.organisations_for_user(bob) == []

    changed = OrgProfile(name="Acme ApS", country="SE", timezone="Europe/Stockholm")
    assert sync.update_organisation(org.id, changed) is True
    assert sync.membership(alice, org.id).org.profile == changed
    assert sync.update_organisation(org.id + 1000, changed) is False


def test_members_are_listed_owners_first_with_their_names(stores):
    sync = stores.sync
    alice, bob, carol = _users(sync, "alice", "bob", "carol")
    org = _org_with(sync, alice, carol=(carol, "viewer"), bob=(bob, "admin"))

    members = sync.org_members(org.id)
    assert [(m.email, m.role) for m in members] == [
        ("alice@example.org", "owner"), ("bob@example.org", "admin"),
        ("carol@example.org", "viewer")]
    assert (members[1].user_id, members[1].first_name, members[1].joined_at) == (bob, "Bob", 2.0)


def test_the_last_owner_can_be_neither_demoted_nor_removed(stores):
    sync = stores.sync
    alice, bob = _users(sync, "alice", "bob")
    org = _org_with(sync, alice, bob=(bob, "admin"))

    with pytest.raises(LastOwner):
        sync.set_member_role(org.id, alice, "admin")
    with pytest.raises(LastOwner):
        sync.remove_member(org.id, alice)
    assert sync.membership(alice, org.id).role == "owner"

    assert sync.set_member_role(org.id, bob, "owner") is True
    assert sync.set_member_role(org.id, alice, "viewer") is True  # bob owns it now
    assert sync.remove_member(org.id, alice) is True
    assert sync.membership(alice, org.id) is None
    assert sync.remove_member(org.id, alice) is False
    assert sync.set_member_role(org.id, alice, "admin") is False
    with pytest.raises(ValueError, match="unknown role"):
        sync.set_member_role(org.id, bob, "emperor")


def test_an_invitation_is_used_once_and_not_after_it_expires(stores):
    sync = stores.sync
    alice, bob, carol = _users(sync, "alice", "bob", "carol")
    org = sync.create_organisation(alice, PROFILE, 1.0)
    invitation = sync.create_invitation(org.id, "Bob@Example.org", "operator", "h-bob", alice,
                                        10.0, 20.0)
    late = sync.create_invitation(org.id, "carol@example.org", "viewer", "h-carol", alice,
                                  10.0, 20.0)

    assert sync.invitation_by_token("h-bob") == invitation
    assert (invitation.email, invitation.role, invitation.accepted_at) == (
        "Bob@Example.org", "operator", None)
    assert sync.invitation_by_token("h-nobody") is None
    assert [i.id for i in sync.pending_invitations(org.id, 15.0)] == [invitation.id, late.id]

    assert sync.accept_invitation(invitation.id, bob, 15.0) is True
    assert sync.accept_invitation(invitation.id, bob, 16.0) is False  # used
    assert sync.accept_invitation(late.id, carol, 20.0) is False  # expired
    assert sync.membership(bob, org.id).role == "operator"
    assert sync.membership(carol, org.id) is None
    used = sync.invitation_by_token("h-bob")
    assert (used.accepted_at, used.accepted_by) == (15.0, bob)
    assert sync.pending_invitations(org.id, 15.0) == [late]
    assert sync.pending_invitations(org.id, 25.0) == []


def test_an_invitation_can_be_withdrawn_only_by_its_organisation(stores):
    sync = stores.sync
    alice, bob = _users(sync, "alice", "bob")
    org = sync.create_organisation(alice, PROFILE, 1.0)
    other = sync.create_organisation(bob, OrgProfile(name="Other"), 1.0)
    invitation = sync.create_invitation(org.id, "c@example.org", "viewer", "h1", alice, 1.0, 9.0)
    assert sync.revoke_invitation(other.id, invitation.id) is False
    assert sync.revoke_invitation(org.id, invitation.id) is True
    assert sync.invitation_by_token("h1") is None


def test_accepting_as_a_member_already_keeps_the_members_role(stores):
    sync = stores.sync
    alice, bob = _users(sync, "alice", "bob")
    org = _org_with(sync, alice, bob=(bob, "admin"))
    again = sync.create_invitation(org.id, "bob@example.org", "viewer", "h2", alice, 1.0, 9.0)
    assert sync.accept_invitation(again.id, bob, 2.0) is True
    assert sync.membership(bob, org.id).role == "admin"


def test_members_see_their_organisations_printers_with_their_role_and_others_do_not(stores):
    sync = stores.sync
    alice, bob, carol, dave = _users(sync, "alice", "bob", "carol", "dave")
    org = _org_with(sync, alice, bob=(bob, "operator"), carol=(carol, "viewer"))
    sync.add_device("shared", "Shared MK4", alice, "$7$h")
    sync.add_device("alices", "Alice's own", alice, "$7$h")
    sync.add_device("bobs", "Bob's own", bob, "$7$h")
    assert sync.move_printer_to_org(alice, "shared", org.id) is True

    def seen(user):
        return [(p.device_id, p.role, p.org_id) for p in sync.printers_for_user(user)]

    assert seen(alice) == [("alices", "owner", None), ("shared", "owner", org.id)]
    assert seen(bob) == [("bobs", "owner", None), ("shared", "operator", org.id)]
    assert seen(carol) == [("shared", "viewer", org.id)]
    assert seen(dave) == []
    assert sync.printer_for_user(carol, "shared").role == "viewer"
    assert sync.printer_for_user(dave, "shared") is None
    assert sync.printer_for_user(carol, "bobs") is None
    assert sync.printer_for_user(bob, "bobs").role == "owner"
    assert [p.role for p in sync.fleet_overview()] == [None, None, None]

    sync.remove_member(org.id, carol)
    assert seen(carol) == []
    assert sync.printer_for_user(carol, "shared") is None


def test_only_a_managing_member_moves_printers_in_and_out(stores):
    sync = stores.sync
    alice, bob, carol = _users(sync, "alice", "bob", "carol")
    org = _org_with(sync, alice, bob=(bob, "admin"), carol=(carol, "operator"))
    sync.add_device("p-carol", "Carol's", carol, "$7$h")
    sync.add_device("p-bob", "Bob's", bob, "$7$h")

    assert sync.move_printer_to_org(carol, "p-carol", org.id) is False  # operators cannot
    assert sync.move_printer_to_org(alice, "p-bob", org.id) is False  # not alice's printer
    assert sync.move_printer_to_org(bob, "p-bob", org.id + 1000) is False  # not a member
    assert sync.move_printer_to_org(bob, "p-bob", org.id) is True
    assert sync.move_printer_to_org(bob, "p-bob", org.id) is False  # the org's now

    assert sync.move_printer_to_user(carol, "p-bob", org.id) is False
    assert sync.move_printer_to_user(alice, "p-bob", org.id) is True  # an owner takes it
    assert sync.printer_for_user(alice, "p-bob").role == "owner"
    assert sync.printer_for_user(bob, "p-bob") is None
    assert sync.move_printer_to_user(alice, "p-bob", org.id) is False  # no longer the org's


def test_pairing_a_device_again_makes_it_personal_again(stores):
    sync = stores.sync
    alice, bob = _users(sync, "alice", "bob")
    org = sync.create_organisation(alice, PROFILE, 1.0)
    sync.add_device("p-1", "P", alice, "$7$h")
    sync.move_printer_to_org(alice, "p-1", org.id)
    sync.revoke_device("p-1")
    sync.add_device("p-1", "P again", bob, "$7$h")
    assert sync.printers_for_user(alice) == []
    assert sync.printer_for_user(bob, "p-1").org_id is None

"""An organisation's action log: who did what, seen by its owners and admins only, and undo from it."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storage.actions import ActionDraft
from storage.files import FileOwner
from storage.orgs import OrgProfile
from storage.sqlite import SqliteSyncStore
from web.passwords import hash_password

from .conftest import ALICE, BOB
from .flask_client import text
from .org_support import CAROL, add_carol, create_org, invite, join, post, signed_in

pytestmark = pytest.mark.timeout(60)

DAVE = ("dave@example.org", "a fourth long passphrase")
EVE = ("eve@example.org", "a fifth long passphrase")


@pytest.fixture
def org(app: Flask, store: SqliteSyncStore, users) -> dict:
    """Acme: Alice owns it, Bob is an admin, Carol an operator, Dave a viewer; Eve is no member."""
    add_carol(store)
    store.create_user(DAVE[0], hash_password(DAVE[1]), "Dave", "D")
    store.create_user(EVE[0], hash_password(EVE[1]))
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    return {"id": org_id, "alice": alice,
            "bob": join(app, org_id, alice, BOB, "admin"),
            "carol": join(app, org_id, alice, CAROL, "operator"),
            "dave": join(app, org_id, alice, DAVE, "viewer"),
            "eve": signed_in(app, *EVE)}


def log_rows(client: FlaskClient, org_id: int, query: str = "") -> list[dict[str, str]]:
    """The rows of the organisation's log page: kind, who, summary, whether it offers undo."""
    page = client.get(f"/orgs/{org_id}/actions{query}")
    assert page.status_code == 200, text(page)
    rows = []
    for row in re.findall(r'<tr data-action-id="\d+".*?</tr>', text(page), re.S):
        rows.append({
            "kind": re.search(r'data-kind="([^"]+)"', row).group(1),
            "who": re.sub(r"<[^>]+>", "", re.search(r'data-field="who">(.*?)</td>', row,
                                                     re.S).group(1)).strip(),
            "summary": re.search(r'data-field="summary">(.*?)</td>', row, re.S).group(1),
            "ip": re.search(r'data-field="ip">(.*?)</td>', row).group(1),
            "undo": 'data-action="undo"' in row})
    return rows


def action_id(store: SqliteSyncStore, org_id: int, kind: str) -> int:
    """The newest action of this kind in the organisation."""
    return next(e.action.id for e in store.org_log(org_id) if e.action.kind == kind)


def test_owners_and_admins_see_the_log_operators_and_viewers_may_not_strangers_get_404(org):
    org_id = org["id"]
    for name in ("alice", "bob"):
        assert org[name].get(f"/orgs/{org_id}/actions").status_code == 200
        assert 'data-field="org-actions"' in text(org[name].get(f"/orgs/{org_id}"))
    for name in ("carol", "dave"):
        refused = org[name].get(f"/orgs/{org_id}/actions")
        assert refused.status_code == 403 and "Only the owners and admins" in text(refused)
        assert 'data-field="org-actions"' not in text(org[name].get(f"/orgs/{org_id}"))
    assert org["eve"].get(f"/orgs/{org_id}/actions").status_code == 404
    assert org["eve"].get(f"/orgs/{org_id + 1}/actions").status_code == 404


def test_every_organisation_action_is_logged_with_who_ip_and_newest_first(
        app: Flask, org, store: SqliteSyncStore, users):
    org_id, alice, bob = org["id"], org["alice"], org["bob"]
    assert post(alice, f"/orgs/{org_id}/profile", {"name": "Acme ApS", "country": "DK",
                                                   "timezone": "UTC"}).status_code == 200
    invite(bob, org_id, "frank@example.org", "viewer")
    invitation = store.pending_invitations(org_id, 0.0)[0]
    post(bob, f"/orgs/{org_id}/invitations/{invitation.id}/withdraw")
    carol_id = store.user_by_email(CAROL[0]).id
    assert post(bob, f"/orgs/{org_id}/members/{carol_id}/role",
                {"role": "viewer"}).status_code == 302
    dave_id = store.user_by_email(DAVE[0]).id
    assert post(bob, f"/orgs/{org_id}/members/{dave_id}/remove").status_code == 302
    assert post(org["carol"], f"/orgs/{org_id}/leave").status_code == 302
    store.add_device("p-1", "Prusa", users[ALICE[0]], "$7$h")
    assert post(alice, f"/orgs/{org_id}/printers", {"device_id": "p-1"}).status_code == 302
    assert post(bob, "/printers/p-1/rename", {"name": "Prusa MK4"}).status_code == 200
    assert post(bob, "/printers/p-1/settings/downtime-logging",
                {"enabled": "on"}).status_code == 302
    assert post(alice, f"/orgs/{org_id}/printers/p-1/to-me").status_code == 302
    post(bob, "/account/profile", {"first_name": "Robert", "last_name": "B",
                                   "email": BOB[0]})  # Bob's own: never in the organisation's log

    rows = log_rows(bob, org_id)
    assert [r["kind"] for r in rows] == [
        "printer.move_out", "setting.update", "printer.rename", "printer.move_in",
        "member.leave", "member.remove", "member.role", "member.invite_withdraw",
        "member.invite", "org.update",
        "member.join", "member.invite", "member.join", "member.invite", "member.join",
        "member.invite", "org.create"]
    by_kind = {r["kind"]: r for r in reversed(rows)}  # the newest of each kind
    assert by_kind["org.create"]["who"] == "alice@example.org"
    assert by_kind["member.role"]["who"] == "Robert B bob@example.org"  # his name now
    assert by_kind["member.role"]["summary"] == "Changed the role of carol@example.org from " \
                                                "operator to viewer"
    assert by_kind["member.leave"]["who"] == "Carol C carol@example.org"
    assert by_kind["member.remove"]["summary"] == "Removed dave@example.org (viewer) from “Acme ApS”"
    assert by_kind["org.update"]["summary"] == ("Changed the company details of “Acme ApS”: name, "
                                                "country")
    assert by_kind["member.join"]["summary"] == "Joined “Acme Prints” as viewer"
    assert by_kind["member.invite_withdraw"]["summary"] == ("Withdrew the invitation of "
                                                            "frank@example.org")
    assert {r["ip"] for r in rows} == {"127.0.0.1"}
    assert "profile.update" not in {r["kind"] for r in rows}
    # What a member does on the organisation's printer is in their own log too.
    assert {a.kind for a in store.actions_for_user(users[BOB[0]]) if a.org_id == org_id} >= {
        "printer.rename", "setting.update", "member.role"}


def test_the_org_log_pages_newest_first(org, store: SqliteSyncStore, users):
    org_id = org["id"]
    for n in range(60):
        store.record_action(ActionDraft(
            at=float(n), user_id=users[BOB[0]], org_id=org_id, ip="10.0.0.1", country=None,
            region=None, city=None, kind="member.invite", target_type="invitation",
            target_id=str(n), summary=f"Invited #{n}"))
    first = log_rows(org["alice"], org_id)
    assert len(first) == 50 and first[0]["summary"] == "Invited #59"
    older = re.search(r'href="[^"]*before=(\d+)"[^>]*data-action="older"',
                      text(org["alice"].get(f"/orgs/{org_id}/actions"))).group(1)
    second = log_rows(org["alice"], org_id, f"?before={older}")
    assert second[0]["summary"] == "Invited #9" and second[-1]["kind"] == "org.create"


def test_an_admin_undoes_a_role_change_but_never_into_an_organisation_without_owner(
        org, store: SqliteSyncStore, users):
    org_id, alice, bob = org["id"], org["alice"], org["bob"]
    carol_id = store.user_by_email(CAROL[0]).id
    post(alice, f"/orgs/{org_id}/members/{carol_id}/role", {"role": "viewer"})
    role_change = action_id(store, org_id, "member.role")
    assert next(r for r in log_rows(bob, org_id) if r["kind"] == "member.role")["undo"]

    undone = post(bob, f"/orgs/{org_id}/actions/{role_change}/undo")
    assert undone.status_code == 302 and f"undone={role_change}" in undone.headers["Location"]
    assert store.membership(carol_id, org_id).role == "operator"
    assert "Undone: Changed the role of carol" in text(bob.get(undone.headers["Location"]))
    again = post(bob, f"/orgs/{org_id}/actions/{role_change}/undo")
    assert again.status_code == 409 and "Already undone" in text(again)
    (logged,) = [e for e in store.org_log(org_id) if e.action.kind == "action.undo"]
    assert logged.action.user_id == users[BOB[0]] and logged.action.target_id == str(role_change)

    # Alice makes Bob an owner, then hands over: undoing Bob's promotion would leave none.
    post(alice, f"/orgs/{org_id}/members/{users[BOB[0]]}/role", {"role": "owner"})
    promotion = action_id(store, org_id, "member.role")
    post(bob, f"/orgs/{org_id}/members/{users[ALICE[0]]}/role", {"role": "admin"})
    refused = post(bob, f"/orgs/{org_id}/actions/{promotion}/undo")
    assert refused.status_code == 409 and "without an owner" in text(refused)
    assert store.membership(users[BOB[0]], org_id).role == "owner"
    assert store.org_action(org_id, promotion).undone_at is None


def test_an_admin_cannot_undo_what_touches_an_owner(org, store: SqliteSyncStore, users):
    org_id, alice, bob = org["id"], org["alice"], org["bob"]
    carol_id = store.user_by_email(CAROL[0]).id
    post(alice, f"/orgs/{org_id}/members/{carol_id}/role", {"role": "owner"})
    refused = post(bob, f"/orgs/{org_id}/actions/{action_id(store, org_id, 'member.role')}/undo")
    assert refused.status_code == 409 and "Only an owner" in text(refused)
    assert store.membership(carol_id, org_id).role == "owner"


def test_printer_moves_are_undone_from_the_org_log(org, store: SqliteSyncStore, users):
    org_id, alice, bob = org["id"], org["alice"], org["bob"]
    store.add_device("p-1", "Prusa", users[ALICE[0]], "$7$h")
    post(alice, f"/orgs/{org_id}/printers", {"device_id": "p-1"})
    assert store.printer_for_user(users[BOB[0]], "p-1").org_id == org_id

    moved_in = action_id(store, org_id, "printer.move_in")
    assert post(bob, f"/orgs/{org_id}/actions/{moved_in}/undo").status_code == 302
    assert store.printer_for_user(users[BOB[0]], "p-1") is None  # back with Alice
    assert store.printer_for_user(users[ALICE[0]], "p-1").org_id is None

    post(alice, f"/orgs/{org_id}/printers", {"device_id": "p-1"})
    post(bob, f"/orgs/{org_id}/printers/p-1/to-me")  # Bob takes it for himself
    assert store.printer_for_user(users[ALICE[0]], "p-1") is None
    moved_out = action_id(store, org_id, "printer.move_out")
    assert post(alice, f"/orgs/{org_id}/actions/{moved_out}/undo").status_code == 302
    assert store.printer_for_user(users[ALICE[0]], "p-1").org_id == org_id
    kinds = [e.action.kind for e in store.org_log(org_id)]
    assert kinds[:2] == ["action.undo", "printer.move_out"]


def test_a_member_who_left_does_not_get_their_printer_back(org, store: SqliteSyncStore, users):
    org_id, bob = org["id"], org["bob"]
    carol_id = store.user_by_email(CAROL[0]).id
    store.set_member_role(org_id, carol_id, "admin")
    store.add_device("p-c", "Carol's", carol_id, "$7$h")
    assert post(org["carol"], f"/orgs/{org_id}/printers", {"device_id": "p-c"}).status_code == 302
    post(org["carol"], f"/orgs/{org_id}/leave")
    refused = post(bob, f"/orgs/{org_id}/actions/{action_id(store, org_id, 'printer.move_in')}"
                        "/undo")
    assert refused.status_code == 409 and "no longer a member" in text(refused)
    assert store.printer_for_user(users[BOB[0]], "p-c").org_id == org_id


def test_undo_from_the_org_log_is_only_for_the_organisations_own_things(
        org, store: SqliteSyncStore, users):
    org_id, alice, bob = org["id"], org["alice"], org["bob"]
    # An action in the organisation whose undo changes Bob's own files (as an org-files
    # feature might log): Alice must not reverse it from here.
    bobs = FileOwner(user_id=users[BOB[0]])
    folder = store.create_folder(bobs, None, "Bob's", 0.0)
    store.trash_entry(bobs, folder.id, 1.0)
    own = store.record_action(ActionDraft(
        at=1.0, user_id=users[BOB[0]], org_id=org_id, ip="127.0.0.1", country=None, region=None,
        city=None, kind="folder.delete", target_type="folder", target_id=str(folder.id),
        summary="Deleted folder “Bob's”", undo={"op": "restore_entry", "entry_id": folder.id}))
    assert not next(r for r in log_rows(alice, org_id) if r["kind"] == "folder.delete")["undo"]
    refused = post(alice, f"/orgs/{org_id}/actions/{own.id}/undo")
    assert refused.status_code == 403 and "only they can undo it" in text(refused)
    assert store.file_entry(bobs, folder.id, include_trashed=True).deleted_at == 1.0

    # Another organisation's action, or a personal one, is not found through this one.
    other = store.create_organisation(users[BOB[0]], OrgProfile(name="Bob's Ltd"), 1.0)
    theirs = store.record_action(ActionDraft(
        at=1.0, user_id=users[BOB[0]], org_id=other.id, ip="127.0.0.1", country=None,
        region=None, city=None, kind="member.role", target_type="user", target_id="1",
        summary="x", undo={"op": "org_role", "org_id": other.id, "user_id": 1, "role": "admin"}))
    assert post(alice, f"/orgs/{org_id}/actions/{theirs.id}/undo").status_code == 404
    assert post(bob, f"/orgs/{org_id}/actions/{theirs.id}/undo").status_code == 404
    # Operators and viewers may not undo; strangers do not learn the organisation exists.
    role_change = post(alice, f"/orgs/{org_id}/members/{users[BOB[0]]}/role", {"role": "admin"})
    assert role_change.status_code == 302
    plain = action_id(store, org_id, "member.join")
    assert post(org["carol"], f"/orgs/{org_id}/actions/{plain}/undo").status_code == 403
    assert post(org["eve"], f"/orgs/{org_id}/actions/{plain}/undo").status_code == 404
    nothing = post(bob, f"/orgs/{org_id}/actions/{plain}/undo")
    assert nothing.status_code == 409 and "cannot be undone" in text(nothing)


def test_a_demoted_admin_cannot_undo_their_own_org_action_from_their_log(
        org, store: SqliteSyncStore, users):
    org_id, alice, bob = org["id"], org["alice"], org["bob"]
    carol_id = store.user_by_email(CAROL[0]).id
    post(bob, f"/orgs/{org_id}/members/{carol_id}/role", {"role": "viewer"})
    post(alice, f"/orgs/{org_id}/members/{users[BOB[0]]}/role", {"role": "operator"})
    own = next(a for a in store.actions_for_user(users[BOB[0]]) if a.kind == "member.role")
    refused = post(bob, f"/account/actions/{own.id}/undo")
    assert refused.status_code == 409
    assert "Only the organisation's owners and admins" in html.unescape(text(refused))
    assert store.membership(carol_id, org_id).role == "viewer"


def test_removing_an_organisations_printer_is_in_its_log(org, store: SqliteSyncStore, users):
    org_id, alice, bob = org["id"], org["alice"], org["bob"]
    store.add_device("p-1", "Prusa", users[ALICE[0]], "$7$h")
    post(alice, f"/orgs/{org_id}/printers", {"device_id": "p-1"})
    removed = post(bob, "/printers/p-1/remove", {"confirm_name": "Prusa"})
    assert removed.status_code == 302, text(removed)
    (row,) = [r for r in log_rows(alice, org_id) if r["kind"] == "printer.remove"]
    assert (row["who"], row["summary"], row["undo"]) == ("bob@example.org",
                                                         "Removed printer “Prusa”", False)

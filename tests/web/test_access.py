"""web/access.py per printer and need: owners and operators command, viewers see, others get 404."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import Forbidden, NotFound

from web.access import VIEWER_CANNOT_COMMAND, Need, org_or_404, printer_or_404

from .conftest import ALICE, BOB
from .org_support import CAROL, add_carol, create_org, join, post, signed_in

pytestmark = pytest.mark.timeout(60)


def _as(client: FlaskClient, device_id: str, need: Need):
    """Ask access.py inside a real request of this signed-in client."""
    with client:
        client.get("/orgs")  # the request context (and signed-in user) stays until the with ends
        return printer_or_404(device_id, need)


@pytest.fixture
def shared(app: Flask, store, users):
    """Alice's org owns p-shared; Bob operates it, Carol views it; Alice also has p-own."""
    store.add_device("p-shared", "Shared", users[ALICE[0]], "x")
    store.add_device("p-own", "Alice's own", users[ALICE[0]], "x")
    add_carol(store)
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    bob = join(app, org_id, alice, BOB, "operator")
    carol = join(app, org_id, alice, CAROL, "viewer")
    assert post(alice, f"/orgs/{org_id}/printers", {"device_id": "p-shared"}).status_code == 302
    return {"alice": alice, "bob": bob, "carol": carol, "org_id": org_id}


def test_owner_admin_and_operator_may_command_an_organisation_printer(shared):
    for who, role in (("alice", "owner"), ("bob", "operator")):
        printer = _as(shared[who], "p-shared", Need.COMMAND)
        assert (printer.device_id, printer.role) == ("p-shared", role)
    assert _as(shared["alice"], "p-own", Need.COMMAND).role == "owner"


def test_a_viewer_sees_the_printer_but_a_command_gets_403_with_the_reason(shared):
    assert _as(shared["carol"], "p-shared", Need.VIEW).role == "viewer"
    with pytest.raises(Forbidden) as refused:
        _as(shared["carol"], "p-shared", Need.COMMAND)
    assert refused.value.description == VIEWER_CANNOT_COMMAND


def test_only_owners_and_admins_may_rename_or_remove_an_organisation_printer(shared):
    assert _as(shared["alice"], "p-shared", Need.MANAGE).role == "owner"
    for who in ("bob", "carol"):
        with pytest.raises(Forbidden):
            _as(shared[who], "p-shared", Need.MANAGE)


def test_non_members_get_404_for_view_and_command_alike(shared):
    for who, device_id in (("bob", "p-own"), ("carol", "p-own"), ("bob", "no-such")):
        for need in Need:
            with pytest.raises(NotFound):
                _as(shared[who], device_id, need)


def test_org_or_404_gives_the_role_and_refuses_management_to_other_roles(shared):
    org_id = shared["org_id"]
    with shared["bob"]:
        shared["bob"].get("/orgs")
        assert org_or_404(org_id).role == "operator"
        with pytest.raises(Forbidden):
            org_or_404(org_id, manage=True)
        with pytest.raises(NotFound):
            org_or_404(org_id + 1000)
    with shared["alice"]:
        shared["alice"].get("/orgs")
        assert org_or_404(org_id, manage=True).role == "owner"

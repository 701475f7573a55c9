"""The inverses of an organisation's undoable actions, and the payloads that name them.

Each inverse runs as the user undoing, whoever took the action: that user
must be an owner or admin of the organisation now (an owner where owners are
concerned), and the organisation's rules still hold (it keeps an owner).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from storage import SyncStore
from storage.orgs import MANAGING_ROLES, PROFILE_FIELDS, LastOwner, OrgMembership

from .undo_refused import UndoRefused

# Payload ops that only ever touch the organisation named in the payload.
ORG_OPS = frozenset({"org_profile", "org_role", "org_printer_out", "org_printer_in",
                     "org_invitation_withdraw"})


def org_profile_payload(org_id: int, old_values: dict[str, str]) -> dict[str, Any]:
    """Set these fields of the organisation's profile back to these values."""
    return {"op": "org_profile", "org_id": org_id, "fields": old_values}


def role_payload(org_id: int, user_id: int, old_role: str) -> dict[str, Any]:
    """Give the member back the role they had."""
    return {"op": "org_role", "org_id": org_id, "user_id": user_id, "role": old_role}


def moved_in_payload(org_id: int, device_id: str, user_id: int) -> dict[str, Any]:
    """Give the printer back to the member who moved it into the organisation."""
    return {"op": "org_printer_out", "org_id": org_id, "device_id": device_id,
            "user_id": user_id}


def moved_out_payload(org_id: int, device_id: str, user_id: int) -> dict[str, Any]:
    """Put the printer the user took out back into the organisation."""
    return {"op": "org_printer_in", "org_id": org_id, "device_id": device_id,
            "user_id": user_id}


def invitation_payload(org_id: int, invitation_id: int) -> dict[str, Any]:
    """Withdraw the invitation, if nobody has accepted it yet."""
    return {"op": "org_invitation_withdraw", "org_id": org_id, "invitation_id": invitation_id}


def _manager(store: SyncStore, user_id: int, payload: dict[str, Any]) -> OrgMembership:
    membership = store.membership(user_id, int(payload["org_id"]))
    if membership is None or membership.role not in MANAGING_ROLES:
        raise UndoRefused("Only the organisation's owners and admins can undo this; "
                          "nothing changed.")
    return membership


def _profile(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    org = _manager(store, user_id, payload).org
    old = {key: str(value) for key, value in payload["fields"].items() if key in PROFILE_FIELDS}
    store.update_organisation(org.id, dataclasses.replace(org.profile, **old))
    return "set the company details back"


def _role(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    undoer = _manager(store, user_id, payload)
    org_id, member_id, role = undoer.org.id, int(payload["user_id"]), str(payload["role"])
    member = store.membership(member_id, org_id)
    if member is None:
        raise UndoRefused("That person is no longer a member; nothing changed.")
    if "owner" in (member.role, role) and undoer.role != "owner":
        raise UndoRefused("Only an owner can make someone an owner or change an owner's role; "
                          "nothing changed.")
    try:
        store.set_member_role(org_id, member_id, role)
    except LastOwner as error:
        raise UndoRefused("The organisation would be left without an owner; nothing "
                          "changed.") from error
    return f"made them {role} again"


def _printer_out(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    org_id = _manager(store, user_id, payload).org.id
    if not store.return_printer_to_user(org_id, str(payload["device_id"]),
                                        int(payload["user_id"])):
        raise UndoRefused("The printer is no longer in the organisation, or whoever moved it in "
                          "is no longer a member; nothing changed.")
    return "gave the printer back to whoever moved it in"


def _printer_in(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    org_id = _manager(store, user_id, payload).org.id
    if not store.return_printer_to_org(org_id, str(payload["device_id"]),
                                       int(payload["user_id"])):
        raise UndoRefused("The printer is no longer with whoever took it out, or was removed; "
                          "nothing changed.")
    return "put the printer back into the organisation"


def _withdraw(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    org_id = _manager(store, user_id, payload).org.id
    if not store.revoke_invitation(org_id, int(payload["invitation_id"])):
        raise UndoRefused("The invitation was accepted or withdrawn already; nothing changed.")
    return "withdrew the invitation"


ORG_INVERSES: dict[str, Callable[[SyncStore, int, dict[str, Any], float], str]] = {
    "org_profile": _profile,
    "org_role": _role,
    "org_printer_out": _printer_out,
    "org_printer_in": _printer_in,
    "org_invitation_withdraw": _withdraw,
}
assert set(ORG_INVERSES) == ORG_OPS

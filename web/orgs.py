"""Organisations: create one, edit its profile, manage members and roles, leave, move printers in and out.

Invitations have their own module (org_invitations.py). Every page of an
organisation goes through access.org_or_404: non-members get 404.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from storage.orgs import PROFILE_FIELDS, ROLES, LastOwner, OrgMembership, OrgProfile

from .access import org_or_404, printer_or_404
from .actions import record_action
from .context import store
from .org_profile import countries_by_name, profile_from_form, timezones
from .org_undo import moved_in_payload, moved_out_payload, org_profile_payload, role_payload

logger = logging.getLogger(__name__)

bp = Blueprint("orgs", __name__, url_prefix="/orgs")

KEEP_AN_OWNER = ("An organisation must keep at least one owner. Make another member an owner "
                 "first.")
ONLY_OWNERS_TOUCH_OWNERS = "Only an owner can make someone an owner or change an owner's role."
FIELD_LABELS = {"name": "name", "email": "email", "country": "country", "timezone": "time zone",
                "address": "address", "billing_address": "billing address", "phone": "phone",
                "attention": "attention person", "vat_number": "VAT number",
                "ean_number": "EAN number"}


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    """List the user's organisations with their role, and offer to create one."""
    return _index_page({}, "", 200)


@bp.post("")
@login_required
def create() -> ResponseReturnValue:
    """Create an organisation from a name; its creator becomes its owner."""
    profile, errors = profile_from_form({"name": request.form.get("name", "")})
    if errors:
        return _index_page(errors, request.form.get("name", ""), 400)
    org = store().create_organisation(current_user.id, profile, time.time())
    logger.info("user %d created organisation %d", current_user.id, org.id)
    record_action("org.create", "organisation", org.id, f"Created organisation “{org.name}”",
                  org_id=org.id)
    return redirect(url_for("orgs.edit_profile", org_id=org.id, created=1))


def _index_page(errors: dict[str, str], name: str, status: int) -> ResponseReturnValue:
    memberships = store().organisations_for_user(current_user.id)
    return render_template("orgs.html", memberships=memberships, errors=errors,
                           name=name), status


@bp.get("/<int:org_id>")
@login_required
def overview(org_id: int) -> ResponseReturnValue:
    """Show an organisation: its details, members, invitations and printers."""
    return render_org(org_id)


def render_org(org_id: int, status: int = 200, **extra: Any) -> ResponseReturnValue:
    """Render an organisation's page for the signed-in member (invitations add to it)."""
    membership = org_or_404(org_id)
    manager = membership.role in ("owner", "admin")
    printers = store().printers_for_user(current_user.id)
    context = {
        "membership": membership,
        "org": membership.org,
        "manager": manager,
        "roles": ROLES,
        "members": store().org_members(org_id),
        "invitations": store().pending_invitations(org_id, time.time()) if manager else [],
        "org_printers": [p for p in printers if p.org_id == org_id],
        "my_printers": [p for p in printers if p.org_id is None] if manager else [],
        "errors": [],
        "new_invitation_link": None,
        "invitation_mailed": False,
        "invite_form": {"email": "", "role": "operator"},
    }
    context.update(extra)
    return render_template("org.html", **context), status


@bp.route("/<int:org_id>/profile", methods=["GET", "POST"])
@login_required
def edit_profile(org_id: int) -> ResponseReturnValue:
    """Show or save the organisation's company details (owners and admins)."""
    membership = org_or_404(org_id, manage=True)
    if request.method == "GET":
        return _profile_page(membership, membership.org.profile, {}, 200,
                             created=bool(request.args.get("created")))
    profile, errors = profile_from_form(request.form)
    if errors:
        return _profile_page(membership, profile, errors, 400)
    store().update_organisation(org_id, profile)
    logger.info("user %d updated the profile of organisation %d", current_user.id, org_id)
    _record_profile_change(membership.org.profile, profile, org_id)
    return _profile_page(org_or_404(org_id), profile, {}, 200, saved=True)


def _record_profile_change(old: OrgProfile, new: OrgProfile, org_id: int) -> None:
    changed = {name: getattr(old, name) for name in PROFILE_FIELDS
               if getattr(old, name) != getattr(new, name)}
    if changed:
        record_action("org.update", "organisation", org_id,
                      f"Changed the company details of “{new.name}”: "
                      + ", ".join(FIELD_LABELS[name] for name in changed),
                      undo=org_profile_payload(org_id, changed), org_id=org_id)


def _profile_page(membership: OrgMembership, profile: OrgProfile, errors: dict[str, str],
                  status: int, saved: bool = False, created: bool = False) -> ResponseReturnValue:
    return render_template("org_profile.html", org=membership.org, form=profile, errors=errors,
                           saved=saved, created=created, countries=countries_by_name(),
                           timezones=timezones()), status


@bp.post("/<int:org_id>/members/<int:user_id>/role")
@login_required
def change_role(org_id: int, user_id: int) -> ResponseReturnValue:
    """Give a member another role (owners and admins; owner changes need an owner)."""
    membership = org_or_404(org_id, manage=True)
    role = request.form.get("role", "")
    if role not in ROLES:
        return render_org(org_id, 400, errors=[f"Choose a role: {', '.join(ROLES)}."])
    target = _member_role(org_id, user_id)
    if "owner" in (target, role) and membership.role != "owner":
        return render_org(org_id, 403, errors=[ONLY_OWNERS_TOUCH_OWNERS])
    try:
        store().set_member_role(org_id, user_id, role)
    except LastOwner:
        return render_org(org_id, 409, errors=[KEEP_AN_OWNER])
    logger.info("user %d made user %d %s of organisation %d", current_user.id, user_id, role,
                org_id)
    if role != target:
        record_action("member.role", "user", user_id,
                      f"Changed the role of {_email(user_id)} from {target} to {role}",
                      undo=role_payload(org_id, user_id, target), org_id=org_id)
    return redirect(url_for("orgs.overview", org_id=org_id))


@bp.post("/<int:org_id>/members/<int:user_id>/remove")
@login_required
def remove_member(org_id: int, user_id: int) -> ResponseReturnValue:
    """Remove a member (owners and admins; removing an owner needs an owner)."""
    membership = org_or_404(org_id, manage=True)
    role = _member_role(org_id, user_id)
    if role == "owner" and membership.role != "owner":
        return render_org(org_id, 403, errors=[ONLY_OWNERS_TOUCH_OWNERS])
    email = _email(user_id)
    try:
        store().remove_member(org_id, user_id)
    except LastOwner:
        return render_org(org_id, 409, errors=[KEEP_AN_OWNER])
    logger.info("user %d removed user %d from organisation %d", current_user.id, user_id,
                org_id)
    if user_id == current_user.id:
        _record_leaving(membership)
        return redirect(url_for("orgs.index"))
    # Not undoable: joining again takes the person's own consent (a new invitation).
    record_action("member.remove", "user", user_id,
                  f"Removed {email} ({role}) from “{membership.org.name}”", org_id=org_id)
    return redirect(url_for("orgs.overview", org_id=org_id))


@bp.post("/<int:org_id>/leave")
@login_required
def leave(org_id: int) -> ResponseReturnValue:
    """Leave an organisation (the last owner cannot)."""
    membership = org_or_404(org_id)
    try:
        store().remove_member(org_id, current_user.id)
    except LastOwner:
        return render_org(org_id, 409, errors=[KEEP_AN_OWNER])
    logger.info("user %d left organisation %d", current_user.id, org_id)
    _record_leaving(membership)
    return redirect(url_for("orgs.index"))


def _record_leaving(membership: OrgMembership) -> None:
    record_action("member.leave", "user", current_user.id,
                  f"Left “{membership.org.name}” (was {membership.role})",
                  org_id=membership.org.id)


@bp.post("/<int:org_id>/printers")
@login_required
def move_in(org_id: int) -> ResponseReturnValue:
    """Give one of the user's own printers to the organisation (owners and admins)."""
    membership = org_or_404(org_id, manage=True)
    device_id = request.form.get("device_id", "")
    printer = store().printer_for_user(current_user.id, device_id)
    if not store().move_printer_to_org(current_user.id, device_id, org_id):
        abort(404)  # not one of the user's own printers
    logger.info("user %d moved printer %s into organisation %d", current_user.id, device_id,
                org_id)
    record_action("printer.move_in", "printer", device_id,
                  f"Moved printer “{printer.name if printer else device_id}” into "
                  f"“{membership.org.name}”",
                  undo=moved_in_payload(org_id, device_id, current_user.id), org_id=org_id)
    return redirect(url_for("orgs.overview", org_id=org_id))


@bp.post("/<int:org_id>/printers/<device_id>/to-me")
@login_required
def move_out(org_id: int, device_id: str) -> ResponseReturnValue:
    """Take one of the organisation's printers back as the user's own (owners and admins)."""
    membership = org_or_404(org_id, manage=True)
    printer = printer_or_404(device_id)
    if not store().move_printer_to_user(current_user.id, device_id, org_id):
        abort(404)  # a printer the user sees, but not through this organisation
    logger.info("user %d took printer %s out of organisation %d", current_user.id, device_id,
                org_id)
    record_action("printer.move_out", "printer", device_id,
                  f"Took printer “{printer.name}” out of “{membership.org.name}” "
                  "to their own printers",
                  undo=moved_out_payload(org_id, device_id, current_user.id), org_id=org_id)
    return redirect(url_for("orgs.overview", org_id=org_id))


def _email(user_id: int) -> str:
    user = store().user_by_id(user_id)
    return user.email if user else f"user #{user_id}"


def _member_role(org_id: int, user_id: int) -> str:
    """A member's role in the organisation; 404 for someone who is not a member."""
    membership = store().membership(user_id, org_id)
    if membership is None:
        abort(404)
    return membership.role

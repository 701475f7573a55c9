"""Invitations to an organisation: made by its owners and admins, accepted through a link.

The link carries a random token; only its sha256 is stored. It is mailed to
the invited address (when mail is set up) and shown once to whoever invited.
Only the signed-in user whose email the invitation names can accept it,
once, before it expires.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import time

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from storage.orgs import ROLES, Invitation, OrgMembership

from .access import org_or_404
from .actions import record_action
from .background_mail import mail_configured, send_later
from .context import store, web_state
from .org_undo import invitation_payload
from .orgs import render_org
from .signup import email_errors

logger = logging.getLogger(__name__)

bp = Blueprint("org_invitations", __name__, url_prefix="/orgs")

INVITATION_TTL_S = 7 * 86400


def token_hash(token: str) -> str:
    """The stored form of an invitation token."""
    return hashlib.sha256(token.encode()).hexdigest()


@bp.post("/<int:org_id>/invitations")
@login_required
def invite(org_id: int) -> ResponseReturnValue:
    """Invite someone by email with a role; show the link to send them."""
    membership = org_or_404(org_id, manage=True)
    form = {"email": request.form.get("email", "").strip(), "role": request.form.get("role", "")}
    errors = email_errors(form["email"])
    if form["role"] not in ROLES:
        errors.append(f"Choose a role: {', '.join(ROLES)}.")
    elif form["role"] == "owner" and membership.role != "owner":
        errors.append("Only an owner can invite another owner.")
    members = {member.email.lower() for member in store().org_members(org_id)}
    if form["email"].lower() in members:
        errors.append(f"{form['email']} is a member already.")
    if errors:
        return render_org(org_id, 400, errors=errors, invite_form=form)
    token = secrets.token_urlsafe(32)
    now = time.time()
    invitation = store().create_invitation(org_id, form["email"], form["role"], token_hash(token),
                                           current_user.id, now, now + INVITATION_TTL_S)
    logger.info("user %d invited a new %s to organisation %d (invitation %d)",
                current_user.id, invitation.role, org_id, invitation.id)
    record_action("member.invite", "invitation", invitation.id,
                  f"Invited {invitation.email} as {invitation.role}",
                  undo=invitation_payload(org_id, invitation.id), org_id=org_id)
    mailed = _mail_invitation(membership, invitation, token)
    link = url_for("org_invitations.show", token=token, _external=True)
    return render_org(org_id, 201, new_invitation_link=link, new_invitation=invitation,
                      invitation_mailed=mailed)


def _mail_invitation(membership: OrgMembership, invitation: Invitation, token: str) -> bool:
    """Mail the link to the invited address; False when mail is not set up."""
    if not mail_configured():
        return False
    # The configured base, never the request's Host header, which a client chooses.
    link = f"{web_state().settings.link_base_url}/orgs/invitations/{token}"
    inviter = f"{current_user.first_name} {current_user.last_name}".strip() or current_user.email
    body = (f"{inviter} ({current_user.email}) invites you to join “{membership.org.name}” on "
            f"Printfleet as {invitation.role}.\n\n"
            f"Accept here, signed in with this email address (sign up first if you have no "
            f"account):\n{link}\n\n"
            f"The link works once, until {_utc(invitation.expires_at)}. If you do not know "
            "this organisation, ignore this mail.\n")
    send_later(invitation.email, f"[Printfleet] Join {membership.org.name}", body,
               f"invitation {invitation.id} to organisation {invitation.org_id}")
    return True


def _utc(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


@bp.post("/<int:org_id>/invitations/<int:invitation_id>/withdraw")
@login_required
def withdraw(org_id: int, invitation_id: int) -> ResponseReturnValue:
    """Withdraw an invitation nobody has accepted yet; its link stops working."""
    org_or_404(org_id, manage=True)
    pending = {i.id: i for i in store().pending_invitations(org_id, 0.0)}
    if not store().revoke_invitation(org_id, invitation_id):
        return render_org(org_id, 404, errors=["That invitation was used or withdrawn already."])
    logger.info("user %d withdrew invitation %d of organisation %d", current_user.id,
                invitation_id, org_id)
    withdrawn = pending.get(invitation_id)
    # Not undoable: the link's token is gone with it.
    record_action("member.invite_withdraw", "invitation", invitation_id,
                  f"Withdrew the invitation of {withdrawn.email if withdrawn else 'someone'}",
                  org_id=org_id)
    return redirect(url_for("orgs.overview", org_id=org_id))


@bp.get("/invitations/<token>")
@login_required
def show(token: str) -> ResponseReturnValue:
    """Show what an invitation offers, with a button to accept it."""
    invitation, problem, status = _usable(token)
    if invitation is None:
        return _page(None, problem, status)
    org = store().organisation(invitation.org_id)
    return _page(invitation, None, 200, org_name=org.name if org else "")


@bp.post("/invitations/<token>")
@login_required
def accept(token: str) -> ResponseReturnValue:
    """Join the organisation with the invitation's role."""
    invitation, problem, status = _usable(token)
    if invitation is None:
        return _page(None, problem, status)
    if not store().accept_invitation(invitation.id, current_user.id, time.time()):
        return _page(None, "This invitation has just been used or has expired.", 410)
    logger.info("user %d accepted invitation %d to organisation %d", current_user.id,
                invitation.id, invitation.org_id)
    joined = store().membership(current_user.id, invitation.org_id)
    record_action("member.join", "user", current_user.id,
                  f"Joined “{joined.org.name if joined else ''}” as "
                  f"{joined.role if joined else invitation.role}", org_id=invitation.org_id)
    return redirect(url_for("orgs.overview", org_id=invitation.org_id))


def _usable(token: str) -> tuple[Invitation | None, str | None, int]:
    """The invitation if the signed-in user may accept it now, else why not and a status."""
    invitation = store().invitation_by_token(token_hash(token))
    if invitation is None:
        return None, ("This invitation link is not valid: it may have been withdrawn, or "
                      "copied incompletely."), 404
    if invitation.accepted_at is not None and invitation.accepted_by == current_user.id:
        return None, "You accepted this invitation already: the organisation is in your list.", 410
    if invitation.accepted_at is not None:
        return None, ("This invitation has been used already. Ask the organisation for a new "
                      "one if you still need to join."), 410
    if invitation.expires_at <= time.time():
        return None, ("This invitation has expired. Ask the organisation for a new one."), 410
    if invitation.email.lower() != current_user.email.lower():
        return None, (f"This invitation was sent to another email address than yours "
                      f"({current_user.email}). Sign in with the invited address, or ask for "
                      "an invitation to this one."), 403
    return invitation, None, 200


def _page(invitation: Invitation | None, problem: str | None, status: int,
          org_name: str = "") -> ResponseReturnValue:
    return render_template("org_invitation.html", invitation=invitation, problem=problem,
                           org_name=org_name), status

"""Deleting one's own account (the right to erasure), on a page and in the JSON API.

Both ask for the password again and a typed confirmation (the account's
email), so neither a stolen session cookie nor a slip of the mouse erases
an account. The erasure itself is printfleet/erasure.py.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from printfleet.erasure import erase_account
from storage.erasure import LastOwner

from .auth import sign_out_here
from .context import store, web_state
from .openapi import api_doc
from .pairing import device_provisioner
from .passwords import verify_password

logger = logging.getLogger(__name__)

bp = Blueprint("account_delete", __name__)

_DELETE_SCHEMA = {"type": "object", "required": ["password", "confirm"], "properties": {
    "password": {"type": "string", "description": "the account's password"},
    "confirm": {"type": "string", "description": "the account's email, typed out"}}}


def _refusal(password: str, confirm: str) -> tuple[str, int] | None:
    """Why the deletion cannot go ahead (message, status), or None."""
    user = store().user_by_id(current_user.id)
    if user is None or not verify_password(user.password_hash, password):
        return "The password is not right.", 403
    if confirm.strip().lower() != user.email.lower():
        return "Type your account's email to confirm.", 400
    blocking = store().last_owned_orgs(user.id)
    if blocking:
        return str(LastOwner(blocking)), 409
    return None


def _erase() -> None:
    user_id = current_user.id
    erase_account(store(), web_state().settings, device_provisioner(), user_id, time.time())
    logger.info("user %d deleted their account", user_id)
    # The stored sessions are gone with the account; forget this browser's too.
    sign_out_here()


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_page() -> ResponseReturnValue:
    """Ask for the password and the email, then erase the account and everything about it."""
    owned = store().last_owned_orgs(current_user.id)
    if request.method == "GET":
        return render_template("account_delete.html", errors=[], last_owned=owned)
    refusal = _refusal(request.form.get("password", ""), request.form.get("confirm", ""))
    if refusal is not None:
        message, status = refusal
        return render_template("account_delete.html", errors=[message], last_owned=owned), status
    _erase()
    return render_template("account_deleted.html")


@bp.delete("/api/v1/account")
@login_required
@api_doc(body=_DELETE_SCHEMA)
def delete_api() -> ResponseReturnValue:
    """Delete the account and everything about it; needs the password and the email typed out."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str)
                                             for k in ("password", "confirm")):
        return jsonify(error="send a JSON object with password and confirm (your email)"), 400
    refusal = _refusal(body["password"], body["confirm"])
    if refusal is not None:
        message, status = refusal
        return jsonify(error=message), status
    _erase()
    return jsonify(deleted=True)

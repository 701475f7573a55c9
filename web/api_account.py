"""The account pages as JSON: profile, sign-in sessions (with their pages), ending one."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from storage import EmailTaken, WebSession

from .actions import record_action, record_profile_update
from .context import store
from .openapi import api_doc
from .sessions import is_live
from .signup import email_errors, name_errors

logger = logging.getLogger(__name__)

bp = Blueprint("api_account", __name__, url_prefix="/api/v1")

PROFILE_FIELDS = ("email", "first_name", "last_name")
_PROFILE_SCHEMA = {"type": "object", "properties": {
    name: {"type": "string"} for name in PROFILE_FIELDS}}


@bp.get("/account")
@login_required
def account() -> Response:
    """The signed-in user's profile."""
    return jsonify(_profile())


@bp.patch("/account")
@login_required
@api_doc(body=_PROFILE_SCHEMA)
def correct_account() -> ResponseReturnValue:
    """Correct the profile (any of email, first_name, last_name); logged, undoable."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not set(body) <= set(PROFILE_FIELDS):
        return jsonify(error=f"send a JSON object with some of {', '.join(PROFILE_FIELDS)}"), 400
    form = {**_profile(), **{key: str(value).strip() for key, value in body.items()}}
    # Only what is being corrected is checked: an account made by an operator
    # (printfleet user-add) may have no name yet.
    errors = email_errors(form["email"]) if "email" in body else []
    if {"first_name", "last_name"} & set(body):
        errors += name_errors(form["first_name"], form["last_name"])
    if errors:
        return jsonify(error=" ".join(errors)), 400
    try:
        store().update_user_profile(current_user.id, form["email"], form["first_name"],
                                    form["last_name"])
    except EmailTaken:
        return jsonify(error="Another account uses this email."), 409
    record_profile_update(current_user, form)
    logger.info("user %d corrected their profile through the API", current_user.id)
    return jsonify(form)


@bp.get("/sessions")
@login_required
def sessions() -> Response:
    """Every sign-in session: IP, browser, start, last activity, length, pages visited."""
    now = time.time()
    return jsonify([_session(web_session, now)
                    for web_session in store().web_sessions_for_user(current_user.id)])


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> ResponseReturnValue:
    """End one of the user's sessions; its cookie stops working at once."""
    if not store().end_web_session(session_id, current_user.id, time.time()):
        abort(404)
    record_action("session.end", "session", session_id, f"Ended sign-in session #{session_id}")
    return jsonify(ended=session_id)


def _profile() -> dict[str, str]:
    user = store().user_by_id(current_user.id)
    if user is None:
        abort(404)
    return {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}


def _session(web_session: WebSession, now: float) -> dict[str, Any]:
    return {
        "id": web_session.id, "ip": web_session.ip, "user_agent": web_session.user_agent,
        "started_at": web_session.started_at, "last_activity_at": web_session.last_activity_at,
        "ended_at": web_session.ended_at, "live": is_live(web_session, now),
        "current": web_session.id == current_user.session_id,
        "length_s": (web_session.ended_at or web_session.last_activity_at)
        - web_session.started_at,
        "pages": [{"path": view.path, "at": view.at}
                  for view in store().page_views(web_session.id, current_user.id)],
    }

"""The user's own account pages: the profile, the sign-in sessions and what each visited."""

from __future__ import annotations

import datetime
import logging
import time

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from storage import EmailTaken

from .actions import record_action, record_profile_update
from .auth import sign_out_here
from .context import store
from .sessions import is_live
from .signup import email_errors, name_errors

logger = logging.getLogger(__name__)

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    """Show the user's name and email, or correct them (the right to rectification)."""
    if request.method == "GET":
        form = {"email": current_user.email, "first_name": current_user.first_name,
                "last_name": current_user.last_name}
        return render_template("account_profile.html", form=form, errors=[], saved=False)
    form = {name: request.form.get(name, "").strip()
            for name in ("email", "first_name", "last_name")}
    errors = email_errors(form["email"]) + name_errors(form["first_name"], form["last_name"])
    if errors:
        return render_template("account_profile.html", form=form, errors=errors,
                               saved=False), 400
    try:
        store().update_user_profile(current_user.id, form["email"], form["first_name"],
                                    form["last_name"])
    except EmailTaken:
        return render_template("account_profile.html", form=form, saved=False,
                               errors=["Another account uses this email."]), 409
    logger.info("user %d corrected their profile", current_user.id)
    record_profile_update(current_user, form)
    return render_template("account_profile.html", form=form, errors=[], saved=True)


@bp.get("/sessions")
@login_required
def sessions() -> ResponseReturnValue:
    """List the user's sessions with their IP, times, length and pages visited."""
    now = time.time()
    rows = [{
        "session": web_session,
        "live": is_live(web_session, now),
        "current": web_session.id == current_user.session_id,
        "length_s": (web_session.ended_at or web_session.last_activity_at)
        - web_session.started_at,
        "pages": store().page_views(web_session.id, current_user.id),
    } for web_session in store().web_sessions_for_user(current_user.id)]
    return render_template("account_sessions.html", rows=rows)


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> ResponseReturnValue:
    """End one of the user's sessions; its cookie stops working at once."""
    # Someone else's session id is answered like one that does not exist.
    if not store().end_web_session(session_id, current_user.id, time.time()):
        abort(404)
    logger.info("user %d ended session %d", current_user.id, session_id)
    record_action("session.end", "session", session_id, f"Ended sign-in session #{session_id}")
    if session_id == current_user.session_id:
        sign_out_here()
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.sessions"))


def format_time(at: float | None) -> str:
    """Format a timestamp as UTC date and time, or a dash."""
    if at is None:
        return "—"
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_length(seconds: float) -> str:
    """Format a session length as hours, minutes and seconds."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


@bp.app_template_filter("utc_time")
def _utc_time(at: float | None) -> str:
    return format_time(at)


@bp.app_template_filter("session_length")
def _session_length(seconds: float) -> str:
    return format_length(seconds)

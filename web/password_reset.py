"""Password reset by email: ask for a link, then set a new password with it.

The answer to a request is the same whether or not an account has the
email, so the form cannot be used to find out who has an account. The
link carries a random token; the store keeps only its hash, it expires,
it works once, and using it ends every session of the account.
"""

from __future__ import annotations

import logging
import secrets
import time

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue

from .auth import sign_out_here
from .background_mail import send_later
from .context import store, web_state
from .passwords import hash_password
from .sessions import hash_token
from .signup import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, email_errors

logger = logging.getLogger(__name__)

bp = Blueprint("password_reset", __name__, url_prefix="/password")

HOUR_S = 3600.0


def init_password_reset(app: Flask) -> None:
    """Register the reset views."""
    app.register_blueprint(bp)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> ResponseReturnValue:
    """Show the request form, or email a reset link if an account has the address."""
    if request.method == "GET":
        return render_template("password_forgot.html", email="", error=None, sent=False)
    email = request.form.get("email", "").strip()
    if email_errors(email):
        return render_template("password_forgot.html", email=email, sent=False,
                               error="Enter a valid email address."), 400
    ip, now = request.remote_addr or "unknown", time.time()
    limits = web_state().settings.password_reset
    by_email, by_ip = store().password_reset_requests(email, ip, now - HOUR_S)
    # Counted for every address, known or not, so a refusal tells nothing either.
    if by_email >= limits.max_per_email_per_hour or by_ip >= limits.max_per_ip_per_hour:
        logger.warning("password reset for %r from %s refused: too many requests", email, ip)
        return render_template(
            "password_forgot.html", email=email, sent=False,
            error="Too many reset requests for this address or network. Try again in an hour."
        ), 429, {"Retry-After": str(int(HOUR_S))}
    store().record_password_reset_request(email, ip, now)
    user = store().user_by_email(email)
    if user is not None:
        token = secrets.token_urlsafe(32)
        store().add_password_reset_token(user.id, hash_token(token), now,
                                         now + limits.link_lifetime_s)
        _send_link(user.id, user.email, token, limits.link_lifetime_s)
    else:
        logger.info("password reset asked for an unknown email from %s", ip)
    return render_template("password_forgot.html", email="", error=None, sent=True)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> ResponseReturnValue:
    """Show the new-password form for a live link, or set the password and end every session."""
    now = time.time()
    if store().password_reset_user(hash_token(token), now) is None:
        return _page("password_reset.html", status=410, invalid=True)
    if request.method == "GET":
        return _page("password_reset.html", token=token)
    password = request.form.get("password", "")
    error = _password_error(password, request.form.get("password_again", ""))
    if error:
        return _page("password_reset.html", status=400, token=token, error=error)
    user_id = store().reset_password(hash_token(token), hash_password(password), now)
    if user_id is None:  # used by a concurrent request a moment ago
        return _page("password_reset.html", status=410, invalid=True)
    logger.info("user %d reset their password from %s; every session ended", user_id,
                request.remote_addr)
    sign_out_here()
    return _page("password_reset.html", done=True)


def _password_error(password: str, again: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must be at most {MAX_PASSWORD_LENGTH} characters long."
    if password != again:
        return "The two passwords differ."
    return None


def _page(template: str, status: int = 200, **context: object) -> ResponseReturnValue:
    defaults = {"token": None, "error": None, "invalid": False, "done": False,
                "min_password_length": MIN_PASSWORD_LENGTH}
    # The token is in this page's address: never send it on as a Referer, never cache it.
    return render_template(template, **{**defaults, **context}), status, {
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _send_link(user_id: int, email: str, token: str, lifetime_s: float) -> None:
    """Mail the link from a background thread: the answer must not wait for (or time) SMTP."""
    settings = web_state().settings
    link = f"{settings.link_base_url}/password/reset/{token}"
    minutes = max(1, round(lifetime_s / 60))
    body = (f"Someone, hopefully you, asked to reset the password of your Printfleet account.\n\n"
            f"Set a new password here (the link works once, for {minutes} minutes):\n{link}\n\n"
            "Setting it signs you out everywhere. If you did not ask for this, ignore this mail:"
            " your password stays as it is.\n")
    send_later(email, "[Printfleet] Reset your password", body,
               f"password reset link for user {user_id}")

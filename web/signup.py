"""Creating an account: email, password and name; the new user is signed in."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from storage import EmailTaken

from .auth import start_session
from .context import store
from .passwords import hash_password

logger = logging.getLogger(__name__)

bp = Blueprint("signup", __name__)

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase, short enough that hashing stays cheap.
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 100


def email_errors(email: str) -> list[str]:
    """Return what is wrong with an email address (sign-up and profile alike)."""
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or " " in email or len(email) > MAX_EMAIL_LENGTH:
        return ["Enter a valid email address."]
    return []


def name_errors(first_name: str, last_name: str) -> list[str]:
    """Return what is wrong with a first and last name."""
    if not first_name or not last_name:
        return ["Enter your first and last name."]
    if max(len(first_name), len(last_name)) > MAX_NAME_LENGTH:
        return [f"Names must be at most {MAX_NAME_LENGTH} characters long."]
    return []


def signup_errors(email: str, password: str, first_name: str, last_name: str) -> list[str]:
    """Return what is wrong with a sign-up form, in the order of its fields."""
    errors = email_errors(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors.append(f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.")
    return errors + name_errors(first_name, last_name)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    """Show the sign-up form, or create the account and sign it in."""
    if current_user.is_authenticated:
        return redirect(url_for("printers.page"))
    form = {name: request.form.get(name, "").strip()
            for name in ("email", "first_name", "last_name")}
    if request.method == "GET":
        return _form_page(form, [], 200)
    password = request.form.get("password", "")
    errors = signup_errors(form["email"], password, form["first_name"], form["last_name"])
    if errors:
        return _form_page(form, errors, 400)
    try:
        user_id = store().create_user(form["email"], hash_password(password),
                                      form["first_name"], form["last_name"])
    except EmailTaken:
        # Checked by the database's unique index, so two racing sign-ups store one account.
        return _form_page(form, ["An account with this email exists already. Sign in instead."],
                          409)
    user = store().user_by_id(user_id)
    assert user is not None
    logger.info("user %d signed up from %s", user.id, request.remote_addr)
    start_session(user)
    return redirect(url_for("printers.page"))


def _form_page(form: dict[str, str], errors: list[str], status: int) -> ResponseReturnValue:
    return render_template("signup.html", form=form, errors=errors,
                           min_password_length=MIN_PASSWORD_LENGTH), status

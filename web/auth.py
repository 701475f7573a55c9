"""Signing in and out, and who the current user is."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from storage import User

from .context import store, web_state
from .passwords import dummy_hash, verify_password

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class SessionUser(UserMixin):
    """A signed-in user, identified to flask-login by the session's token."""

    def __init__(self, user: User, session_token: str) -> None:
        self.id = user.id
        self.email = user.email
        self.session_token = session_token

    def get_id(self) -> str:
        return self.session_token


@login_manager.user_loader
def load_user(session_token: str) -> SessionUser | None:
    """Return the user of a live session token, or None to treat as signed out."""
    user_id = web_state().sessions.user_id_for(session_token)
    if user_id is None:
        return None
    user = store().user_by_id(user_id)
    return SessionUser(user, session_token) if user else None


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    """Answer API and stream requests with 401 JSON, pages with a redirect to sign in."""
    # EventSource and fetch() cannot follow a redirect to a form usefully.
    if request.path.startswith("/api/") or request.endpoint == "printers.live":
        response = jsonify(error="authentication required")
        response.status_code = 401
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_auth(app: Flask) -> None:
    """Attach flask-login and the sign-in views to the app."""
    login_manager.init_app(app)
    app.register_blueprint(bp)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Send visitors to the printers page."""
    return redirect(url_for("printers.page"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form, or sign in with the submitted email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("printers.page"))
    if request.method == "GET":
        return render_template("login.html", email="", error=None)
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    user = store().user_by_email(email) if email else None
    # Verify even for an unknown email so timing does not reveal which exist.
    valid = verify_password(user.password_hash if user else dummy_hash(), password)
    if user is None or not valid:
        logger.info("failed sign-in for %r from %s", email, request.remote_addr)
        return render_template(
            "login.html", email=email, error="Wrong email or password."), 401
    _start_session(user)
    logger.info("user %d signed in from %s", user.id, request.remote_addr)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session on the server, so its cookie stops working everywhere."""
    if current_user.is_authenticated:
        web_state().sessions.close(current_user.session_token)
        logger.info("user %d signed out", current_user.id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _start_session(user: User) -> None:
    # A fresh session on sign-in: nothing (CSRF token included) set before
    # the user proved who they are carries over (session fixation).
    session.clear()
    token = web_state().sessions.open(user.id)
    login_user(SessionUser(user, token))


def _safe_next(target: str | None) -> str:
    """Return target if it is a path on this site, else the printers page."""
    # "//host" and "/\\host" are read by browsers as other sites.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("printers.page")
    parts = urlsplit(target)
    return url_for("printers.page") if parts.scheme or parts.netloc else target

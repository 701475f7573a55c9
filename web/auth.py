"""Signing in and out, and who the current user is."""

from __future__ import annotations

import logging
import math
import time
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

from storage import User, WebSession

from .context import store
from .live import STREAM_ENDPOINTS
from .login_backoff import WINDOW_S, retry_after
from .passwords import dummy_hash, verify_password
from .sessions import live_session, open_session
from .token_auth import sends_bearer_token

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class SessionUser(UserMixin):
    """A signed-in user, identified to flask-login by the session's token."""

    def __init__(self, user: User, session: WebSession, session_token: str) -> None:
        self.id = user.id
        self.email = user.email
        self.first_name = user.first_name
        self.last_name = user.last_name
        self.session_id = session.id
        self.last_activity_at = session.last_activity_at
        self.session_token = session_token

    def get_id(self) -> str:
        return self.session_token


@login_manager.user_loader
def load_user(session_token: str) -> SessionUser | None:
    """Return the user of a live session token, or None to treat as signed out."""
    if sends_bearer_token():
        return None  # judged by its bearer token alone (web/token_auth.py)
    web_session = live_session(store(), session_token, time.time())
    if web_session is None:
        return None
    user = store().user_by_id(web_session.user_id)
    return SessionUser(user, web_session, session_token) if user else None


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    """Answer API and stream requests with 401 JSON, pages with a redirect to sign in."""
    # EventSource and fetch() cannot follow a redirect to a form usefully.
    if request.path.startswith("/api/") or request.endpoint in STREAM_ENDPOINTS:
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
    ip = request.remote_addr or "unknown"
    now = time.time()
    wait_s = retry_after(store().login_failures(email, ip, now - WINDOW_S), now)
    if wait_s:
        logger.warning("sign-in for %r from %s refused: too many failures", email, ip)
        error = (f"Too many failed sign-ins for this account or network. "
                 f"Try again in {_describe_wait(wait_s)}.")
        return render_template("login.html", email=email, error=error), 429, {
            "Retry-After": str(wait_s)}
    user = store().user_by_email(email) if email else None
    # Verify even for an unknown email so timing does not reveal which exist.
    valid = verify_password(user.password_hash if user else dummy_hash(), password)
    if user is None or not valid:
        store().record_login_failure(email, ip, now)
        logger.info("failed sign-in for %r from %s", email, ip)
        return render_template(
            "login.html", email=email, error="Wrong email or password."), 401
    store().clear_login_failures(email)
    start_session(user)
    logger.info("user %d signed in from %s", user.id, request.remote_addr)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session on the server, so its cookie stops working everywhere."""
    if current_user.is_authenticated:
        store().end_web_session(current_user.session_id, current_user.id, time.time())
        logger.info("user %d signed out", current_user.id)
    sign_out_here()
    return redirect(url_for("auth.login"))


def sign_out_here() -> None:
    """Forget the signed-in user in this browser (the stored session is ended apart)."""
    logout_user()
    session.clear()


def start_session(user: User) -> None:
    """Sign a user in with a fresh stored session."""
    # A fresh session on sign-in: nothing (CSRF token included) set before
    # the user proved who they are carries over (session fixation).
    session.clear()
    now = time.time()
    token = open_session(store(), user.id, request.remote_addr or "unknown",
                         request.user_agent.string, now)
    web_session = live_session(store(), token, now)
    assert web_session is not None
    login_user(SessionUser(user, web_session, token))


def _describe_wait(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _safe_next(target: str | None) -> str:
    """Return target if it is a path on this site, else the printers page."""
    # "//host" and "/\\host" are read by browsers as other sites.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("printers.page")
    parts = urlsplit(target)
    return url_for("printers.page") if parts.scheme or parts.netloc else target

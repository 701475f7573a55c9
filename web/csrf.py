"""A per-session CSRF token checked on every state-changing request."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, request, session

from .token_auth import sends_bearer_token

logger = logging.getLogger(__name__)

FIELD_NAME = "csrf_token"
HEADER_NAME = "X-CSRF-Token"
_SESSION_KEY = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


F = TypeVar("F", bound=Callable)


def csrf_exempt(view: F) -> F:
    """Mark a view that browsers never call with cookies (device endpoints)."""
    view._csrf_exempt = True  # type: ignore[attr-defined]
    return view


def csrf_token() -> str:
    """Return this session's token, creating it on first use."""
    token = session.get(_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def check_csrf() -> None:
    """Abort with 400 unless an unsafe request carries the session's token."""
    if request.method in _SAFE_METHODS:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "_csrf_exempt", False):
        return
    if request.path.startswith("/api/") and sends_bearer_token():
        # An API client signing in by token (web/token_auth.py): no cookie is
        # trusted for it, and a browser never adds this header cross-site.
        return
    expected = session.get(_SESSION_KEY)
    sent = request.form.get(FIELD_NAME) or request.headers.get(HEADER_NAME)
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        logger.warning("rejected %s %s: missing or wrong CSRF token",
                       request.method, request.path)
        abort(400, description="The form has expired or was not sent from this site. "
                               "Reload the page and try again.")


def init_csrf(app: Flask) -> None:
    """Check the token before every view and offer csrf_token() to templates."""
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["csrf_field_name"] = FIELD_NAME

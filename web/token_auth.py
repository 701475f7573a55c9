"""Signing in to the JSON API with a per-user token (Authorization: Bearer pf_…).

A token opens /api/ routes only, never pages. Such a request carries no
cookie a third-party site could ride on, so it needs no CSRF token; a
request that sends a bearer token is judged by that token alone, never by
a session cookie it may also carry.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time

from flask import Flask, Request, request
from flask_login import UserMixin

from storage import User

from .context import store

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "pf_"
# Enough of the token to tell a user's tokens apart, too little to guess it.
SHOWN_CHARACTERS = 10


class TokenUser(UserMixin):
    """A user signed in by an API token: no browser session behind it."""

    session_id = None
    last_activity_at = 0.0

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.email = user.email
        self.first_name = user.first_name
        self.last_name = user.last_name

    def get_id(self) -> str:
        # Never stored in a session: flask-login only asks when logging in.
        raise RuntimeError("a token user is not kept in a browser session")


def new_token() -> tuple[str, str, str]:
    """Return a fresh token, the hash to store and the prefix to show."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token), token[:SHOWN_CHARACTERS]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(req: Request) -> str | None:
    """Return the API token a request carries as its bearer token, or None.

    Only pf_ tokens are API tokens: agents polling for pairing send a bearer
    token of their own (web/pairing.py), which is not a user's.
    """
    scheme, _, value = req.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(TOKEN_PREFIX):
        return None
    return value


def load_token_user(req: Request) -> TokenUser | None:
    """Return the user of a live API token on an /api/ request, or None."""
    token = bearer_token(req)
    if token is None or not req.path.startswith("/api/"):
        return None
    user_id = store().api_token_user(hash_token(token), time.time())
    user = store().user_by_id(user_id) if user_id is not None else None
    if user is None:
        logger.info("refused an API request to %s: unknown or revoked token", req.path)
        return None
    return TokenUser(user)


def sends_bearer_token() -> bool:
    """Tell whether the current request authenticates with a bearer token."""
    return bearer_token(request) is not None


def init_token_auth(app: Flask) -> None:
    """Let flask-login sign in API requests by their bearer token."""
    from .auth import login_manager

    login_manager.request_loader(load_token_user)

"""Server-side sign-in sessions, stored so signing out really ends a session."""

from __future__ import annotations

import hashlib
import secrets

from storage import SyncStore, WebSession

# Flask's session is a signed cookie: clearing it on sign-out does not stop
# a copy of the old cookie from working. The cookie therefore carries only a
# random token, and a token counts only while its stored session is live. The
# store holds the token's hash, so a leaked table signs nobody in; stored,
# sessions outlive a web server restart and hold across web processes.
SESSION_LIFETIME_S = 14 * 24 * 3600


def hash_token(token: str) -> str:
    """Return the stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(store: SyncStore, user_id: int, ip: str, user_agent: str,
                 now: float) -> str:
    """Store a new session for a user and return its token."""
    token = secrets.token_urlsafe(32)
    store.open_web_session(user_id, hash_token(token), ip, user_agent[:512], now)
    return token


def is_live(session: WebSession, now: float) -> bool:
    """Tell whether a session still signs its user in: not ended, not expired."""
    return session.ended_at is None and session.started_at + SESSION_LIFETIME_S > now


def live_session(store: SyncStore, token: str, now: float) -> WebSession | None:
    """Return the live session a token belongs to, or None."""
    session = store.web_session_by_token(hash_token(token))
    return session if session is not None and is_live(session, now) else None

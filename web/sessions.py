"""Server-side sign-in sessions, so signing out really ends a session."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

# Flask's session is a signed cookie: clearing it on sign-out does not stop
# a copy of the old cookie from working. The cookie therefore carries only a
# random token, and a token counts only while it is registered here.
SESSION_LIFETIME_S = 14 * 24 * 3600


class SessionRegistry:
    """Live sign-in tokens and the user each belongs to, kept in process memory.

    Held in memory because storage/ has no session table yet: a restart of
    the web server signs everyone out, which fails safe.
    """

    def __init__(self, lifetime_s: float = SESSION_LIFETIME_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._lifetime_s = lifetime_s
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[int, float]] = {}

    def open(self, user_id: int) -> str:
        """Register a new session for a user and return its token."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._drop_expired(now)
            self._sessions[token] = (user_id, now + self._lifetime_s)
        return token

    def user_id_for(self, token: str) -> int | None:
        """Return the user a live token belongs to, or None."""
        with self._lock:
            entry = self._sessions.get(token)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def close(self, token: str) -> None:
        """Forget a token; its cookie no longer signs anyone in."""
        with self._lock:
            self._sessions.pop(token, None)

    def _drop_expired(self, now: float) -> None:
        expired = [token for token, (_, until) in self._sessions.items() if until <= now]
        for token in expired:
            del self._sessions[token]

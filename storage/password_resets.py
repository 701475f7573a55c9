"""Password reset by email: tokens (kept as hashes), requests for the limits, the reset itself."""

from __future__ import annotations

from typing import Protocol

from .shared_sql import SharedQueries

# Requests older than this are of no use to the limits.
REQUEST_MEMORY_S = 24 * 3600


class PasswordResetStore(Protocol):
    def record_password_reset_request(self, email: str, ip: str, now: float) -> None:
        """Log a reset request (known email or not); forget ones older than a day."""
        ...

    def password_reset_requests(self, email: str, ip: str, since: float) -> tuple[int, int]:
        """How many reset requests since `since`: (for this email, from this IP)."""
        ...

    def add_password_reset_token(self, user_id: int, token_hash: str, now: float,
                                 expires_at: float) -> None: ...

    def password_reset_user(self, token_hash: str, now: float) -> int | None:
        """The user an unused, unexpired reset token is for, or None."""
        ...

    def reset_password(self, token_hash: str, password_hash: str, now: float) -> int | None:
        """Use a token: set the password, end every session, void the user's other tokens.

        Returns the user's id, or None (and changes nothing) for a token that
        is unknown, used or expired. One transaction, so a token works once.
        """
        ...


class PasswordResetQueries(SharedQueries):
    """Password reset queries, on whichever store this is mixed into."""

    def record_password_reset_request(self, email: str, ip: str, now: float) -> None:
        with self._sql_tx() as tx:
            tx.run("DELETE FROM password_reset_requests WHERE at < ?", (now - REQUEST_MEMORY_S,))
            tx.run("INSERT INTO password_reset_requests (email, ip, at) VALUES (?, ?, ?)",
                   (email.lower(), ip, now))

    def password_reset_requests(self, email: str, ip: str, since: float) -> tuple[int, int]:
        rows = self._run(
            "SELECT COALESCE(SUM(CASE WHEN email = ? THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN ip = ? THEN 1 ELSE 0 END), 0) FROM password_reset_requests "
            "WHERE (email = ? OR ip = ?) AND at > ?",
            (email.lower(), ip, email.lower(), ip, since))
        return int(rows[0][0]), int(rows[0][1])

    def add_password_reset_token(self, user_id: int, token_hash: str, now: float,
                                 expires_at: float) -> None:
        self._run("INSERT INTO password_reset_tokens (user_id, token_hash, created_at, "
                  "expires_at) VALUES (?, ?, ?, ?)", (user_id, token_hash, now, expires_at))

    def password_reset_user(self, token_hash: str, now: float) -> int | None:
        rows = self._run("SELECT user_id FROM password_reset_tokens WHERE token_hash = ? "
                         "AND used_at IS NULL AND expires_at > ?", (token_hash, now))
        return int(rows[0][0]) if rows else None

    def reset_password(self, token_hash: str, password_hash: str, now: float) -> int | None:
        with self._sql_tx() as tx:
            rows, _ = tx.run("UPDATE password_reset_tokens SET used_at = ? WHERE token_hash = ? "
                             "AND used_at IS NULL AND expires_at > ? RETURNING user_id",
                             (now, token_hash, now))
            if not rows:
                return None
            user_id = int(rows[0][0])
            tx.run("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            tx.run("UPDATE password_reset_tokens SET used_at = ? WHERE user_id = ? "
                   "AND used_at IS NULL", (now, user_id))
            tx.run("UPDATE web_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
                   (now, user_id))
            # The guesses that may have prompted the reset no longer lock the owner out.
            tx.run("DELETE FROM login_failures WHERE email = (SELECT lower(email) FROM users "
                   "WHERE id = ?)", (user_id,))
        return user_id

"""Per-user API tokens: the records and the queries both backends share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .shared_sql import SharedQueries

# last_used_at moves at most this often, so a busy script does not write on
# every request.
LAST_USED_RESOLUTION_S = 60.0
_COLUMNS = "id, user_id, name, token_prefix, created_at, last_used_at, revoked_at"


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    token_prefix: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


class ApiTokenStore(Protocol):
    def create_api_token(self, user_id: int, name: str, token_hash: str, token_prefix: str,
                         now: float) -> ApiToken:
        """Record a new token (only its hash) for the user."""
        ...

    def api_tokens_for_user(self, user_id: int) -> list[ApiToken]:
        """Return the user's tokens, newest first, revoked ones included."""
        ...

    def api_token_user(self, token_hash: str, now: float) -> int | None:
        """Return the user id of a live token (and note its use), or None."""
        ...

    def revoke_api_token(self, user_id: int, token_id: int, now: float) -> bool:
        """Revoke one of the user's live tokens; False when there is no such token."""
        ...


class ApiTokenQueries(SharedQueries):
    """API tokens, on whichever store this is mixed into."""

    def create_api_token(self, user_id: int, name: str, token_hash: str, token_prefix: str,
                         now: float) -> ApiToken:
        with self._sql_tx() as tx:
            rows, _ = tx.run(
                "INSERT INTO api_tokens (user_id, name, token_hash, token_prefix, created_at) "
                f"VALUES (?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (user_id, name, token_hash, token_prefix, now))
        return ApiToken(*rows[0])

    def api_tokens_for_user(self, user_id: int) -> list[ApiToken]:
        rows = self._run(f"SELECT {_COLUMNS} FROM api_tokens WHERE user_id = ? "
                         "ORDER BY created_at DESC, id DESC", (user_id,))
        return [ApiToken(*row) for row in rows]

    def api_token_user(self, token_hash: str, now: float) -> int | None:
        with self._sql_tx() as tx:
            rows, _ = tx.run("SELECT id, user_id, last_used_at FROM api_tokens "
                             "WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,))
            if not rows:
                return None
            token_id, user_id, last_used_at = rows[0]
            if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION_S:
                tx.run("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, token_id))
        return int(user_id)

    def revoke_api_token(self, user_id: int, token_id: int, now: float) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE api_tokens SET revoked_at = ? WHERE id = ? "
                              "AND user_id = ? AND revoked_at IS NULL", (now, token_id, user_id))
        return count == 1

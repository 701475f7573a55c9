"""Web sign-in sessions and failed sign-ins in the PostgreSQL sync store (a mixin)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ..interface import LoginFailures, PageView, WebSession

# Failed sign-ins older than this are of no use to the back-off.
LOGIN_FAILURE_MEMORY_S = 24 * 3600

_SESSION = """SELECT s.id, s.user_id, s.ip, s.user_agent, s.started_at, s.last_activity_at,
    s.ended_at, (SELECT COUNT(*) FROM page_views v WHERE v.session_id = s.id)
    AS page_view_count FROM web_sessions s WHERE {where}"""


class WebSessionQueries:
    """Needs `_transaction()`, `_rows()` and `_dicts()` from the store it is mixed into."""

    def _transaction(self) -> AbstractContextManager[psycopg.Connection]:
        raise NotImplementedError

    def _rows(self, query: str, params: tuple) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _dicts(self, query: str, params: tuple) -> list[dict[str, Any]]:
        raise NotImplementedError

    def open_web_session(self, user_id: int, token_hash: str, ip: str, user_agent: str,
                         now: float) -> int:
        with self._transaction() as tx:
            row = tx.execute(
                "INSERT INTO web_sessions (user_id, token_hash, ip, user_agent, started_at, "
                "last_activity_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (user_id, token_hash, ip, user_agent, now, now)).fetchone()
        assert row is not None
        return int(row[0])

    def web_session_by_token(self, token_hash: str) -> WebSession | None:
        rows = self._dicts(_SESSION.format(where="s.token_hash = %s"), (token_hash,))
        return WebSession(**rows[0]) if rows else None

    def record_web_activity(self, session_id: int, now: float, path: str | None) -> None:
        with self._transaction() as tx:
            tx.execute("UPDATE web_sessions SET last_activity_at = GREATEST(last_activity_at, %s) "
                       "WHERE id = %s", (now, session_id))
            if path is not None:
                tx.execute("INSERT INTO page_views (session_id, path, at) VALUES (%s, %s, %s)",
                           (session_id, path, now))

    def end_web_session(self, session_id: int, user_id: int, now: float) -> bool:
        with self._transaction() as tx:
            cursor = tx.execute(
                "UPDATE web_sessions SET ended_at = COALESCE(ended_at, %s) "
                "WHERE id = %s AND user_id = %s", (now, session_id, user_id))
            return cursor.rowcount == 1

    def web_sessions_for_user(self, user_id: int) -> list[WebSession]:
        rows = self._dicts(
            _SESSION.format(where="s.user_id = %s ORDER BY s.started_at DESC, s.id DESC"),
            (user_id,))
        return [WebSession(**row) for row in rows]

    def page_views(self, session_id: int, user_id: int) -> list[PageView]:
        rows = self._rows(
            "SELECT v.path, v.at FROM page_views v JOIN web_sessions s ON s.id = v.session_id "
            "WHERE v.session_id = %s AND s.user_id = %s ORDER BY v.at, v.id",
            (session_id, user_id))
        return [PageView(row[0], row[1]) for row in rows]

    def record_login_failure(self, email: str, ip: str, now: float) -> None:
        with self._transaction() as tx:
            tx.execute("DELETE FROM login_failures WHERE at < %s",
                       (now - LOGIN_FAILURE_MEMORY_S,))
            tx.execute("INSERT INTO login_failures (email, ip, at) VALUES (%s, %s, %s)",
                       (email.lower(), ip, now))

    def login_failures(self, email: str, ip: str, since: float) -> LoginFailures:
        rows = self._rows(
            "SELECT COUNT(*) FILTER (WHERE email = %s), COUNT(*) FILTER (WHERE ip = %s), "
            "MAX(at) FROM login_failures WHERE (email = %s OR ip = %s) AND at > %s",
            (email.lower(), ip, email.lower(), ip, since))
        by_email, by_ip, last_at = rows[0]
        return LoginFailures(int(by_email), int(by_ip), last_at)

    def clear_login_failures(self, email: str) -> None:
        with self._transaction() as tx:
            tx.execute("DELETE FROM login_failures WHERE email = %s", (email.lower(),))

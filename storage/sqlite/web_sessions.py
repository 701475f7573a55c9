"""Web sign-in sessions and failed sign-ins in the SQLite sync store (a mixin)."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager

from ..interface import LoginFailures, PageView, WebSession

# Failed sign-ins older than this are of no use to the back-off.
LOGIN_FAILURE_MEMORY_S = 24 * 3600

_SESSION = """SELECT s.id, s.user_id, s.ip, s.user_agent, s.started_at, s.last_activity_at,
    s.ended_at, (SELECT COUNT(*) FROM page_views v WHERE v.session_id = s.id)
    AS page_view_count FROM web_sessions s WHERE {where}"""


class WebSessionQueries:
    """Needs `_conn()` and `_transaction()` from the store it is mixed into."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def open_web_session(self, user_id: int, token_hash: str, ip: str, user_agent: str,
                         now: float) -> int:
        with self._transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO web_sessions (user_id, token_hash, ip, user_agent, started_at, "
                "last_activity_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, token_hash, ip, user_agent, now, now))
        return int(cursor.lastrowid or 0)

    def web_session_by_token(self, token_hash: str) -> WebSession | None:
        row = self._conn().execute(_SESSION.format(where="s.token_hash = ?"),
                                   (token_hash,)).fetchone()
        return WebSession(**dict(row)) if row else None

    def record_web_activity(self, session_id: int, now: float, path: str | None) -> None:
        with self._transaction() as tx:
            tx.execute("UPDATE web_sessions SET last_activity_at = MAX(last_activity_at, ?) "
                       "WHERE id = ?", (now, session_id))
            if path is not None:
                tx.execute("INSERT INTO page_views (session_id, path, at) VALUES (?, ?, ?)",
                           (session_id, path, now))

    def end_web_session(self, session_id: int, user_id: int, now: float) -> bool:
        with self._transaction() as tx:
            cursor = tx.execute(
                "UPDATE web_sessions SET ended_at = COALESCE(ended_at, ?) "
                "WHERE id = ? AND user_id = ?", (now, session_id, user_id))
        return cursor.rowcount == 1

    def web_sessions_for_user(self, user_id: int) -> list[WebSession]:
        rows = self._conn().execute(
            _SESSION.format(where="s.user_id = ? ORDER BY s.started_at DESC, s.id DESC"),
            (user_id,))
        return [WebSession(**dict(row)) for row in rows]

    def page_views(self, session_id: int, user_id: int) -> list[PageView]:
        rows = self._conn().execute(
            "SELECT v.path, v.at FROM page_views v JOIN web_sessions s ON s.id = v.session_id "
            "WHERE v.session_id = ? AND s.user_id = ? ORDER BY v.at, v.id",
            (session_id, user_id))
        return [PageView(row[0], row[1]) for row in rows]

    def record_login_failure(self, email: str, ip: str, now: float) -> None:
        with self._transaction() as tx:
            tx.execute("DELETE FROM login_failures WHERE at < ?", (now - LOGIN_FAILURE_MEMORY_S,))
            tx.execute("INSERT INTO login_failures (email, ip, at) VALUES (?, ?, ?)",
                       (email.lower(), ip, now))

    def login_failures(self, email: str, ip: str, since: float) -> LoginFailures:
        row = self._conn().execute(
            "SELECT COALESCE(SUM(email = ?), 0), COALESCE(SUM(ip = ?), 0), MAX(at) "
            "FROM login_failures WHERE (email = ? OR ip = ?) AND at > ?",
            (email.lower(), ip, email.lower(), ip, since)).fetchone()
        return LoginFailures(int(row[0]), int(row[1]), row[2])

    def clear_login_failures(self, email: str) -> None:
        with self._transaction() as tx:
            tx.execute("DELETE FROM login_failures WHERE email = ?", (email.lower(),))

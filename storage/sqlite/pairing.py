"""Pairing queries of the SQLite sync store (a mixin over its connection helpers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager

from ..interface import PendingDevice

_COLUMNS = ("id, device_id, public_ip, hostname, agent_version, created_at, expires_at, "
            "claimed_by, credentials_json, collected_at")


class PairingQueries:
    """Needs `_conn()` and `_transaction()` from the store it is mixed into."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def add_pending_device(self, device_id: str, code_hash: str, poll_token_hash: str,
                           public_ip: str, hostname: str, agent_version: str, now: float,
                           expires_at: float) -> None:
        with self._transaction() as tx:
            tx.execute("INSERT INTO pending_devices (device_id, code_hash, poll_token_hash, "
                       "public_ip, hostname, agent_version, created_at, expires_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (device_id, code_hash, poll_token_hash, public_ip, hostname,
                        agent_version, now, expires_at))

    def pending_by_token(self, poll_token_hash: str) -> PendingDevice | None:
        return self._one("poll_token_hash = ?", (poll_token_hash,))

    def pending_by_code(self, code_hash: str, now: float) -> PendingDevice | None:
        return self._one("code_hash = ? AND claimed_by IS NULL AND expires_at > ?",
                         (code_hash, now))

    def pending_from_ip(self, public_ip: str, now: float) -> list[PendingDevice]:
        return list(self._many("public_ip = ? AND claimed_by IS NULL AND expires_at > ? "
                               "ORDER BY created_at", (public_ip, now)))

    def count_pending_from_ip(self, public_ip: str, since: float) -> int:
        row = self._conn().execute("SELECT COUNT(*) FROM pending_devices WHERE public_ip = ? "
                                   "AND created_at > ?", (public_ip, since)).fetchone()
        return int(row[0])

    def claim_pending(self, pending_id: int, user_id: int, now: float) -> bool:
        with self._transaction() as tx:
            cursor = tx.execute("UPDATE pending_devices SET claimed_by = ?, claimed_at = ? "
                                "WHERE id = ? AND claimed_by IS NULL", (user_id, now, pending_id))
        return cursor.rowcount == 1

    def park_pending_credentials(self, pending_id: int, credentials_json: str) -> None:
        with self._transaction() as tx:
            tx.execute("UPDATE pending_devices SET credentials_json = ? WHERE id = ?",
                       (credentials_json, pending_id))

    def take_pending_credentials(self, pending_id: int, now: float) -> str | None:
        with self._transaction() as tx:
            row = tx.execute("SELECT credentials_json FROM pending_devices WHERE id = ? AND "
                             "credentials_json IS NOT NULL", (pending_id,)).fetchone()
            if row is None:
                return None
            tx.execute("UPDATE pending_devices SET credentials_json = NULL, collected_at = ? "
                       "WHERE id = ?", (now, pending_id))
        return str(row[0])

    def record_pairing_failure(self, user_id: int, now: float) -> None:
        with self._transaction() as tx:
            tx.execute("INSERT INTO pairing_failures (user_id, at) VALUES (?, ?)", (user_id, now))

    def count_pairing_failures(self, user_id: int, since: float) -> int:
        row = self._conn().execute("SELECT COUNT(*) FROM pairing_failures WHERE user_id = ? "
                                   "AND at > ?", (user_id, since)).fetchone()
        return int(row[0])

    def delete_expired_pending(self, now: float) -> int:
        with self._transaction() as tx:
            cursor = tx.execute("DELETE FROM pending_devices WHERE expires_at < ? AND "
                                "credentials_json IS NULL", (now,))
        return cursor.rowcount

    def _one(self, where: str, args: tuple) -> PendingDevice | None:
        return next(self._many(where + " LIMIT 1", args), None)

    def _many(self, where: str, args: tuple) -> Iterator[PendingDevice]:
        rows = self._conn().execute(f"SELECT {_COLUMNS} FROM pending_devices WHERE {where}", args)
        for row in rows:
            yield PendingDevice(*row)

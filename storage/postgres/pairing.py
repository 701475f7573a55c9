"""Pairing queries of the PostgreSQL sync store (a mixin over its connection helpers)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ..interface import PendingDevice

_COLUMNS = ("id, device_id, public_ip, hostname, agent_version, created_at, expires_at, "
            "claimed_by, credentials_json, collected_at")

# One statement, so two collectors racing get the credentials once: the
# second waits on the row lock, then finds credentials_json already NULL.
_TAKE_CREDENTIALS = """WITH parked AS (
    SELECT id, credentials_json FROM pending_devices
    WHERE id = %s AND credentials_json IS NOT NULL FOR UPDATE)
UPDATE pending_devices p SET credentials_json = NULL, collected_at = %s
FROM parked WHERE p.id = parked.id RETURNING parked.credentials_json"""


class PairingQueries:
    """Needs `_transaction()` and `_rows()` from the store it is mixed into."""

    def _transaction(self) -> AbstractContextManager[psycopg.Connection]:
        raise NotImplementedError

    def _rows(self, query: str, params: tuple) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def add_pending_device(self, device_id: str, code_hash: str, poll_token_hash: str,
                           public_ip: str, hostname: str, agent_version: str, now: float,
                           expires_at: float) -> None:
        with self._transaction() as tx:
            tx.execute("INSERT INTO pending_devices (device_id, code_hash, poll_token_hash, "
                       "public_ip, hostname, agent_version, created_at, expires_at) "
                       "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                       (device_id, code_hash, poll_token_hash, public_ip, hostname,
                        agent_version, now, expires_at))

    def pending_by_token(self, poll_token_hash: str) -> PendingDevice | None:
        return self._one("poll_token_hash = %s", (poll_token_hash,))

    def pending_by_code(self, code_hash: str, now: float) -> PendingDevice | None:
        return self._one("code_hash = %s AND claimed_by IS NULL AND expires_at > %s",
                         (code_hash, now))

    def pending_from_ip(self, public_ip: str, now: float) -> list[PendingDevice]:
        return self._many("public_ip = %s AND claimed_by IS NULL AND expires_at > %s "
                          "ORDER BY created_at", (public_ip, now))

    def count_pending_from_ip(self, public_ip: str, since: float) -> int:
        rows = self._rows("SELECT COUNT(*) FROM pending_devices WHERE public_ip = %s "
                          "AND created_at > %s", (public_ip, since))
        return int(rows[0][0])

    def claim_pending(self, pending_id: int, user_id: int, now: float) -> bool:
        with self._transaction() as tx:
            cursor = tx.execute("UPDATE pending_devices SET claimed_by = %s, claimed_at = %s "
                                "WHERE id = %s AND claimed_by IS NULL", (user_id, now, pending_id))
            return cursor.rowcount == 1

    def park_pending_credentials(self, pending_id: int, credentials_json: str) -> None:
        with self._transaction() as tx:
            tx.execute("UPDATE pending_devices SET credentials_json = %s WHERE id = %s",
                       (credentials_json, pending_id))

    def take_pending_credentials(self, pending_id: int, now: float) -> str | None:
        with self._transaction() as tx:
            row = tx.execute(_TAKE_CREDENTIALS, (pending_id, now)).fetchone()
        return None if row is None else str(row[0])

    def record_pairing_failure(self, user_id: int, now: float) -> None:
        with self._transaction() as tx:
            tx.execute("INSERT INTO pairing_failures (user_id, at) VALUES (%s, %s)",
                       (user_id, now))

    def count_pairing_failures(self, user_id: int, since: float) -> int:
        rows = self._rows("SELECT COUNT(*) FROM pairing_failures WHERE user_id = %s "
                          "AND at > %s", (user_id, since))
        return int(rows[0][0])

    def delete_expired_pending(self, now: float) -> int:
        with self._transaction() as tx:
            cursor = tx.execute("DELETE FROM pending_devices WHERE expires_at < %s AND "
                                "credentials_json IS NULL", (now,))
            return cursor.rowcount

    def _one(self, where: str, args: tuple) -> PendingDevice | None:
        found = self._many(where + " LIMIT 1", args)
        return found[0] if found else None

    def _many(self, where: str, args: tuple) -> list[PendingDevice]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM pending_devices WHERE {where}", args)
        return [PendingDevice(*row) for row in rows]

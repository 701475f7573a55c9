"""Commands issued from Printfleet, on PostgreSQL (a mixin over the sync store's helpers)."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ..interface import CommandNotRecorded, IssuedCommand

_COLUMNS = "transaction_id, device_id, user_id, kind, args_json, issued_at, expires_at"

# Only commands sent to the same device: a device cannot claim another's command.
_ISSUERS = """SELECT c.transaction_id, c.user_id FROM device_commands c
    WHERE c.device_id = %s AND c.transaction_id IN (
        SELECT command_transaction FROM job_events WHERE device_id = %s)"""


class CommandQueries:
    """Needs `_transaction()` and `_rows()` from the store it is mixed into."""

    def _transaction(self) -> AbstractContextManager[psycopg.Connection]:
        raise NotImplementedError

    def _rows(self, query: str, params: tuple) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def record_command(self, command: IssuedCommand) -> None:
        try:
            with self._transaction() as tx:
                tx.execute(f"INSERT INTO device_commands ({_COLUMNS}) "
                           "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                           (command.transaction_id, command.device_id, command.user_id,
                            command.kind, json.dumps(command.args, sort_keys=True),
                            command.issued_at, command.expires_at))
        except psycopg.errors.IntegrityError as error:
            raise CommandNotRecorded(command, str(error).splitlines()[0]) from error

    def issued_command(self, transaction_id: str) -> IssuedCommand | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM device_commands WHERE transaction_id = %s",
                          (transaction_id,))
        if not rows:
            return None
        transaction, device_id, user_id, kind, args_json, issued_at, expires_at = rows[0]
        return IssuedCommand(transaction, device_id, user_id, kind, json.loads(args_json),
                             issued_at, expires_at)

    def command_issuers(self, device_id: str) -> dict[str, int | None]:
        rows = self._rows(_ISSUERS, (device_id, device_id))
        return {row[0]: row[1] for row in rows}

"""Commands issued from Printfleet, on SQLite (a mixin over the sync store's connection)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager

from ..interface import CommandNotRecorded, IssuedCommand

_COLUMNS = "transaction_id, device_id, user_id, kind, args_json, issued_at, expires_at"

# Only commands sent to the same device: a device cannot claim another's command.
_ISSUERS = """SELECT c.transaction_id, c.user_id FROM device_commands c
    WHERE c.device_id = ? AND c.transaction_id IN (
        SELECT command_transaction FROM job_events WHERE device_id = ?)"""


class CommandQueries:
    """Needs `_transaction()` and `_conn()` from the store it is mixed into."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def record_command(self, command: IssuedCommand) -> None:
        try:
            with self._transaction() as tx:
                tx.execute(f"INSERT INTO device_commands ({_COLUMNS}) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (command.transaction_id, command.device_id, command.user_id,
                            command.kind, json.dumps(command.args, sort_keys=True),
                            command.issued_at, command.expires_at))
        except sqlite3.IntegrityError as error:
            raise CommandNotRecorded(command, str(error)) from error

    def issued_command(self, transaction_id: str) -> IssuedCommand | None:
        row = self._conn().execute(f"SELECT {_COLUMNS} FROM device_commands "
                                   "WHERE transaction_id = ?", (transaction_id,)).fetchone()
        if row is None:
            return None
        values = dict(row)
        values["args"] = json.loads(values.pop("args_json"))
        return IssuedCommand(**values)

    def command_issuers(self, device_id: str) -> dict[str, int | None]:
        rows = self._conn().execute(_ISSUERS, (device_id, device_id))
        return {row[0]: row[1] for row in rows}

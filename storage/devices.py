"""Printer registry edits users make (rename), shared by both backends."""

from __future__ import annotations

from typing import Protocol

from .shared_sql import SharedQueries

MAX_PRINTER_NAME_LENGTH = 64


class DeviceEditStore(Protocol):
    def rename_device(self, device_id: str, name: str) -> bool:
        """Rename an active device; False when there is none."""
        ...


class DeviceEditQueries(SharedQueries):
    """Renaming printers, on whichever store this is mixed into."""

    def rename_device(self, device_id: str, name: str) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE devices SET name = ? WHERE device_id = ? "
                              "AND revoked_at IS NULL", (name, device_id))
        return count == 1

"""An organisation's action log as its admins see it, and the store side of undoing its actions.

Written once with ``?`` placeholders (see shared_sql.py). Every query is
scoped by the organisation's id: an action of another organisation, or a
member's personal action (org_id NULL), is never found here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .actions import MAX_PAGE, LoggedAction
from .shared_sql import SharedQueries

_ACTION_COLUMNS = ("a.id, a.at, a.user_id, a.org_id, a.ip, a.country, a.region, a.city, a.kind, "
                   "a.target_type, a.target_id, a.summary, a.undo_json, a.undone_at, a.undone_by")
_IS_MEMBER = "EXISTS (SELECT 1 FROM org_members WHERE org_id = ? AND user_id = ?)"


@dataclass(frozen=True, slots=True)
class OrgLogEntry:
    """One action of an organisation's log, with who took it."""

    action: LoggedAction
    email: str
    first_name: str
    last_name: str

    @property
    def who(self) -> str:
        """The member's full name, or their email when they gave none."""
        return f"{self.first_name} {self.last_name}".strip() or self.email


class OrgActionStore(Protocol):
    """The organisation log's part of the SyncStore interface."""

    def org_log(self, org_id: int, limit: int = 50,
                before_id: int | None = None) -> list[OrgLogEntry]:
        """Every action taken in the organisation, newest first, with who took it."""
        ...

    def org_action(self, org_id: int, action_id: int) -> LoggedAction | None:
        """One action taken in the organisation; None if it is another's, personal, or unknown."""
        ...

    def mark_org_action_undone(self, org_id: int, action_id: int, undone_by: int,
                               now: float) -> bool:
        """Mark an undoable action of the organisation undone; False if it was already, or is none."""
        ...

    def return_printer_to_user(self, org_id: int, device_id: str, user_id: int) -> bool:
        """Give an organisation's printer back to a member (undoing their moving it in)."""
        ...

    def return_printer_to_org(self, org_id: int, device_id: str, user_id: int) -> bool:
        """Put a user's own printer back into the organisation (undoing their taking it out)."""
        ...


class OrgActionQueries(SharedQueries):
    """The organisation log, on whichever store this is mixed into."""

    def org_log(self, org_id: int, limit: int = 50,
                before_id: int | None = None) -> list[OrgLogEntry]:
        # Ids grow with time, so paging by id is stable while new actions arrive.
        limit = max(1, min(limit, MAX_PAGE))
        before = "" if before_id is None else " AND a.id < ?"
        params: tuple = (org_id,) if before_id is None else (org_id, before_id)
        rows = self._run(f"SELECT {_ACTION_COLUMNS}, u.email, u.first_name, u.last_name "
                         "FROM actions a JOIN users u ON u.id = a.user_id "
                         f"WHERE a.org_id = ?{before} ORDER BY a.id DESC LIMIT {limit}", params)
        return [OrgLogEntry(LoggedAction(*row[:-3]), *row[-3:]) for row in rows]

    def org_action(self, org_id: int, action_id: int) -> LoggedAction | None:
        rows = self._run(f"SELECT {_ACTION_COLUMNS} FROM actions a WHERE a.id = ? AND a.org_id = ?",
                         (action_id, org_id))
        return LoggedAction(*rows[0]) if rows else None

    def mark_org_action_undone(self, org_id: int, action_id: int, undone_by: int,
                               now: float) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE actions SET undone_at = ?, undone_by = ? WHERE id = ? "
                              "AND org_id = ? AND undo_json IS NOT NULL AND undone_at IS NULL",
                              (now, undone_by, action_id, org_id))
        return count == 1

    def return_printer_to_user(self, org_id: int, device_id: str, user_id: int) -> bool:
        # Only to someone still a member: a printer never goes to a stranger.
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE devices SET owner_user_id = ?, owner_org_id = NULL "
                              "WHERE device_id = ? AND owner_org_id = ? AND revoked_at IS NULL "
                              f"AND {_IS_MEMBER}", (user_id, device_id, org_id, org_id, user_id))
        return count == 1

    def return_printer_to_org(self, org_id: int, device_id: str, user_id: int) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE devices SET owner_org_id = ?, owner_user_id = NULL "
                              "WHERE device_id = ? AND owner_user_id = ? AND owner_org_id IS NULL "
                              "AND revoked_at IS NULL", (org_id, device_id, user_id))
        return count == 1

"""The action log: what users did, from where, and how to undo it; queries for both backends.

Written once with ``?`` placeholders and run through ``_sql_tx`` (see
shared_sql.py). Places are coarse by design: country, region and city,
never coordinates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from .shared_sql import SharedQueries

MAX_PAGE = 500
_COLUMNS = ("id, at, user_id, org_id, ip, country, region, city, kind, target_type, "
            "target_id, summary, undo_json, undone_at, undone_by")


@dataclass(frozen=True, slots=True)
class ActionDraft:
    """An action about to be logged."""

    at: float
    user_id: int
    org_id: int | None
    ip: str
    country: str | None
    region: str | None
    city: str | None
    kind: str  # e.g. file.delete, profile.update, printer.add
    target_type: str  # e.g. file, folder, user, printer, session
    target_id: str
    summary: str
    undo: dict[str, Any] | None = None  # what reverses it; None: nothing can


@dataclass(frozen=True, slots=True)
class LoggedAction:
    """One entry of the action log."""

    id: int
    at: float
    user_id: int
    org_id: int | None
    ip: str
    country: str | None
    region: str | None
    city: str | None
    kind: str
    target_type: str
    target_id: str
    summary: str
    undo_json: str | None
    undone_at: float | None
    undone_by: int | None

    @property
    def undo(self) -> dict[str, Any] | None:
        return json.loads(self.undo_json) if self.undo_json is not None else None

    @property
    def can_undo(self) -> bool:
        return self.undo_json is not None and self.undone_at is None

    @property
    def place(self) -> str:
        """City, region, country as far as known; empty when unknown."""
        return ", ".join(part for part in (self.city, self.region, self.country) if part)


class ActionStore(Protocol):
    """The action log's part of the SyncStore interface."""

    def record_action(self, draft: ActionDraft) -> LoggedAction:
        """Append an action to the log."""
        ...

    def actions_for_user(self, user_id: int, limit: int = 50,
                         before_id: int | None = None) -> list[LoggedAction]:
        """The user's actions, newest first; a page ends before `before_id` when given."""
        ...

    def actions_for_org(self, org_id: int, limit: int = 50,
                        before_id: int | None = None) -> list[LoggedAction]:
        """Every member's actions in an organisation, newest first (for its admins)."""
        ...

    def action_for_user(self, user_id: int, action_id: int) -> LoggedAction | None:
        """One of the user's actions; None if it is another user's or unknown."""
        ...

    def mark_action_undone(self, user_id: int, action_id: int, undone_by: int,
                           now: float) -> bool:
        """Mark one of the user's undoable actions undone; False if it was already, or is none."""
        ...


class ActionQueries(SharedQueries):
    """The action log, on whichever store this is mixed into."""

    def record_action(self, draft: ActionDraft) -> LoggedAction:
        """Append an action to the log."""
        undo_json = None if draft.undo is None else json.dumps(draft.undo, sort_keys=True)
        rows = self._run(
            "INSERT INTO actions (at, user_id, org_id, ip, country, region, city, kind, "
            "target_type, target_id, summary, undo_json) VALUES "
            f"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
            (draft.at, draft.user_id, draft.org_id, draft.ip, draft.country, draft.region,
             draft.city, draft.kind, draft.target_type, draft.target_id, draft.summary,
             undo_json))
        return LoggedAction(*rows[0])

    def actions_for_user(self, user_id: int, limit: int = 50,
                         before_id: int | None = None) -> list[LoggedAction]:
        """The user's actions, newest first; a page ends before `before_id` when given."""
        return self._page("user_id", user_id, limit, before_id)

    def actions_for_org(self, org_id: int, limit: int = 50,
                        before_id: int | None = None) -> list[LoggedAction]:
        """Every member's actions in an organisation, newest first (for its admins)."""
        return self._page("org_id", org_id, limit, before_id)

    def _page(self, column: str, value: int, limit: int,
              before_id: int | None) -> list[LoggedAction]:
        # Ids grow with time, so paging by id is stable while new actions arrive.
        limit = max(1, min(limit, MAX_PAGE))
        before = "" if before_id is None else " AND id < ?"
        params: tuple = (value,) if before_id is None else (value, before_id)
        rows = self._run(f"SELECT {_COLUMNS} FROM actions WHERE {column} = ?{before} "
                         f"ORDER BY id DESC LIMIT {limit}", params)
        return [LoggedAction(*row) for row in rows]

    def action_for_user(self, user_id: int, action_id: int) -> LoggedAction | None:
        """One of the user's actions; None if it is another user's or unknown."""
        rows = self._run(f"SELECT {_COLUMNS} FROM actions WHERE id = ? AND user_id = ?",
                         (action_id, user_id))
        return LoggedAction(*rows[0]) if rows else None

    def mark_action_undone(self, user_id: int, action_id: int, undone_by: int,
                           now: float) -> bool:
        """Mark one of the user's undoable actions undone; False if it was already, or is none."""
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE actions SET undone_at = ?, undone_by = ? WHERE id = ? "
                              "AND user_id = ? AND undo_json IS NOT NULL AND undone_at IS NULL",
                              (now, undone_by, action_id, user_id))
        return count == 1

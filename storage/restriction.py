"""Restriction of processing: a user's flag that stops geolocation, page views and marketing.

The flag lives on the users row with the time it last changed; every
place that processes for those purposes reads it as it goes (the location
scan and marketing recipients in SQL, the web per request), so turning it
on takes effect at once everywhere. The SQL is written once with ``?``
placeholders (see shared_sql.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .shared_sql import SharedQueries

# A condition on a users row `u`: true while the user restricted processing.
RESTRICTED = "u.processing_restricted"


@dataclass(frozen=True, slots=True)
class ProcessingRestriction:
    restricted: bool
    changed_at: float | None  # when it was last turned on or off; None: never


class RestrictionStore(Protocol):
    def processing_restriction(self, user_id: int) -> ProcessingRestriction | None:
        """A user's restriction flag and when it last changed; None for an unknown user."""
        ...

    def is_processing_restricted(self, user_id: int) -> bool:
        """True while the user restricts processing (an unknown user: False)."""
        ...

    def set_processing_restricted(self, user_id: int, restricted: bool, now: float
                                  ) -> ProcessingRestriction | None:
        """Turn a user's restriction on or off; the time changes only when the flag does."""
        ...


class RestrictionQueries(SharedQueries):
    """The restriction flag, on whichever store this is mixed into."""

    def processing_restriction(self, user_id: int) -> ProcessingRestriction | None:
        rows = self._run("SELECT processing_restricted, processing_restricted_at FROM users "
                         "WHERE id = ?", (user_id,))
        return ProcessingRestriction(bool(rows[0][0]), rows[0][1]) if rows else None

    def is_processing_restricted(self, user_id: int) -> bool:
        rows = self._run(f"SELECT 1 FROM users u WHERE u.id = ? AND {RESTRICTED}", (user_id,))
        return bool(rows)

    def set_processing_restricted(self, user_id: int, restricted: bool, now: float
                                  ) -> ProcessingRestriction | None:
        with self._sql_tx() as tx:
            tx.run("UPDATE users SET processing_restricted = ?, processing_restricted_at = ? "
                   "WHERE id = ? AND processing_restricted <> ?",
                   (restricted, now, user_id, restricted))
            rows, _ = tx.run("SELECT processing_restricted, processing_restricted_at "
                             "FROM users WHERE id = ?", (user_id,))
        return ProcessingRestriction(bool(rows[0][0]), rows[0][1]) if rows else None

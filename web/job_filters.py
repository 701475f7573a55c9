"""Read the jobs history's filter and page from a query string; bad values get a clear message."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from storage.job_history import OUTCOMES, JobFilter

PER_PAGE = 50
MAX_PER_PAGE = 200
STARTED_OUTSIDE = "printer"  # the `user` value for jobs not started from Printfleet
FIELDS = ("printer", "user", "outcome", "from", "to")
DAY_S = 86400


class FilterError(ValueError):
    """A query parameter the jobs history cannot use; the message says which and why."""


@dataclass(frozen=True)
class JobQuery:
    """A parsed query string: the filter, the page, and the raw values to show back."""

    job_filter: JobFilter
    page: int = 1
    per_page: int = PER_PAGE
    values: dict[str, str] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def query_string(self, **changes: object) -> str:
        """This query's filter (and page) as a query string, with some values changed."""
        values: dict[str, object] = {k: v for k, v in self.values.items() if v}
        if self.per_page != PER_PAGE:
            values["per_page"] = self.per_page
        values.update({k: v for k, v in changes.items() if v not in (None, "")})
        return urlencode(values)


def parse_query(args: Mapping[str, str]) -> JobQuery:
    """Turn query parameters into a JobQuery; raise FilterError naming a bad one."""
    values = {name: (args.get(name) or "").strip() for name in FIELDS}
    since = _day(values["from"], "from")
    until = _day(values["to"], "to")
    if since is not None and until is not None and until < since:
        raise FilterError("the 'to' date is before the 'from' date")
    job_filter = JobFilter(
        device_id=values["printer"] or None,
        started_by_user_id=_user(values["user"]),
        started_outside=values["user"] == STARTED_OUTSIDE,
        outcome=_outcome(values["outcome"]),
        since=since, until=None if until is None else until + DAY_S)
    page = _positive(args.get("page"), "page", 1)
    per_page = min(MAX_PER_PAGE, _positive(args.get("per_page"), "per_page", PER_PAGE))
    return JobQuery(job_filter, page, per_page, values)


def _day(value: str, name: str) -> float | None:
    """A YYYY-MM-DD date as the epoch second its UTC day begins."""
    if not value:
        return None
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"'{name}' must be a date written YYYY-MM-DD, not {value!r}") from None
    return datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp()


def _user(value: str) -> int | None:
    if not value or value == STARTED_OUTSIDE:
        return None
    if not value.isdigit():
        raise FilterError(f"'user' must be a user id or {STARTED_OUTSIDE!r}, not {value!r}")
    return int(value)


def _outcome(value: str) -> str | None:
    if value and value not in OUTCOMES:
        raise FilterError(f"'outcome' must be one of {', '.join(OUTCOMES)}, not {value!r}")
    return value or None


def _positive(value: str | None, name: str, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise FilterError(f"'{name}' must be a whole number of at least 1, not {value!r}")
    return int(value)

"""Python values made acceptable to PostgreSQL, as SQLite accepts them as they are."""

from __future__ import annotations

from typing import Any


def text_safe(values: tuple) -> tuple:
    """Replace NUL characters, which PostgreSQL text cannot hold (SQLite can).

    A device may send "\\u0000" inside a string and a rejected payload's
    excerpt may hold raw NUL bytes; refused, the batch would be retried
    forever and stall ingest. U+FFFD is what undecodable bytes become too.
    """
    if not any(type(v) is str and "\x00" in v for v in values):
        return values
    return tuple(v.replace("\x00", "\ufffd") if type(v) is str else v for v in values)


def array_of(column: list[Any]) -> list[Any]:
    """Make one column of values a list psycopg can send as an array.

    psycopg refuses lists that mix int and float, so a column holding any
    float sends all its numbers as floats: what SQLite's REAL columns and
    PostgreSQL's DOUBLE PRECISION columns hand back anyway.
    """
    if any(type(value) is float for value in column):
        return [None if value is None else float(value) for value in column]
    return column

"""What the erasure check reads: every table's columns, user-id counts, text values, receipts.

The catalog is read from the database itself (not from a list kept by hand),
so a table a later migration adds is scanned too. The SQL is written once
with ``?`` placeholders (see shared_sql.py); only the catalog query differs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .shared_sql import SharedQueries, SqlRunner

SQLITE_CATALOG = ("SELECT m.name, p.name, p.type FROM sqlite_master m "
                  "JOIN pragma_table_info(m.name) p WHERE m.type IN ('table', 'view') "
                  "AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid")
POSTGRES_CATALOG = ("SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position")
TEXT_TYPES = ("TEXT", "CHAR", "JSON", "INET", "CIDR")

# A text value -> the kinds of identifier found in it (e.g. ["email", "ip"]).
Matcher = Callable[[str], list[str]]


@dataclass(frozen=True, slots=True)
class ErasureReceipt:
    """What is kept of an erased account: hashes, the pseudonym, when."""

    erased_user_id: int
    email_sha256: str
    pseudonym: str
    pseudonym_user_id: int | None
    salt: str
    identifier_hmacs: dict[str, list[str]]
    erased_at: float


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    is_text: bool


class ErasureScanStore(Protocol):
    def column_catalog(self) -> dict[str, list[Column]]:
        """Every table's (and view's) columns, read from the database's catalog."""
        ...

    def count_user_id(self, user_id: int, columns: tuple[tuple[str, str], ...]
                      ) -> dict[str, int]:
        """Rows naming the user id, per "table.column" (only columns that exist; zeros left out)."""
        ...

    def scan_text(self, matcher: Matcher) -> dict[str, dict[str, int]]:
        """Rows of every text column where the matcher finds identifiers: table -> kind -> rows."""
        ...

    def erasure_receipts(self, email_sha256: str | None = None,
                         user_id: int | None = None) -> list[ErasureReceipt]:
        """Receipts for an email's sha256 or an erased user id, newest first."""
        ...


class ErasureScanQueries(SharedQueries):
    """The reads of `printfleet privacy verify-erasure`, on whichever store this is mixed into."""

    _catalog_sql = SQLITE_CATALOG

    def table_columns_in(self, tx: SqlRunner) -> dict[str, list[Column]]:
        rows, _ = tx.run(self._catalog_sql, ())
        tables: dict[str, list[Column]] = {}
        for table, column, kind in rows:
            is_text = any(word in str(kind).upper() for word in TEXT_TYPES)
            tables.setdefault(table, []).append(Column(column, is_text))
        return tables

    def column_catalog(self) -> dict[str, list[Column]]:
        with self._sql_read() as tx:
            return self.table_columns_in(tx)

    def count_user_id(self, user_id: int, columns: tuple[tuple[str, str], ...]
                      ) -> dict[str, int]:
        counts = {}
        with self._sql_read() as tx:
            present = self.table_columns_in(tx)
            for table, column in columns:
                if column not in {c.name for c in present.get(table, [])}:
                    continue
                rows, _ = tx.run(f"SELECT count(*) FROM {table} WHERE {column} = ?", (user_id,))
                if rows[0][0]:
                    counts[f"{table}.{column}"] = int(rows[0][0])
        return counts

    def scan_text(self, matcher: Matcher) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        with self._sql_read() as tx:
            for table, columns in self.table_columns_in(tx).items():
                text = [c.name for c in columns if c.is_text]
                if not text:
                    continue
                # One pass per table; a row counts once per kind of identifier.
                rows, _ = tx.run(f"SELECT {', '.join(text)} FROM {table}", ())
                for row in rows:
                    kinds = {kind for value in row if value is not None
                             for kind in matcher(str(value))}
                    for kind in kinds:
                        per_table = found.setdefault(table, {})
                        per_table[kind] = per_table.get(kind, 0) + 1
        return found

    def insert_receipt(self, tx: SqlRunner, receipt: ErasureReceipt) -> None:
        """Keep the receipt of an erasure, inside the erasure's transaction."""
        tx.run("INSERT INTO erasure_receipts (erased_user_id, email_sha256, pseudonym, "
            "pseudonym_user_id, salt, identifier_hmacs, erased_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (receipt.erased_user_id, receipt.email_sha256, receipt.pseudonym,
             receipt.pseudonym_user_id, receipt.salt,
             json.dumps(receipt.identifier_hmacs, sort_keys=True), receipt.erased_at))

    def erasure_receipts(self, email_sha256: str | None = None,
                         user_id: int | None = None) -> list[ErasureReceipt]:
        rows = self._run(
            "SELECT erased_user_id, email_sha256, pseudonym, pseudonym_user_id, salt, "
            "identifier_hmacs, erased_at FROM erasure_receipts "
            "WHERE email_sha256 = ? OR erased_user_id = ? ORDER BY id DESC",
            (email_sha256 or "", user_id if user_id is not None else -1))
        return [ErasureReceipt(int(r[0]), r[1], r[2], None if r[3] is None else int(r[3]), r[4],
                               json.loads(r[5]), float(r[6])) for r in rows]

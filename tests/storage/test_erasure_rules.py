"""Every table has an erasure rule: a table added without one makes these tests fail."""

from __future__ import annotations

import re
from pathlib import Path

import storage
from storage.erasure import RECEIPT_COLUMNS, TABLE_RULES, USER_ID_COLUMNS

MIGRATIONS = Path(storage.__file__).parent / "migrations"
CREATED = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)
RENAMED = re.compile(r"ALTER TABLE \w+ RENAME TO (\w+)", re.IGNORECASE)
# Internal tables of the engines, not Printfleet's.
ENGINE_TABLES = {"sqlite_sequence", "sqlite_stat1"}


def _migration_tables() -> set[str]:
    tables = set()
    for path in MIGRATIONS.glob("*/*.sql"):
        text = path.read_text()
        tables |= set(CREATED.findall(text)) | set(RENAMED.findall(text))
    # A table built anew under a temporary name and renamed (SQLite's way to drop NOT NULL).
    return {table for table in tables if not table.endswith("_new")}


def _is_user_column(name: str, is_text: bool) -> bool:
    return not is_text and (name == "user_id" or name.endswith("_user_id")
                            or name.endswith("_by"))


def test_every_table_the_migrations_create_has_an_erasure_rule():
    tables = _migration_tables()
    assert len(tables) > 30
    missing = sorted(tables - set(TABLE_RULES))
    assert not missing, f"tables without an erasure rule in storage/erasure.py: {missing}"


def test_every_table_in_the_database_has_a_rule_and_every_user_column_is_known(stores):
    catalog = stores.sync.column_catalog()
    tables = set(catalog) - ENGINE_TABLES
    assert {"users", "telemetry", "telemetry_1m", "erasure_receipts"} <= tables
    assert not sorted(tables - set(TABLE_RULES)), "tables without an erasure rule"
    user_columns = {(table, column.name) for table, columns in catalog.items()
                    for column in columns if _is_user_column(column.name, column.is_text)}
    assert user_columns, "the catalog lists no user columns"
    missing = sorted(user_columns - set(USER_ID_COLUMNS) - RECEIPT_COLUMNS)
    assert not missing, f"user-id columns the erasure scan does not check: {missing}"


def test_a_new_table_without_a_rule_is_caught(stores):
    stores.execute("CREATE TABLE user_badges (user_id INTEGER, label TEXT)")
    catalog = stores.sync.column_catalog()
    assert "user_badges" in catalog and "user_badges" not in TABLE_RULES
    assert any(_is_user_column(c.name, c.is_text) for c in catalog["user_badges"])

"""Organisations' file spaces and one name per folder, in every backend (and the migration to them)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager

import psycopg
import pytest

from storage.files import DuplicateName, FileOwner, FileStoreError
from storage.migrations import migrations_for
from storage.orgs import OrgProfile
from storage.postgres import PostgresSyncStore
from storage.sqlite import SqliteSyncStore

from .postgres_server import fresh_database

pytestmark = pytest.mark.timeout(60)

SHA = "0" * 64
TAKEN = "is already in this folder"


def _spaces(sync):
    """Alice's own files, Bob's, and the files of Alice's organisation (Bob is no member)."""
    alice = sync.create_user("a@example.org", "x")
    bob = sync.create_user("b@example.org", "x")
    org = sync.create_organisation(alice, OrgProfile(name="Acme"), 1.0)
    return FileOwner(user_id=alice), FileOwner(user_id=bob), FileOwner(org_id=org.id)


def _names(entries):
    return [entry.name for entry in entries]


def test_an_owner_is_exactly_one_of_a_user_or_an_organisation():
    with pytest.raises(ValueError, match="exactly one"):
        FileOwner()
    with pytest.raises(ValueError, match="exactly one"):
        FileOwner(user_id=1, org_id=1)


def test_an_organisations_files_are_its_own_space(stores):
    sync = stores.sync
    alice, bob, org = _spaces(sync)
    folder = sync.create_folder(org, None, "jigs", 1.0)
    entry = sync.add_file(org, folder.id, "clamp.gcode", 6, SHA, None, 2.0)
    mine = sync.add_file(alice, None, "mine.gcode", 6, SHA, None, 3.0)
    assert (entry.owner_user_id, entry.owner_org_id, entry.owner) == (None, org.org_id, org)
    assert _names(sync.folder_entries(org, None)) == ["jigs"]
    assert _names(sync.folder_entries(org, folder.id)) == ["clamp.gcode"]
    assert sync.files_for_printing(org) == [(entry.id, "clamp.gcode")]
    # The creator's own space and the organisation's never mix, either way.
    assert _names(sync.folder_entries(alice, None)) == ["mine.gcode"]
    assert sync.files_for_printing(alice) == [(mine.id, "mine.gcode")]
    for outsider in (alice, bob, FileOwner(org_id=org.org_id + 1)):
        assert sync.file_entry(outsider, entry.id) is None
        assert sync.folder_entries(outsider, folder.id) == []
        assert sync.rename_entry(outsider, entry.id, "x.gcode") is False
        assert sync.move_entry(outsider, entry.id, None) is False
        assert sync.trash_entry(outsider, entry.id, 4.0) is False
        with pytest.raises(FileStoreError, match="no such folder"):
            sync.add_file(outsider, folder.id, "y.gcode", 6, SHA, None, 4.0)
    assert sync.file_entry(org, mine.id) is None
    with pytest.raises(FileStoreError, match="no such folder"):
        sync.move_entry(alice, mine.id, folder.id)  # into the organisation's folder


def test_an_organisations_trash_and_restore_stay_in_its_space(stores):
    sync = stores.sync
    alice, _, org = _spaces(sync)
    folder = sync.create_folder(org, None, "jigs", 1.0)
    sync.add_file(org, folder.id, "clamp.gcode", 6, SHA, None, 2.0)
    assert sync.trash_entry(org, folder.id, 3.0) is True
    assert _names(sync.trashed_entries(org)) == ["jigs"]
    assert sync.trashed_entries(alice) == []
    assert sync.restore_entry(alice, folder.id) is False
    assert sync.restore_entry(org, folder.id) is True
    assert _names(sync.folder_entries(org, folder.id)) == ["clamp.gcode"]


def test_a_second_name_in_a_folder_is_refused_in_any_letter_case(stores):
    sync = stores.sync
    alice, _, org = _spaces(sync)
    for owner in (alice, org):
        folder = sync.create_folder(owner, None, "Parts", 1.0)
        sync.add_file(owner, folder.id, "Benchy.gcode", 6, SHA, None, 2.0)
        with pytest.raises(DuplicateName, match=f"“PARTS” {TAKEN}"):
            sync.create_folder(owner, None, "PARTS", 3.0)
        with pytest.raises(DuplicateName, match=TAKEN):
            sync.add_file(owner, None, "  parts ", 6, SHA, None, 3.0)  # a file or a folder
        with pytest.raises(DuplicateName, match=TAKEN):
            sync.add_file(owner, folder.id, "benchy.GCODE", 6, SHA, None, 3.0)
        assert _names(sync.folder_entries(owner, None)) == ["Parts"]
        assert _names(sync.folder_entries(owner, folder.id)) == ["Benchy.gcode"]
    # Another folder, another owner, or another letter: all fine.
    sync.add_file(alice, None, "benchy.gcode", 6, SHA, None, 4.0)
    sync.add_file(org, None, "benchy.gcode", 6, SHA, None, 4.0)
    sync.add_file(alice, None, "benchy2.gcode", 6, SHA, None, 4.0)


def test_names_fold_the_same_way_on_every_backend(stores):
    sync = stores.sync
    alice, _, _ = _spaces(sync)
    sync.add_file(alice, None, "Ärger.gcode", 6, SHA, None, 1.0)
    sync.add_file(alice, None, "Straße.gcode", 6, SHA, None, 1.0)
    with pytest.raises(DuplicateName):
        sync.add_file(alice, None, "ärger.GCODE", 6, SHA, None, 2.0)
    with pytest.raises(DuplicateName):
        sync.add_file(alice, None, "STRASSE.gcode", 6, SHA, None, 2.0)
    with pytest.raises(DuplicateName):  # the same letters, decomposed
        sync.add_file(alice, None, "A\u0308rger.gcode", 6, SHA, None, 2.0)


def test_rename_move_and_restore_refuse_a_taken_name_and_change_nothing(stores):
    sync = stores.sync
    _, _, org = _spaces(sync)
    folder = sync.create_folder(org, None, "jigs", 1.0)
    top = sync.add_file(org, None, "clamp.gcode", 6, SHA, None, 1.0)
    inner = sync.add_file(org, folder.id, "Clamp.gcode", 6, SHA, None, 1.0)
    other = sync.add_file(org, None, "vise.gcode", 6, SHA, None, 1.0)
    with pytest.raises(DuplicateName, match=f"“CLAMP.gcode” {TAKEN}"):
        sync.rename_entry(org, other.id, "CLAMP.gcode")
    assert sync.rename_entry(org, top.id, "Clamp.GCODE") is True  # its own name, recased
    with pytest.raises(DuplicateName, match=f"“Clamp.GCODE” {TAKEN}"):
        sync.move_entry(org, top.id, folder.id)
    assert sync.file_entry(org, top.id).parent_id is None
    assert sync.file_entry(org, other.id).name == "vise.gcode"

    # Trashed, then a new entry takes the name: the restore is refused.
    assert sync.trash_entry(org, inner.id, 2.0) is True
    assert sync.move_entry(org, top.id, folder.id) is True
    with pytest.raises(DuplicateName, match=f"“Clamp.gcode” {TAKEN}"):
        sync.restore_entry(org, inner.id)
    assert sync.file_entry(org, inner.id) is None
    assert _names(sync.trashed_entries(org)) == ["Clamp.gcode"]
    # A folder trashed since sends the restore to the top: checked there.
    sync.add_file(org, None, "clamp.gcode", 6, SHA, None, 3.0)
    sync.trash_entry(org, folder.id, 4.0)
    with pytest.raises(DuplicateName):
        sync.restore_entry(org, inner.id)
    assert sync.file_entry(org, inner.id, include_trashed=True).parent_id == folder.id


def test_the_database_itself_refuses_a_duplicate_and_an_entry_of_two_owners(stores):
    sync = stores.sync
    alice, _, org = _spaces(sync)
    sync.add_file(alice, None, "a.gcode", 6, SHA, None, 1.0)
    sync.add_file(org, None, "a.gcode", 6, SHA, None, 1.0)
    refused = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)
    insert = ("INSERT INTO file_entries (owner_user_id, owner_org_id, kind, name, name_key, "
              "created_at) VALUES ({}, {}, 'file', 'A.gcode', 'a.gcode', 2.0)")
    with pytest.raises(refused):
        stores.execute(insert.format(alice.user_id, "NULL"))
    with pytest.raises(refused):
        stores.execute(insert.format("NULL", org.org_id))
    with pytest.raises(refused):
        stores.execute(insert.format(alice.user_id, org.org_id).replace("a.gcode", "b.gcode"))
    with pytest.raises(refused):
        stores.execute(insert.format("NULL", "NULL").replace("a.gcode", "b.gcode"))
    assert _names(sync.folder_entries(alice, None)) == ["a.gcode"]


# The migration, from a database as it was before organisations had files.

@contextmanager
def _store_before_org_files(backend: str, tmp_path) -> Iterator[tuple[object, Callable]]:
    """A started store on a database migrated to 0014, and a way to run SQL in it."""
    before = [m for m in migrations_for(backend) if m.version < 15]
    ledger = ("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, title TEXT NOT NULL, "
              "applied_at DOUBLE PRECISION NOT NULL)")
    with ExitStack() as cleanup:
        if backend == "sqlite":
            path = tmp_path / "before.sqlite3"
            with closing(sqlite3.connect(path)) as connection:
                connection.execute(ledger)
                for migration in before:
                    connection.executescript(migration.sql)
                    connection.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)",
                                       (migration.version, migration.title))
                connection.commit()
            store = SqliteSyncStore(path)

            def run(sql, params=()):
                with closing(sqlite3.connect(path)) as connection, connection:
                    row = connection.execute(sql, params).fetchone()
                return row[0] if row else None
        else:
            dsn = cleanup.enter_context(fresh_database())
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute(ledger)
                for migration in before:
                    connection.execute(migration.sql)
                    connection.execute("INSERT INTO schema_migrations VALUES (%s, %s, 0)",
                                       (migration.version, migration.title))
            store = PostgresSyncStore(dsn, timescaledb="off")

            def run(sql, params=()):
                with psycopg.connect(dsn, autocommit=True) as connection:
                    cursor = connection.execute(sql.replace("?", "%s"), params)
                    row = cursor.fetchone() if cursor.description else None
                return row[0] if row else None
        store.start()
        cleanup.callback(store.stop)
        yield store, run


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_migration_keeps_entries_and_renames_live_duplicates(backend, tmp_path):
    with _store_before_org_files(backend, tmp_path) as (sync, run):
        alice = sync.create_user("a@example.org", "x")

        def add(parent, kind, name, deleted_at=None):
            return run("INSERT INTO file_entries (owner_user_id, parent_id, kind, name, "
                       "created_at, deleted_at) VALUES (?, ?, ?, ?, 1.0, ?) RETURNING id",
                       (alice, parent, kind, name, deleted_at))

        folder = add(None, "folder", "Parts")
        first = add(folder, "file", "Part.gcode")
        second = add(folder, "file", "part.GCODE")
        add(folder, "file", "v1.2.part.gcode")
        fourth = add(folder, "file", "V1.2.PART.gcode")
        trashed = add(folder, "file", "PART.gcode", 2.0)
        plain = add(None, "file", "parts")  # beside the folder "Parts"
        gone = add(None, "file", "gone.gcode")
        run("DELETE FROM file_entries WHERE id = ?", (gone,))  # its id is never used again

        assert 15 in sync.migrate()
        owner = FileOwner(user_id=alice)
        assert _names(sync.folder_entries(owner, folder)) == [  # by name, case folded
            f"part ({second}).GCODE", "Part.gcode", f"V1.2.PART ({fourth}).gcode",
            "v1.2.part.gcode"]
        assert sync.file_entry(owner, first).name == "Part.gcode"
        assert sync.file_entry(owner, trashed, include_trashed=True).name == "PART.gcode"
        assert _names(sync.folder_entries(owner, None)) == ["Parts", f"parts ({plain})"]
        # New entries take ids after the old ones, and the new rules hold.
        assert sync.create_folder(owner, None, "newer", 3.0).id > gone
        with pytest.raises(DuplicateName):
            sync.add_file(owner, folder, "PART.GCODE", 6, SHA, None, 3.0)
        with pytest.raises(DuplicateName):
            sync.restore_entry(owner, trashed)

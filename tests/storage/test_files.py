"""Files and folders in every backend: scoped to their owner, trashed and restored whole."""

from __future__ import annotations

import hashlib

import pytest

from storage.file_contents import FileContents, UploadTooLarge
from storage.files import FileOwner, FileStoreError

pytestmark = pytest.mark.timeout(30)

SHA = hashlib.sha256(b"G1 X1\n").hexdigest()
OWNER_7 = FileOwner(user_id=7)


def _users(sync):
    """Two users' file spaces."""
    return (FileOwner(user_id=sync.create_user("a@example.org", "x")),
            FileOwner(user_id=sync.create_user("b@example.org", "x")))


def _names(entries):
    return [entry.name for entry in entries]


def test_folders_hold_files_and_list_folders_first(stores):
    sync = stores.sync
    alice, _ = _users(sync)
    prints = sync.create_folder(alice, None, "prints", 1.0)
    sync.add_file(alice, None, "b.gcode", 6, SHA, None, 2.0)
    sync.add_file(alice, None, "a.gcode", 6, SHA, None, 3.0)
    inner = sync.add_file(alice, prints.id, "cube.gcode", 6, SHA, '{"layers": 3}', 4.0)
    assert _names(sync.folder_entries(alice, None)) == ["prints", "a.gcode", "b.gcode"]
    assert _names(sync.folder_entries(alice, prints.id)) == ["cube.gcode"]
    fetched = sync.file_entry(alice, inner.id)
    assert fetched == inner
    assert (fetched.kind, fetched.size_bytes, fetched.sha256, fetched.analysis_json,
            fetched.parent_id) == ("file", 6, SHA, '{"layers": 3}', prints.id)
    assert _names(sync.folder_path(alice, prints.id)) == ["prints"]


def test_another_users_entries_are_unknown(stores):
    sync = stores.sync
    alice, bob = _users(sync)
    folder = sync.create_folder(alice, None, "mine", 1.0)
    entry = sync.add_file(alice, folder.id, "x.gcode", 6, SHA, None, 1.0)
    assert sync.file_entry(bob, entry.id) is None
    assert sync.folder_entries(bob, folder.id) == []
    assert sync.rename_entry(bob, entry.id, "stolen") is False
    assert sync.trash_entry(bob, entry.id, 2.0) is False
    with pytest.raises(FileStoreError, match="no such folder"):
        sync.add_file(bob, folder.id, "y.gcode", 6, SHA, None, 1.0)
    bobs = sync.create_folder(bob, None, "bobs", 1.0)
    with pytest.raises(FileStoreError, match="no such folder"):
        sync.move_entry(alice, entry.id, bobs.id)
    assert sync.move_entry(bob, entry.id, bobs.id) is False
    assert sync.file_entry(alice, entry.id).name == "x.gcode"


def test_rename_and_move(stores):
    sync = stores.sync
    alice, _ = _users(sync)
    top = sync.create_folder(alice, None, "top", 1.0)
    sub = sync.create_folder(alice, top.id, "sub", 1.0)
    entry = sync.add_file(alice, None, "x.gcode", 6, SHA, None, 1.0)
    loose = sync.add_file(alice, None, "loose.gcode", 6, SHA, None, 1.0)
    assert sync.rename_entry(alice, entry.id, "  benchy.gcode ") is True
    assert sync.move_entry(alice, entry.id, sub.id) is True
    assert _names(sync.folder_entries(alice, sub.id)) == ["benchy.gcode"]
    assert _names(sync.folder_path(alice, sub.id)) == ["top", "sub"]
    with pytest.raises(FileStoreError, match="into itself"):
        sync.move_entry(alice, top.id, sub.id)
    with pytest.raises(FileStoreError, match="into itself"):
        sync.move_entry(alice, top.id, top.id)
    with pytest.raises(FileStoreError, match="no such folder"):
        sync.move_entry(alice, top.id, loose.id)  # a file is no folder
    assert sync.move_entry(alice, sub.id, None) is True
    assert _names(sync.folder_entries(alice, None)) == ["sub", "top", "loose.gcode"]


@pytest.mark.parametrize("name", ["", "   ", "a/b", "a\\b", "x" * 256, ".."])
def test_bad_names_are_refused(stores, name):
    alice, _ = _users(stores.sync)
    with pytest.raises(FileStoreError):
        stores.sync.create_folder(alice, None, name, 1.0)
    assert stores.sync.folder_entries(alice, None) == []


def test_trashing_a_folder_takes_its_contents_and_restoring_brings_them_back(stores):
    sync = stores.sync
    alice, _ = _users(sync)
    top = sync.create_folder(alice, None, "top", 1.0)
    sub = sync.create_folder(alice, top.id, "sub", 1.0)
    deep = sync.add_file(alice, sub.id, "deep.gcode", 6, SHA, None, 1.0)
    early = sync.add_file(alice, sub.id, "early.gcode", 6, SHA, None, 1.0)
    assert sync.trash_entry(alice, early.id, 5.0) is True  # trashed on its own first
    assert sync.trash_entry(alice, top.id, 6.0) is True
    assert sync.trash_entry(alice, top.id, 7.0) is False  # already in the trash
    assert sync.folder_entries(alice, None) == []
    assert sync.file_entry(alice, deep.id) is None
    assert sync.file_entry(alice, deep.id, include_trashed=True).deleted_at == 6.0
    assert _names(sync.trashed_entries(alice)) == ["top", "early.gcode"]

    assert sync.restore_entry(alice, top.id) is True
    assert sync.file_entry(alice, deep.id) is not None
    # What was trashed before the folder stays in the trash.
    assert _names(sync.folder_entries(alice, sub.id)) == ["deep.gcode"]
    assert _names(sync.trashed_entries(alice)) == ["early.gcode"]
    assert sync.restore_entry(alice, top.id) is False


def test_an_entry_whose_folder_is_trashed_is_restored_to_the_top(stores):
    sync = stores.sync
    alice, bob = _users(sync)
    folder = sync.create_folder(alice, None, "f", 1.0)
    entry = sync.add_file(alice, folder.id, "x.gcode", 6, SHA, None, 1.0)
    sync.trash_entry(alice, entry.id, 2.0)
    sync.trash_entry(alice, folder.id, 3.0)
    assert sync.restore_entry(bob, entry.id) is False
    assert sync.restore_entry(alice, entry.id) is True
    assert sync.file_entry(alice, entry.id).parent_id is None
    assert _names(sync.folder_entries(alice, None)) == ["x.gcode"]


def test_contents_are_stored_whole_under_their_hash(tmp_path):
    contents = FileContents(tmp_path / "files", max_bytes=100)
    sha256, size = contents.save(OWNER_7, [b"G1 X1", b"\n"])
    assert (sha256, size) == (SHA, 6)
    assert contents.path(OWNER_7, sha256).read_bytes() == b"G1 X1\n"
    assert sorted(p.name for p in (tmp_path / "files" / "7").iterdir()) == [SHA]
    with pytest.raises(ValueError, match="not a sha256"):
        contents.path(OWNER_7, "../../etc/passwd")


def test_an_oversize_upload_leaves_nothing_behind(tmp_path):
    contents = FileContents(tmp_path / "files", max_bytes=10)
    with pytest.raises(UploadTooLarge, match="upload limit"):
        contents.save(OWNER_7, [b"123456", b"789012", b"never read"])
    assert list((tmp_path / "files" / "7").iterdir()) == []


def test_a_failing_upload_stream_leaves_nothing_behind(tmp_path):
    def broken():
        yield b"G1 X1\n"
        raise ConnectionResetError("client went away")

    contents = FileContents(tmp_path / "files", max_bytes=100)
    with pytest.raises(ConnectionResetError):
        contents.save(OWNER_7, broken())
    assert list((tmp_path / "files" / "7").iterdir()) == []

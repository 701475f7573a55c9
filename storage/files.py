"""Files and folders of a user or an organisation: the records and the queries both backends share.

The SQL is written once with ``?`` placeholders; each backend runs it
through ``_sql_tx`` (see shared_sql.py) (PostgreSQL swaps in ``%s``). Contents live on disk
(see file_contents.py); these rows keep names, places and analyses. Every
query is scoped to one owner (a FileOwner): another owner's entry is unknown.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Protocol

from .shared_sql import SharedQueries, SqlRunner, UniqueViolation

MAX_NAME_LENGTH = 255
_FORBIDDEN_IN_NAMES = ("/", "\\", "\x00")
_COLUMNS = ("id, owner_user_id, owner_org_id, parent_id, kind, name, size_bytes, sha256, "
            "analysis_json, created_at, deleted_at")


class FileStoreError(ValueError):
    """A name, folder or move the file store refuses; the message says why."""


class DuplicateName(FileStoreError):
    """Another live entry of the folder has this name in some letter case."""

    def __init__(self, name: str) -> None:
        super().__init__(f"A file or folder named “{name}” is already in this folder")
        self.name = name


@dataclass(frozen=True, slots=True)
class FileOwner:
    """Whose file space: exactly one of a user or an organisation."""

    user_id: int | None = None
    org_id: int | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.org_id is None):
            raise ValueError("a file owner is exactly one of a user or an organisation")

    def condition(self, alias: str = "") -> tuple[str, tuple[int]]:
        """The SQL condition (and its parameter) selecting this owner's rows."""
        prefix = f"{alias}." if alias else ""
        if self.org_id is not None:
            return f"{prefix}owner_org_id = ?", (self.org_id,)
        assert self.user_id is not None
        return f"{prefix}owner_user_id = ?", (self.user_id,)

    @property
    def columns(self) -> tuple[int | None, int | None]:
        """(owner_user_id, owner_org_id) as stored."""
        return self.user_id, self.org_id

    def __str__(self) -> str:
        return f"org {self.org_id}" if self.org_id is not None else f"user {self.user_id}"


@dataclass(frozen=True, slots=True)
class FileEntry:
    id: int
    owner_user_id: int | None
    owner_org_id: int | None
    parent_id: int | None
    kind: str  # "file" or "folder"
    name: str
    size_bytes: int | None
    sha256: str | None
    analysis_json: str | None
    created_at: float
    deleted_at: float | None

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @property
    def owner(self) -> FileOwner:
        return FileOwner(self.owner_user_id, self.owner_org_id)


def check_name(name: str) -> str:
    """Return the name trimmed, or raise FileStoreError saying what is wrong with it."""
    name = name.strip()
    if not name or name in (".", ".."):
        raise FileStoreError("a name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise FileStoreError(f"a name is at most {MAX_NAME_LENGTH} characters")
    if any(char in name for char in _FORBIDDEN_IN_NAMES):
        raise FileStoreError("a name cannot contain / or \\")
    return name


def name_key(name: str) -> str:
    """What two names must differ in to share a folder: the name, case and form folded."""
    # Python folds case the same way whichever backend stores the key;
    # SQLite's lower() knows only ASCII letters.
    return unicodedata.normalize("NFC", name).casefold()


class FileStore(Protocol):
    """What the stores offer about files and folders (each backend mixes in FileQueries)."""

    def create_folder(self, owner: FileOwner, parent_id: int | None, name: str,
                      now: float) -> FileEntry:
        """Make a folder; raise FileStoreError for a bad or taken name or folder."""
        ...

    def add_file(self, owner: FileOwner, parent_id: int | None, name: str, size_bytes: int,
                 sha256: str, analysis_json: str | None, now: float) -> FileEntry:
        """Record an uploaded file whose contents are already stored."""
        ...

    def file_entry(self, owner: FileOwner, entry_id: int,
                   include_trashed: bool = False) -> FileEntry | None: ...

    def entry_named(self, owner: FileOwner, parent_id: int | None,
                    name: str) -> FileEntry | None:
        """The folder's live entry with this name in any letter case, if there is one."""
        ...

    def folder_entries(self, owner: FileOwner, parent_id: int | None) -> list[FileEntry]:
        """A folder's live entries, folders first, then by name."""
        ...

    def folder_path(self, owner: FileOwner, folder_id: int | None) -> list[FileEntry]: ...

    def rename_entry(self, owner: FileOwner, entry_id: int, name: str) -> bool: ...

    def move_entry(self, owner: FileOwner, entry_id: int, parent_id: int | None) -> bool:
        """Move into another folder; raise FileStoreError for a folder moved into itself."""
        ...

    def trash_entry(self, owner: FileOwner, entry_id: int, now: float) -> bool: ...

    def restore_entry(self, owner: FileOwner, entry_id: int) -> bool: ...

    def trashed_entries(self, owner: FileOwner) -> list[FileEntry]: ...

    def files_for_printing(self, owner: FileOwner, limit: int = 500) -> list[tuple[int, str]]:
        """(id, name) of the owner's live files in every folder, by name."""
        ...


class FileQueries(SharedQueries):
    """Files and folders of users and organisations, on whichever store this is mixed into."""

    def create_folder(self, owner: FileOwner, parent_id: int | None, name: str,
                      now: float) -> FileEntry:
        """Make a folder in one of the owner's folders (None: the top)."""
        return self._add(owner, parent_id, "folder", name, None, None, None, now)

    def add_file(self, owner: FileOwner, parent_id: int | None, name: str, size_bytes: int,
                 sha256: str, analysis_json: str | None, now: float) -> FileEntry:
        """Record an uploaded file whose contents are already stored."""
        return self._add(owner, parent_id, "file", name, size_bytes, sha256, analysis_json, now)

    def _add(self, owner: FileOwner, parent_id: int | None, kind: str, name: str,
             size: int | None, sha256: str | None, analysis: str | None,
             now: float) -> FileEntry:
        name = check_name(name)
        try:
            with self._sql_tx() as tx:
                _check_folder(tx, owner, parent_id)
                _check_free(tx, owner, parent_id, name)
                rows, _ = tx.run(
                    "INSERT INTO file_entries (owner_user_id, owner_org_id, parent_id, kind, "
                    "name, name_key, size_bytes, sha256, analysis_json, created_at) "
                    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                    (*owner.columns, parent_id, kind, name, name_key(name), size, sha256,
                     analysis, now))
        except UniqueViolation as error:  # another request took the name a moment ago
            raise DuplicateName(name) from error
        return FileEntry(*rows[0])

    def file_entry(self, owner: FileOwner, entry_id: int,
                   include_trashed: bool = False) -> FileEntry | None:
        """One of the owner's entries; None if it is another owner's, unknown or trashed."""
        trashed = "" if include_trashed else " AND deleted_at IS NULL"
        scope, params = owner.condition()
        rows = self._run(f"SELECT {_COLUMNS} FROM file_entries WHERE id = ? AND {scope}"
                         f"{trashed}", (entry_id, *params))
        return FileEntry(*rows[0]) if rows else None

    def entry_named(self, owner: FileOwner, parent_id: int | None,
                    name: str) -> FileEntry | None:
        """The folder's live entry with this name in any letter case, if there is one."""
        with self._sql_tx() as tx:
            return _named(tx, owner, parent_id, check_name(name))

    def folder_entries(self, owner: FileOwner, parent_id: int | None) -> list[FileEntry]:
        """The folder's live entries, folders first, then by name."""
        scope, params = owner.condition()
        where, parent = _parent_condition(parent_id)
        rows = self._run(f"SELECT {_COLUMNS} FROM file_entries WHERE {scope} AND {where} "
                         "AND deleted_at IS NULL ORDER BY kind DESC, name_key, id",
                         params + parent)
        return [FileEntry(*row) for row in rows]

    def folder_path(self, owner: FileOwner, folder_id: int | None) -> list[FileEntry]:
        """The folders from the top down to this one (empty for the top)."""
        path: list[FileEntry] = []
        while folder_id is not None:
            folder = self.file_entry(owner, folder_id)
            if folder is None or len(path) > 1000:
                break
            path.append(folder)
            folder_id = folder.parent_id
        return path[::-1]

    def rename_entry(self, owner: FileOwner, entry_id: int, name: str) -> bool:
        """Rename one of the owner's live entries; False if there is no such entry."""
        name = check_name(name)
        scope, params = owner.condition()
        try:
            with self._sql_tx() as tx:
                rows, _ = tx.run(f"SELECT parent_id FROM file_entries WHERE id = ? AND {scope} "
                                 "AND deleted_at IS NULL", (entry_id, *params))
                if not rows:
                    return False
                _check_free(tx, owner, rows[0][0], name, entry_id)
                tx.run("UPDATE file_entries SET name = ?, name_key = ? WHERE id = ?",
                       (name, name_key(name), entry_id))
        except UniqueViolation as error:
            raise DuplicateName(name) from error
        return True

    def move_entry(self, owner: FileOwner, entry_id: int, parent_id: int | None) -> bool:
        """Move an entry into another of the owner's folders; never into itself."""
        scope, params = owner.condition()
        try:
            with self._sql_tx() as tx:
                rows, _ = tx.run(f"SELECT name FROM file_entries WHERE id = ? AND {scope} "
                                 "AND deleted_at IS NULL", (entry_id, *params))
                if not rows:
                    return False
                if parent_id is not None:
                    subtree, subtree_params = _subtree(owner, entry_id)
                    inside, _ = tx.run(f"{subtree} SELECT 1 FROM subtree WHERE id = ?",
                                       subtree_params + (parent_id,))
                    if inside:
                        raise FileStoreError("a folder cannot be moved into itself")
                _check_folder(tx, owner, parent_id)
                _check_free(tx, owner, parent_id, rows[0][0], entry_id)
                tx.run("UPDATE file_entries SET parent_id = ? WHERE id = ?", (parent_id, entry_id))
        except UniqueViolation as error:
            raise DuplicateName(rows[0][0]) from error
        return True

    def trash_entry(self, owner: FileOwner, entry_id: int, now: float) -> bool:
        """Move an entry (a folder with all it holds) to the trash; False if none."""
        scope, params = owner.condition()
        with self._sql_tx() as tx:
            live, _ = tx.run(f"SELECT 1 FROM file_entries WHERE id = ? AND {scope} "
                             "AND deleted_at IS NULL", (entry_id, *params))
            if not live:
                return False
            subtree, subtree_params = _subtree(owner, entry_id)
            tx.run(f"{subtree} UPDATE file_entries SET deleted_at = ? "
                   "WHERE id IN (SELECT id FROM subtree) AND deleted_at IS NULL",
                   subtree_params + (now,))
        return True

    def restore_entry(self, owner: FileOwner, entry_id: int) -> bool:
        """Bring an entry back from the trash, with what was trashed along with it.

        Its folder may have been trashed on its own since: then it comes
        back to the top folder. A live entry of that folder with its name
        refuses the restore (DuplicateName), nothing changed.
        """
        scope, params = owner.condition("e")
        try:
            with self._sql_tx() as tx:
                rows, _ = tx.run("SELECT e.deleted_at, e.parent_id, p.deleted_at, e.name FROM "
                                 "file_entries e LEFT JOIN file_entries p ON p.id = e.parent_id "
                                 f"WHERE e.id = ? AND {scope} AND e.deleted_at IS NOT NULL",
                                 (entry_id, *params))
                if not rows:
                    return False
                deleted_at, parent_id, parent_deleted_at, name = rows[0]
                target = None if parent_deleted_at is not None else parent_id
                _check_free(tx, owner, target, name, entry_id)
                if target != parent_id:
                    tx.run("UPDATE file_entries SET parent_id = NULL WHERE id = ?", (entry_id,))
                subtree, subtree_params = _subtree(owner, entry_id)
                tx.run(f"{subtree} UPDATE file_entries SET deleted_at = NULL "
                       "WHERE id IN (SELECT id FROM subtree) AND deleted_at = ?",
                       subtree_params + (deleted_at,))
        except UniqueViolation as error:
            raise DuplicateName(rows[0][3]) from error
        return True

    def trashed_entries(self, owner: FileOwner) -> list[FileEntry]:
        """What the owner trashed, newest first; not what went along inside a folder."""
        scope, params = owner.condition("e")
        rows = self._run(
            f"SELECT {', '.join('e.' + c.strip() for c in _COLUMNS.split(','))} "
            "FROM file_entries e LEFT JOIN file_entries p ON p.id = e.parent_id "
            f"WHERE {scope} AND e.deleted_at IS NOT NULL AND "
            "(p.deleted_at IS NULL OR p.deleted_at <> e.deleted_at) "
            "ORDER BY e.deleted_at DESC, e.id", params)
        return [FileEntry(*row) for row in rows]

    def files_for_printing(self, owner: FileOwner, limit: int = 500) -> list[tuple[int, str]]:
        """(id, name) of the owner's live files, by name, to choose one to print."""
        scope, params = owner.condition()
        return [(int(i), n) for i, n in self._run(
            f"SELECT id, name FROM file_entries WHERE {scope} AND kind = 'file' "
            "AND deleted_at IS NULL ORDER BY name_key, id LIMIT ?", (*params, limit))]


def _subtree(owner: FileOwner, entry_id: int) -> tuple[str, tuple[int, ...]]:
    """Every entry under (and including) one of the owner's entries, as a WITH clause."""
    scope, params = owner.condition()
    return ("WITH RECURSIVE subtree(id) AS ("
            f"SELECT id FROM file_entries WHERE id = ? AND {scope} "
            "UNION ALL SELECT f.id FROM file_entries f JOIN subtree s ON f.parent_id = s.id)",
            (entry_id, *params))


def _parent_condition(parent_id: int | None) -> tuple[str, tuple[int, ...]]:
    if parent_id is None:
        return "parent_id IS NULL", ()
    return "parent_id = ?", (parent_id,)


def _check_folder(tx: SqlRunner, owner: FileOwner, folder_id: int | None) -> None:
    if folder_id is None:
        return
    scope, params = owner.condition()
    rows, _ = tx.run(f"SELECT kind FROM file_entries WHERE id = ? AND {scope} "
                     "AND deleted_at IS NULL", (folder_id, *params))
    if not rows or rows[0][0] != "folder":
        raise FileStoreError("no such folder")


def _named(tx: SqlRunner, owner: FileOwner, parent_id: int | None, name: str,
           except_id: int | None = None) -> FileEntry | None:
    scope, params = owner.condition()
    where, parent = _parent_condition(parent_id)
    rows, _ = tx.run(f"SELECT {_COLUMNS} FROM file_entries WHERE {scope} AND {where} "
                     "AND name_key = ? AND deleted_at IS NULL AND id <> ?",
                     params + parent + (name_key(name), -1 if except_id is None else except_id))
    return FileEntry(*rows[0]) if rows else None


def _check_free(tx: SqlRunner, owner: FileOwner, parent_id: int | None, name: str,
                except_id: int | None = None) -> None:
    """Refuse a name another live entry of the folder has (the unique index backs this)."""
    if _named(tx, owner, parent_id, name, except_id) is not None:
        raise DuplicateName(name)

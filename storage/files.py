"""Users' files and folders: the records and the queries both backends share.

The SQL is written once with ``?`` placeholders; each backend runs it
through ``_sql_tx`` (see shared_sql.py) (PostgreSQL swaps in ``%s``). Contents live on disk
(see file_contents.py); these rows keep names, places and analyses.
"""

from __future__ import annotations

from dataclasses import dataclass

from .shared_sql import SharedQueries, SqlRunner

MAX_NAME_LENGTH = 255
_FORBIDDEN_IN_NAMES = ("/", "\\", "\x00")
_COLUMNS = ("id, owner_user_id, parent_id, kind, name, size_bytes, sha256, analysis_json, "
            "created_at, deleted_at")


class FileStoreError(ValueError):
    """A name, folder or move the file store refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    id: int
    owner_user_id: int
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


# Every entry under (and including) one of the owner's entries.
_SUBTREE = """WITH RECURSIVE subtree(id) AS (
    SELECT id FROM file_entries WHERE id = ? AND owner_user_id = ?
    UNION ALL SELECT f.id FROM file_entries f JOIN subtree s ON f.parent_id = s.id)"""


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


class FileQueries(SharedQueries):
    """Users' files and folders, on whichever store this is mixed into."""

    def create_folder(self, owner_user_id: int, parent_id: int | None, name: str,
                      now: float) -> FileEntry:
        """Make a folder in one of the owner's folders (None: the top)."""
        return self._add(owner_user_id, parent_id, "folder", name, None, None, None, now)

    def add_file(self, owner_user_id: int, parent_id: int | None, name: str, size_bytes: int,
                 sha256: str, analysis_json: str | None, now: float) -> FileEntry:
        """Record an uploaded file whose contents are already stored."""
        return self._add(owner_user_id, parent_id, "file", name, size_bytes, sha256,
                         analysis_json, now)

    def _add(self, owner: int, parent_id: int | None, kind: str, name: str,
             size: int | None, sha256: str | None, analysis: str | None,
             now: float) -> FileEntry:
        name = check_name(name)
        with self._sql_tx() as tx:
            _check_folder(tx, owner, parent_id)
            rows, _ = tx.run(
                "INSERT INTO file_entries (owner_user_id, parent_id, kind, name, size_bytes, "
                f"sha256, analysis_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"RETURNING {_COLUMNS}",
                (owner, parent_id, kind, name, size, sha256, analysis, now))
        return FileEntry(*rows[0])

    def file_entry(self, owner_user_id: int, entry_id: int,
                   include_trashed: bool = False) -> FileEntry | None:
        """One of the owner's entries; None if it is another user's, unknown or trashed."""
        trashed = "" if include_trashed else " AND deleted_at IS NULL"
        with self._sql_tx() as tx:
            rows, _ = tx.run(f"SELECT {_COLUMNS} FROM file_entries WHERE id = ? "
                             f"AND owner_user_id = ?{trashed}", (entry_id, owner_user_id))
        return FileEntry(*rows[0]) if rows else None

    def folder_entries(self, owner_user_id: int, parent_id: int | None) -> list[FileEntry]:
        """The folder's live entries, folders first, then by name."""
        where = "parent_id IS NULL" if parent_id is None else "parent_id = ?"
        params: tuple = (owner_user_id,) if parent_id is None else (owner_user_id, parent_id)
        with self._sql_tx() as tx:
            rows, _ = tx.run(f"SELECT {_COLUMNS} FROM file_entries WHERE owner_user_id = ? "
                             f"AND {where} AND deleted_at IS NULL "
                             "ORDER BY kind DESC, lower(name), id", params)
        return [FileEntry(*row) for row in rows]

    def folder_path(self, owner_user_id: int, folder_id: int | None) -> list[FileEntry]:
        """The folders from the top down to this one (empty for the top)."""
        path: list[FileEntry] = []
        while folder_id is not None:
            folder = self.file_entry(owner_user_id, folder_id)
            if folder is None or len(path) > 1000:
                break
            path.append(folder)
            folder_id = folder.parent_id
        return path[::-1]

    def rename_entry(self, owner_user_id: int, entry_id: int, name: str) -> bool:
        """Rename one of the owner's live entries; False if there is no such entry."""
        name = check_name(name)
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE file_entries SET name = ? WHERE id = ? AND "
                              "owner_user_id = ? AND deleted_at IS NULL",
                              (name, entry_id, owner_user_id))
        return count == 1

    def move_entry(self, owner_user_id: int, entry_id: int, parent_id: int | None) -> bool:
        """Move an entry into another of the owner's folders; never into itself."""
        with self._sql_tx() as tx:
            if parent_id is not None:
                inside, _ = tx.run(f"{_SUBTREE} SELECT 1 FROM subtree WHERE id = ?",
                                   (entry_id, owner_user_id, parent_id))
                if inside:
                    raise FileStoreError("a folder cannot be moved into itself")
            _check_folder(tx, owner_user_id, parent_id)
            _, count = tx.run("UPDATE file_entries SET parent_id = ? WHERE id = ? AND "
                              "owner_user_id = ? AND deleted_at IS NULL",
                              (parent_id, entry_id, owner_user_id))
        return count == 1

    def trash_entry(self, owner_user_id: int, entry_id: int, now: float) -> bool:
        """Move an entry (a folder with all it holds) to the trash; False if none."""
        with self._sql_tx() as tx:
            live, _ = tx.run("SELECT 1 FROM file_entries WHERE id = ? AND owner_user_id = ? "
                             "AND deleted_at IS NULL", (entry_id, owner_user_id))
            if not live:
                return False
            tx.run(f"{_SUBTREE} UPDATE file_entries SET deleted_at = ? "
                   "WHERE id IN (SELECT id FROM subtree) AND deleted_at IS NULL",
                   (entry_id, owner_user_id, now))
        return True

    def restore_entry(self, owner_user_id: int, entry_id: int) -> bool:
        """Bring an entry back from the trash, with what was trashed along with it.

        Its folder may have been trashed on its own since: then it comes
        back to the top folder.
        """
        with self._sql_tx() as tx:
            rows, _ = tx.run("SELECT e.deleted_at, p.deleted_at FROM file_entries e LEFT JOIN "
                             "file_entries p ON p.id = e.parent_id WHERE e.id = ? AND "
                             "e.owner_user_id = ? AND e.deleted_at IS NOT NULL",
                             (entry_id, owner_user_id))
            if not rows:
                return False
            deleted_at, parent_deleted_at = rows[0]
            tx.run(f"{_SUBTREE} UPDATE file_entries SET deleted_at = NULL "
                   "WHERE id IN (SELECT id FROM subtree) AND deleted_at = ?",
                   (entry_id, owner_user_id, deleted_at))
            if parent_deleted_at is not None:
                tx.run("UPDATE file_entries SET parent_id = NULL WHERE id = ?", (entry_id,))
        return True

    def trashed_entries(self, owner_user_id: int) -> list[FileEntry]:
        """What the owner trashed, newest first; not what went along inside a folder."""
        with self._sql_tx() as tx:
            rows, _ = tx.run(
                f"SELECT {', '.join('e.' + c.strip() for c in _COLUMNS.split(','))} "
                "FROM file_entries e LEFT JOIN file_entries p ON p.id = e.parent_id "
                "WHERE e.owner_user_id = ? AND e.deleted_at IS NOT NULL AND "
                "(p.deleted_at IS NULL OR p.deleted_at <> e.deleted_at) "
                "ORDER BY e.deleted_at DESC, e.id", (owner_user_id,))
        return [FileEntry(*row) for row in rows]


def _check_folder(tx: SqlRunner, owner: int, folder_id: int | None) -> None:
    if folder_id is None:
        return
    rows, _ = tx.run("SELECT kind FROM file_entries WHERE id = ? AND owner_user_id = ? "
                     "AND deleted_at IS NULL", (folder_id, owner))
    if not rows or rows[0][0] != "folder":
        raise FileStoreError("no such folder")

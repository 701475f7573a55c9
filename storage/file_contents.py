"""Uploaded files' contents on disk, per owner, written whole or not at all.

A user's files live in <root>/<user id>/<sha256>, an organisation's in
<root>/org-<org id>/<sha256>.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .files import FileOwner

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UploadTooLarge(ValueError):
    """An upload went past the size limit; nothing of it was kept."""

    def __init__(self, limit_bytes: int) -> None:
        mib = limit_bytes / 1024 / 1024
        limit = f"{mib:g} MiB" if mib == int(mib) else f"{limit_bytes} bytes"
        super().__init__(f"the file is larger than the {limit} upload limit")
        self.limit_bytes = limit_bytes


class FileContents:
    """Content-addressed per owner, so two uploads of the same file share one copy."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def save(self, owner: FileOwner, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Stream chunks to a temporary file, then move it into place; return (sha256, size).

        Past max_bytes the temporary file is removed and UploadTooLarge raised.
        """
        folder = self._folder(owner)
        folder.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadTooLarge(self.max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            os.replace(temporary, folder / sha256)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        logger.info("stored %d bytes for %s as %s", size, owner, sha256)
        return sha256, size

    def path(self, owner: FileOwner, sha256: str) -> Path:
        """Where a stored file's contents are; refuses anything but a sha256."""
        if not _SHA256.match(sha256):
            raise ValueError(f"{sha256!r} is not a sha256")
        return self._folder(owner) / sha256

    def _folder(self, owner: FileOwner) -> Path:
        if owner.org_id is not None:
            return self.root / f"org-{int(owner.org_id)}"
        return self.root / str(int(owner.user_id or 0))

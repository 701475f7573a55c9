"""Download print files from the server, bounded in size and checked by SHA-256."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import urllib.request
from pathlib import Path

CHUNK_BYTES = 64 * 1024
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(RuntimeError):
    """A file could not be fetched intact; the message says why."""


class FileFetcher:
    """Fetches files into a cache directory named by their hash (fetched once)."""

    def __init__(self, directory: Path, max_bytes: int, timeout_s: float = 30.0,
                 headers: dict[str, str] | None = None) -> None:
        self._directory = Path(directory)
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._headers = headers or {}

    async def fetch(self, url: str, sha256: str, size_bytes: int) -> Path:
        """Return the local path of the file, downloading and verifying it if needed."""
        sha256 = sha256.lower()
        if not _HEX_SHA256.match(sha256):
            raise DownloadError(f"invalid sha256 {sha256!r}")
        if not url.startswith(("https://", "http://")):
            raise DownloadError(f"refusing to download from {url!r}: only http(s) URLs")
        if size_bytes > self._max_bytes:
            raise DownloadError(f"file of {size_bytes} bytes exceeds the limit of "
                                f"{self._max_bytes} bytes")
        target = self._directory / f"{sha256}.gcode"
        if target.exists():
            return target
        return await asyncio.to_thread(self._download, url, sha256, size_bytes, target)

    def _download(self, url: str, sha256: str, size_bytes: int, target: Path) -> Path:
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DownloadError(f"cannot store downloads in {self._directory}: {error}") from None
        partial = target.with_suffix(".part")
        digest = hashlib.sha256()
        received = 0
        request = urllib.request.Request(url, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response, \
                    open(partial, "wb") as out:
                while chunk := response.read(CHUNK_BYTES):
                    received += len(chunk)
                    if received > size_bytes:
                        raise DownloadError(f"server sent more than the announced {size_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise DownloadError(f"download of {url} failed: {error}") from None
        except DownloadError:
            partial.unlink(missing_ok=True)
            raise
        if received != size_bytes or digest.hexdigest() != sha256:
            partial.unlink(missing_ok=True)
            raise DownloadError(f"integrity check failed: got {received} bytes with sha256 "
                                f"{digest.hexdigest()[:12]}…, expected {size_bytes} bytes with "
                                f"{sha256[:12]}…")
        os.replace(partial, target)
        return target

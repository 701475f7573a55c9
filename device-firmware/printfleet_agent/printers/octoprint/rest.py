"""A small client for OctoPrint's REST API on urllib: JSON requests and streamed file uploads."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from http.client import HTTPException
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from ..base import PrinterError

logger = logging.getLogger(__name__)

UPLOAD_CHUNK_BYTES = 64 * 1024


class OctoPrintError(PrinterError):
    """OctoPrint could not be asked, or said no; the message says which and why."""


class OctoPrintUnreachable(OctoPrintError):
    """Nothing answered at OctoPrint's address, or it answered too slowly."""


class OctoPrintAuthError(OctoPrintError):
    """OctoPrint refused the API key (HTTP 401/403)."""


class OctoPrintHttpError(OctoPrintError):
    """OctoPrint answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class OctoPrintRest:
    """Sends requests to one OctoPrint with one API key; safe to share between threads."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout_s = timeout_s

    def get(self, path: str, timeout_s: float | None = None) -> Any:
        """GET a JSON document."""
        return self._request("GET", path, None, {}, timeout_s)

    def post(self, path: str, body: dict[str, Any], timeout_s: float | None = None) -> Any:
        """POST a JSON document; return the answer's JSON, or None when it has no body."""
        data = json.dumps(body).encode()
        return self._request("POST", path, data, {"Content-Type": "application/json"}, timeout_s)

    def upload(self, path: str, file_name: str, source: Path, fields: dict[str, str],
               timeout_s: float | None = None) -> Any:
        """POST a file as multipart/form-data, streamed from disk (G-code can be hundreds of MB)."""
        boundary = f"printfleet-{uuid.uuid4().hex}"
        head = b"".join(_form_field(boundary, name, value) for name, value in fields.items())
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{_quote_header(file_name)}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = len(head) + source.stat().st_size + len(tail)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
                   "Content-Length": str(size)}
        return self._request("POST", path, _stream(head, source, tail), headers, timeout_s)

    def _request(self, method: str, path: str, data: bytes | Iterator[bytes] | None,
                 headers: dict[str, str], timeout_s: float | None) -> Any:
        url = self.base_url + path
        request = Request(url, data=data, method=method,
                          headers={"X-Api-Key": self._api_key, "Accept": "application/json", **headers})
        timeout = self._timeout_s if timeout_s is None else timeout_s
        try:
            with urlopen(request, timeout=timeout) as response:
                body = response.read()
        except HTTPError as error:
            raise _http_error(self.base_url, method, path, error) from None
        except (URLError, OSError, HTTPException) as error:
            reason = getattr(error, "reason", error)
            raise OctoPrintUnreachable(
                f"OctoPrint at {self.base_url} is unreachable ({method} {path}): {reason}") from None
        return json.loads(body) if body.strip() else None


def file_path(location: str, path: str) -> str:
    """The API path of one file in OctoPrint's storage (`local` or `sdcard`)."""
    return f"/api/files/{location}/{quote(path.lstrip('/'))}"


def _http_error(base_url: str, method: str, path: str, error: HTTPError) -> OctoPrintError:
    detail = _error_text(error.read())
    if error.code in (401, 403):
        return OctoPrintAuthError(
            f"OctoPrint at {base_url} refused the API key for {method} {path} (HTTP {error.code}): "
            f"{detail}; check the key (OctoPrint: Settings, Application Keys) and its user's rights")
    return OctoPrintHttpError(
        f"OctoPrint at {base_url} answered {method} {path} with HTTP {error.code}: {detail}",
        error.code)


def _error_text(body: bytes) -> str:
    """OctoPrint's own error message if the body has one, else the body's start."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        return text[:200] or "no details"
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return document["error"]
    return text[:200]


def _form_field(boundary: str, name: str, value: str) -> bytes:
    return (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n").encode()


def _quote_header(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


def _stream(head: bytes, source: Path, tail: bytes) -> Iterator[bytes]:
    yield head
    with source.open("rb") as file:
        while chunk := file.read(UPLOAD_CHUNK_BYTES):
            yield chunk
    yield tail

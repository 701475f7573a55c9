"""Fixtures for the web tests: a real SQLite store and waitress on a free port."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask

from printfleet.settings import Settings, load
from printfleet_protocol import SCHEMA_VERSION, Family
from printfleet_protocol.payloads import (
    Heater,
    JobEvent,
    JobEventKind,
    JobOrigin,
    Presence,
    PresenceStatus,
    PrinterState,
    Telemetry,
)
from storage import Accepted
from storage.sqlite import SqliteIngestStore, SqliteSyncStore
from web import create_app
from web.context import EXTENSION_KEY, WebState
from web.passwords import hash_password
from web.server import WebServer, make_server

ALICE = ("alice@example.org", "correct horse battery staple")
BOB = ("bob@example.org", "another long passphrase")
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Port 0: the OS picks a free port, read back from the server (no race).
    return load(None, environ={
        "PRINTFLEET_DATA_DIR": str(tmp_path),
        "PRINTFLEET_WEB__PORT": "0",
        "PRINTFLEET_WEB__THREADS": "8",
        "PRINTFLEET_WEB__LIVE_UPDATE_INTERVAL_S": "0.05",
    })


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteSyncStore]:
    sync_store = SqliteSyncStore(db_path)
    sync_store.migrate()
    yield sync_store
    sync_store.stop()


@pytest.fixture
def users(store: SqliteSyncStore) -> dict[str, int]:
    return {email: store.create_user(email, hash_password(password))
            for email, password in (ALICE, BOB)}


@pytest.fixture
def app(settings: Settings, store: SqliteSyncStore) -> Flask:
    return create_app(settings, store)


def start_server(settings: Settings, app: Flask) -> tuple[WebServer, threading.Thread]:
    """Start waitress in a background thread."""
    server = make_server(settings, app)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def server(settings: Settings, app: Flask) -> Iterator[WebServer]:
    web_server, thread = start_server(settings, app)
    yield web_server
    web_server.close()
    thread.join(10)
    assert not thread.is_alive(), "waitress loop did not stop"


@pytest.fixture
def base_url(server: WebServer) -> str:
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
def web_state(app: Flask) -> WebState:
    return app.extensions[EXTENSION_KEY]


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5) as http:
        yield http


@pytest.fixture
def make_client(base_url: str) -> Iterator[Any]:
    clients: list[httpx.Client] = []

    def build() -> httpx.Client:
        http = httpx.Client(base_url=base_url, timeout=5)
        clients.append(http)
        return http

    yield build
    for http in clients:
        http.close()


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    match = _CSRF_FIELD.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def log_in(http: httpx.Client, email: str, password: str) -> httpx.Response:
    """Sign in through the real form, CSRF token included."""
    token = csrf_from(http.get("/login").text)
    return http.post("/login", data={"email": email, "password": password,
                                     "csrf_token": token})


def write_messages(db_path: Path, messages: list[tuple[str, Any]]) -> None:
    """Store (device_id, payload) pairs through the real async ingest path."""

    async def write() -> None:
        ingest = SqliteIngestStore(db_path)
        await ingest.start()
        try:
            accepted = [Accepted(device_id, _family(message), message, time.time())
                        for device_id, message in messages]
            await ingest.write_batch(accepted, [])
        finally:
            await ingest.stop()

    asyncio.run(asyncio.wait_for(write(), timeout=10))


def _family(message: Any) -> Family:
    return {Telemetry: Family.TELEMETRY, JobEvent: Family.JOB,
            Presence: Family.PRESENCE}[type(message)]


def telemetry(seq: int, tool: float, bed: float, progress: float | None,
              time_left_s: float | None = None, ts: float | None = None) -> Telemetry:
    """Build a printing telemetry payload."""
    return Telemetry(
        v=SCHEMA_VERSION, ts=time.time() if ts is None else ts, seq=seq, state=PrinterState.PRINTING,
        heaters={"tool0": Heater(actual=tool, target=210.0), "bed": Heater(actual=bed, target=60.0)},
        progress_pct=progress, time_left_s=time_left_s, job_id="job-1")


def job_started(seq: int, file_name: str) -> JobEvent:
    """Build a job-started payload."""
    return JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=seq, job_id="job-1", event=JobEventKind.STARTED,
                    file_name=file_name, origin=JobOrigin.SIMULATOR)


def online(seq: int) -> Presence:
    """Build an online presence payload."""
    return Presence(v=SCHEMA_VERSION, ts=time.time(), seq=seq, status=PresenceStatus.ONLINE)


class SseReader:
    """Read server-sent events from a streaming httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.iter_lines()
        self.comments: list[str] = []

    def next_event(self, timeout_s: float = 10.0) -> dict[str, str]:
        """Return the next event's fields (event, data, retry); comments are kept aside."""
        # Keepalives keep the read timeout from firing, so give up on a deadline.
        deadline = time.monotonic() + timeout_s
        fields: dict[str, str] = {}
        for line in self._lines:
            if line == "":
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no event within {timeout_s} s")
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        raise EOFError("stream ended")

    def next_comment_or_event(self) -> str | dict[str, str]:
        """Return the next comment text or event, whichever comes first."""
        before = len(self.comments)
        fields: dict[str, str] = {}
        for line in self._lines:
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                if not fields:
                    return self.comments[before]
            elif line == "":
                if fields:
                    return fields
            else:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        raise EOFError("stream ended")

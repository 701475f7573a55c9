"""Fixtures for the notification tests: a real SMTP server and a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from printfleet.settings import Settings, load, with_changes
from storage.sqlite import SqliteSyncStore

from ..mail_server import MailSink, smtp_server


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def settings(tmp_path: Path, smtp: MailSink) -> Settings:
    base = load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path)})
    return with_changes(
        base,
        mail={"host": "127.0.0.1", "port": smtp.port, "security": "none",
              "from_address": "fleet@printfleet.test", "timeout_s": 5.0,
              "link_base_url": "https://print.example.com/"},
        notifications={"webhook_allow_private": True, "webhook_timeout_s": 0.5,
                       "first_retry_s": 10.0, "max_attempts": 4})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteSyncStore]:
    sync_store = SqliteSyncStore(tmp_path / "notify.sqlite3")
    sync_store.migrate()
    yield sync_store
    sync_store.stop()

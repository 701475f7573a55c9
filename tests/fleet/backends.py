"""A test context on either storage backend, for fleet tests that run on both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from printfleet.context import Context

from ..storage.postgres_server import fresh_database
from ..support import make_settings

BACKENDS = ["sqlite", "postgres"]


@contextmanager
def backend_context(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                    ) -> Iterator[Context]:
    """A context on SQLite, or on a fresh PostgreSQL database named by reference."""
    if backend == "sqlite":
        yield Context(make_settings(tmp_path / "data"))
        return
    with fresh_database() as dsn:
        # Secret by reference, as in production: the settings name the variable.
        monkeypatch.setenv("PF_TEST_DATABASE_URL", dsn)
        yield Context(make_settings(tmp_path / "data", storage={
            "backend": "postgres", "postgres_dsn_env": "PF_TEST_DATABASE_URL"}))

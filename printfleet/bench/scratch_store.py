"""A fresh store in a temporary data directory (and a scratch database on PostgreSQL).

The query, web and retention benches each measure a store of their own that
they fill and then throw away.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from printfleet.context import Context
from printfleet.settings import Settings, with_changes
from storage import BackendUnavailable, SyncStore

from .postgres_db import BENCH_DSN_VARIABLE, environment_variable, fresh_database
from .processes import BenchError


@dataclass(frozen=True)
class ScratchStore:
    store: SyncStore
    settings: Settings  # the bench's own, pointing at the scratch store
    dsn: str | None  # the scratch database on PostgreSQL; None on SQLite


@contextmanager
def scratch_store(settings: Settings, backend: str, dsn: str | None,
                  **storage: object) -> Iterator[ScratchStore]:
    """Open a migrated store of `backend` that is removed afterwards; `storage` overrides settings."""
    with ExitStack() as cleanup:
        scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory(
            prefix="printfleet-bench-")))
        changes: dict[str, object] = {"backend": backend, "sqlite_path": "", **storage}
        database = None
        if backend == "postgres":
            database = cleanup.enter_context(fresh_database(settings, dsn))
            cleanup.enter_context(environment_variable(BENCH_DSN_VARIABLE, database))
            changes["postgres_dsn_env"] = BENCH_DSN_VARIABLE
        bench_settings = with_changes(settings, top={"data_dir": str(scratch / "data")},
                                      storage=changes)
        try:
            store = Context(bench_settings).open_store(migrate=True)
        except (BackendUnavailable, ImportError) as error:
            raise BenchError(f"the {backend} store is not available: {error}") from error
        cleanup.callback(store.stop)
        yield ScratchStore(store, bench_settings, database)

"""`printfleet bench web`: the dashboard, a printer page and the jobs list on a full fleet.

1. a fresh store (SQLite file in a temp dir, or a scratch PostgreSQL
   database with plain rollup tables), migrated the normal way;
2. 1,000 printers (by default) owned by one user, with 30 days of rollups,
   print jobs (and the commands that started half of them), outages and
   the devices' downtime reports, bulk-loaded (bench/web_loading.py);
3. each page requested through the Flask app with a signed-in session, next
   to the same store reads called directly (bench/web_timing.py);
4. one JSON object: figures, the targets (p95 <= 300 ms a page), met or not.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from printfleet.settings import Settings
from storage import SyncStore

from .scratch_store import scratch_store
from .web_fleet import Fleet
from .web_loading import BulkWriter, load
from .web_timing import page_reads, signed_in_client, summary, time_reads

Say = Callable[[str], None]
PAGE_P95_TARGET_MS = 300.0
FULL_PRINTERS, FULL_DAYS = 1000, 30
BENCH_EMAIL = "bench@printfleet.invalid"


@dataclass(frozen=True)
class WebBenchOptions:
    backend: str
    printers: int = FULL_PRINTERS
    days: int = FULL_DAYS
    repeats: int = 100
    dsn: str | None = None  # PostgreSQL server; else the variable the settings name


def run(settings: Settings, options: WebBenchOptions, say: Say) -> dict[str, Any]:
    """Load the fleet, time every page and its store reads; return the report."""
    from web import create_app
    from web.passwords import hash_password

    end = math.floor(time.time() / 3600) * 3600
    password = secrets.token_urlsafe(16)
    with _fresh_store(settings, options) as (store, bench_settings, writer):
        user_id = store.create_user(BENCH_EMAIL, hash_password(password), "Bench", "User")
        fleet = Fleet(options.printers, options.days, end, user_id)
        say(f"bench: loading {options.printers} printers x {options.days} days into a fresh "
            f"{options.backend} store …")
        loaded = load(store, writer, fleet, say)
        app = create_app(bench_settings, store)
        client = signed_in_client(app, BENCH_EMAIL, password)
        reads = page_reads(app, store, user_id, end)
        say(f"bench: timing {', '.join(reads)}, {options.repeats} runs per side …")
        time_reads(client, reads, options.printers, options.repeats)
    pages = {name: summary(read) for name, read in reads.items()}
    targets = {f"{name}_p95_ms": _target(figures) for name, figures in pages.items()}
    return {
        "bench": "web", "backend": options.backend, "printers": options.printers,
        "days": options.days, "repeats": options.repeats,
        "full_size": (options.printers, options.days) == (FULL_PRINTERS, FULL_DAYS),
        "load": loaded.as_dict(), "pages": pages, "targets": targets,
        "all_met": all(t["met"] is not False for t in targets.values()),
    }


def _target(figures: dict[str, Any]) -> dict[str, Any]:
    if figures["page_ms"] is None:
        return {"target": PAGE_P95_TARGET_MS, "value": None, "met": None,
                "note": "not available"}
    value = figures["page_ms"]["p95"]
    return {"target": PAGE_P95_TARGET_MS, "value": value, "met": value <= PAGE_P95_TARGET_MS}


@contextmanager
def _fresh_store(settings: Settings, options: WebBenchOptions
                 ) -> Iterator[tuple[SyncStore, Settings, BulkWriter]]:
    # Plain rollup tables on PostgreSQL too: the loader writes them directly.
    with scratch_store(settings, options.backend, options.dsn, timescaledb="off") as scratch:
        writer = (BulkWriter(dsn=scratch.dsn) if scratch.dsn is not None
                  else BulkWriter(sqlite_path=scratch.settings.sqlite_file))
        try:
            yield scratch.store, scratch.settings, writer
        finally:
            writer.close()

"""Shared reads on SQLite never wait behind a writer (the ingest worker commits all the time)."""

from __future__ import annotations

import sqlite3
import time

from storage.job_history import JobFilter
from storage.sqlite import SqliteSyncStore


def test_reads_go_on_while_another_connection_holds_the_write_lock(tmp_path):
    store = SqliteSyncStore(tmp_path / "db.sqlite3")
    store.migrate()
    owner = store.create_user("a@example.com", "h")
    store.add_device("p-1", "Printer", owner, "$7$h")
    writer = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # as a worker mid-commit, for longer than any wait
    writer.execute("UPDATE devices SET name = 'being written' WHERE device_id = 'p-1'")
    try:
        started = time.monotonic()
        assert store.latest_live_frame("p-1") is None  # one SELECT through _run
        assert store.print_jobs_page(["p-1"], JobFilter(), 10).total == 0  # a read transaction
        assert store.print_job_summary(["p-1"], JobFilter()).total.prints == 0
        assert time.monotonic() - started < 1.0, "a read waited for the writer"
        assert store.printer_for_user(owner, "p-1").name == "Printer"  # the last committed
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        store.stop()

"""Time pages through the Flask app (a signed-in test client) next to the store reads they make.

Each page is a real request through every layer (session, CSRF, activity
log, view, template); its "store" side is the same reads called on the
store directly, so the difference is what the web layer adds. The sides
take turns, first one then the other, as in bench queries.
"""

from __future__ import annotations

import calendar
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from storage import SyncStore
from storage.files import FileOwner
from storage.job_history import JobFilter

from .history import device_id
from .processes import BenchError
from .query_timing import WARMUP_RUNS, Timed

JOBS_PER_PAGE = 50
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class PageRead:
    """One page: its path for a printer, and the store reads behind it."""

    path: Callable[[str], str]
    store: Callable[[str], object] | None
    available: bool = True
    note: str | None = None
    page_ms: Timed | None = None
    store_ms: Timed | None = None


def signed_in_client(app: Flask, email: str, password: str) -> FlaskClient:
    """A test client signed in through the real form."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF.search(page)
    if token is None:
        raise BenchError("the sign-in page has no CSRF field")
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token.group(1)})
    if response.status_code != 302:
        raise BenchError(f"signing the bench user in failed: HTTP {response.status_code}")
    return client


def printer_page_route(app: Flask) -> str | None:
    """The rule of a printer's own page (/printers/<id>) if this app has one."""
    for rule in app.url_map.iter_rules():
        parts = rule.rule.strip("/").split("/")
        if (len(parts) == 2 and parts[0] == "printers" and parts[1].startswith("<")
                and "GET" in (rule.methods or ())):
            return rule.rule
    return None


def page_reads(app: Flask, store: SyncStore, user_id: int, end: float) -> dict[str, PageRead]:
    """The pages to time, with the store reads each one makes."""
    week_ago = end - 7 * 86400

    def printers(_: str) -> object:
        return store.printers_for_user(user_id)

    def jobs(job_filter: JobFilter) -> object:
        devices = [p.device_id for p in store.printers_for_user(user_id)]
        reads = (store.print_jobs_page(devices, job_filter, JOBS_PER_PAGE, count=False),
                 store.print_job_summary(devices, job_filter))
        # Filtered, the page also lists everyone who started a job (unfiltered
        # it takes them from the statistics).
        return reads if job_filter == JobFilter() else (*reads, store.print_job_starters(devices))

    def printer(device: str) -> object:
        # What web/printer_page.py and printer_presenters.page_data read.
        return (store.printer_for_user(user_id, device),
                store.temperature_chart(device, end - 86400, end),
                store.latest_facts(device), store.jobs_for_device(device),
                store.downtime_history(device, end), store.device_created_at(device),
                store.recent_commands(device, 10), store.device_settings(device),
                store.files_for_printing(FileOwner(user_id=user_id)))

    route = printer_page_route(app)
    week = time.strftime("%Y-%m-%d", time.gmtime(week_ago))
    return {
        "printers": PageRead(lambda _: "/printers", printers),
        "printer_page": PageRead(
            lambda d: f"/printers/{d}", printer, available=route is not None,
            note=(None if route else "not available: this build has no /printers/<id> page; "
                  "its store side times the reads such a page makes (printer, 24 h chart, "
                  "job history, downtime, uptime)")),
        "jobs": PageRead(lambda _: "/jobs", lambda _: jobs(JobFilter())),
        "jobs_filtered": PageRead(
            lambda d: f"/jobs?printer={d}&outcome=finished&from={week}",
            lambda d: jobs(JobFilter(device_id=d, outcome="finished", since=_day_start(week)))),
    }


def time_reads(client: FlaskClient, reads: dict[str, PageRead], printers: int, repeats: int,
               seed: int = 1) -> None:
    """Time every page and its store reads `repeats` times each, for random printers."""
    pick = random.Random(seed)
    for read in reads.values():
        read.page_ms, read.store_ms = Timed(), Timed()
        sides: list[tuple[Callable[[str], object], Timed]] = []
        if read.available:
            sides.append((_requester(client, read.path), read.page_ms))
        if read.store is not None:
            sides.append((read.store, read.store_ms))
        for run in range(WARMUP_RUNS + repeats):
            device = device_id(pick.randrange(printers))
            for call, timed in sides if run % 2 == 0 else reversed(sides):
                started = time.perf_counter()
                call(device)
                if run >= WARMUP_RUNS:
                    timed.ms.append((time.perf_counter() - started) * 1000)


def summary(read: PageRead) -> dict[str, Any]:
    return {"page_ms": read.page_ms.summary() if read.available and read.page_ms else None,
            "store_ms": read.store_ms.summary() if read.store_ms else None,
            "available": read.available, **({"note": read.note} if read.note else {})}


def _requester(client: FlaskClient, path: Callable[[str], str]) -> Callable[[str], object]:
    return lambda device: _get(client, path(device))


def _get(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered HTTP {response.status_code}")
    response.get_data()


def _day_start(day: str) -> float:
    return float(calendar.timegm(time.strptime(day, "%Y-%m-%d")))

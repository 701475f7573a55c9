"""The print-jobs history: the filtered list, one job, statistics, CSV export and the JSON API.

Jobs are those of the printers the signed-in user can see (the same scope
as the printers page); a job on any other printer answers 404.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from storage import SyncStore
from storage.job_history import OUTCOMES, JobFilter, PrintJob, StatsScope, empty_stats

from .access import job_or_404, visible_devices
from .camera import job_pictures
from .context import store
from .job_export import csv_lines, iso_utc, job_to_dict, stats_to_dict
from .job_filters import STARTED_OUTSIDE, FilterError, JobQuery, parse_query
from .location_presenter import shown_location
from .presenters import format_time_left

logger = logging.getLogger(__name__)

bp = Blueprint("jobs", __name__)

CSV_PAGE = 2000  # jobs fetched per query while the export streams
STATS_ROWS_SHOWN = 20  # per-printer and per-user rows on the page; the API has them all
STATS_SCOPES: tuple[StatsScope, ...] = ("total", "printer", "user")


@bp.get("/jobs")
@login_required
def page() -> ResponseReturnValue:
    """List the user's print jobs, filtered and paged, with their statistics."""
    printers = visible_devices()
    try:
        query = parse_query(request.args)
    except FilterError as error:
        return render_template("jobs.html", error=str(error), **_empty_page(printers)), 400
    # The statistics count the same jobs, so the list is not counted twice.
    jobs_page = store().print_jobs_page(printers.keys(), query.job_filter, query.per_page,
                                        query.offset, count=False)
    summary = store().print_job_summary(printers.keys(), query.job_filter)
    total = summary.total.prints
    pages = max(1, -(-total // query.per_page))
    if query.job_filter == JobFilter():
        # Unfiltered, everyone who started a job in scope is in the per-user statistics.
        starters = sorted(((int(s.key), s.label or "") for s in summary.by_user
                           if s.key is not None), key=lambda starter: starter[1])
    else:
        starters = store().print_job_starters(printers.keys())
    return render_template(
        "jobs.html", jobs=jobs_page.jobs, total=total, query=query, pages=pages,
        printers=sorted(printers.items(), key=lambda item: (item[1], item[0])),
        starters=starters, outcomes=OUTCOMES, started_outside=STARTED_OUTSIDE,
        totals=summary.total, by_printer=summary.by_printer[:STATS_ROWS_SHOWN],
        by_user=summary.by_user[:STATS_ROWS_SHOWN],
        more_printers=max(0, len(summary.by_printer) - STATS_ROWS_SHOWN),
        more_users=max(0, len(summary.by_user) - STATS_ROWS_SHOWN), error=None)


@bp.get("/jobs/<int:job_id>")
@login_required
def detail(job_id: int) -> str:
    """Show one job with every field."""
    job = job_or_404(job_id)
    return render_template("job.html", job=job, pictures=job_pictures(job),
                           location=shown_location(store().print_location(job.id)))


@bp.get("/jobs.csv")
@login_required
def export() -> Response:
    """Download the filtered list (every page) as CSV."""
    query = _query_or_400()
    devices = list(visible_devices())
    sync_store = store()  # captured: the body streams after this request's context is gone
    day = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    body = csv_lines(_all_pages(sync_store, devices, query.job_filter))
    return Response((chunk.encode("utf-8") for chunk in body),
                    mimetype="text/csv", headers={
                        "Content-Type": "text/csv; charset=utf-8",
                        "Content-Disposition": f'attachment; filename="printfleet-jobs-{day}.csv"',
                        "Cache-Control": "no-store"})


@bp.get("/api/v1/jobs")
@login_required
def api_list() -> Response:
    """Return one page of the filtered jobs as JSON."""
    query = _query_or_400()
    jobs_page = store().print_jobs_page(list(visible_devices()), query.job_filter,
                                        query.per_page, query.offset)
    return jsonify(jobs=[job_to_dict(job) for job in jobs_page.jobs], total=jobs_page.total,
                   page=query.page, per_page=query.per_page)


@bp.get("/api/v1/jobs/<int:job_id>")
@login_required
def api_detail(job_id: int) -> Response:
    """Return one job as JSON."""
    return jsonify(job_to_dict(job_or_404(job_id)))


@bp.get("/api/v1/jobs/stats")
@login_required
def api_stats() -> Response:
    """Return statistics of the filtered jobs: by=total (default), printer or user."""
    query = _query_or_400()
    by = request.args.get("by", "total")
    if by not in STATS_SCOPES:
        return _bad_request(f"'by' must be one of {', '.join(STATS_SCOPES)}, not {by!r}")
    summary = store().print_job_summary(list(visible_devices()), query.job_filter)
    return jsonify(by=by, stats=[stats_to_dict(s) for s in summary.by(by)])  # type: ignore[arg-type]


@bp.app_template_filter("utc")
def format_utc(epoch: float | None) -> str:
    """Format an epoch second as 'YYYY-MM-DD HH:MM UTC', or a dash."""
    shown = iso_utc(epoch)
    return "—" if shown is None else shown[:16].replace("T", " ") + " UTC"


@bp.app_template_filter("duration")
def format_duration(seconds: float | None) -> str:
    """Format a duration like the printers page formats time left."""
    return format_time_left(seconds)


def _query_or_400() -> JobQuery:
    try:
        return parse_query(request.args)
    except FilterError as error:
        abort(_bad_request(str(error)))


def _bad_request(message: str) -> Response:
    response = jsonify(error="bad_request", message=message)
    response.status_code = 400
    return response


def _all_pages(sync_store: SyncStore, devices: list[str], job_filter: JobFilter
               ) -> Iterator[list[PrintJob]]:
    offset = 0
    while True:
        jobs = sync_store.print_jobs_page(devices, job_filter, CSV_PAGE, offset).jobs
        if not jobs:
            return
        yield jobs
        offset += len(jobs)


def _empty_page(printers: dict[str, str]) -> dict[str, object]:
    return {"jobs": [], "total": 0, "query": JobQuery(JobFilter()), "pages": 1,
            "printers": sorted(printers.items(), key=lambda item: (item[1], item[0])),
            "starters": [], "outcomes": OUTCOMES, "started_outside": STARTED_OUTSIDE,
            "totals": empty_stats("all", "All printers"), "by_printer": [], "by_user": [], "more_printers": 0,
            "more_users": 0}

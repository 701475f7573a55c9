"""One printer's page and its JSON twin: charts, jobs, downtime, facts, bed mesh, controls."""

from __future__ import annotations

import time

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_login import login_required

from storage.orgs import COMMANDING_ROLES

from .access import Need, printer_or_404
from .chart_svg import DEFAULT_RANGE, RANGES, chart_to_dict, render_chart
from .context import store
from .file_space import printer_file_owner
from .mesh_svg import mesh_figures, render_mesh
from .printer_presenters import PAGE_FILTERS, page_data

bp = Blueprint("printer_page", __name__)
for _name, _filter in PAGE_FILTERS.items():
    bp.add_app_template_filter(_filter, _name)


def _range() -> str:
    """The chart range asked for (?range=24h|7d|30d); 400 for anything else."""
    name = request.args.get("range", DEFAULT_RANGE)
    if name not in RANGES:
        abort(400, description=f"range must be one of {', '.join(RANGES)}")
    return name


def _chart(device_id: str, range_name: str, now: float):
    since = now - RANGES[range_name][0]
    return store().temperature_chart(device_id, since, now), since


@bp.get("/printers/<device_id>")
@login_required
def page(device_id: str) -> str:
    """Show one printer: live state, charts, history, facts, bed mesh and controls."""
    printer = printer_or_404(device_id, Need.VIEW)
    now, range_name = time.time(), _range()
    chart, since = _chart(device_id, range_name, now)
    sync = store()
    data = page_data(sync, printer, now)
    figures = mesh_figures(data["bed_mesh"])
    return render_template(
        "printer.html", data=data, device_id=device_id,
        chart_svg=render_chart(chart, since, now, range_name), range_name=range_name,
        ranges=list(RANGES), mesh_svg=None if figures is None else render_mesh(figures),
        files=sync.files_for_printing(printer_file_owner(printer)),
        org_files=printer.org_id is not None, now=now,
        can_command=printer.role in COMMANDING_ROLES)


@bp.get("/api/v1/printers/<device_id>")
@login_required
def api_printer(device_id: str) -> Response:
    """Return what the printer page shows (but the chart), as JSON."""
    printer = printer_or_404(device_id, Need.VIEW)
    return jsonify(page_data(store(), printer, time.time()))


@bp.get("/api/v1/printers/<device_id>/chart")
@login_required
def api_chart(device_id: str) -> Response:
    """Return the temperature chart of a range (?range=24h|7d|30d) as JSON."""
    printer_or_404(device_id, Need.VIEW)
    now, range_name = time.time(), _range()
    chart, since = _chart(device_id, range_name, now)
    return jsonify(chart_to_dict(chart, since, now, range_name))

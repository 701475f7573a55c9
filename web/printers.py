"""The printers dashboard: the page, its live streams and the JSON list."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Blueprint, Response, jsonify, render_template, request
from flask_login import current_user, login_required

from storage import PrinterRow, SyncStore

from .access import Need, printer_or_404
from .context import store, web_state
from .live import SSE_HEADERS, counted, printer_events
from .presenters import printers_to_dicts

logger = logging.getLogger(__name__)

bp = Blueprint("printers", __name__)

# Each open stream holds a server thread for as long as the page is open, so
# streams may take all threads but these, which stay free for pages and the
# API. A refused browser retries by itself (see static/live.js).
THREADS_KEPT_FOR_REQUESTS = 4


@bp.get("/printers")
@login_required
def page() -> str:
    """Show the signed-in user's printers."""
    printers = printers_to_dicts(store().printers_for_user(current_user.id), time.time())
    return render_template("printers.html", printers=printers)


@bp.get("/printers/live")
@login_required
def live() -> Response:
    """Stream the user's printers as server-sent events, one connection for all of them."""
    user_id = current_user.id
    return _stream(lambda sync: sync.printers_for_user(user_id))


@bp.get("/printers/<device_id>/live")
@login_required
def printer_live(device_id: str) -> Response:
    """Stream one printer as server-sent events, for its page's Now card."""
    printer_or_404(device_id, Need.VIEW)
    user_id = current_user.id

    def fetch(sync: SyncStore) -> list[PrinterRow]:
        # Asked again on every tick: a printer removed or moved out of the
        # user's reach while the page is open drops out of the stream.
        row = sync.printer_for_user(user_id, device_id)
        return [] if row is None else [row]

    return _stream(fetch)


def _stream(fetch: Callable[[SyncStore], list[PrinterRow]]) -> Response:
    """Answer with a counted event stream of what fetch reads, or 503 when all slots are taken."""
    state = web_state()
    if state.live_streams.open_count >= max_live_streams(state.settings.web.threads):
        logger.warning("refused a live stream: all %d stream slots are in use",
                       state.live_streams.open_count)
        return Response("too many live streams, retry later\n", status=503,
                        mimetype="text/plain", headers={"Retry-After": "5"})
    sync_store = state.store
    # Captured now: the stream runs after this request's context is gone.
    disconnected = request.environ.get("waitress.client_disconnected", _never)
    events = printer_events(
        fetch=lambda: fetch(sync_store),
        interval_s=state.settings.web.live_update_interval_s,
        disconnected=disconnected,
        stopping=state.stopping,
    )
    return Response(counted(events, state.live_streams), mimetype="text/event-stream",
                    headers=SSE_HEADERS)


@bp.get("/api/v1/printers")
@login_required
def api_list() -> Response:
    """Return the signed-in user's printers as JSON."""
    return jsonify(printers_to_dicts(store().printers_for_user(current_user.id), time.time()))


def max_live_streams(threads: int) -> int:
    """Return how many live streams may be open at once with this many threads."""
    return max(1, threads - THREADS_KEPT_FOR_REQUESTS)


def _never() -> bool:
    return False

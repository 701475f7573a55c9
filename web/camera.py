"""Camera pictures in the web: the live picture, the watch that keeps it coming, job pictures.

Every picture is looked up through access.printer_or_404, so only someone
who may see the printer gets it; anyone else gets 404, as for a printer
that does not exist. The bytes come from the camera directory under the
data directory (never the web root) through CameraImages.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Blueprint, Response, abort, current_app, jsonify, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import login_required

from printfleet.camera_watch import CameraWatches
from printfleet.context import Context
from printfleet.device_commands import CommandError, MqttPublisher, fleet_publisher
from printfleet.settings import Settings
from storage.camera import JOB, CameraFrame
from storage.camera_images import CameraImages
from storage.job_history import PrintJob

from .access import Need, job_or_404, printer_or_404
from .context import EXTENSION_KEY, store, web_state

logger = logging.getLogger(__name__)

bp = Blueprint("camera", __name__)

CAMERA_KEY = "printfleet_camera"
# A job's pictures never change: the browser may keep them a while, privately.
JOB_PICTURE_CACHE = "private, max-age=300"


class CameraWeb:
    """The camera's per-app parts; the broker connection is opened on the first watch."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._watches: CameraWatches | None = None
        self._publisher: MqttPublisher | None = None
        self._lock = threading.Lock()

    def watches(self) -> CameraWatches:
        with self._lock:
            if self._watches is None:
                settings = self._settings
                broker = settings.broker
                self._publisher = fleet_publisher(Context(settings))
                self._watches = CameraWatches(self._publisher, broker.topic_prefix,
                                              settings.camera.watch_s,
                                              settings.camera.live_interval_s)
            return self._watches

    def close(self) -> None:
        """Close the broker connection, if a watch opened one."""
        with self._lock:
            if self._publisher is not None:
                self._publisher.close()
            self._publisher = self._watches = None


@bp.record_once
def _set_up(state: BlueprintSetupState) -> None:
    state.app.extensions[CAMERA_KEY] = CameraWeb(state.app.extensions[EXTENSION_KEY].settings)


def images() -> CameraImages:
    return CameraImages(store(), web_state().settings.camera_dir)


@bp.get("/printers/<device_id>/camera/live.jpg")
@login_required
def live_image(device_id: str) -> Response:
    """The printer's newest live picture, while it is fresh; 404 otherwise."""
    printer_or_404(device_id, Need.VIEW)
    frame = store().latest_live_frame(device_id)
    ttl_s = web_state().settings.retention.camera_live_s
    # Shown only within its TTL even before the expiry job removes it.
    if frame is None or frame.received_at < time.time() - ttl_s:
        abort(404)
    return _picture(frame, "no-store")


@bp.post("/printers/<device_id>/camera/watch")
@login_required
def watch(device_id: str) -> tuple[Response, int]:
    """Keep the printer taking live pictures while this page is open (CSRF-checked)."""
    printer_or_404(device_id, Need.VIEW)
    watches = _camera().watches()
    try:
        watches.watch(device_id)
    except CommandError as error:
        logger.warning("camera watch for %s not sent: %s", device_id, error)
        return jsonify(error=f"The printer could not be asked for pictures: {error}"), 503
    return jsonify(watching=True, renew_after_s=watches.renew_every_s,
                   refresh_s=watches.interval_s,
                   image_url=url_for("camera.live_image", device_id=device_id)), 200


@bp.get("/jobs/<int:job_id>/pictures/<int:picture_id>")
@login_required
def job_picture(job_id: int, picture_id: int) -> Response:
    """A picture taken at one of the job's events; 404 unless the job's printer is visible."""
    job = job_or_404(job_id)
    frame = store().camera_frame(picture_id)
    if (frame is None or frame.kind != JOB or frame.device_id != job.device_id
            or frame.job_id != job.job_id):
        abort(404)
    return _picture(frame, JOB_PICTURE_CACHE)


def job_pictures(job: PrintJob) -> list[dict]:
    """The job's pictures for its page (url, reason, ts); call after job_or_404."""
    return [{"url": url_for("camera.job_picture", job_id=job.id, picture_id=frame.id),
             "reason": frame.reason, "ts": frame.ts}
            for frame in store().job_pictures(job.device_id, job.job_id)]


def _picture(frame: CameraFrame, cache_control: str) -> Response:
    image = images().read(frame)
    if image is None:  # expired between the lookup and the read
        abort(404)
    return Response(image, mimetype=frame.content_type,
                    headers={"Cache-Control": cache_control})


def _camera() -> CameraWeb:
    return current_app.extensions[CAMERA_KEY]

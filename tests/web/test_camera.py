"""Camera pictures in the web: only the printer's owner sees them; everyone else gets 404."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from flask import Flask

from printfleet.context import Context
from printfleet.settings import Settings
from printfleet_protocol import SCHEMA_VERSION, Family, decode, device_topic
from printfleet_protocol.payloads import JobEvent, JobEventKind, JobOrigin
from storage.camera_images import CameraImages, Picture
from storage.job_history import JobFilter
from storage.sqlite import SqliteSyncStore
from web.camera import CAMERA_KEY

from ..support import RunningBroker, make_settings, start_broker, wait_until
from .conftest import ALICE, BOB, csrf_from, write_messages
from .flask_client import sign_in, text

pytestmark = pytest.mark.timeout(60)

JPEG = b"\xff\xd8\xff\xe0" + b"first" * 40 + b"\xff\xd9"
NEWER = b"\xff\xd8\xff\xe0" + b"second" * 40 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"job" * 40


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A broker port and topic prefix of this test's own, for the watch.
    return make_settings(tmp_path / "data", web={"port": 0})


@pytest.fixture
def images(store: SqliteSyncStore, settings: Settings) -> CameraImages:
    return CameraImages(store, settings.camera_dir)


@pytest.fixture
def printer(store: SqliteSyncStore, users: dict[str, int]) -> str:
    store.add_device("cam-1", "Camera printer", users[ALICE[0]], "$7$unused")
    return "cam-1"


def save(images: CameraImages, seq: int, image: bytes, reason: str = "live",
         job_id: str | None = None, received_at: float | None = None) -> int:
    arrived = time.time() if received_at is None else received_at
    frame = images.save(Picture("cam-1", seq, time.time(), arrived, reason, job_id, image))
    assert frame is not None
    return frame.id


def signed_in(app: Flask, who: tuple[str, str]):
    client = app.test_client()
    assert sign_in(client, *who).status_code == 302
    return client


def test_the_live_picture_goes_to_the_owner_and_nobody_else(app, images, printer):
    alice, bob = signed_in(app, ALICE), signed_in(app, BOB)
    url = "/printers/cam-1/camera/live.jpg"
    assert alice.get(url).status_code == 404, "no picture yet"
    save(images, 1, JPEG)
    save(images, 2, NEWER)
    reply = alice.get(url)
    assert reply.status_code == 200 and reply.data == NEWER
    assert reply.mimetype == "image/jpeg"
    assert reply.headers["Cache-Control"] == "no-store"
    assert bob.get(url).status_code == 404
    assert alice.get("/printers/nobody-here/camera/live.jpg").status_code == 404
    assert app.test_client().get(url).status_code in (302, 401), "signed out: no picture"


def test_a_live_picture_older_than_its_ttl_is_not_shown(app, images, printer, settings):
    alice = signed_in(app, ALICE)
    save(images, 1, JPEG, received_at=time.time() - settings.retention.camera_live_s - 1)
    assert alice.get("/printers/cam-1/camera/live.jpg").status_code == 404


def print_job_ids(store: SqliteSyncStore, db_path: Path, *job_ids: str) -> list[int]:
    """Start these jobs on cam-1 through real ingest; return their print-job ids."""
    write_messages(db_path, [("cam-1", JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=n,
                                                job_id=job_id, event=JobEventKind.STARTED,
                                                file_name=f"{job_id}.gcode",
                                                origin=JobOrigin.SIMULATOR))
                             for n, job_id in enumerate(job_ids, 1)])
    page = store.print_jobs_page(["cam-1"], JobFilter(), 10)
    ids = {job.job_id: job.id for job in page.jobs}
    return [ids[job_id] for job_id in job_ids]


def test_job_pictures_go_to_the_owner_only(app, images, printer, store, db_path):
    alice, bob = signed_in(app, ALICE), signed_in(app, BOB)
    job_7, job_8 = print_job_ids(store, db_path, "job-7", "job-8")
    picture = save(images, 1, PNG, "job_started", "job-7")
    live = save(images, 2, JPEG)
    url = f"/jobs/{job_7}/pictures/{picture}"
    reply = alice.get(url)
    assert reply.status_code == 200 and reply.data == PNG and reply.mimetype == "image/png"
    assert bob.get(url).status_code == 404
    assert alice.get(f"/jobs/{job_8}/pictures/{picture}").status_code == 404, "another job's"
    assert alice.get(f"/jobs/{job_7}/pictures/{live}").status_code == 404, "a live picture"
    assert alice.get(f"/jobs/{job_7}/pictures/{picture + 100}").status_code == 404
    # The job's page shows its pictures.
    assert url in text(alice.get(f"/jobs/{job_7}"))


@pytest.fixture
def broker(settings: Settings) -> Iterator[RunningBroker]:
    running = start_broker(Context(settings))
    yield running
    running.stop()


def test_watching_needs_the_csrf_token_and_reaches_only_the_owners_printer(
        app, printer, broker, settings):
    # The device as the broker knows it: its own credentials, its own subtree.
    credentials = broker.context.provisioner(broker.context.open_store()).provision(
        "cam-1", "Camera printer", None)
    device = broker.connect_device(credentials.username, credentials.password)
    try:
        device.subscribe(device_topic(broker.prefix, "cam-1", Family.WATCH))
        alice, bob = signed_in(app, ALICE), signed_in(app, BOB)
        url = "/printers/cam-1/camera/watch"
        assert alice.post(url).status_code == 400, "no CSRF token"
        assert bob.post(url, headers={"X-CSRF-Token": token(bob)}).status_code == 404
        reply = alice.post(url, headers={"X-CSRF-Token": token(alice)})
        assert reply.status_code == 200, text(reply)
        assert reply.json["renew_after_s"] == settings.camera.watch_s / 3
        assert reply.json["image_url"] == "/printers/cam-1/camera/live.jpg"
        messages = wait_until(lambda: device.messages[:], 5, "the watch at the device")
        watch = decode(Family.WATCH, messages[0].payload)
        assert watch.watch_s == settings.camera.watch_s
        assert watch.interval_s == settings.camera.live_interval_s
        assert abs(watch.ts - time.time()) < 5
        # A second page renewing at once shares the first one's watch.
        assert alice.post(url, headers={"X-CSRF-Token": token(alice)}).status_code == 200
        time.sleep(0.5)
        assert len(device.messages) == 1
        assert all(not m.retain for m in device.messages)
        assert msgspec.json.decode(messages[0].payload)["v"] == 1
    finally:
        device.close()
        app.extensions[CAMERA_KEY].close()


def token(client) -> str:
    return csrf_from(text(client.get("/account/profile")))


def test_the_printer_page_snippet_wires_the_live_camera_from_our_own_origin(app, printer):
    alice = signed_in(app, ALICE)
    with app.test_request_context("/printers/cam-1"):
        html = app.jinja_env.get_template("camera_live.html").render(device_id="cam-1")
    assert 'data-watch-url="/printers/cam-1/camera/watch"' in html
    assert 'data-image-url="/printers/cam-1/camera/live.jpg"' in html
    assert 'data-csrf="' in html and '<script src="/static/camera.js"' in html
    with alice.get("/static/camera.js") as script:
        assert script.status_code == 200
        body = text(script)
    assert "visibilitychange" in body and "X-CSRF-Token" in body and "http" not in body

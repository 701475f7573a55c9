"""A print's location end to end: the device's public IP from its own calls, the scan, the job page.

The device's calls come from RIPE NCC's address in Amsterdam (the bundled
database knows it); the job page shows the blurred position rounded to
0.1° with "within ~200 km", never the database's own coordinates.
"""

from __future__ import annotations

import base64
import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from printfleet.geolocation import MmdbGeolocator, bundled_database
from printfleet.location_blur import haversine_km
from printfleet.print_location import locate_new_prints
from storage.file_contents import FileContents
from storage.locations import PrintLocation

from .conftest import ALICE, job_started, write_messages
from .flask_client import sign_in, text

pytestmark = pytest.mark.timeout(60)

AMSTERDAM_IP, OTHER_PUBLIC_IP, LAN_IP = "193.0.6.139", "8.8.8.8", "192.168.1.20"


def _device_client(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()  # no session: agents have none
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _download_link(app: Flask, store, owner_id: int, device_id: str | None) -> str:
    from storage.files import FileOwner
    from web.device_files import download_url

    owner = FileOwner(user_id=owner_id)
    settings = app.extensions["printfleet"].settings
    sha256, size = FileContents(settings.files_dir, 10**6).save(owner, iter([b"G28\n"]))
    # One name per folder: each link gets a file of its own.
    name = f"home-{len(store.folder_entries(owner, None))}.gcode"
    entry = store.add_file(owner, None, name, size, sha256, None, time.time())
    with app.test_request_context():
        return download_url(owner, entry.id, sha256, time.time(), device_id)


def _download(client: FlaskClient, link: str) -> int:
    response = client.get(link.removeprefix("http://localhost"))
    response.close()
    return response.status_code


def test_a_print_file_download_records_the_devices_public_ip(app, store, users):
    alice = users[ALICE[0]]
    store.add_device("a-1", "Alpha", alice, "x")
    link = _download_link(app, store, alice, "a-1")
    assert _download(_device_client(app, LAN_IP), link) == 200
    assert store.device_public_ip("a-1") is None  # a private address says nothing
    assert _download(_device_client(app, AMSTERDAM_IP), link) == 200
    assert store.device_public_ip("a-1")[0] == AMSTERDAM_IP
    # A link made before links named their device still works, and records nothing.
    assert _download(_device_client(app, OTHER_PUBLIC_IP),
                     _download_link(app, store, alice, None)) == 200
    assert store.device_public_ip("a-1")[0] == AMSTERDAM_IP
    # While the owner restricts processing, nothing new is kept.
    store.set_processing_restricted(alice, True, time.time())
    assert _download(_device_client(app, OTHER_PUBLIC_IP), link) == 200
    assert store.device_public_ip("a-1")[0] == AMSTERDAM_IP


def test_pairing_and_credential_rotation_record_the_devices_public_ip(app, store, users):
    device = _device_client(app, AMSTERDAM_IP)
    registration = device.post("/api/v1/pairing/register",
                               json={"hostname": "octopi", "agent_version": "1.0"}).get_json()
    owner = app.test_client()
    sign_in(owner, *ALICE)
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(owner.get("/printers"))).group(1)
    assert owner.post("/api/v1/pairing/claim", json={"code": registration["code"], "name": "P"},
                      headers={"X-CSRF-Token": token}).status_code == 201
    poll = device.get("/api/v1/pairing/status",
                      headers={"Authorization": f"Bearer {registration['poll_token']}"})
    credentials = poll.get_json()
    assert credentials["status"] == "claimed"
    assert store.device_public_ip(registration["device_id"])[0] == AMSTERDAM_IP
    basic = base64.b64encode(f"{credentials['username']}:{credentials['password']}".encode())
    rotated = _device_client(app, OTHER_PUBLIC_IP).post(
        "/api/v1/devices/rotate-credentials", headers={"Authorization": f"Basic {basic.decode()}"})
    assert rotated.status_code == 200
    assert store.device_public_ip(registration["device_id"])[0] == OTHER_PUBLIC_IP
    # A failed rotation is not the device: nothing is recorded.
    refused = _device_client(app, AMSTERDAM_IP).post(
        "/api/v1/devices/rotate-credentials", headers={"Authorization": f"Basic {basic.decode()}"})
    assert refused.status_code == 401
    assert store.device_public_ip(registration["device_id"])[0] == OTHER_PUBLIC_IP


def test_the_job_page_shows_the_blurred_location_rounded_never_the_raw_one(
        app, store, users, db_path):
    alice = users[ALICE[0]]
    store.add_device("a-1", "Alpha", alice, "x")
    assert _download(_device_client(app, AMSTERDAM_IP),
                     _download_link(app, store, alice, "a-1")) == 200
    write_messages(db_path, [("a-1", job_started(1, "benchy.gcode"))])
    geolocator = MmdbGeolocator(bundled_database())
    try:
        raw = geolocator.coordinates(AMSTERDAM_IP)
        settings = app.extensions["printfleet"].settings.location
        assert locate_new_prints(store, geolocator, settings).located == 1
    finally:
        geolocator.close()
    client = app.test_client()
    sign_in(client, *ALICE)
    (listed,) = client.get("/api/v1/jobs").get_json()["jobs"]
    html = text(client.get(f"/jobs/{listed['id']}"))
    shown = re.search(r'data-field="location-coordinates">(-?\d+\.\d), (-?\d+\.\d)<', html)
    assert shown, html
    lat, lon = float(shown.group(1)), float(shown.group(2))
    # 10-200 km from the database's point, give or take the 0.05° of rounding (< 6 km).
    assert 4.0 <= haversine_km(raw.lat, raw.lon, lat, lon) <= 206.0
    assert "within ~200 km" in html
    stored = store.print_location(listed["id"])
    for secret in (str(raw.lat), str(raw.lon), str(stored.lat), str(stored.lon)):
        assert secret not in html


def test_a_job_without_a_location_says_so_and_rounding_is_to_a_tenth(app, store, users,
                                                                      db_path):
    alice = users[ALICE[0]]
    store.add_device("a-1", "Alpha", alice, "x")
    write_messages(db_path, [("a-1", job_started(1, "benchy.gcode"))])
    client = app.test_client()
    sign_in(client, *ALICE)
    (listed,) = client.get("/api/v1/jobs").get_json()["jobs"]
    assert re.search(r'data-field="location">not known<', text(client.get(f"/jobs/{listed['id']}")))
    store.decide_print_location(listed["id"], PrintLocation(-0.0412, 179.96, 120.0), time.time())
    html = text(client.get(f"/jobs/{listed['id']}"))
    assert 'data-field="location-coordinates">0.0, 180.0<' in html
    assert "within ~120 km" in html and "179.96" not in html

"""A printer's page and its JSON twin: charts, mesh, facts, history, settings; 404 for others."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from printfleet_protocol import SCHEMA_VERSION, family_of
from printfleet_protocol.payloads import (
    BedMesh,
    Downtime,
    Facts,
    Firmware,
    Heater,
    JobEvent,
    OctoPrintFacts,
    OctoPrintPlugin,
    Presence,
    PrinterState,
    Telemetry,
)
from storage import Accepted
from storage.sqlite import SqliteIngestStore

from .conftest import ALICE, BOB
from .flask_client import form_post, sign_in, text

pytestmark = pytest.mark.timeout(60)

NOW = time.time()
HOUR = 3600.0
MESH = BedMesh(rows=[[-0.12, 0.0, 0.05], [0.02, 0.1, 0.21], [0.0, -0.04, 0.08]],
               min_x=10, max_x=210, min_y=10, max_y=210)


def store_messages(db_path: Path, device_id: str, messages: list, received_at=None) -> None:
    """Write payloads through the real ingest path, as the fleet worker does."""

    async def write() -> None:
        ingest = SqliteIngestStore(db_path)
        await ingest.start()
        try:
            await ingest.write_batch([
                Accepted(device_id, family_of(m), m, received_at or m.ts) for m in messages], [])
        finally:
            await ingest.stop()

    asyncio.run(asyncio.wait_for(write(), timeout=20))


def facts(seq: int) -> Facts:
    return Facts(v=SCHEMA_VERSION, ts=NOW - 60, seq=seq, hostname="octopi-garage",
                 agent_version="0.9.1", local_ip="192.168.7.23", wifi_ssid="Garage-5G",
                 pi_model="Raspberry Pi 4 Model B Rev 1.5", os="Debian GNU/Linux 12",
                 firmware=Firmware(name="Prusa-Firmware", version="3.14.1"),
                 octoprint=OctoPrintFacts(version="1.10.2", plugins=[
                     OctoPrintPlugin(key="bedlevelvisualizer", name="Bed Visualizer",
                                     version="1.1.1"),
                     OctoPrintPlugin(key="octolapse", name="Octolapse")]),
                 bed_mesh=MESH)


def temps(seq: int, ts: float, tool: float, bed: float) -> Telemetry:
    return Telemetry(v=SCHEMA_VERSION, ts=ts, seq=seq, state=PrinterState.PRINTING,
                     heaters={"tool0": Heater(tool, 215.0), "bed": Heater(bed, 60.0)})


def job(seq: int, ts: float, event: str, **extra) -> JobEvent:
    return JobEvent(v=SCHEMA_VERSION, ts=ts, seq=seq, job_id="job-7", event=event,
                    file_name="benchy.gcode", origin="printfleet", **extra)


@pytest.fixture
def printers(store, users, db_path):
    """Alice's printer with a day of history, Bob's printer with nothing."""
    alice, bob = users[ALICE[0]], users[BOB[0]]
    store.add_device("alice-mk4", "Alice MK4", alice, "x")
    store.add_device("bob-voron", "Bob Voron", bob, "x")
    # Alice logs her printer's downtime (from before its history), Bob does not.
    store.set_downtime_logging("alice-mk4", True, alice, NOW - 40 * HOUR)
    # Three hours of a sample a minute, then a gap (printer off), then one more.
    samples = [temps(100 + n, NOW - 20 * HOUR + n * 60, 200 + n % 5, 60.0) for n in range(180)]
    samples.append(temps(299, NOW - 10 * HOUR, 25.0, 24.0))
    store_messages(db_path, "alice-mk4", [
        Presence(v=SCHEMA_VERSION, ts=NOW - 30 * HOUR, seq=1, status="online"),
        facts(2), *samples,
        job(300, NOW - 5 * HOUR, "started"), job(301, NOW - 4 * HOUR, "paused"),
        job(302, NOW - 4 * HOUR + 60, "resumed"),
        job(303, NOW - 3 * HOUR, "finished", progress_pct=100.0, filament_used_mm=5230.0),
        Downtime(v=SCHEMA_VERSION, ts=NOW - 2 * HOUR, seq=400, started_at=NOW - 2.5 * HOUR,
                 ended_at=NOW - 2 * HOUR, cause="network"),
    ])
    store.rebuild_rollups(NOW - 40 * HOUR, NOW + HOUR)
    return alice, bob


@pytest.fixture
def alice_client(app: Flask, printers) -> FlaskClient:
    client = app.test_client()
    sign_in(client, *ALICE)
    return client


def test_the_dashboard_links_each_printer_to_its_page(alice_client):
    page = text(alice_client.get("/printers"))
    assert 'href="/printers/alice-mk4"' in page


def test_the_page_shows_facts_mesh_jobs_downtime_and_uptime(alice_client):
    response = alice_client.get("/printers/alice-mk4")
    assert response.status_code == 200
    page = text(response)
    assert "<title>Alice MK4 · Printfleet</title>" in page
    for key, value in (("hostname", "octopi-garage"), ("local_ip", "192.168.7.23"),
                       ("wifi_ssid", "Garage-5G"), ("pi_model", "Raspberry Pi 4 Model B Rev 1.5"),
                       ("firmware", "Prusa-Firmware 3.14.1"), ("octoprint_version", "1.10.2")):
        assert f'data-fact="{key}">{value}</dd>' in page
    assert 'data-plugin="bedlevelvisualizer">Bed Visualizer' in page
    assert 'data-plugin="octolapse">Octolapse' in page
    # The mesh: one cell per probe point, and its figures.
    assert len(re.findall(r'<rect x="\d+" y="\d+" width="\d+" height="\d+" fill="#[0-9a-f]{6}" '
                          r'data-z=', page)) == 9
    assert 'data-z="-0.120"' in page and 'data-z="0.210"' in page
    assert 'data-field="mesh-min">-0.120 mm' in page
    assert 'data-field="mesh-max">+0.210 mm' in page
    assert 'data-field="mesh-range">0.330 mm' in page
    # The job, with its pause and filament; the downtime with its cause.
    assert 'data-job-id="job-7"' in page
    assert re.search(r'data-field="outcome">finished', page)
    assert "5.23 m" in page
    assert 'data-field="cause">network' in page
    assert re.findall(r'data-field="uptime">([\d.]+)%', page), "uptime per day"
    # The camera helper's place is there, empty.
    assert 'id="camera"' in page and "/camera/live.jpg" in page  # the live camera


def test_the_chart_draws_actual_and_target_for_each_heater_without_any_script(alice_client):
    page = text(alice_client.get("/printers/alice-mk4"))
    svg = re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)
    assert 'data-range="24h"' in svg and 'data-source="telemetry_1m"' in svg
    for heater in ("tool0", "bed"):
        for kind in ("actual", "target"):
            group = re.search(rf'data-heater="{heater}" data-kind="{kind}".*?</g>', svg, re.S)
            assert group, f"{heater} {kind} line"
            points = re.findall(r'points="([^"]+)"', group.group(0))
            assert len(points) == 1 and len(points[0].split()) > 50, "one line, then the gap"
            assert len(re.findall(r"<circle ", group.group(0))) == 1, "the lone sample"
    assert "chamber" not in re.findall(r'data-heater="(\w+)"', svg), "no chamber data, no line"
    assert "<script" not in svg
    week = text(alice_client.get("/printers/alice-mk4?range=30d"))
    assert 'data-range="30d" data-source="telemetry_1h"' in week
    assert alice_client.get("/printers/alice-mk4?range=1y").status_code == 400


def test_the_json_twin_and_the_chart_json(alice_client):
    data = alice_client.get("/api/v1/printers/alice-mk4").get_json()
    assert data["printer"]["device_id"] == "alice-mk4"
    assert data["facts"]["wifi_ssid"] == "Garage-5G"
    assert data["bed_mesh"]["range_mm"] == pytest.approx(0.33)
    (record,) = data["jobs"]
    assert (record["outcome"], record["pause_count"]) == ("finished", 1)
    assert data["downtime"][0]["cause"] == "network"
    assert data["uptime_by_day"][0]["uptime_pct"] <= 100
    assert (data["settings"]["set_here"], data["settings"]["downtime_logging"]) == (True, True)
    assert (data["downtime_logging_on"], data["downtime_logged_since"]) == (True, NOW - 40 * HOUR)
    chart = alice_client.get("/api/v1/printers/alice-mk4/chart?range=24h").get_json()
    assert chart["source"] == "telemetry_1m" and chart["step_s"] == 60
    assert chart["columns"] == ["t", "avg", "min", "max", "target"]
    assert len(chart["heaters"]["tool0"]) == 181
    assert chart["heaters"]["bed"][0][4] == 60.0
    assert alice_client.get("/api/v1/printers/alice-mk4/chart?range=2d").status_code == 400


LOGGING_OFF = ("Downtime logging is off for this printer: nothing is recorded. "
               "Turn it on to keep a history.")


def test_a_printer_without_downtime_logging_says_so_and_shows_no_history(app, store, users,
                                                                         db_path):
    bob = users[BOB[0]]
    store.add_device("bob-voron", "Bob Voron", bob, "x")
    store_messages(db_path, "bob-voron", [
        Presence(v=SCHEMA_VERSION, ts=NOW - 3 * HOUR, seq=1, status="online"),
        Presence(v=SCHEMA_VERSION, ts=NOW - 2 * HOUR, seq=2, status="offline"),
        Downtime(v=SCHEMA_VERSION, ts=NOW - HOUR, seq=3, started_at=NOW - 2 * HOUR,
                 ended_at=NOW - HOUR, cause="network"),
        Presence(v=SCHEMA_VERSION, ts=NOW - HOUR, seq=4, status="online")])
    client = app.test_client()
    sign_in(client, *BOB)
    page = text(client.get("/printers/bob-voron"))
    assert f'<p data-field="downtime-off">{LOGGING_OFF}</p>' in page  # next to the switch
    assert 'data-field="downtime-logging" data-on="false">Off' in page
    assert f'data-field="downtime-history-off">{LOGGING_OFF}</p>' in page
    assert 'data-field="uptime-off"' in page
    assert 'data-field="cause"' not in page and 'data-field="uptime">' not in page
    data = client.get("/api/v1/printers/bob-voron").get_json()
    assert (data["downtime_logging_on"], data["downtime"], data["uptime_by_day"]) == (
        False, [], [])
    assert store.table_rows("presence_events", "bob-voron") == []
    assert store.table_rows("downtime_reports", "bob-voron") == []
    assert store.printers_for_user(bob)[0].presence == "online"


def test_turning_downtime_logging_off_hides_the_history_and_keeps_its_rows(alice_client, store):
    page = text(alice_client.get("/printers/alice-mk4"))
    assert 'data-field="cause">network' in page and LOGGING_OFF not in page
    assert 'data-field="downtime-logged-since">Recorded since' in page
    page = text(form_post(alice_client, "/printers/alice-mk4",
                          "/printers/alice-mk4/settings/downtime-logging", {"enabled": "0"},
                          follow_redirects=True))
    assert f'<p data-field="downtime-off">{LOGGING_OFF}</p>' in page
    assert 'data-field="cause"' not in page and 'data-field="uptime">' not in page
    # Nothing is deleted: it stays until retention removes it (the downtime class).
    assert len(store.table_rows("downtime_reports", "alice-mk4")) == 1


def test_every_route_answers_404_for_another_users_printer(alice_client, users):
    token = _csrf(alice_client)
    for path in ("/printers/bob-voron", "/printers/bob-voron?range=7d",
                 "/api/v1/printers/bob-voron", "/api/v1/printers/bob-voron/chart?range=24h",
                 "/api/v1/printers/bob-voron/commands/cmd-anything",
                 "/printers/nobody", "/api/v1/printers/nobody"):
        assert alice_client.get(path).status_code == 404, path
    for path, data in (("/printers/bob-voron/commands", {"kind": "pause"}),
                       ("/api/v1/printers/bob-voron/commands", {"kind": "cancel"}),
                       ("/printers/bob-voron/settings/downtime-logging", {"enabled": "1"}),
                       ("/api/v1/printers/bob-voron/settings/downtime-logging",
                        {"enabled": "0"})):
        response = alice_client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 404, path
    assert alice_client.application.extensions["printfleet"].store.device_settings(
        "bob-voron") is None, "nothing was stored for Bob's printer"


def test_commands_need_the_csrf_token(alice_client):
    response = alice_client.post("/printers/alice-mk4/commands", data={"kind": "pause"})
    assert response.status_code == 400


def test_a_command_to_an_offline_printer_says_so_and_is_not_sent(app, store, users):
    store.add_device("sleepy", "Sleepy Ender", users[ALICE[0]], "x")
    client = app.test_client()
    sign_in(client, *ALICE)
    response = client.post("/api/v1/printers/sleepy/commands", json={"kind": "pause"},
                           headers={"X-CSRF-Token": _csrf(client)})
    assert response.status_code == 409
    assert "Sleepy Ender is offline" in response.get_json()["message"]
    assert "not sent" in response.get_json()["message"]
    assert store.recent_commands("sleepy") == []
    # The form says it on the page it returns to.
    page = form_post(client, "/printers/sleepy", "/printers/sleepy/commands",
                     {"kind": "resume"}, follow_redirects=True)
    assert "Sleepy Ender is offline (last seen never): the command was not sent" in text(page)


def test_the_downtime_switch_of_an_offline_printer_is_kept_for_later(app, store, users):
    store.add_device("sleepy", "Sleepy Ender", users[ALICE[0]], "x")
    client = app.test_client()
    sign_in(client, *ALICE)
    page = text(form_post(client, "/printers/sleepy", "/printers/sleepy/settings/downtime-logging",
                          {"enabled": "1"}, follow_redirects=True))
    assert "is offline: it gets the setting when it is back online" in page
    assert 'data-field="downtime-logging" data-on="true">On' in page
    assert "waiting for the printer to come online" in page
    setting = store.device_settings("sleepy")
    assert (setting.downtime_logging, setting.changed_by, setting.sent_transaction) == (
        True, users[ALICE[0]], None)
    bad = client.post("/api/v1/printers/sleepy/settings/downtime-logging",
                      json={"enabled": "maybe"}, headers={"X-CSRF-Token": _csrf(client)})
    assert bad.status_code == 400


def test_bad_commands_are_refused_with_a_reason(alice_client, store, db_path):
    store_messages(db_path, "alice-mk4", [Presence(v=SCHEMA_VERSION, ts=time.time(), seq=900,
                                                   status="online")], received_at=time.time())
    headers = {"X-CSRF-Token": _csrf(alice_client)}
    for body, status, words in (({"kind": "explode"}, 400, "Unknown command"),
                                ({"kind": "send_gcode", "gcode": "  "}, 400, "at least one"),
                                ({"kind": "start_print", "file_id": "999"}, 404, "your files")):
        response = alice_client.post("/api/v1/printers/alice-mk4/commands", json=body,
                                     headers=headers)
        assert response.status_code == status, body
        assert words in response.get_json()["message"]
    assert store.recent_commands("alice-mk4") == []


def _csrf(client: FlaskClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"',
                     text(client.get("/printers"))).group(1)


def test_device_file_links_work_signed_and_not_forged_expired_or_after_deletion(app, store, users):
    from storage.file_contents import FileContents
    from storage.files import FileOwner
    from web.device_files import make_token

    alice = FileOwner(user_id=users[ALICE[0]])
    settings = app.extensions["printfleet"].settings
    sha256, size = FileContents(settings.files_dir, 10**6).save(alice, iter([b"G28\n"]))
    entry = store.add_file(alice, None, "home.gcode", size, sha256, None, time.time())
    client = app.test_client()  # no session: agents have none
    with app.test_request_context():
        good = make_token(alice, entry.id, sha256, time.time())
        expired = make_token(alice, entry.id, sha256, time.time() - 7 * 3600)
        other_user = make_token(FileOwner(user_id=users[BOB[0]]), entry.id, sha256, time.time())
    response = client.get(f"/device/files/{good}")
    assert (response.status_code, response.get_data()) == (200, b"G28\n")
    response.close()  # send_file's open file, not left to the garbage collector
    body, _, signature = good.partition(".")
    for token in (expired, other_user, body + "." + "0" * len(signature), "garbage"):
        assert client.get(f"/device/files/{token}").status_code == 404, token
    store.trash_entry(alice, entry.id, time.time())
    assert client.get(f"/device/files/{good}").status_code == 404

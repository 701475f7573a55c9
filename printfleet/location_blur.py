"""Blur a position by a random geodesic offset, and measure great-circle distances.

The privacy policy promises a print's coordinates only with a 10–200 km
buffer: a position is moved along a great circle by a random bearing and a
random distance drawn uniformly from [min_km, max_km], so the stored point
never lies closer than min_km to the true one, nor further than max_km.
Both functions use the same sphere (the mean Earth radius), so a distance
measured with `haversine_km` matches the offset that was applied.
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # the IUGG mean radius
POLICY_MIN_KM = 10.0  # the privacy policy's range for the buffer
POLICY_MAX_KM = 200.0

# Unpredictable offsets: a seeded generator would let anyone who learns the
# seed undo the blur.
_SYSTEM_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True, slots=True)
class BlurredLocation:
    """A position already moved by a random offset of at most radius_km."""

    lat: float
    lon: float
    radius_km: float  # the largest offset the blur could have applied


def check_blur_range(min_km: float, max_km: float) -> None:
    """Raise ValueError unless POLICY_MIN_KM <= min_km <= max_km <= POLICY_MAX_KM."""
    for name, value in (("blur_min_km", min_km), ("blur_max_km", max_km)):
        if not POLICY_MIN_KM <= value <= POLICY_MAX_KM:
            raise ValueError(f"{name} must lie between {POLICY_MIN_KM:g} and "
                             f"{POLICY_MAX_KM:g} km, the privacy policy's range; "
                             f"{value:g} is outside it")
    if min_km > max_km:
        raise ValueError(f"blur_min_km ({min_km:g}) must not exceed blur_max_km ({max_km:g})")


def destination(lat: float, lon: float, bearing_deg: float, distance_km: float
                ) -> tuple[float, float]:
    """The point distance_km away along the great circle leaving (lat, lon) at bearing_deg."""
    phi1, lambda1 = math.radians(lat), math.radians(lon)
    theta = math.radians(bearing_deg)
    delta = distance_km / EARTH_RADIUS_KM
    sin_phi2 = (math.sin(phi1) * math.cos(delta)
                + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lambda2 = lambda1 + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi1),
                                   math.cos(delta) - math.sin(phi1) * sin_phi2)
    return math.degrees(phi2), _wrap_longitude(math.degrees(lambda2))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points, in km."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def blur(lat: float, lon: float, min_km: float, max_km: float,
         rng: random.Random | None = None) -> BlurredLocation:
    """Move a position by a random bearing and a distance uniform in [min_km, max_km]."""
    check_blur_range(min_km, max_km)
    rng = rng or _SYSTEM_RANDOM
    bearing = rng.uniform(0.0, 360.0)
    distance = rng.uniform(min_km, max_km)
    blurred_lat, blurred_lon = destination(lat, lon, bearing, distance)
    return BlurredLocation(blurred_lat, blurred_lon, max_km)


def _wrap_longitude(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0

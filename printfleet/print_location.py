"""Give newly started prints a blurred location, run by the scheduler (never by web workers).

A print's position comes from its printer's last public IP (kept by the web
server, storage/locations.py) through the offline geolocation database. The
raw coordinates live only inside `blurred_location`: they are blurred there
(location_blur.py) and never stored, returned or logged. A print whose
printer owner or starter restricts processing gets no coordinates and none
are computed; each print is decided once, on the first scan that sees it.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from apscheduler.schedulers.base import BaseScheduler

from storage import SyncStore
from storage.locations import PrintLocation

from .geolocation import CoordinateSource, geolocator_from_settings
from .location_blur import blur
from .settings import LocationSettings, Settings

logger = logging.getLogger(__name__)

BATCH = 500  # prints read per query
DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class LocateReport:
    located: int = 0  # prints given blurred coordinates
    without: int = 0  # prints decided without (restricted, no IP, no position known)
    too_old: int = 0  # prints first seen after max_print_age_s: left without
    ips_forgotten: int = 0  # devices' public IPs past public_ip_keep_days


def blurred_location(source: CoordinateSource, public_ip: str | None,
                     settings: LocationSettings, rng: random.Random | None = None
                     ) -> PrintLocation | None:
    """The blurred position of an IP address; None if the database knows none."""
    if public_ip is None:
        return None
    raw = source.coordinates(public_ip)
    if raw is None:
        return None
    blurred = blur(raw.lat, raw.lon, settings.blur_min_km, settings.blur_max_km, rng)
    return PrintLocation(blurred.lat, blurred.lon, blurred.radius_km)


def locate_new_prints(store: SyncStore, source: CoordinateSource, settings: LocationSettings,
                      now: float | None = None, rng: random.Random | None = None
                      ) -> LocateReport:
    """Decide every print started within max_print_age_s that has no decision yet."""
    now = time.time() if now is None else now
    forgotten = store.forget_device_public_ips(now - settings.public_ip_keep_days * DAY_S)
    since = now - settings.max_print_age_s
    too_old = store.skip_prints_to_locate(since, now)
    located = without = 0
    while batch := store.prints_to_locate(since, BATCH):
        for candidate in batch:
            location = None
            # Restricted: the IP is not even looked up.
            if settings.locate_prints and not candidate.restricted:
                location = blurred_location(source, candidate.public_ip, settings, rng)
            if store.decide_print_location(candidate.job_id, location, now):
                located += 1
            else:
                without += 1
        if len(batch) < BATCH:
            break
    if located or without or too_old or forgotten:
        logger.info("print locations: %d blurred, %d without, %d too old; %d device IPs "
                    "forgotten", located, without, too_old, forgotten)
    return LocateReport(located, without, too_old, forgotten)


def add_location_job(scheduler: BaseScheduler, settings: Settings, store: SyncStore) -> None:
    """Register the print-location scan (the database opens on its first lookup)."""
    source = geolocator_from_settings(settings.geolocation)
    scheduler.add_job(locate_new_prints, "interval", seconds=settings.location.scan_interval_s,
                      args=(store, source, settings.location), id="print_locations",
                      name="print locations")

"""Devices' last public IPs and prints' blurred locations, in SQL both backends share.

Only blurred coordinates ever reach this module (printfleet/print_location.py
blurs them first): it has no way to store raw ones. A print is decided once
(location_decided_at), with or without coordinates, so the scan never looks
at it twice. The SQL is written once with ``?`` placeholders (see shared_sql.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .restriction import RESTRICTED
from .shared_sql import SharedQueries


@dataclass(frozen=True, slots=True)
class PrintLocation:
    """A print's position after blurring; blur_km is the largest offset the blur could apply."""

    lat: float
    lon: float
    blur_km: float


@dataclass(frozen=True, slots=True)
class PrintToLocate:
    job_id: int  # print_jobs.id
    device_id: str
    public_ip: str | None  # the device's last public IP, if one is kept
    restricted: bool  # the printer's owner or the print's starter restricts processing


# True when the printer's owner (d) or the print's starter (j) restricts processing.
_RESTRICTED_PRINT = (f"EXISTS (SELECT 1 FROM users u WHERE u.id IN (d.owner_user_id, "
                     f"j.started_by_user_id) AND {RESTRICTED})")


class LocationStore(Protocol):
    def record_device_public_ip(self, device_id: str, ip: str, now: float) -> bool:
        """Keep a device's last public IP; False for an unknown or revoked device, or
        one whose owner restricts processing (nothing is kept then)."""
        ...

    def device_public_ip(self, device_id: str) -> tuple[str, float] | None:
        """A device's last public IP and when it was seen, if one is kept."""
        ...

    def forget_device_public_ips(self, seen_before: float) -> int:
        """Forget every device's last public IP seen before a time; return how many."""
        ...

    def prints_to_locate(self, started_since: float, limit: int) -> list[PrintToLocate]:
        """Undecided prints started since a time, oldest first."""
        ...

    def decide_print_location(self, job_id: int, location: PrintLocation | None,
                              now: float) -> bool:
        """Decide an undecided print: store its blurred location, or none (location None,
        or its owner or starter restricts processing by now); True if it was stored."""
        ...

    def skip_prints_to_locate(self, started_before: float, now: float) -> int:
        """Decide, without a location, every undecided print started before a time."""
        ...

    def print_location(self, job_id: int) -> PrintLocation | None:
        """A print's blurred location, if it has one."""
        ...


class LocationQueries(SharedQueries):
    """Public IPs and print locations, on whichever store this is mixed into."""

    def record_device_public_ip(self, device_id: str, ip: str, now: float) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run(
                "UPDATE devices SET last_public_ip = ?, last_public_ip_at = ? "
                "WHERE device_id = ? AND revoked_at IS NULL AND NOT EXISTS "
                f"(SELECT 1 FROM users u WHERE u.id = devices.owner_user_id AND {RESTRICTED})",
                (ip, now, device_id))
        return count == 1

    def device_public_ip(self, device_id: str) -> tuple[str, float] | None:
        rows = self._run("SELECT last_public_ip, last_public_ip_at FROM devices "
                         "WHERE device_id = ? AND last_public_ip IS NOT NULL", (device_id,))
        return (str(rows[0][0]), float(rows[0][1])) if rows else None

    def forget_device_public_ips(self, seen_before: float) -> int:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE devices SET last_public_ip = NULL, last_public_ip_at = NULL "
                              "WHERE last_public_ip_at < ?", (seen_before,))
        return count

    def prints_to_locate(self, started_since: float, limit: int) -> list[PrintToLocate]:
        rows = self._run(
            f"SELECT j.id, j.device_id, d.last_public_ip, CASE WHEN {_RESTRICTED_PRINT} "
            "THEN 1 ELSE 0 END FROM print_jobs j JOIN devices d ON d.device_id = j.device_id "
            "WHERE j.location_decided_at IS NULL AND j.started_at >= ? "
            "ORDER BY j.started_at, j.id LIMIT ?", (started_since, limit))
        return [PrintToLocate(int(row[0]), str(row[1]), row[2], bool(row[3])) for row in rows]

    def decide_print_location(self, job_id: int, location: PrintLocation | None,
                              now: float) -> bool:
        with self._sql_tx() as tx:
            if location is not None:
                # Checked again as it is written: a restriction turned on since the
                # scan read the print wins.
                _, count = tx.run(
                    "UPDATE print_jobs SET location_lat = ?, location_lon = ?, "
                    "location_blur_km = ?, location_decided_at = ? WHERE id = ? AND "
                    "location_decided_at IS NULL AND NOT EXISTS (SELECT 1 FROM devices d, "
                    "users u WHERE d.device_id = print_jobs.device_id AND u.id IN "
                    f"(d.owner_user_id, print_jobs.started_by_user_id) AND {RESTRICTED})",
                    (location.lat, location.lon, location.blur_km, now, job_id))
                if count == 1:
                    return True
            tx.run("UPDATE print_jobs SET location_decided_at = ? WHERE id = ? AND "
                   "location_decided_at IS NULL", (now, job_id))
        return False

    def skip_prints_to_locate(self, started_before: float, now: float) -> int:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE print_jobs SET location_decided_at = ? "
                              "WHERE location_decided_at IS NULL AND started_at < ?",
                              (now, started_before))
        return count

    def print_location(self, job_id: int) -> PrintLocation | None:
        rows = self._run("SELECT location_lat, location_lon, location_blur_km FROM print_jobs "
                         "WHERE id = ? AND location_lat IS NOT NULL", (job_id,))
        return PrintLocation(*map(float, rows[0])) if rows else None

"""Reads built from the stored events, the same on every backend (a mixin over table_rows)."""

from __future__ import annotations

import datetime
import time
from typing import Any

from .charts import Flavour, TemperatureChart, chart_query, chart_source, to_points
from .downtime import DowntimeInterval, downtime_history, uptime_by_day
from .jobs import JobRecord, build_job_records
from .printer_page import DeviceSettings


class DerivedReads:
    """Needs `table_rows`, `device_created_at`, `command_issuers` and `device_settings`."""

    def table_rows(self, table: str, device_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def device_created_at(self, device_id: str) -> float | None:
        raise NotImplementedError

    @property
    def chart_flavour(self) -> Flavour:
        """Which SQL dialect and table layout the chart queries are written for."""
        raise NotImplementedError

    def query_rows(self, sql: str, params: tuple) -> list[tuple]:
        """Run one read-only statement; return its rows as tuples."""
        raise NotImplementedError

    def temperature_chart(self, device_id: str, since: float, until: float
                          ) -> TemperatureChart:
        source, step_s = chart_source(since, until)
        rows = self.query_rows(chart_query(source, self.chart_flavour), (device_id, since, until))
        return TemperatureChart(device_id, source, step_s, to_points(rows))

    def command_issuers(self, device_id: str) -> dict[str, int | None]:
        raise NotImplementedError

    def jobs_for_device(self, device_id: str) -> list[JobRecord]:
        return build_job_records(self.table_rows("job_events", device_id),
                                 self.command_issuers(device_id))

    def device_settings(self, device_id: str) -> DeviceSettings | None:
        raise NotImplementedError

    def downtime_logged_since(self, device_id: str) -> float | None:
        """When the printer's downtime logging was last turned on; None while it is off."""
        settings = self.device_settings(device_id)
        if settings is None or not settings.downtime_logging:
            return None
        return settings.changed_at

    def downtime_history(self, device_id: str, now: float | None = None
                         ) -> list[DowntimeInterval]:
        now = time.time() if now is None else now
        since = self.downtime_logged_since(device_id)
        if since is None:
            return []
        # Only what was stored since the switch was last turned on: an outage
        # that began before an off period would otherwise seem to last through
        # it. Older rows stay until retention removes them (and are exported).
        return downtime_history(_since(self.table_rows("presence_events", device_id), since),
                                _since(self.table_rows("downtime_reports", device_id), since),
                                now)

    def uptime_by_day(self, device_id: str, now: float | None = None
                      ) -> list[tuple[datetime.date, float]]:
        now = time.time() if now is None else now
        created = self.device_created_at(device_id)
        since = self.downtime_logged_since(device_id)
        if created is None or since is None:
            return []
        return uptime_by_day(self.downtime_history(device_id, now), max(created, since), now)


def _since(rows: list[dict[str, Any]], since: float) -> list[dict[str, Any]]:
    return [row for row in rows if row["received_at"] >= since]

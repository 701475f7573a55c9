"""One downtime history per printer: what the server saw, merged with what the device reported.

The server sees presence: a last will or the watchdog says offline, the
device's own retained 'online' ends it. The device reports the intervals it
spent without the broker, with their cause (network, broker, credentials,
power). Overlapping intervals are merged; the device's cause wins over the
server's guess, because the device knows why it was cut off.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DAY_S = 86400.0
_CAUSE_RANK = {"network": 3, "broker": 3, "auth": 3, "power": 3, "unknown": 1, "lost": 1,
               "stopped": 0}


@dataclass(frozen=True, slots=True)
class DowntimeInterval:
    started_at: float
    ended_at: float | None  # None: still down
    cause: str
    source: str  # "server", "device" or "both"


def server_intervals(presence_events: Iterable[Mapping[str, Any]]) -> list[DowntimeInterval]:
    """Intervals between an offline (or stopped) and the next online, in arrival order."""
    intervals: list[DowntimeInterval] = []
    down_since: float | None = None
    cause = "lost"
    for event in sorted(presence_events, key=lambda e: e["received_at"]):
        if event["status"] == "online":
            if down_since is not None:
                intervals.append(DowntimeInterval(down_since, event["received_at"], cause,
                                                  "server"))
                down_since = None
        elif down_since is None:
            down_since = event["received_at"]
            cause = "stopped" if event["status"] == "stopped" else "lost"
    if down_since is not None:
        intervals.append(DowntimeInterval(down_since, None, cause, "server"))
    return intervals


def device_intervals(reports: Iterable[Mapping[str, Any]]) -> list[DowntimeInterval]:
    return [DowntimeInterval(r["started_at"], r["ended_at"], r["cause"], "device")
            for r in reports]


def merge(intervals: Iterable[DowntimeInterval], now: float) -> list[DowntimeInterval]:
    """Merge overlapping intervals, oldest first; an open one lasts until now and stays open."""
    merged: list[list[Any]] = []  # [start, end, still open, cause, source]
    for item in sorted(intervals, key=lambda i: i.started_at):
        end, still_open = _end(item, now), item.ended_at is None
        if merged and item.started_at <= merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            last[2] = last[2] or still_open
            last[3] = max((last[3], item.cause), key=lambda c: _CAUSE_RANK.get(c, 2))
            last[4] = last[4] if last[4] == item.source else "both"
        else:
            merged.append([item.started_at, end, still_open, item.cause, item.source])
    return [DowntimeInterval(start, None if still_open else end, cause, source)
            for start, end, still_open, cause, source in merged]


def downtime_history(presence_events: Iterable[Mapping[str, Any]],
                     reports: Iterable[Mapping[str, Any]], now: float) -> list[DowntimeInterval]:
    return merge([*server_intervals(presence_events), *device_intervals(reports)], now)


def uptime_by_day(history: list[DowntimeInterval], observed_from: float,
                  now: float) -> list[tuple[datetime.date, float]]:
    """Uptime percentage per UTC day, counting only time the printer was known to Printfleet."""
    days = []
    day_start = float(int(observed_from // DAY_S) * DAY_S)
    while day_start < now:
        window = (max(day_start, observed_from), min(day_start + DAY_S, now))
        length = window[1] - window[0]
        down = sum(_overlap(i, window, now) for i in history)
        date = datetime.datetime.fromtimestamp(day_start, datetime.UTC).date()
        days.append((date, round(100.0 * (1 - down / length), 3) if length > 0 else 100.0))
        day_start += DAY_S
    return days


def _end(interval: DowntimeInterval, now: float) -> float:
    return interval.ended_at if interval.ended_at is not None else now


def _overlap(interval: DowntimeInterval, window: tuple[float, float], now: float) -> float:
    return max(0.0, min(_end(interval, now), window[1]) - max(interval.started_at, window[0]))

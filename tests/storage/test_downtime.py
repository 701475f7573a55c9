"""Downtime history: presence seen by the server merged with intervals devices report."""

from __future__ import annotations

import datetime

from storage.downtime import DowntimeInterval, downtime_history, uptime_by_day

DAY = 86400.0
T0 = 1_795_000_000.0 - (1_795_000_000.0 % DAY)  # midnight UTC


def utc_date(at: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).date()


def presence(at: float, status: str) -> dict:
    return {"received_at": at, "status": status}


def report(start: float, end: float, cause: str) -> dict:
    return {"started_at": start, "ended_at": end, "cause": cause}


def test_a_last_will_and_the_next_online_make_one_interval():
    events = [presence(T0, "online"), presence(T0 + 100, "offline"),
              presence(T0 + 160, "online")]
    assert downtime_history(events, [], T0 + 1000) == [
        DowntimeInterval(T0 + 100, T0 + 160, "lost", "server")]


def test_the_devices_report_is_merged_and_its_cause_wins():
    events = [presence(T0 + 100, "offline"), presence(T0 + 160, "online")]
    reports = [report(T0 + 95, T0 + 158, "network"), report(T0 + 500, T0 + 520, "broker")]
    assert downtime_history(events, reports, T0 + 1000) == [
        DowntimeInterval(T0 + 95, T0 + 160, "network", "both"),
        DowntimeInterval(T0 + 500, T0 + 520, "broker", "device")]


def test_a_device_still_down_has_an_open_interval():
    events = [presence(T0, "online"), presence(T0 + 50, "offline")]
    (interval,) = downtime_history(events, [report(T0 + 40, T0 + 55, "power")], T0 + 90)
    assert interval.ended_at is None and interval.started_at == T0 + 40


def test_a_clean_stop_counts_as_stopped_not_lost():
    events = [presence(T0, "online"), presence(T0 + 10, "stopped"),
              presence(T0 + 20, "online")]
    assert downtime_history(events, [], T0 + 30)[0].cause == "stopped"


def test_uptime_per_day_counts_only_the_time_the_printer_was_known():
    history = [DowntimeInterval(T0 + DAY - 3600, T0 + DAY + 3600, "network", "device")]
    days = uptime_by_day(history, observed_from=T0 + DAY / 2, now=T0 + 2 * DAY)
    assert days == [
        (utc_date(T0), round(100 * (1 - 3600 / (DAY / 2)), 3)),
        (utc_date(T0 + DAY), round(100 * (1 - 3600 / DAY), 3)),
    ]

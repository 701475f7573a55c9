"""The connections bench's one JSON object: counts, connect times, broker memory, ACL."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker_config.credentials import ITERATIONS

from .acl_probe import AclFindings
from .holders import ConnectResult
from .report import percentile

TARGET_DEVICES = 10_000  # from the issue: 10,000 devices connected at once
DETAILS_KEPT = 10


@dataclass(frozen=True)
class ConnectionMeasurements:
    devices: int
    processes: int
    provisioning_s: float
    rendering_s: float
    connect: list[ConnectResult]
    broker_clients_connected: int | None  # $SYS, once all had their CONNACK
    broker_clients_connected_end: int | None  # $SYS, last value before disconnecting
    still_connected: int  # devices connected at the end, by their own clients
    broker_rss_idle_mb: float
    broker_connected: dict[str, float]  # rss, hwm with every device connected
    broker_end: dict[str, float]
    holders_rss_mb: float
    broker_open_files: int | None
    exchange: dict[str, int]
    hold_s: float
    broker_cpu_percent_holding: float | None  # 100 = one core
    listen_overflows: int | None  # machine-wide, during the connect
    acl: AclFindings
    acl_pairs: int


def broker_memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now (rss) and at its peak (hwm), from /proc."""
    fields = {"VmRSS": "rss", "VmHWM": "hwm"}
    memory = {"rss": 0.0, "hwm": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name = line.split(":", 1)[0]
        if name in fields:
            memory[fields[name]] = int(line.split()[1]) / 1024
    return memory


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listen queue was full."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            counters = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(counters.get("ListenOverflows", 0))
    return None


def build_report(m: ConnectionMeasurements) -> dict[str, Any]:
    connected = sum(result.connected for result in m.connect)
    times = [ms for result in m.connect for ms in result.connect_ms]
    started = min(result.started_at for result in m.connect)
    finished = max(result.last_connack_at for result in m.connect)
    total_s = finished - started if connected else None
    added_mb = m.broker_connected["rss"] - m.broker_rss_idle_mb
    received = m.exchange["received_by_fleet"]
    checks = {
        "all_connected": connected == m.devices and m.still_connected == m.devices,
        "broker_counted_all": (m.broker_clients_connected or 0) >= m.devices + 1,
        "all_messages_received": received == m.devices,
        "acl_controls_delivered": m.acl.controls_delivered == m.acl.devices_checked,
        "acl_no_violations": m.acl.violations == 0,
    }
    return {
        "devices": m.devices,
        "processes": m.processes,
        "provisioning_s": round(m.provisioning_s, 2),
        "password_file_render_s": round(m.rendering_s, 3),
        "connected": connected,
        "connect_failures": sum(result.failed for result in m.connect),
        "broker_clients_connected": m.broker_clients_connected,
        "still_connected_at_end": m.still_connected,
        "connect_total_s": None if total_s is None else round(total_s, 2),
        "connects_per_s": round(connected / total_s) if total_s else None,
        "connect_ms_p50": _ms(percentile(times, 0.50)),
        "connect_ms_p99": _ms(percentile(times, 0.99)),
        "connect_ms_max": _ms(max(times, default=None)),
        "broker_rss_mb_idle": round(m.broker_rss_idle_mb, 1),
        "broker_rss_mb_connected": round(m.broker_connected["rss"], 1),
        "broker_kb_per_connection": round(added_mb * 1024 / connected, 1) if connected else None,
        "messages_published": m.exchange["published_acked"],
        "messages_received": received,
        "messages_received_of": f"{received}/{m.devices}",
        "acl_violations": m.acl.violations,
        "checks": checks,
        "passed": all(checks.values()),
        "details": _details(m),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "targets": {"devices_connected_at_once": {
            "target": f">= {TARGET_DEVICES}", "value": connected,
            "met": connected >= TARGET_DEVICES and m.still_connected >= TARGET_DEVICES}},
    }


def _details(m: ConnectionMeasurements) -> dict[str, Any]:
    acl = m.acl
    return {
        "provisioning": {"password_hash": f"$7$ PBKDF2-HMAC-SHA512, {ITERATIONS} iterations "
                                          "(what mosquitto_passwd writes)",
                         "password_file_entries": m.devices + 1},
        "connect_errors": [error for result in m.connect for error in result.errors]
        [:DETAILS_KEPT],
        "broker_clients_connected_expected": m.devices + 1,  # the devices and the fleet
        "broker_clients_connected_end": m.broker_clients_connected_end,
        "broker_rss_mb_peak": round(m.broker_end["hwm"], 1),
        "broker_rss_mb_after_hold": round(m.broker_end["rss"], 1),
        "broker_open_files_limit": m.broker_open_files,
        "listen_queue_overflows_during_connect": m.listen_overflows,
        "held_s": m.hold_s,
        "broker_cpu_percent_while_holding": m.broker_cpu_percent_holding,
        "holder_processes_rss_mb": round(m.holders_rss_mb, 1),
        "exchange": m.exchange,
        "acl": {"snoopers": m.acl_pairs, "devices_checked": acl.devices_checked,
                "controls_delivered": acl.controls_delivered,
                "snooped": len(acl.snooped), "forged_to_devices": len(acl.forged_to_devices),
                "forged_to_fleet": len(acl.forged_to_fleet),
                "examples": (acl.snooped + acl.forged_to_devices
                             + acl.forged_to_fleet)[:DETAILS_KEPT]},
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summary(report: dict[str, Any]) -> str:
    """The report's headline figures as a few lines of text."""
    acl = report["details"]["acl"]
    lines = [
        f"devices                  {report['devices']} over {report['processes']} processes",
        f"provisioning             {report['provisioning_s']} s "
        f"(password file rendered in {report['password_file_render_s']} s)",
        f"connected                {report['connected']} by CONNACK, "
        f"{report['broker_clients_connected']} by the broker's $SYS count (incl. the fleet), "
        f"{report['still_connected_at_end']} still at the end",
        f"connect time             {report['connect_total_s']} s in all, "
        f"p50 {report['connect_ms_p50']} ms, p99 {report['connect_ms_p99']} ms per connect",
        f"broker memory            {report['broker_rss_mb_connected']} MB RSS connected "
        f"({report['broker_rss_mb_idle']} MB idle), "
        f"{report['broker_kb_per_connection']} KB per connection",
        f"messages received        {report['messages_received_of']}",
        f"ACL violations           {report['acl_violations']} "
        f"({acl['devices_checked']} devices checked, {acl['controls_delivered']} controls "
        "delivered)",
        "result                   " + ("all checks passed" if report["passed"] else
                                       "FAILED: " + ", ".join(name for name, ok
                                                              in report["checks"].items()
                                                              if not ok)),
    ]
    return "\n".join(lines)

"""What the agent is doing, written to a status file that `printfleet-agent status` shows."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .device import DeviceAgent

STATUS_FILE = "status.json"
INTERVAL_S = 2.0


class StatusWriter:
    def __init__(self, devices: list[DeviceAgent], directory: Path) -> None:
        self._devices = devices
        self._path = Path(directory) / STATUS_FILE

    async def run(self) -> None:
        while True:
            await self.write_once()
            await asyncio.sleep(INTERVAL_S)

    async def write_once(self, stopped: bool = False) -> None:
        report = {"written_at": time.time(), "pid": os.getpid(), "stopped": stopped,
                  "devices": [await device_status(d) for d in self._devices]}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(report, indent=2), encoding="utf-8")
        os.replace(temporary, self._path)


async def device_status(device: DeviceAgent) -> dict[str, Any]:
    """One device's connectivity chain, outbox and recent errors."""
    link = device.link.state
    try:
        pending = await device.outbox.pending_by_family()
        thinned = await device.outbox.counter("telemetry_thinned_total")
        undeliverable = await device.outbox.counter("undeliverable_total")
        superseded = await device.outbox.counter("heartbeats_superseded_total")
        downtime_open = await device.downtime.is_open()
    except (AssertionError, ValueError):  # the outbox is closed (stopping)
        pending, thinned, undeliverable, superseded, downtime_open = {}, 0, 0, 0, False
    return {
        "device_id": device.device_id,
        "connectivity": {
            "broker": f"{device.link.host}:{device.link.port}",
            "tls": device.link.uses_tls,
            "tls_error": link.tls_error,
            "connected": link.connected,
            "auth_refused": link.auth_refused,
            "printer_link": device.printer_connected,
            "failing_step": None if link.connected or device.last_diagnosis is None
            else str(device.last_diagnosis.failing_step),
            "detail": None if link.connected or device.last_diagnosis is None
            else device.last_diagnosis.detail,
            "since": link.connected_since if link.connected else link.disconnected_since,
        },
        "outbox": {"pending": pending, "depth": sum(pending.values()),
                   "telemetry_thinned_total": thinned, "undeliverable_total": undeliverable,
                   "heartbeats_superseded_total": superseded},
        "downtime_open": downtime_open,
        "last_errors": device.last_errors + ([link.last_error] if link.last_error else []),
    }


def render(report: dict[str, Any], now: float | None = None) -> str:
    """Format the status file for a person."""
    now = time.time() if now is None else now
    age = now - report.get("written_at", 0)
    lines = [f"Agent (pid {report.get('pid')}): "
             + ("stopped" if report.get("stopped") else f"status written {age:.0f}s ago")]
    for d in report.get("devices", []):
        c = d["connectivity"]
        chain = "network ok → broker ok → auth ok" if c["connected"] else _broken_chain(c)
        printer = "printer link ok" if c["printer_link"] else "printer link DOWN"
        lines.append(f"{d['device_id']}: {'online' if c['connected'] else 'OFFLINE'} "
                     f"({chain}; {printer})")
        out = d["outbox"]
        lines.append(f"  outbox: {out['depth']} waiting {out['pending'] or ''}; "
                     f"{out['telemetry_thinned_total']} telemetry samples thinned; "
                     f"{out['undeliverable_total']} undeliverable")
        for error in d["last_errors"][-5:]:
            lines.append(f"  error: {error}")
    return "\n".join(lines)


def _broken_chain(connectivity: dict[str, Any]) -> str:
    """Show the chain up to its first broken link."""
    step = connectivity.get("failing_step") or ("auth" if connectivity["auth_refused"]
                                                else "broker")
    detail = connectivity.get("detail") or f"{connectivity['broker']} unreachable"
    if connectivity.get("tls_error"):
        step, detail = "tls", f"TLS failed: {connectivity['tls_error']}"
    chain = {"network": "network DOWN", "broker": "network ok → broker DOWN",
             "tls": "network ok → broker ok → TLS FAILED",
             "auth": "network ok → broker ok → auth REFUSED"}.get(step, "connecting")
    return f"{chain}: {detail}"

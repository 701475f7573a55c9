"""A worker's counters in Prometheus' text format, served on /metrics by a tiny HTTP server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .metrics import WorkerMetrics

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def render(metrics: WorkerMetrics) -> str:
    """Render the worker's metrics as Prometheus exposition text."""
    worker = f'worker="{_escape(metrics.worker_id)}"'
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{{{labels}}} {value:g}")

    metric("printfleet_messages_received_total", "counter", "MQTT messages received.",
           [(worker, metrics.messages_received)])
    metric("printfleet_messages_stored_total", "counter", "Messages committed to storage.",
           [(worker, metrics.stored)])
    metric("printfleet_messages_duplicate_total", "counter",
           "Redelivered messages already stored (ignored).", [(worker, metrics.duplicates)])
    metric("printfleet_messages_not_kept_total", "counter",
           "Presence events and downtime reports not stored: downtime logging is off.",
           [(worker, metrics.not_kept)])
    metric("printfleet_messages_rejected_total", "counter", "Messages refused, by reason.",
           [(f'{worker},reason="{_escape(reason)}"', count)
            for reason, count in sorted(metrics.rejects_by_reason.items())] or [(worker, 0)])
    metric("printfleet_batch_rows", "summary", "Messages per committed batch.",
           [])
    lines.append(f"printfleet_batch_rows_sum{{{worker}}} {metrics.batch_rows_sum}")
    lines.append(f"printfleet_batch_rows_count{{{worker}}} {metrics.batches}")
    metric("printfleet_batch_commit_seconds", "summary", "Time to commit a batch.", [])
    lines.append(f"printfleet_batch_commit_seconds_sum{{{worker}}} {metrics.commit_seconds_sum:g}")
    lines.append(f"printfleet_batch_commit_seconds_count{{{worker}}} {metrics.batches}")
    metric("printfleet_ingest_lag_seconds", "summary",
           "From the device's timestamp to the commit.", [])
    lines.append(f"printfleet_ingest_lag_seconds_sum{{{worker}}} {metrics.lag_seconds_sum:g}")
    lines.append(f"printfleet_ingest_lag_seconds_count{{{worker}}} {metrics.lag_count}")
    metric("printfleet_ingest_lag_max_seconds", "gauge", "Largest lag in the last batch.",
           [(worker, metrics.last_batch_max_lag_s)])
    metric("printfleet_broker_connected", "gauge", "1 while connected to the broker.",
           [(worker, 1 if metrics.connected else 0)])
    metric("printfleet_devices_online", "gauge", "Devices currently online (whole fleet).",
           [(worker, metrics.online_devices)])
    metric("printfleet_messages_in_flight", "gauge",
           "Messages received and not yet acknowledged (waiting for their commit).",
           [(worker, metrics.in_flight)])
    metric("printfleet_store_available", "gauge",
           "0 from a write that found the database unreachable to the next commit.",
           [(worker, 1 if metrics.store_available else 0)])
    metric("printfleet_batch_write_errors_total", "counter",
           "Failed batch writes (each retried until it commits).",
           [(worker, metrics.write_errors)])
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsServer:
    """Serves GET /metrics; anything else is 404. Bound to loopback unless told otherwise."""

    def __init__(self, host: str, port: int, body: Callable[[], str]) -> None:
        self._host, self._port, self._body = host, port, body
        self._server: asyncio.base_events.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        logger.info("metrics on http://%s:%d/metrics", self._host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            method, path = (request.decode("latin-1").split(" ") + ["", ""])[:2]
            if method == "GET" and path.split("?")[0] == "/metrics":
                status, body, kind = "200 OK", self._body().encode(), CONTENT_TYPE
            else:
                status, body, kind = "404 Not Found", b"try /metrics\n", "text/plain"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: "
                         f"{len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()

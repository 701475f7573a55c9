"""Build device agents from settings and run them in one event loop."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

from printfleet_protocol.topics import validate_device_id

from .broker_tls import BrokerTlsContext, client_context
from .camera import CameraSettings
from .device import DeviceAgent, DeviceTiming
from .downloads import FileFetcher
from .link import MqttLink
from .outbox import Outbox, OutboxPolicy
from .printers import PrinterBackend, SimulatedPrinter, SimulatedPrinterSettings
from .settings import AgentSettings, PrinterConfig
from .status import StatusWriter

logger = logging.getLogger(__name__)


class AgentConfigError(ValueError):
    """Settings that validate but cannot run (for example a missing password)."""


def read_secret(path: Path, what: str) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise AgentConfigError(f"{what}: cannot read {path}: {error.strerror or error}") from None
    if not secret:
        raise AgentConfigError(f"{what}: {path} is empty")
    return secret


def build_backend(printer: PrinterConfig) -> PrinterBackend:
    """The printer backend the config chooses."""
    if printer.backend == "simulated":
        sim = printer.simulated
        return SimulatedPrinter(SimulatedPrinterSettings(
            job_duration_s=sim.job_duration_s, fail_probability=sim.fail_probability,
            auto_start_after_s=sim.auto_start_after_s,
            heater_time_constant_s=sim.heater_time_constant_s, seed=sim.seed))
    if printer.backend == "octoprint":
        from .printers.octoprint import OctoPrintPrinter, OctoPrintSettings

        octo = printer.octoprint
        if not octo.api_key_file:
            raise AgentConfigError("printers.octoprint.api_key_file: not set; OctoPrint needs "
                                   "an API key (OctoPrint: Settings → Application Keys)")
        return OctoPrintPrinter(OctoPrintSettings(
            base_url=octo.url, api_key=read_secret(Path(octo.api_key_file),
                                                   "printers.octoprint.api_key_file"),
            request_timeout_s=octo.request_timeout_s, upload_timeout_s=octo.upload_timeout_s,
            connect_printer=octo.connect_printer, printer_port=octo.printer_port or None,
            printer_baudrate=octo.printer_baudrate or None))
    if printer.backend == "serial":
        from .printers.serial import SerialPrinter, SerialPrinterSettings

        serial = printer.serial
        return SerialPrinter(SerialPrinterSettings(
            port=serial.port, baudrate=serial.baudrate, inflight_lines=serial.inflight_lines,
            bed_size_mm=serial.bed_size_mm))
    raise AgentConfigError(f"printers.backend: {printer.backend!r} is not available in this build")


def broker_tls_context(settings: AgentSettings, device_id: str) -> BrokerTlsContext | None:
    """The link's TLS context (None only where settings allow plaintext to a local broker)."""
    broker = settings.broker
    if not broker.tls:
        return None
    ca_file: Path | None = Path(broker.tls_ca_file) if broker.tls_ca_file else None
    if ca_file is None and settings.paired_ca_path(device_id).exists():
        ca_file = settings.paired_ca_path(device_id)
    try:
        return client_context(ca_file, broker.tls_server_name)
    except (OSError, ssl.SSLError) as error:
        raise AgentConfigError(f"broker.tls_ca_file: cannot load {ca_file} as PEM CA "
                               f"certificates: {error}") from None


def build_device(settings: AgentSettings, printer: PrinterConfig, password: str | None = None,
                 backend: PrinterBackend | None = None) -> DeviceAgent:
    """Build (but do not start) the agent of one printer."""
    try:
        validate_device_id(printer.device_id)
    except ValueError as error:
        raise AgentConfigError(f"printers.device_id: {error}") from None
    if password is None:
        password = read_secret(settings.password_path(printer), "printers.password_file")
    device_dir = settings.device_dir(printer.device_id)
    broker = settings.broker
    link = MqttLink(printer.device_id, password, broker.host, broker.port, broker.topic_prefix,
                    broker.keepalive_s, broker_tls_context(settings, printer.device_id))
    outbox = Outbox(device_dir / "outbox.sqlite3",
                    OutboxPolicy(telemetry_backlog=settings.offline_telemetry_backlog,
                                 thinned_interval_s=settings.offline_telemetry_interval_s,
                                 resend_after_s=settings.unconfirmed_resend_s))
    camera = printer.camera
    return DeviceAgent(
        link, outbox, backend or build_backend(printer),
        FileFetcher(device_dir / "files", settings.max_file_bytes),
        DeviceTiming(settings.telemetry_interval_s, settings.heartbeat_interval_s),
        CameraSettings(enabled=camera.enabled, snapshot_url=camera.snapshot_url,
                       command=tuple(camera.command), max_bytes=camera.max_bytes,
                       live_interval_s=camera.live_interval_s),
        downtime_logging=printer.downtime_logging)


def build_devices(settings: AgentSettings) -> list[DeviceAgent]:
    """Build one agent per configured printer; refuse duplicate device ids."""
    seen: set[str] = set()
    devices = []
    for printer in settings.printers:
        if printer.device_id in seen:
            raise AgentConfigError(f"printers.device_id: {printer.device_id!r} appears twice")
        seen.add(printer.device_id)
        devices.append(build_device(settings, printer))
    return devices


async def run_devices(devices: list[DeviceAgent], stop: asyncio.Event,
                      status_dir: Path | None = None) -> None:
    """Start every device, run until stop is set, then stop them all cleanly."""
    for device in devices:
        await device.start()
    writer = StatusWriter(devices, status_dir) if status_dir else None
    status_task = asyncio.create_task(writer.run()) if writer else None
    try:
        await stop.wait()
    finally:
        if status_task is not None:
            status_task.cancel()
        for device in devices:
            await device.stop()
        if writer is not None:
            await writer.write_once(stopped=True)

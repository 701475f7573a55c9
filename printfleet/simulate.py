"""`printfleet simulate`: provision N devices and run one agent serving N simulated printers."""

from __future__ import annotations

import asyncio
import logging
import time

from broker_config.credentials import write_private
from printfleet_agent.runtime import build_devices, run_devices
from printfleet_agent.settings import (
    AgentSettings,
    BrokerSettings,
    PrinterConfig,
    SimulatedPrinterConfig,
)
from storage import SyncStore

from .broker_tls import device_ca_file
from .context import Context

logger = logging.getLogger(__name__)

SIMULATED_PREFIX = "sim-printer"


def provision_simulated(context: Context, store: SyncStore, count: int, owner_user_id: int,
                        job_duration_s: float, heartbeat_interval_s: float) -> AgentSettings:
    """Give each simulated printer fresh credentials; return the agent's settings for all."""
    provisioner = context.provisioner(store)
    root = context.settings.data_path / "simulated"
    printers = []
    for number in range(1, count + 1):
        device_id = f"{SIMULATED_PREFIX}-{number:02d}"
        name = f"Simulated printer {number}"
        credentials = provisioner.provision(device_id, name, owner_user_id)
        write_private(root / device_id / "password", credentials.password + "\n")
        _log_downtime(store, device_id, owner_user_id)
        printers.append(PrinterConfig(device_id=device_id, name=name, downtime_logging=True,
                                      simulated=_simulated(job_duration_s, number)))
    server = context.settings
    # Simulated printers connect like real ones: to the device listener, over
    # TLS, trusting the CA a real device is handed when it pairs.
    ca_file = device_ca_file(server)
    return AgentSettings(
        data_dir=str(root), heartbeat_interval_s=heartbeat_interval_s,
        broker=BrokerSettings(host=server.broker.host, port=server.broker.port,
                              topic_prefix=server.broker.topic_prefix,
                              tls_ca_file=str(ca_file) if ca_file else ""),
        printers=printers)


def _log_downtime(store: SyncStore, device_id: str, owner_user_id: int) -> None:
    """Turn the server's downtime logging switch on, so the demo shows downtime.

    The agent logs its own downtime too (downtime_logging=True above), but the
    server keeps presence history and downtime reports only while its switch is
    on; the scheduler delivers the setting to the printer as for any other.
    Left as it is when already on, so a second run keeps the history shown.
    """
    current = store.device_settings(device_id)
    if current is None or not current.downtime_logging:
        store.set_downtime_logging(device_id, True, owner_user_id, time.time())


def _simulated(job_duration_s: float, seed: int) -> SimulatedPrinterConfig:
    # Heat-up scales with the job so a short demo print does not spend a minute heating.
    heating = min(SimulatedPrinterConfig().heater_time_constant_s, job_duration_s / 20)
    return SimulatedPrinterConfig(job_duration_s=job_duration_s, seed=seed,
                                  auto_start_after_s=2.0 + seed, heater_time_constant_s=heating)


def run(settings: AgentSettings) -> None:
    """Run the simulated printers until SIGINT or SIGTERM."""
    from .cli import async_stop_event

    async def main() -> None:
        stop = async_stop_event(asyncio.get_running_loop())
        devices = build_devices(settings)
        logger.info("running %d simulated printers", len(devices))
        await run_devices(devices, stop, settings.data_path)

    asyncio.run(main())

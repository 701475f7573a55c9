"""`printfleet simulate`: provision N devices and run an agent with a simulated printer for each."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import msgspec

from broker_config.credentials import write_private
from printfleet_agent.agent import Agent
from printfleet_agent.runtime import build_agent, run_agents
from printfleet_agent.settings import AgentSettings
from printfleet_agent.settings import BrokerSettings as AgentBrokerSettings
from storage import SyncStore

from .context import Context

logger = logging.getLogger(__name__)

SIMULATED_PREFIX = "sim-printer"


def provision_simulated(context: Context, store: SyncStore, count: int, owner_user_id: int,
                        job_duration_s: float, heartbeat_interval_s: float) -> list[Agent]:
    """Give each simulated printer fresh credentials and build its agent."""
    provisioner = context.provisioner(store)
    root = context.settings.data_path / "simulated"
    agents = []
    for number in range(1, count + 1):
        device_id = f"{SIMULATED_PREFIX}-{number:02d}"
        credentials = provisioner.provision(device_id, f"Simulated printer {number}",
                                            owner_user_id)
        password_file = root / device_id / "password"
        write_private(password_file, credentials.password + "\n")
        settings = _agent_settings(context, device_id, root, password_file, job_duration_s,
                                   heartbeat_interval_s, seed=number)
        agents.append(build_agent(settings, credentials.password))
    return agents


def _agent_settings(context: Context, device_id: str, root: Path, password_file: Path,
                    job_duration_s: float, heartbeat_interval_s: float, seed: int) -> AgentSettings:
    server = context.settings
    settings = AgentSettings(
        device_id=device_id, data_dir=str(root), heartbeat_interval_s=heartbeat_interval_s,
        broker=AgentBrokerSettings(host=server.broker.host, port=server.broker.port,
                                   topic_prefix=server.broker.topic_prefix,
                                   password_file=str(password_file)))
    # Heat-up scales with the job so a short demo print does not spend a minute heating.
    heating = min(settings.printer.simulated.heater_time_constant_s, job_duration_s / 20)
    simulated = msgspec.structs.replace(settings.printer.simulated, job_duration_s=job_duration_s,
                                        seed=seed, auto_start_after_s=2.0 + seed,
                                        heater_time_constant_s=heating)
    printer = msgspec.structs.replace(settings.printer, name=f"Simulated printer {seed}",
                                      simulated=simulated)
    return msgspec.structs.replace(settings, printer=printer)


def run(agents: list[Agent], stop: threading.Event) -> None:
    """Run the agents until stop is set."""
    logger.info("running %d simulated printers", len(agents))
    run_agents(agents, stop)

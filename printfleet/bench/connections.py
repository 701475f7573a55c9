"""`printfleet bench connections`: N devices connected at once, each with its own credentials.

One run, against a fresh broker started with broker-config:

1. provision N devices through the provisioner (own password, $7$ hash each)
   and render the broker's password file once;
2. connect all N at once from several processes and hold them; count them
   by CONNACK and by the broker's own $SYS/broker/clients/connected;
3. every device publishes one message on its own topic; the fleet account
   must receive N of N;
4. a sample of devices subscribes to other devices' topics and above its
   own subtree, and publishes into another device's subtree: nothing may
   cross (see acl_probe), while the fleet's commands to them do arrive;
5. hold every connection for a while (past the keep-alive interval, so
   every client has pinged) and count again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printfleet.broker_endpoint import fleet_endpoint
from printfleet.limits import open_file_limit, raise_open_file_limit
from printfleet.settings import Settings

from .acl_probe import (
    AclFindings,
    choose_pairs,
    controls_delivered,
    evaluate,
    forged_messages,
    sampled_devices,
    snoop_filters,
)
from .connections_report import (
    ConnectionMeasurements,
    broker_memory_mb,
    build_report,
    listen_overflows,
)
from .environment import Environment, bench_environment
from .fleet_observer import FleetObserver
from .holders import ConnectResult, HolderConfig, holder_main
from .processes import BenchError, Child, cpu_seconds

DEVICES_PER_PROCESS = 2_500
START_DELAY_S = 1.0
CONNECT_TIMEOUT_S = 180.0
REPLY_TIMEOUT_S = 90.0
# Mosquitto refreshes $SYS every sys_interval (10 s by default).
SYS_WAIT_S = 25.0
TELEMETRY_TIMEOUT_S = 60.0
CONTROL_TIMEOUT_S = 30.0
# Time for a message that *would* cross a boundary to arrive after the controls.
SETTLE_S = 1.0
# Descriptors besides the connections: listener, log, persistence, pipes, Python.
SPARE_FILES = 64

Say = Callable[[str], None]


@dataclass(frozen=True)
class ConnectionsOptions:
    devices: int
    processes: int
    acl_sample: int
    hold_s: float


def default_processes(devices: int) -> int:
    """One holder process per 2,500 devices, at least two, at most eight."""
    return max(2, min(8, math.ceil(devices / DEVICES_PER_PROCESS)))


def run(settings: Settings, options: ConnectionsOptions, say: Say) -> dict[str, Any]:
    """Provision, connect, hold, exchange, probe; return the report."""
    _check_open_files(options)
    say(f"bench: {options.devices} devices over {options.processes} processes")
    with bench_environment(settings, "sqlite", options.devices, say) as env:
        broker = env.context.settings.broker
        local = fleet_endpoint(env.context.settings)
        observer = FleetObserver(local.host, local.port, broker.topic_prefix,
                                 broker.fleet_username, env.context.fleet_password)
        try:
            return _measure(env, observer, options, say)
        finally:
            observer.close()


def _measure(env: Environment, observer: FleetObserver, options: ConnectionsOptions,
             say: Say) -> dict[str, Any]:
    broker_idle_mb = broker_memory_mb(env.broker_pid)["rss"]
    holders = Holders(env, options.processes)
    try:
        say(f"bench: connecting {options.devices} devices at once …")
        overflows_before = listen_overflows()
        connected = holders.connect()
        overflows_after = listen_overflows()
        up = sum(result.connected for result in connected)
        say(f"bench: {up} of {options.devices} connected; waiting for the broker's own count …")
        clients_seen = observer.wait_for_clients(options.devices + 1, SYS_WAIT_S)
        broker_connected = broker_memory_mb(env.broker_pid)
        findings, exchange = _exchange(env, holders, observer, options, say)
        say(f"bench: holding every connection for {options.hold_s:g} s …")
        broker_cpu_s = cpu_seconds(env.broker_pid)
        time.sleep(options.hold_s)
        broker_cpu_s = cpu_seconds(env.broker_pid) - broker_cpu_s
        still_up, holders_rss = holders.status()
        clients_end = observer.wait_for_clients(options.devices + 1, 0)
        broker_end = broker_memory_mb(env.broker_pid)
    finally:
        holders.stop()
    return build_report(ConnectionMeasurements(
        devices=options.devices, processes=options.processes,
        provisioning_s=env.provisioning_s, rendering_s=env.rendering_s,
        connect=connected, broker_clients_connected=clients_seen,
        broker_clients_connected_end=clients_end, still_connected=still_up,
        broker_rss_idle_mb=broker_idle_mb, broker_connected=broker_connected,
        broker_end=broker_end, holders_rss_mb=holders_rss,
        broker_open_files=_open_files_limit(env.broker_pid), exchange=exchange,
        hold_s=options.hold_s, broker_cpu_percent_holding=(
            round(100 * broker_cpu_s / options.hold_s, 1) if options.hold_s else None),
        listen_overflows=(None if overflows_before is None or overflows_after is None
                          else overflows_after - overflows_before),
        acl=findings, acl_pairs=len(choose_pairs([d for d, _ in env.devices],
                                                 options.acl_sample))))


def _exchange(env: Environment, holders: Holders, observer: FleetObserver,
              options: ConnectionsOptions, say: Say) -> tuple[AclFindings, dict[str, int]]:
    """Subscribe the sample, publish once per device (and forged), send controls, judge."""
    prefix = env.settings.broker.topic_prefix
    pairs = choose_pairs([device_id for device_id, _ in env.devices], options.acl_sample)
    sample = sampled_devices(pairs)
    say(f"bench: {len(pairs)} devices subscribe to another device's topics and above their "
        "own subtree …")
    granted, refused = holders.subscribe({pair.snooper: snoop_filters(prefix, pair)
                                          for pair in pairs})
    say("bench: every device publishes once on its own topic; the sample also into its "
        "neighbour's subtree …")
    own_ok, own_refused, forged_ok, forged_refused = holders.publish(
        {pair.snooper: forged_messages(prefix, pair) for pair in pairs})
    received = observer.wait_for_telemetry(options.devices, TELEMETRY_TIMEOUT_S)
    say(f"bench: the fleet received {received} of {options.devices}; commanding the sample …")
    observer.send_controls(sample)
    holders.wait_for_controls(sample, CONTROL_TIMEOUT_S)
    time.sleep(SETTLE_S)
    inboxes = holders.received(sample)
    findings = evaluate(prefix, sample, inboxes, observer.forged())
    exchange = {"published_acked": own_ok, "published_refused": own_refused,
                "received_by_fleet": received, "snoop_filters_granted": granted,
                "snoop_filters_refused": refused, "forged_publishes_acked": forged_ok,
                "forged_publishes_refused": forged_refused}
    return findings, exchange


class Holders:
    """The holder processes, each with its share of the devices (dealt in turn)."""

    def __init__(self, env: Environment, count: int) -> None:
        broker = env.settings.broker
        # The broker's loopback listener, without TLS: this measures the broker's
        # connection handling, not TLS handshakes (docs/broker.md).
        local = fleet_endpoint(env.settings)
        count = max(1, min(count, len(env.devices)))
        self._children = [
            Child(f"holder-{index + 1}", holder_main,
                  HolderConfig(local.host, local.port, broker.topic_prefix,
                               tuple(env.devices[index::count])))
            for index in range(count)]

    def connect(self) -> list[ConnectResult]:
        start_at = time.time() + START_DELAY_S
        return [reply[1] for reply in self._all(("connect", start_at), CONNECT_TIMEOUT_S)]

    def subscribe(self, filters: dict[str, list[str]]) -> tuple[int, int]:
        replies = self._all(("subscribe", filters), REPLY_TIMEOUT_S)
        return sum(r[1] for r in replies), sum(r[2] for r in replies)

    def publish(self, forged: dict[str, list[tuple[str, bytes]]]) -> tuple[int, ...]:
        replies = self._all(("publish", forged), REPLY_TIMEOUT_S)
        return tuple(sum(reply[index] for reply in replies) for index in range(1, 5))

    def received(self, device_ids: list[str]) -> dict[str, list[tuple[str, bytes]]]:
        merged: dict[str, list[tuple[str, bytes]]] = {}
        for reply in self._all(("received", device_ids), REPLY_TIMEOUT_S):
            merged.update(reply[1])
        return merged

    def wait_for_controls(self, device_ids: list[str], timeout_s: float) -> None:
        """Poll until every sampled device holds the fleet's command, or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if controls_delivered(device_ids, self.received(device_ids)) == len(device_ids):
                return
            time.sleep(0.2)

    def status(self) -> tuple[int, float]:
        """Devices still connected, and the holders' memory in all (MB)."""
        replies = self._all(("status",), REPLY_TIMEOUT_S)
        return sum(r[1] for r in replies), sum(r[2] for r in replies)

    def stop(self) -> None:
        for child in self._children:
            child.close(timeout_s=30.0)

    def _all(self, message: tuple[Any, ...], timeout_s: float) -> list[tuple[Any, ...]]:
        for child in self._children:
            child.send(message)
        return [child.receive(timeout_s) for child in self._children]


def _check_open_files(options: ConnectionsOptions) -> None:
    """Fail early, and say what to do, if the broker or a holder cannot open enough sockets."""
    limit = raise_open_file_limit()
    per_holder = math.ceil(options.devices / options.processes)
    if options.devices + SPARE_FILES > limit:
        soft, hard = open_file_limit()
        raise BenchError(
            f"the broker needs about {options.devices + SPARE_FILES} open files for "
            f"{options.devices} connections, but the limit here is {soft} (hard {hard}). "
            "Raise it (ulimit -Hn, or LimitNOFILE for a service) or use fewer --devices.")
    if per_holder + SPARE_FILES > limit:
        raise BenchError(f"{per_holder} connections per process exceed the open-file limit "
                         f"{limit}; use more --processes")


def _open_files_limit(pid: int) -> int | None:
    """The broker's own soft open-file limit, as the kernel applies it."""
    try:
        lines = Path(f"/proc/{pid}/limits").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("Max open files"):
            value = line.split()[3]
            return int(value) if value.isdigit() else None
    return None

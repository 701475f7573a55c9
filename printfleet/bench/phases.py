"""Drive the load generators through one phase and wait for a consumer to take it all."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from printfleet.broker_endpoint import fleet_endpoint
from printfleet.settings import Settings

from .devices import PhaseSeqs
from .loadgen import GeneratorConfig, PhaseCounts, generator_main
from .processes import Child, ChildGroup, CpuMeter

# Time for every generator to receive the command before the common start.
START_DELAY_S = 0.5
CONNECT_TIMEOUT_S = 90.0
# A consumer that has taken nothing new for this long is done (what is
# missing then shows up as lost).
STALL_TIMEOUT_S = 15.0
PROGRESS_POLL_S = 0.05


@dataclass(frozen=True)
class PhaseResult:
    name: str
    seconds: float
    start_at: float
    published: int  # acknowledged by the broker
    unacked: int
    disconnected: int
    consumed: int  # received (drain) or newly stored (worker)
    last_consumed_at: float
    cpu_percent: dict[str, float]  # per process group, 100 = one core

    @property
    def offered_per_s(self) -> float:
        return self.published / self.seconds

    @property
    def consumed_per_s(self) -> float:
        """Messages consumed per second, from the common start to the last one taken."""
        elapsed = self.last_consumed_at - self.start_at
        return self.consumed / elapsed if self.consumed and elapsed > 0 else 0.0


class LoadGenerators:
    """K processes sharing the devices; every device has its own connection."""

    def __init__(self, settings: Settings, devices: list[tuple[str, str]], count: int) -> None:
        self.count = count = max(1, min(count, len(devices)))
        broker = settings.broker
        # Generators publish through the loopback listener, without TLS: the
        # bench measures ingest, not TLS (docs/broker.md).
        local = fleet_endpoint(settings)
        groups = [tuple(devices[index::count]) for index in range(count)]
        self._shares = [len(group) / len(devices) for group in groups]
        self._children = [
            Child(f"generator-{index + 1}", generator_main,
                  GeneratorConfig(local.host, local.port, broker.topic_prefix, group))
            for index, group in enumerate(groups)]

    def connect(self) -> None:
        for child in self._children:
            child.send(("connect",))
        for child in self._children:
            child.receive(CONNECT_TIMEOUT_S)

    def flood(self, phase: str, start_at: float, seconds: float, outbox_window: int) -> PhaseCounts:
        return self._run([("flood", phase, start_at, seconds, outbox_window)] * len(self._children),
                         seconds)

    def steady(self, phase: str, start_at: float, seconds: float, rate_per_s: float) -> PhaseCounts:
        return self._run([("steady", phase, start_at, seconds, rate_per_s * share)
                          for share in self._shares], seconds)

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children]

    def seqs(self) -> dict[str, dict[str, PhaseSeqs]]:
        merged: dict[str, dict[str, PhaseSeqs]] = {}
        for child in self._children:
            merged.update(child.request(("seqs",), 60)[1])
        return merged

    def stop(self) -> None:
        for child in self._children:
            child.send_quietly(("stop",))  # all at once, then wait for each
        for child in self._children:
            child.close()

    def _run(self, commands: list[tuple], seconds: float) -> PhaseCounts:
        for child, command in zip(self._children, commands, strict=True):
            child.send(command)
        counts: list[PhaseCounts] = [child.receive(seconds + 90)[1] for child in self._children]
        return PhaseCounts(acked=sum(c.acked for c in counts),
                           unacked=sum(c.unacked for c in counts),
                           last_ack_at=max(c.last_ack_at for c in counts),
                           disconnected=sum(c.disconnected for c in counts))


def outbox_window(settings: Settings, devices: int, workers: int = 1) -> int:
    """Messages a device may have unconfirmed by `stored` while flooding the worker.

    Like the agent's outbox, it holds the load to what the worker commits, so
    the broker's queue for the share group stays far below its limit (and the
    run measures the worker, not a broker overflow). Twice the worker's
    receive maximum in all (each worker's) keeps the workers busy at every moment.
    """
    return max(4, math.ceil(2 * settings.fleet.receive_maximum * workers / devices))


def run_flood(generators: LoadGenerators, consumer: ChildGroup, broker_pid: int, phase: str,
              seconds: float, window: int) -> PhaseResult:
    """Every device publishes as fast as it may; wait until the consumer has taken it all."""
    consumer.request(("phase", phase, False), 30)
    meter = _meter(generators, consumer, broker_pid)
    start_at = time.time() + START_DELAY_S
    counts = generators.flood(phase, start_at, seconds, window)
    return _settle(consumer, meter, phase, seconds, start_at, counts)


def run_steady(generators: LoadGenerators, consumer: ChildGroup, broker_pid: int, phase: str,
               seconds: float, rate_per_s: float) -> PhaseResult:
    """Publish at a fixed aggregate rate, recording each message's latency."""
    consumer.request(("phase", phase, True), 30)
    meter = _meter(generators, consumer, broker_pid)
    start_at = time.time() + START_DELAY_S
    counts = generators.steady(phase, start_at, seconds, rate_per_s)
    return _settle(consumer, meter, phase, seconds, start_at, counts)


def _meter(generators: LoadGenerators, consumer: ChildGroup, broker_pid: int) -> CpuMeter:
    meter = CpuMeter({consumer.name: consumer.pids, "broker": [broker_pid],
                      "generators": generators.pids})
    meter.start()
    return meter


def _settle(consumer: ChildGroup, meter: CpuMeter, phase: str, seconds: float, start_at: float,
            counts: PhaseCounts) -> PhaseResult:
    consumed, last_at = _wait_for_consumer(consumer, counts.acked)
    # The meter started up to START_DELAY_S before the load, when all was idle.
    cpu = meter.percent(max(last_at, start_at + seconds) - start_at)
    return PhaseResult(phase, seconds, start_at, counts.acked, counts.unacked,
                       counts.disconnected, consumed, last_at, cpu)


def _wait_for_consumer(consumer: ChildGroup, expected: int) -> tuple[int, float]:
    """Poll the consumer until it has taken `expected` messages or stops making progress."""
    consumed, last_at, stalled_since = -1, 0.0, time.monotonic()
    while True:
        now_consumed, last_at = consumer.progress(30)
        if now_consumed >= expected:
            return now_consumed, last_at
        if now_consumed != consumed:
            consumed, stalled_since = now_consumed, time.monotonic()
        elif time.monotonic() - stalled_since > STALL_TIMEOUT_S:
            return consumed, last_at
        time.sleep(PROGRESS_POLL_S)

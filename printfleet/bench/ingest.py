"""`printfleet bench ingest`: the worker's ingest rate against its baselines, in one run.

Phases, all against one fresh broker and store:

1. bare drain: every device publishes as fast as the broker acknowledges
   while a counting-only gmqtt client drains the fleet's shared subscription;
2. max rate: the same, with the real fleet worker consuming and each device
   holding at most a small outbox of messages not yet confirmed `stored`;
3. latency: a fixed rate of half what the worker committed in 2, each
   sample stamped with its publish time, latency = commit time - stamp;
4. check: every seq the broker acknowledged in 2 and 3 is in storage once;
5. copy: as many rows as 2 committed, written straight through the store.

With ``workers`` > 1, phases 2 and 3 run that many worker processes sharing
the subscription, as a fleet scales out; their figures are summed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from printfleet.settings import Settings

from .consumers import drain_main, worker_main
from .copy_baseline import measure_copy
from .environment import Environment, bench_environment
from .measuring import PhaseStats, merge_phases
from .phases import LoadGenerators, PhaseResult, outbox_window, run_flood, run_steady
from .processes import Child, ChildGroup
from .report import Measurements, build_report
from .verify import next_seqs, verify

WORKER_PHASES = ("max", "latency")
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 120.0

Say = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    backend: str
    devices: int
    seconds: float
    generators: int
    workers: int = 1


def default_generators() -> int:
    """One load-generator process per CPU, at least two, at most four."""
    return max(2, min(4, os.cpu_count() or 2))


@dataclass(frozen=True)
class WorkerRun:
    flood: PhaseResult
    steady: PhaseResult
    phases: dict[str, PhaseStats]
    window: int
    rss_idle_mb: float
    rss_peak_mb: float


def run(settings: Settings, options: BenchOptions, say: Say) -> dict[str, Any]:
    """Run every phase and return the report."""
    say(f"bench: {options.backend} store, {options.devices} devices, {options.seconds:g} s "
        "per phase")
    with bench_environment(settings, options.backend, options.devices, say) as env:
        generators = LoadGenerators(env.settings, env.devices, options.generators)
        try:
            say(f"bench: connecting {options.devices} devices from {generators.count} "
                "generator processes …")
            generators.connect()
            drain = _bare_drain(env, generators, options.seconds, say)
            worker = _worker(env, generators, options, say)
            published = generators.seqs()
        finally:
            generators.stop()
        say("bench: checking every acknowledged seq against storage …")
        check = verify(env.store, published, WORKER_PHASES)
        copy_rows = max(worker.flood.consumed, env.settings.fleet.batch_max_rows)
        say(f"bench: copy baseline, {copy_rows} rows straight through the store …")
        copy_rate = measure_copy(env.settings, next_seqs(published), copy_rows)
    return build_report(Measurements(
        options.backend, options.devices, options.seconds, generators.count, options.workers,
        drain,
        worker.flood, worker.steady, worker.phases, worker.window, worker.rss_idle_mb,
        worker.rss_peak_mb, check, copy_rows, copy_rate, env.provisioning_s))


def _bare_drain(env: Environment, generators: LoadGenerators, seconds: float,
                say: Say) -> PhaseResult:
    drain = ChildGroup("bare-drain", [Child("bare-drain", drain_main, env.settings,
                                            env.context.fleet_password)])
    try:
        drain.receive(READY_TIMEOUT_S)
        say(f"bench: bare drain, every device at full speed for {seconds:g} s …")
        result = run_flood(generators, drain, env.broker_pid, "drain", seconds, window=0)
        drain.request(("stop",), STOP_TIMEOUT_S)
    finally:
        drain.close()
    say(f"bench: bare drain took {result.consumed_per_s:.0f} msg/s "
        f"(devices offered {result.offered_per_s:.0f} msg/s)")
    return result


def _worker(env: Environment, generators: LoadGenerators, options: BenchOptions,
            say: Say) -> WorkerRun:
    worker = ChildGroup("worker", [
        Child(f"worker-{number}", worker_main, env.settings, env.context.fleet_password,
              f"bench-{number}") for number in range(1, options.workers + 1)])
    window = outbox_window(env.settings, options.devices, options.workers)
    try:
        rss_idle = max(reply[1] for reply in worker.receive(READY_TIMEOUT_S))
        what = "fleet worker" if options.workers == 1 else f"{options.workers} fleet workers"
        say(f"bench: {what}, every device at full speed for {options.seconds:g} s …")
        flood = run_flood(generators, worker, env.broker_pid, "max", options.seconds, window)
        rate = max(1.0, flood.consumed_per_s / 2)
        say(f"bench: worker committed {flood.consumed_per_s:.0f} msg/s; latency at "
            f"{rate:.0f} msg/s for {options.seconds:g} s …")
        steady = run_steady(generators, worker, env.broker_pid, "latency", options.seconds,
                            rate)
        stopped = worker.request(("stop",), STOP_TIMEOUT_S)
    finally:
        worker.close()
    phases = merge_phases([reply[1] for reply in stopped])
    rss_peak = max(reply[2] for reply in stopped)  # per worker process
    return WorkerRun(flood, steady, phases, window, rss_idle, rss_peak)

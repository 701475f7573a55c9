"""The bench's child processes: started fresh (spawn), driven by messages over a pipe.

Each part under test (worker, bare drain, load generators) runs in its own
interpreter: its memory is its own (a forked child would carry the parent's
pages), and the operating system schedules it like the real deployment.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

Message = tuple[Any, ...]


class BenchError(RuntimeError):
    """The bench cannot go on; the message says why."""


class Child:
    """A spawned process the bench sends requests to and reads replies from."""

    def __init__(self, name: str, target: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.name = name
        self._conn, child_end = context.Pipe()
        self.process = context.Process(target=target, args=(child_end, *args), name=name,
                                       daemon=True)
        self.process.start()
        child_end.close()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def send(self, message: Message) -> None:
        self._conn.send(message)

    def send_quietly(self, message: Message) -> None:
        """Send if the child still listens (for shutting down after a failure)."""
        try:
            self._conn.send(message)
        except OSError:
            pass

    def request(self, message: Message, timeout_s: float) -> Message:
        """Send a message and wait for the reply."""
        self.send(message)
        return self.receive(timeout_s)

    def receive(self, timeout_s: float) -> Message:
        """Wait for the next reply; raise BenchError on an error reply, death or timeout."""
        deadline = time.monotonic() + timeout_s
        while not self._conn.poll(0.1):
            if not self.process.is_alive():
                raise BenchError(f"{self.name} exited unexpectedly (code {self.process.exitcode})")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} did not answer within {timeout_s:.0f} s")
        try:
            reply: Message = self._conn.recv()
        except EOFError:
            raise BenchError(f"{self.name} exited unexpectedly") from None
        if reply[0] == "error":
            raise BenchError(f"{self.name}: {reply[1]}")
        return reply

    def close(self, timeout_s: float = 10.0) -> None:
        """Ask the process to stop if it still runs; terminate it if it does not end."""
        if self.process.is_alive():
            self.send_quietly(("stop",))
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        self._conn.close()


class ChildGroup:
    """Processes doing one job together (fleet workers sharing the subscription)."""

    def __init__(self, name: str, children: list[Child]) -> None:
        self.name = name
        self.children = children

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]

    def request(self, message: Message, timeout_s: float) -> list[Message]:
        """Send to every child at once, then collect each reply."""
        for child in self.children:
            child.send(message)
        return [child.receive(timeout_s) for child in self.children]

    def receive(self, timeout_s: float) -> list[Message]:
        return [child.receive(timeout_s) for child in self.children]

    def progress(self, timeout_s: float) -> tuple[int, float]:
        """Messages the group consumed so far, and when the last one was taken."""
        replies = self.request(("progress",), timeout_s)
        return sum(reply[1] for reply in replies), max(reply[2] for reply in replies)

    def close(self) -> None:
        for child in self.children:
            child.send_quietly(("stop",))
        for child in self.children:
            child.close()


class CommandReader:
    """The child's end of the pipe, read without blocking its event loop."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._loop.add_reader(conn.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            message: Message = self._conn.recv()
        except EOFError:  # the bench went away: stop like it asked us to
            message = ("stop",)
            self._loop.remove_reader(self._conn.fileno())
        self._queue.put_nowait(message)

    async def next(self) -> Message:
        return await self._queue.get()

    def reply(self, *message: Any) -> None:
        self._conn.send(message)

    def close(self) -> None:
        self._loop.remove_reader(self._conn.fileno())


def quiet_logging() -> None:
    """Children report through the pipe; their logs show only warnings and errors."""
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")
    logging.getLogger("gmqtt").setLevel(logging.ERROR)


def memory_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS) or its peak so far (VmHWM), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all CPUs spent not idle so far (every process, the database's too)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = ticks[3], ticks[4]
    # guest time is already counted in user and nice
    return (sum(ticks[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by named groups of processes (and the whole machine) since `start`."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self._groups = groups
        self._started: dict[str, float] = {}

    def start(self) -> None:
        self._started = self._read()

    def percent(self, wall_s: float) -> dict[str, float]:
        """CPU % of one core per group over `wall_s` seconds (200 = two cores busy)."""
        now = self._read()
        return {name: round(100 * (now[name] - self._started[name]) / wall_s, 1) if wall_s > 0
                else 0.0 for name in now}

    def _read(self) -> dict[str, float]:
        used = {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in self._groups.items()}
        used["machine"] = machine_busy_seconds()
        return used

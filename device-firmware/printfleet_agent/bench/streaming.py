"""G-code streaming speed: the agent's serial backend against the emulator, on a pty."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..printers.serial import SerialPrinterSettings, stream_file
from .resources import BenchError


def write_gcode(path: Path, moves: int) -> int:
    """A synthetic print of `moves` extruding moves; return its command count."""
    lines = ["G28", "G92 E0"]
    lines += [f"G1 X{20 + (n * 7) % 180:.2f} Y{20 + (n * 13) % 180:.2f} E{n * 0.033:.4f} F2400"
              for n in range(moves)]
    lines.append("M84")
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


@contextlib.contextmanager
def emulator_process(port_path: Path) -> Iterator[Path]:
    """The Marlin emulator in its own process, so the host has a core to itself."""
    process = subprocess.Popen([sys.executable, "-m", "printfleet_agent.bench.emulator",
                                str(port_path)], stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not port_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError("the printer emulator did not start")
            time.sleep(0.02)
        yield port_path
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def measure_agent_streaming(workdir: Path, gcode: Path, window: int) -> float:
    """Lines per second the agent's serial backend streams, every line acknowledged."""
    with emulator_process(workdir / f"ttyBench{window}") as port:
        settings = SerialPrinterSettings(boot_wait_s=0.5, handshake_timeout_s=0.5)
        return stream_file(str(port), gcode, window=window, settings=settings)


def measure_octoprint_streaming(workdir: Path, gcode: Path, octoprint: Path,
                                lines: int) -> dict[str, float]:
    """Lines per second OctoPrint streams the same file to the same emulator."""
    from .octoprint_server import start_octoprint

    with emulator_process(workdir / "ttyOctoPrint") as port:
        server = start_octoprint(octoprint, workdir / "octoprint",
                                 {"serial": {"additionalPorts": [str(port)]}})
        try:
            rest = server.rest
            rest.post("/api/connection", {"command": "connect", "port": str(port),
                                          "baudrate": 115200})
            _wait(lambda: rest.get("/api/connection")["current"]["state"] == "Operational",
                  60, "OctoPrint to connect to the emulator")
            started = time.monotonic()
            rest.upload("/api/files/local", gcode.name, gcode, {"select": "true",
                                                                 "print": "true"})
            _wait(lambda: _printed(rest.get("/api/job")), 3600, "OctoPrint's print to finish")
            elapsed = time.monotonic() - started
        finally:
            server.stop()
    return {"lines_per_s": lines / elapsed, "startup_s": server.startup_s}


def _printed(job: dict) -> bool:
    return bool(job["state"] == "Operational" and (job.get("progress") or {}).get("completion")
                and job["progress"]["completion"] >= 100)


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.1)

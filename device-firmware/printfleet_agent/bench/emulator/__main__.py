"""Run the Marlin emulator in its own process: python -m printfleet_agent.bench.emulator PATH.

The host under measurement then has the CPU (and the GIL) to itself, as it
would with a real printer. It runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .emulated_firmware import EmulatorOptions
from .marlin_emulator import MarlinEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m printfleet_agent.bench.emulator",
                                     description="A Marlin-like printer on a pseudo-terminal.")
    parser.add_argument("path", type=Path, help="where to put the port's symlink")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    emulator = MarlinEmulator(args.path, EmulatorOptions()).start()
    print(f"emulating a printer at {args.path}", flush=True)
    stop.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

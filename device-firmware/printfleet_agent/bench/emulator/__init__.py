"""A Marlin-like printer behind a pseudo-terminal, for tests and `printfleet-agent bench`."""

from .emulated_firmware import EmulatedFirmware, EmulatorOptions, SdCard
from .marlin_emulator import MarlinEmulator

__all__ = ["EmulatedFirmware", "EmulatorOptions", "MarlinEmulator", "SdCard"]

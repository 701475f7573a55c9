"""Printers on a bare serial line: Marlin, Prusa-Firmware and firmwares that talk like them."""

from .backend import SerialPrinter
from .bench import stream_file
from .settings import SerialPrinterSettings

__all__ = ["SerialPrinter", "SerialPrinterSettings", "stream_file"]

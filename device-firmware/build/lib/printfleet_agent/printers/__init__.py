"""Printer backends behind one interface, chosen by the agent's config."""

from .base import PrinterBackend, PrinterError, PrinterSnapshot
from .simulated import SimulatedPrinter, SimulatedPrinterSettings

__all__ = [
    "PrinterBackend",
    "PrinterError",
    "PrinterSnapshot",
    "SimulatedPrinter",
    "SimulatedPrinterSettings",
]

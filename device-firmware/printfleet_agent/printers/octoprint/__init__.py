"""The OctoPrint printer backend: REST for state and commands, the push socket for job events."""

from .backend import OctoPrintPrinter, OctoPrintSettings
from .rest import OctoPrintAuthError, OctoPrintError, OctoPrintUnreachable

__all__ = [
    "OctoPrintAuthError",
    "OctoPrintError",
    "OctoPrintPrinter",
    "OctoPrintSettings",
    "OctoPrintUnreachable",
]

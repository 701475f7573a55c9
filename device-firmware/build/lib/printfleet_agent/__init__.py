"""The Printfleet device agent: runs beside a printer, reports over MQTT."""

__version__ = "0.1.0"

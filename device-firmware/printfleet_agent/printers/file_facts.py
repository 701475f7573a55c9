"""Put what is known of a job's G-code file (slicer, filament) into its events."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from printfleet_gcode import GcodeFacts, read_facts
from printfleet_protocol.payloads import JobEventKind

from .base import JobEventRecord

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 64


def file_facts(path: Path) -> GcodeFacts | None:
    """Read a local G-code file's facts; None (logged) if it cannot be read."""
    try:
        return read_facts(path)
    except OSError as error:
        logger.warning("cannot read %s for its slicer and filament: %s", path, error)
        return None


def with_file_facts(event: JobEventRecord, facts: GcodeFacts | None,
                    used_mm: float | None = None) -> JobEventRecord:
    """Add the file's slicer and the filament used so far to an event.

    Filament already in the event (the printer measured it) wins; then
    `used_mm` (what the agent streamed); then the file's whole figure times
    the progress reached (all of it once finished).
    """
    if facts is None:
        return event
    mm = event.filament_used_mm if event.filament_used_mm is not None else used_mm
    if mm is None and facts.filament_mm is not None:
        share = 1.0 if event.event is JobEventKind.FINISHED else (event.progress_pct or 0) / 100
        mm = facts.filament_mm * share
    mm = None if mm is None else round(max(0.0, mm), 2)
    return dataclasses.replace(
        event, filament_used_mm=mm, filament_used_g=facts.grams_for(mm),
        slicer=facts.slicer[:MAX_NAME_CHARS] if facts.slicer else None,
        slicer_version=facts.slicer_version[:MAX_NAME_CHARS] if facts.slicer_version else None)

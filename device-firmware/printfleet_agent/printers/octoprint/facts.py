"""Read what OctoPrint says about itself: plugins, firmware, and Bed Visualizer's stored mesh."""

from __future__ import annotations

import logging
import math
from typing import Any

from printfleet_protocol.payloads import BedMesh, OctoPrintPlugin

logger = logging.getLogger(__name__)

BED_VISUALIZER = "bedlevelvisualizer"
# The protocol's text fields hold at most 256 characters.
_TEXT_LIMIT = 256


def plugins_from(answer: dict[str, Any]) -> list[OctoPrintPlugin]:
    """Read the plugin manager's /plugin/pluginmanager/plugins answer: enabled plugins only."""
    plugins = []
    for entry in answer.get("plugins", []):
        if not isinstance(entry, dict) or not entry.get("key") or not entry.get("enabled", True):
            continue
        version = entry.get("version")
        plugins.append(OctoPrintPlugin(
            key=_text(entry["key"]), name=_text(entry.get("name") or entry["key"]),
            version=None if version is None else _text(version)))
    return sorted(plugins, key=lambda plugin: plugin.key)


def plugins_from_versions(answer: dict[str, Any]) -> list[OctoPrintPlugin]:
    """Read /plugin/pluginmanager/plugins/versions (key to version), open to non-admin keys."""
    return [OctoPrintPlugin(key=_text(key), name=_text(key),
                            version=None if version is None else _text(version))
            for key, version in sorted(answer.items())]


def firmware_from(system_info: dict[str, Any]) -> str | None:
    """The firmware name OctoPrint read from the printer's M115 answer, if it has one."""
    name = system_info.get("systeminfo", {}).get("printer.firmware")
    return _text(name) if isinstance(name, str) and name and name != "unknown" else None


def bed_mesh_from(settings: dict[str, Any]) -> BedMesh | None:
    """Read the mesh Bed Visualizer stored in its settings (`stored_mesh` and its axes)."""
    plugin = settings.get("plugins", {}).get(BED_VISUALIZER)
    if not isinstance(plugin, dict):
        return None
    try:
        rows = [[float(value) for value in row] for row in plugin.get("stored_mesh") or []]
        xs = [float(value) for value in plugin.get("stored_mesh_x") or []]
        ys = [float(value) for value in plugin.get("stored_mesh_y") or []]
    except (TypeError, ValueError):
        # Circular beds leave None outside the circle: not a grid BedMesh can hold.
        logger.info("Bed Visualizer's stored mesh is not a full numeric grid; not reporting it")
        return None
    if not rows or not xs or not ys or any(len(row) != len(rows[0]) for row in rows):
        return None
    if any(not math.isfinite(value) for row in rows for value in row):
        return None
    if len(ys) == len(rows) and ys[0] > ys[-1]:
        rows.reverse()  # BedMesh rows run from the front (min y) to the back
    return BedMesh(rows=rows, min_x=min(xs), max_x=max(xs), min_y=min(ys), max_y=max(ys))


def _text(value: Any) -> str:
    return str(value)[:_TEXT_LIMIT]

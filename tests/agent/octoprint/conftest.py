"""OctoPrint fixtures: a fresh real OctoPrint (about 1.5 s to start) for each test that asks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import (
    RunningOctoPrint,
    connect_virtual_printer,
    make_template,
    octoprint_bin,
    start_octoprint,
)

logger = logging.getLogger(__name__)


@pytest.fixture(scope="session")
def octoprint_template(tmp_path_factory) -> Path:
    """A basedir with the admin user, made once: user creation costs a CLI start."""
    basedir = tmp_path_factory.mktemp("octoprint-template")
    make_template(octoprint_bin(), basedir)
    return basedir


@pytest.fixture
def octoprint(octoprint_template, tmp_path) -> Iterator[RunningOctoPrint]:
    """A running OctoPrint connected to its Virtual Printer."""
    running = start_octoprint(octoprint_bin(), octoprint_template, tmp_path / "octoprint")
    logger.info("OctoPrint answered %.2f s after start", running.startup_s)
    try:
        connect_virtual_printer(running)
        yield running
    finally:
        running.stop()

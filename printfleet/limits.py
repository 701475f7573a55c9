"""The open-file limit: a broker holds one descriptor per connected device."""

from __future__ import annotations

import logging
import resource
from pathlib import Path

logger = logging.getLogger(__name__)

# Linux refuses an infinite RLIMIT_NOFILE; fs.nr_open is the real ceiling.
_NR_OPEN = Path("/proc/sys/fs/nr_open")


def open_file_limit() -> tuple[int, int]:
    """Return this process's (soft, hard) RLIMIT_NOFILE."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one and return it.

    Child processes (Mosquitto among them) inherit it. Login shells and systemd
    services start at a soft limit of 1024, which would cap the broker at about
    a thousand connected printers whatever its own configuration says.
    """
    soft, hard = open_file_limit()
    target = hard if hard != resource.RLIM_INFINITY else _nr_open()
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as error:
            logger.warning("could not raise the open-file limit from %d to %d: %s",
                           soft, target, error)
            return soft
        logger.info("raised the open-file limit from %d to %d", soft, target)
        return target
    return soft


def _nr_open() -> int:
    try:
        return int(_NR_OPEN.read_text().strip())
    except (OSError, ValueError):
        return 1_048_576

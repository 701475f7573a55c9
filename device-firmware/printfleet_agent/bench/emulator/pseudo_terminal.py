"""Pseudo-terminals behind a stable path, and the baud rate a host set on one."""

from __future__ import annotations

import array
import fcntl
import os
import tty
from pathlib import Path

TCGETS2 = 0x802C542A  # Linux on x86 and ARM: termios2, which holds the actual line speed
_SPEED_INDEX = 10  # c_ospeed: after 4 flag words, 20 bytes of c_line and c_cc, and c_ispeed


def open_pty_at(link_path: Path) -> int:
    """Make a raw pty, point `link_path` at its terminal side and return the master side."""
    master, slave = os.openpty()
    tty.setraw(slave)
    target = os.ttyname(slave)
    os.close(slave)  # so a host opening the terminal shows as the end of POLLHUP
    os.set_blocking(master, False)
    staging = link_path.with_name(link_path.name + ".new")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target)
    os.replace(staging, link_path)  # the path never dangles half-made
    return master


def line_speed(master_fd: int) -> int:
    """Return the baud rate the host set on the pty's terminal side."""
    buffer = array.array("i", [0] * 64)
    fcntl.ioctl(master_fd, TCGETS2, buffer)
    return buffer[_SPEED_INDEX]

"""The open-file limit is raised to the hard limit before Mosquitto starts."""

from __future__ import annotations

import resource
import subprocess
import sys


def test_a_low_soft_limit_is_raised_to_the_hard_limit():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))

    script = ("import resource; from printfleet.limits import raise_open_file_limit; "
              "print(raise_open_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, preexec_fn=low_soft_limit, check=True)

    returned, effective = (int(value) for value in result.stdout.split())
    assert returned == effective == hard > 64


def test_the_rendered_broker_config_sets_no_connection_cap(broker):
    config = broker.paths.config.read_text()
    assert "\nmax_connections -1\n" in config

"""Serial printer settings: baud rates in order, sane windows."""

from __future__ import annotations

import pytest

from printfleet_agent.printers.serial import SerialPrinterSettings

pytestmark = pytest.mark.timeout(10)


def test_the_configured_baud_rate_is_tried_first_and_none_twice():
    assert SerialPrinterSettings(baudrate=250000).baudrates() == [250000, 115200, 230400, 57600]
    assert SerialPrinterSettings(baudrate=9600).baudrates() == [9600, 115200, 250000, 230400,
                                                                57600]


@pytest.mark.parametrize("overrides", [
    {"inflight_lines": 0},
    {"inflight_lines": 17},
    {"inflight_lines": 8, "resend_history_lines": 8},
    {"response_timeout_s": 0},
])
def test_impossible_settings_are_refused(overrides):
    with pytest.raises(ValueError):
        SerialPrinterSettings(**overrides)

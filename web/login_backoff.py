"""Back off password guessing: refuse sign-ins for a growing delay after failures."""

from __future__ import annotations

import math

from storage import LoginFailures

# Failures are counted per email and per IP over this window; the store
# keeps them, so every web process sees the same count.
WINDOW_S = 15 * 60
FREE_FAILURES = 5
FIRST_DELAY_S = 30.0
MAX_DELAY_S = 15 * 60.0


def retry_after(failures: LoginFailures, now: float) -> int:
    """Return the seconds to wait before the next attempt; 0 when one may try now."""
    count = max(failures.by_email, failures.by_ip)
    if count < FREE_FAILURES or failures.last_at is None:
        return 0
    delay = min(FIRST_DELAY_S * 2 ** (count - FREE_FAILURES), MAX_DELAY_S)
    return max(0, math.ceil(failures.last_at + delay - now))

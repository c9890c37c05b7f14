"""A minimum-interval limiter with an injected clock.

Used for JWKS refreshes: a token naming an unknown `kid` may trigger a fetch, but
a stream of forged tokens must not turn wardgate into a load generator against the
identity provider. At most one attempt per `interval` seconds, success or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class MinIntervalLimiter:
    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: float | None = None

    def try_acquire(self) -> bool:
        """True (and start a new interval) if the previous attempt is old enough."""
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return False
        self._last = now
        return True

    def remaining(self) -> float:
        """Seconds until the next attempt is allowed (0 when allowed now)."""
        if self._last is None:
            return 0.0
        return max(0.0, self._interval - (self._clock() - self._last))

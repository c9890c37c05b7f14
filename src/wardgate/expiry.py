"""Ending a session when its identity's token expires (`Session.ends_at`).

A relay asks for a callback at the session's end time; the loop's clock is
monotonic, so the wall-clock deadline is turned into a delay once, when scheduled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


def schedule_expiry(
    ends_at: float | None, expire: Callable[[], None]
) -> asyncio.TimerHandle | None:
    """Call `expire` on the running loop at `ends_at` (unix seconds); None: never.

    A deadline already past fires on the loop's next turn. Cancel the handle when
    the session ends first.
    """
    if ends_at is None:
        return None
    loop = asyncio.get_running_loop()
    return loop.call_later(max(0.0, ends_at - time.time()), expire)

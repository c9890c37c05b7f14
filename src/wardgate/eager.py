"""Run a coroutine inline until it first really waits.

A relay handles each socket read in a protocol callback. Most of what it calls is
declared `async` because it *may* wait (a review hold, a catalog lookup), but
almost never does: creating a task per message for that costs a loop iteration
and a task switch each time. `eager(coro)` runs the coroutine right away, in the
caller's frame; only if it suspends on a future is the rest handed to a task.
(Python 3.12's `asyncio.eager_task_factory` does the same for every task.)

The inline part runs in the caller (outside any task when that is a protocol
callback): code there must not call `asyncio.current_task()` or
`asyncio.timeout()`. Everything after the first suspension runs inside the task
and may.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def eager(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coro` now; None if it finished inline, else the task that finishes it.

    For handlers, whose result is None: an exception raised inline propagates to
    the caller at once, as a plain function call's would; one raised later is the
    task's.
    """
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_resume(coro, yielded))


async def _resume(coro: Coroutine[Any, Any, T], yielded: Any) -> T:
    """Drive `coro` on from where `eager` left it, as its task would have."""
    while True:
        cancelled: asyncio.CancelledError | None = None
        try:
            if yielded is None:  # a bare yield (`asyncio.sleep(0)`): one loop turn
                await asyncio.sleep(0)
            else:
                yielded._asyncio_future_blocking = False
                await asyncio.wait([yielded])  # done, whatever its outcome
        except asyncio.CancelledError as exc:
            cancelled = exc
            if yielded is not None:
                yielded.cancel()
        try:
            yielded = coro.throw(cancelled) if cancelled is not None else coro.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

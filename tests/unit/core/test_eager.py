"""`wardgate.eager`: inline until the first real wait, a task after it."""

from __future__ import annotations

import asyncio

import pytest

from wardgate.eager import eager


def test_a_coroutine_that_never_waits_finishes_inline() -> None:
    steps: list[str] = []

    async def work() -> int:
        steps.append("ran")
        return 7

    async def main() -> None:
        future = eager(work())
        assert steps == ["ran"]  # before any loop iteration
        assert future.done()
        assert future.result() == 7

    asyncio.run(main())


def test_an_exception_raised_inline_is_kept_in_the_future() -> None:
    async def work() -> None:
        raise ValueError("broken")

    async def main() -> None:
        future = eager(work())
        assert future.done()
        with pytest.raises(ValueError, match="broken"):
            future.result()

    asyncio.run(main())


def test_after_its_first_wait_the_rest_runs_in_a_task() -> None:
    async def main() -> None:
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        seen: list[object] = []

        async def work() -> str:
            seen.append(asyncio.current_task())  # inline: the caller's task (if any)
            value = await gate
            seen.append(asyncio.current_task())  # resumed: inside the task
            await asyncio.sleep(0)  # a bare yield as well
            return value + "!"

        caller = asyncio.current_task()
        future = eager(work())
        assert not future.done()
        gate.set_result("go")
        assert await future == "go!"
        assert seen == [caller, future]

    asyncio.run(main())


def test_an_awaited_future_failing_raises_inside_the_coroutine() -> None:
    async def main() -> None:
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def work() -> str:
            try:
                return await gate
            except KeyError:
                return "handled"

        future = eager(work())
        gate.set_exception(KeyError("x"))
        assert await future == "handled"

    asyncio.run(main())


def test_cancelling_the_task_cancels_what_it_waits_for_and_unwinds_the_coroutine() -> None:
    async def main() -> None:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        unwound: list[str] = []

        async def work() -> None:
            try:
                await gate
            finally:
                unwound.append("finally")

        future = eager(work())
        await asyncio.sleep(0)
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future
        assert gate.cancelled()
        assert unwound == ["finally"]

    asyncio.run(main())

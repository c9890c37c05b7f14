"""`wardgate.eager`: inline until the first real wait, a task after it."""

from __future__ import annotations

import asyncio

import pytest

from wardgate.eager import eager


def test_a_handler_that_never_waits_finishes_inline() -> None:
    steps: list[str] = []

    async def work() -> None:
        steps.append("ran")

    async def main() -> None:
        assert eager(work()) is None
        assert steps == ["ran"]  # before any loop iteration

    asyncio.run(main())


def test_an_exception_raised_inline_reaches_the_caller() -> None:
    async def work() -> None:
        raise ValueError("broken")

    async def main() -> None:
        with pytest.raises(ValueError, match="broken"):
            eager(work())

    asyncio.run(main())


def test_after_its_first_wait_the_rest_runs_in_a_task() -> None:
    async def main() -> None:
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        seen: list[object] = []

        async def work() -> None:
            seen.append(asyncio.current_task())  # inline: the caller's task (if any)
            seen.append(await gate)
            seen.append(asyncio.current_task())  # resumed: inside the task
            await asyncio.sleep(0)  # a bare yield as well
            seen.append("end")

        caller = asyncio.current_task()
        task = eager(work())
        assert task is not None
        assert not task.done()
        gate.set_result("go")
        await task
        assert seen == [caller, "go", task, "end"]

    asyncio.run(main())


def test_an_awaited_future_failing_raises_inside_the_coroutine() -> None:
    async def main() -> None:
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        seen: list[str] = []

        async def work() -> None:
            try:
                await gate
            except KeyError:
                seen.append("handled")

        task = eager(work())
        assert task is not None
        gate.set_exception(KeyError("x"))
        await task
        assert seen == ["handled"]

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

        task = eager(work())
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert gate.cancelled()
        assert unwound == ["finally"]

    asyncio.run(main())

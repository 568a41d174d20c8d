"""TaskTracker: background work after Slack's ack, and shutdown waiting for all of it."""

from __future__ import annotations

import asyncio

from endy_bot.tasks import TaskTracker


async def test_settling_waits_for_work_spawned_by_work_in_flight() -> None:
    """A Slack event's duplicate check runs first and only then starts the answer: shutdown must wait for both."""
    tasks, answered = TaskTracker(), asyncio.Event()

    async def answer() -> None:
        await asyncio.sleep(0.05)
        answered.set()

    async def check_then_answer() -> None:
        await asyncio.sleep(0.05)  # the duplicate check asking Redis
        tasks.spawn(answer())

    tasks.spawn(check_then_answer())
    assert await tasks.settle(10)
    assert answered.is_set()
    assert len(tasks) == 0


async def test_settling_reports_work_that_outlives_the_grace() -> None:
    tasks, release = TaskTracker(), asyncio.Event()
    tasks.spawn(release.wait())
    assert not await tasks.settle(0.05)
    release.set()
    assert await tasks.settle(10)


async def test_a_failure_goes_to_the_error_hook_with_its_context() -> None:
    seen: list[tuple[str, dict[str, object]]] = []

    async def hook(error: BaseException, where: dict[str, object]) -> None:
        seen.append((str(error), where))

    async def boom() -> None:
        raise RuntimeError("boom")

    tasks = TaskTracker(on_error=hook)
    tasks.spawn(boom(), context={"channel": "D1"})
    assert await tasks.settle(10)
    assert seen == [("boom", {"channel": "D1"})]

"""Background work after Slack's ack: tracked so shutdown can wait for in-flight answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from loguru import logger


class TaskTracker:
    """Spawns tasks, keeps references (asyncio only keeps weak ones) and reports failures to one hook."""

    def __init__(self, on_error: Callable[[BaseException, dict[str, Any]], Awaitable[None]] | None = None) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_error = on_error

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, object], *, context: dict[str, Any] | None = None) -> None:
        """Run `coro` in the background; an exception goes to the error hook, never to the event loop."""
        task = asyncio.create_task(self._guard(coro, context or {}))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Coroutine[Any, Any, object], context: dict[str, Any]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the last line of defence for background work: report, keep serving
            if self.on_error is None:
                logger.exception("background task failed")
            else:
                await self.on_error(err, context)

    async def settle(self, grace: float) -> bool:
        """Wait until no tracked work is left, including work spawned meanwhile (a Slack event's duplicate check
        starts the answer): used at shutdown and by tests; False when the timeout passed first."""
        try:
            async with asyncio.timeout(grace):
                while self._tasks:
                    await asyncio.wait(set(self._tasks))
        except TimeoutError:
            return False
        return True

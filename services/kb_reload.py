"""Reload the knowledge base on every replica: one replica publishes through Redis, all reload."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from loguru import logger
from redis.exceptions import RedisError

_POLL_SECONDS = 0.5


class KnowledgeReloader:
    """Publishes reload requests and listens for other replicas' (its own are reloaded in place)."""

    def __init__(self, redis: aioredis.Redis, *, key_prefix: str, reload: Callable[[], Awaitable[object]]) -> None:
        self._redis = redis
        self.channel = f"{key_prefix}kb:reload"
        self._reload = reload
        self.instance = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.subscribed = asyncio.Event()

    async def start(self) -> None:
        """Begin listening in the background."""
        self._task = asyncio.create_task(self._listen(), name="endy-kb-reload")

    async def aclose(self) -> None:
        """Stop listening (the listener polls, so it notices within a second; cancel as a last resort)."""
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), _POLL_SECONDS * 3)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 1.0)

    async def publish(self) -> int:
        """Ask the other replicas to reload; returns how many of them got the request (0 if Redis is down)."""
        try:
            receivers = int(await self._redis.publish(self.channel, self.instance))
            return max(0, receivers - (1 if self.subscribed.is_set() else 0))  # not counting ourselves
        except (RedisError, OSError) as err:
            logger.bind(error=type(err).__name__).warning("knowledge reload not broadcast (Redis unreachable)")
            return 0

    async def _listen(self) -> None:
        # Polling get_message (not `listen()`): redis-py's pubsub can swallow a task cancellation while it
        # waits, which hung shutdown; a stop flag checked every poll always ends the loop.
        backoff = 0.5
        while not self._stop.is_set():
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    backoff = 0.5
                    while not self._stop.is_set():
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL_SECONDS)
                        if message is not None:
                            await self._handle(message)
            except (RedisError, OSError) as err:
                self.subscribed.clear()
                logger.bind(error=type(err).__name__).warning("knowledge reload listener reconnecting")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), backoff)
                backoff = min(backoff * 2, 30.0)

    async def _handle(self, message: dict[str, object]) -> None:
        if message.get("type") != "message":
            return
        origin = message.get("data")
        origin = origin.decode() if isinstance(origin, bytes) else str(origin)
        if origin == self.instance:
            return
        logger.info("knowledge reload requested by another replica")
        try:
            await self._reload()
        except Exception:  # a bad knowledge folder must not kill the listener; the old KB keeps serving
            logger.exception("knowledge reload failed; still serving the previous knowledge base")

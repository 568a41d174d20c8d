"""Telling a slow Redis from an unreachable one.

A plain deadline cannot: when a burst keeps the event loop busy, a reply that Redis sent in a millisecond may
be read only after the deadline fired, and the caller would take a healthy Redis for an outage (the limiter
would fail open, the dedupe would answer a redelivery twice). RedisWatch asks for evidence before calling
Redis unreachable: after a window of `silence` seconds without this command's reply, Redis counts as alive
when any watched command got a reply during that window or, failing that, when a PING on the watch's own
connection (not queued behind the burst in the shared pool) answers within another window. Alive but still
no reply after `patience` seconds is "slow", not "unreachable".

Two ways to run a command, with the same verdicts:
- `keep_running=True` (the default): the command runs as its own task and is never cancelled by the watch, so
  a write the caller stopped waiting for still lands (a dedupe marker stays visible to the other replicas).
- `keep_running=False`: the command runs in the caller's own task, watched by one timer (no task, no
  asyncio.wait, no extra loop turn: a healthy reply costs what the bare command costs); when the caller gives
  up, the command is cancelled like under asyncio.timeout (one already sent still runs in Redis). For commands
  whose late landing does not matter: the rate limiter, which decides in process when it gives up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

T = TypeVar("T")

# Redis cannot be used: callers decide in process (limiter, dedupe) or go without (cache) until it answers.
# Error replies count too (READONLY after a failover, OOM): the question must still be answered.
UNREACHABLE = (RedisError, OSError)
# Failures of the connection rather than of Redis: a busy pool or a stalled loop raises these as well.
_TRANSPORT = (RedisConnectionError, RedisTimeoutError, OSError)
# A healthy but busy Redis (or a busy event loop) is waited for this long before the limiter or the dedupe
# decide without it (both run after Slack's ack; an answer is delayed by it at most).
PATIENCE_SECONDS = 2.0
# While Redis is unreachable, one probe per this interval checks whether it is back.
PROBE_INTERVAL_SECONDS = 1.0
# After a window ends, replies already read (but not yet handed to their waiters because the loop was busy)
# get this long to be processed before the window counts as silent.
_GRACE_SECONDS = 0.05


class RedisSlow(Exception):
    """Redis is answering, but not this command within the caller's patience."""


class RedisWatch:
    """One per process, shared by the limiter, the dedupe and the answer cache."""

    def __init__(self, redis: aioredis.Redis) -> None:
        pool = redis.connection_pool
        # The probe's own connection: a PING on it is not queued behind a burst in the shared pool.
        own = aioredis.ConnectionPool(
            connection_class=pool.connection_class, max_connections=1, **pool.connection_kwargs
        )
        self._probe_client = aioredis.Redis.from_pool(own)
        self._last_reply = float("-inf")  # loop time of the latest reply to any watched command or probe
        self._pending: set[asyncio.Future[Any]] = set()
        self._here = 0  # commands running in their callers' tasks (keep_running=False)
        self._probe: asyncio.Task[bool] | None = None
        # After a silent window and a failed probe, commands fail at once (no caller waits again) while one
        # probe a second runs in the background; its first answer lifts this.
        self._down = False
        self._recovery: asyncio.Task[None] | None = None

    async def connect(self, silence: float = 1.0) -> bool:
        """Open the probe's connection ahead of need (at start-up): a cold one costs a handshake when every
        loop turn is slow. True when Redis answered."""
        return await self._alive(silence)

    @property
    def pending(self) -> int:
        """Watched commands still running (including ones their callers stopped waiting for)."""
        return len(self._pending) + self._here

    async def run(
        self, command: Awaitable[T], *, silence: float, patience: float | None = None, keep_running: bool = True
    ) -> T:
        """The command's result. Raises RedisTimeoutError when Redis gave no sign of life (unreachable),
        RedisSlow when it is alive but this command had no reply after `patience` seconds (default: silence),
        and the command's own errors. `keep_running=False`: run it in the caller's task, cancelled when the
        caller gives up on it (see the module docstring)."""
        loop = asyncio.get_running_loop()
        if self._down:
            _discard(command)
            raise RedisTimeoutError("Redis did not answer recently (probing in the background)")
        if not keep_running:
            return await self._run_here(command, loop, silence, patience)
        task: asyncio.Future[T] = asyncio.ensure_future(command)
        self._pending.add(task)
        task.add_done_callback(self._finished)
        started = loop.time()
        give_up = started + max(patience or silence, silence)
        while True:
            window_start = loop.time()
            if await self._settled(task, silence):
                return await self._verdict(task, started, silence)
            if self._last_reply < window_start and not await self._alive(silence):
                self._went_down(silence)
                raise RedisTimeoutError(f"no sign of life from Redis within {silence} s")
            if loop.time() >= give_up:
                raise RedisSlow(f"Redis is answering, but not this command within {patience} s")

    async def _verdict(self, task: asyncio.Future[T], started: float, silence: float) -> T:
        """The finished command's result; a transport error while Redis shows signs of life (others got replies
        meanwhile, or the probe answers) is only slowness: the pool was busy or the loop stalled."""
        try:
            return task.result()
        except _TRANSPORT as err:
            await self._transport_failure(err, started, silence)
            raise  # refused or reset: cheap to find out again, so the callers' own probe interval is enough

    async def _transport_failure(self, err: BaseException, started: float, silence: float) -> None:
        """Raise RedisSlow for a transport error while Redis shows signs of life; return when it shows none."""
        if self._last_reply >= started or await self._alive(silence):
            raise RedisSlow(f"Redis is answering, but this command failed: {type(err).__name__}") from err

    async def _run_here(
        self, command: Awaitable[T], loop: asyncio.AbstractEventLoop, silence: float, patience: float | None
    ) -> T:
        """`run` in the caller's task: a _Window timer judges the silences and cancels the command on a verdict."""
        task = asyncio.current_task()
        assert task is not None, "run in a task"
        started = loop.time()
        window = _Window(self, task, loop, silence, started + max(patience or silence, silence), patience)
        self._here += 1
        try:
            result = await command
        except asyncio.CancelledError:
            verdict = window.verdict
            if verdict is None or task.uncancel() > window.cancelling:
                raise  # not the watch's doing: the caller's own cancellation goes on
            raise verdict from None
        except ResponseError:
            self._last_reply = loop.time()  # an error reply is a reply
            raise
        except _TRANSPORT as err:
            window.close()
            await self._transport_failure(err, started, silence)
            raise
        finally:
            self._here -= 1
            window.close()
        self._last_reply = loop.time()
        return result

    async def _settled(self, task: asyncio.Future[Any], silence: float) -> bool:
        await asyncio.wait({task}, timeout=silence)
        if not task.done():
            await asyncio.wait({task}, timeout=min(_GRACE_SECONDS, silence))
        return task.done()

    async def _alive(self, silence: float) -> bool:
        """One PING at a time on the watch's own connection; concurrent callers share its verdict."""
        return await asyncio.shield(self._probing(silence))

    def _probing(self, silence: float) -> asyncio.Task[bool]:
        """The probe running now, or a new one."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._ping(silence), name="endy-redis-probe")
        return self._probe

    @property
    def up(self) -> bool:
        """False from a failed probe until a background probe gets an answer again."""
        return not self._down

    def _went_down(self, silence: float) -> None:
        if self._down:
            return
        self._down = True
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover(silence), name="endy-redis-recovery")

    async def _recover(self, silence: float) -> None:
        """Probe once per interval until Redis answers (then commands go to Redis again)."""
        while self._down and not await self._alive(silence):  # noqa: ASYNC110 (a periodic probe)
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)

    async def _ping(self, silence: float) -> bool:
        ping = asyncio.ensure_future(self._probe_client.ping())
        ping.add_done_callback(_retrieve)
        try:
            if await self._settled(ping, silence):
                ping.result()
                self._last_reply = asyncio.get_running_loop().time()
                self._down = False
                return True
        except (RedisError, OSError):
            pass
        ping.cancel()
        try:  # a frozen or broken connection is no use for the next probe
            await self._probe_client.connection_pool.disconnect()
        except (RedisError, OSError):
            pass
        return False

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._pending.discard(task)
        if task.cancelled():
            return
        err = task.exception()  # always retrieved: an abandoned command must not log "never retrieved"
        if err is None or isinstance(err, ResponseError):
            self._last_reply = asyncio.get_running_loop().time()

    async def aclose(self) -> None:
        """Cancel commands still running and close the probe connection (at shutdown)."""
        for task in list(self._pending):
            task.cancel()
        background = [t for t in (self._probe, self._recovery) if t is not None]
        for task in background:
            task.cancel()
        await asyncio.gather(*self._pending, *background, return_exceptions=True)
        try:
            await self._probe_client.aclose()
        except (RedisError, OSError):
            pass


class _Window:
    """The silence windows of one command run in its caller's task (keep_running=False): the same judgement as
    `RedisWatch.run`'s loop, made by timer callbacks instead of a waiting task. A window that ends without this
    command's reply (after the grace) is judged by the other replies during it, else by the probe; a verdict
    cancels the caller's task, which `_run_here` turns into the verdict (as asyncio.timeout turns its
    cancellation into TimeoutError)."""

    __slots__ = (
        "_watch", "_task", "_loop", "_silence", "_give_up", "_patience", "_start", "_timer", "_closed",
        "cancelling", "verdict",
    )  # fmt: skip

    def __init__(
        self,
        watch: RedisWatch,
        task: asyncio.Task[Any],
        loop: asyncio.AbstractEventLoop,
        silence: float,
        give_up: float,
        patience: float | None,
    ) -> None:
        self._watch, self._task, self._loop = watch, task, loop
        self._silence, self._give_up, self._patience = silence, give_up, patience
        self.cancelling = task.cancelling()
        self.verdict: Exception | None = None
        self._start = loop.time()
        self._closed = False
        self._timer: asyncio.TimerHandle | None = loop.call_later(silence, self._silent)

    def close(self) -> None:
        """The command finished: no more judgement (a probe still running may end as it likes)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _silent(self) -> None:
        # Replies already read but not yet handed to their waiters (a busy loop) get the grace to be processed.
        self._timer = self._loop.call_later(min(_GRACE_SECONDS, self._silence), self._judge)

    def _judge(self) -> None:
        self._timer = None
        if self._watch._last_reply >= self._start:
            self._alive_verdict()
            return
        probe = self._watch._probing(self._silence)
        probe.add_done_callback(self._probed)

    def _probed(self, probe: asyncio.Task[bool]) -> None:
        if self._closed:
            return
        if probe.cancelled() or probe.exception() is not None or not probe.result():
            if not probe.cancelled():
                self._watch._went_down(self._silence)
            self._decide(RedisTimeoutError(f"no sign of life from Redis within {self._silence} s"))
            return
        self._alive_verdict()

    def _alive_verdict(self) -> None:
        """Redis answers: slow once patience is spent, else another window."""
        now = self._loop.time()
        if now >= self._give_up:
            self._decide(RedisSlow(f"Redis is answering, but not this command within {self._patience} s"))
            return
        self._start = now
        self._timer = self._loop.call_later(self._silence, self._silent)

    def _decide(self, verdict: Exception) -> None:
        self._closed = True
        self.verdict = verdict
        self._task.cancel()


def _discard(command: Awaitable[Any]) -> None:
    """Close a command coroutine that will not be run (no "never awaited" warning)."""
    close = getattr(command, "close", None)
    if callable(close):
        close()


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a probe's outcome as seen, whichever way it ended."""
    if not task.cancelled():
        task.exception()

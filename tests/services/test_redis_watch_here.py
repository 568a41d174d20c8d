"""RedisWatch.run(keep_running=False): the command runs in the caller's own task, judged by timers; the verdicts
are the same as with a task of its own (tests/services/test_redis_watch.py), and a verdict cancels the command.

Real Redis throughout: BLPOP holds one command without an answer while Redis keeps answering others; a frozen
server is a throwaway redis-server under SIGSTOP.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.redis_watch import RedisSlow, RedisWatch

SILENCE = 0.3


async def test_a_reply_is_read_in_the_callers_task(redis_client: aioredis.Redis) -> None:
    watch, seen = RedisWatch(redis_client), []

    async def ping() -> bool:
        seen.append(asyncio.current_task())
        return bool(await redis_client.ping())

    assert await watch.run(ping(), silence=SILENCE, keep_running=False) is True
    assert seen == [asyncio.current_task()]  # no task of its own
    assert watch.pending == 0
    await watch.aclose()


async def test_a_command_without_a_reply_while_redis_answers_others_is_slow_and_cancelled(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    watch, stop = RedisWatch(redis_client), asyncio.Event()

    async def keep_pinging() -> None:
        while not stop.is_set():
            await watch.run(redis_client.ping(), silence=SILENCE, keep_running=False)
            await asyncio.sleep(0.05)

    pinger = asyncio.create_task(keep_pinging())
    key = f"{key_prefix}queue"
    try:
        with pytest.raises(RedisSlow):
            await watch.run(redis_client.blpop([key], timeout=30), silence=SILENCE, patience=1.0, keep_running=False)
    finally:
        stop.set()
        await pinger
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0  # the verdict's cancellation was taken back
    assert watch.pending == 0 and watch.up  # the BLPOP was cancelled with the wait; Redis is not down
    await redis_client.rpush(key, "kept")
    assert await redis_client.llen(key) == 1  # nothing took the element
    await watch.aclose()


async def test_one_silent_command_is_slow_not_an_outage_while_the_probe_answers(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    watch = RedisWatch(redis_client)
    with pytest.raises(RedisSlow):  # no other traffic: the watch's own PING proves Redis alive
        await watch.run(
            redis_client.blpop([f"{key_prefix}nothing"], timeout=3), silence=SILENCE, patience=1.0, keep_running=False
        )
    assert watch.up
    assert await watch.run(redis_client.ping(), silence=SILENCE, keep_running=False) is True  # the caller goes on
    await watch.aclose()


async def test_the_callers_own_cancellation_is_not_taken_for_a_verdict(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    watch = RedisWatch(redis_client)
    started = asyncio.Event()

    async def wait_long() -> object:
        started.set()
        return await redis_client.blpop([f"{key_prefix}never"], timeout=10)

    caller = asyncio.create_task(watch.run(wait_long(), silence=SILENCE, patience=5.0, keep_running=False))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert watch.pending == 0
    await watch.aclose()


async def test_no_free_connection_while_redis_answers_is_slowness(held_redis: aioredis.Redis, key_prefix: str) -> None:
    watch = RedisWatch(held_redis)  # its probe has a connection of its own
    with pytest.raises(RedisSlow):
        await watch.run(held_redis.set(f"{key_prefix}k", 1), silence=SILENCE, patience=1.0, keep_running=False)
    assert watch.up
    await watch.aclose()


async def test_a_frozen_redis_is_unreachable_after_one_silent_window(frozen_redis: aioredis.Redis) -> None:
    watch = RedisWatch(frozen_redis)
    with pytest.raises(RedisTimeoutError):
        await watch.run(frozen_redis.ping(), silence=SILENCE, patience=2.0, keep_running=False)
    assert not watch.up  # later commands fail at once while the background probe waits for an answer
    with pytest.raises(RedisTimeoutError):
        await watch.run(frozen_redis.ping(), silence=SILENCE, keep_running=False)
    await watch.aclose()

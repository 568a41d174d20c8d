"""A slow Redis is not an unreachable one: judged by replies, not by a deadline alone (services/redis_watch.py).

Real Redis throughout: BLPOP holds one command without an answer while Redis keeps answering others; a
blocked event loop is made with time.sleep; a frozen server is a throwaway redis-server under SIGSTOP.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from services.dedupe import EventDeduper
from services.metrics import Metrics
from services.ratelimit import RateLimiter
from services.redis_conn import make_client
from services.redis_watch import RedisSlow, RedisWatch
from tests.helpers import eventually

SILENCE = 0.3
BUSY_EVENTS = 300


def _errors(metrics: Metrics, kind: str) -> float:
    return metrics.registry.get_sample_value("errors_total", {"type": kind}) or 0.0


async def _keep_pinging(watch: RedisWatch, client: aioredis.Redis, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await watch.run(client.ping(), silence=SILENCE)
        await asyncio.sleep(0.05)


async def test_a_command_without_a_reply_while_redis_answers_others_is_slow_and_still_lands(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    watch, stop = RedisWatch(redis_client), asyncio.Event()
    pinger = asyncio.create_task(_keep_pinging(watch, redis_client, stop))
    key = f"{key_prefix}queue"
    try:
        with pytest.raises(RedisSlow):
            await watch.run(redis_client.blpop([key], timeout=30), silence=SILENCE, patience=1.0)
    finally:
        stop.set()
        await pinger
    assert watch.pending == 1  # the caller stopped waiting; the command was not cancelled
    await redis_client.rpush(key, "late")
    await eventually(lambda: not watch.pending, "the abandoned command answered", 10)  # not ours to await
    assert await redis_client.llen(key) == 0  # the abandoned BLPOP still took its element
    await watch.aclose()


async def test_one_silent_command_is_not_an_outage_while_the_probe_answers(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    watch = RedisWatch(redis_client)
    with pytest.raises(RedisSlow):  # no other traffic: the watch's own PING proves Redis alive
        await watch.run(redis_client.blpop([f"{key_prefix}nothing"], timeout=3), silence=SILENCE, patience=1.0)
    assert watch.up
    assert watch.pending == 1  # still running, not cancelled
    await watch.aclose()


async def test_no_free_connection_while_redis_answers_is_slowness(held_redis: aioredis.Redis, key_prefix: str) -> None:
    """A burst can exhaust the pool (redis-py raises ConnectionError after its wait): that is not an outage."""
    watch = RedisWatch(held_redis)  # its probe has a connection of its own
    with pytest.raises(RedisSlow):
        await watch.run(held_redis.set(f"{key_prefix}k", 1), silence=SILENCE, patience=1.0)
    assert watch.up
    await watch.aclose()


async def test_an_error_reply_is_decided_in_process_not_raised(own_redis: aioredis.Redis) -> None:
    """READONLY after a failover or OOM: the event is still answered (and counted)."""
    await own_redis.config_set("maxmemory", 1)
    await own_redis.config_set("maxmemory-policy", "noeviction")
    metrics, watch = Metrics(), RedisWatch(own_redis)
    deduper = EventDeduper(own_redis, key_prefix="t:", metrics=metrics, timeout=SILENCE, watch=watch)
    limiter = RateLimiter(own_redis, per_minute=5, per_hour=50, key_prefix="t:", metrics=metrics, watch=watch)
    assert await deduper.first_time("Ev0OOM") is True
    assert (await limiter.check("T1", "U0OOM")).fallback
    assert _errors(metrics, "dedupe_redis_unreachable") == 1
    await watch.aclose()


async def _hog(stop: asyncio.Event, slice_seconds: float) -> None:
    """CPU work on the event loop in slices, like a burst of answers being ranked and formatted."""
    while not stop.is_set():
        time.sleep(slice_seconds)  # noqa: ASYNC251 (on purpose: the loop is busy, Redis is not)
        await asyncio.sleep(0)


async def test_a_busy_event_loop_is_not_a_redis_outage(redis_url: str, key_prefix: str) -> None:
    """A burst keeps the loop so busy that replies Redis sent at once are read after a plain deadline fired:
    a deadline alone calls that an outage (and the dedupe then answers a redelivery twice); the watch sees
    replies arriving and keeps waiting."""
    redis_client = make_client(redis_url)  # the app's client: a burst queues for the pool's connections
    metrics, elsewhere, watch = Metrics(), Metrics(), RedisWatch(redis_client)
    await watch.connect()
    here = EventDeduper(redis_client, key_prefix=key_prefix, metrics=metrics, timeout=SILENCE, watch=watch)
    there = EventDeduper(redis_client, key_prefix=key_prefix, metrics=elsewhere, timeout=SILENCE, watch=watch)
    limiter = RateLimiter(
        redis_client,
        per_minute=500,
        per_hour=5000,
        key_prefix=key_prefix,
        metrics=metrics,
        timeout=SILENCE,
        watch=watch,
    )
    events = [f"Ev0BUSY{i:03d}" for i in range(BUSY_EVENTS)]
    stop = asyncio.Event()
    hog = asyncio.create_task(_hog(stop, 0.03))
    try:
        fresh = await asyncio.gather(*(here.first_time(e) for e in events))
        decisions = await asyncio.gather(*(limiter.check("T1", f"U0BUSY{i % 7}") for i in range(BUSY_EVENTS)))
    finally:
        stop.set()
        await hog
    assert all(fresh)
    assert _errors(metrics, "dedupe_redis_unreachable") == 0
    assert not any(d.fallback for d in decisions)  # the limiter decided on Redis too
    assert [await there.first_time(e) for e in events] == [False] * BUSY_EVENTS  # the other replica knows them
    await watch.aclose()
    async for key in redis_client.scan_iter(match=f"{key_prefix}*"):
        await redis_client.delete(key)
    await redis_client.aclose()


async def test_a_frozen_redis_is_unreachable_after_one_silent_window(frozen_redis: aioredis.Redis) -> None:
    metrics, watch = Metrics(), RedisWatch(frozen_redis)
    deduper = EventDeduper(
        frozen_redis, key_prefix="t:", metrics=metrics, timeout=SILENCE, probe_interval=60, watch=watch
    )
    # Slack's retry arrives while the first delivery still waits for Redis: one of the two is answered.
    assert sorted(await asyncio.gather(deduper.first_time("Ev0FROZEN"), deduper.first_time("Ev0FROZEN"))) == [
        False,
        True,
    ]
    assert await deduper.first_time("Ev0FROZEN") is False  # remembered in process
    assert await deduper.first_time("Ev0OTHER") is True
    assert _errors(metrics, "dedupe_redis_unreachable") == 2  # one silent window, then no more waiting
    assert _errors(metrics, "dedupe_redis_slow") == 0
    await watch.aclose()

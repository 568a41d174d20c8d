"""RateLimiter against a real Redis: both windows, refill, atomicity, keys, NOSCRIPT and failing open."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import redis.asyncio as aioredis
from loguru import logger
from redis.crc import key_slot

from services.errors import RateLimited
from services.metrics import Metrics
from services.ratelimit import RateLimiter
from services.redis_watch import RedisWatch
from tests.fakes.redis_process import RedisProcess
from tests.helpers import eventually

if TYPE_CHECKING:
    from loguru import Record


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _sample(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


def make_limiter(redis: aioredis.Redis, key_prefix: str, **overrides: Any) -> RateLimiter:
    # A generous per-call timeout: on a loaded CI machine a slow (not failed) Redis reply must not flip the
    # limiter into its fail-open fallback and let extra requests through; outage tests set their own.
    options: dict[str, Any] = {"per_minute": 10, "per_hour": 100, "key_prefix": key_prefix, "timeout": 10.0}
    options.update(overrides)
    return RateLimiter(redis, **options)


@pytest.fixture
def log_records() -> Iterator[list[Record]]:
    """Every loguru record emitted during the test (INFO and up)."""
    records: list[Record] = []
    handler_id = logger.add(lambda message: records.append(message.record), level="INFO")
    yield records
    logger.remove(handler_id)


async def test_burst_of_ten_then_eleventh_refused(redis_client: aioredis.Redis, key_prefix: str) -> None:
    metrics = Metrics()
    limiter = make_limiter(redis_client, key_prefix, metrics=metrics)

    burst = [await limiter.check("T1", "U1") for _ in range(10)]
    refused = await limiter.check("T1", "U1")

    assert all(d.allowed and d.retry_after == 0 and not d.fallback for d in burst)
    assert [d.remaining_minute for d in burst] == list(range(9, -1, -1))
    assert [d.remaining_hour for d in burst] == list(range(99, 89, -1))
    assert not refused.allowed
    assert 5 < refused.retry_after <= 6.5
    assert refused.remaining_minute == 0
    assert _sample(metrics, "rate_limited_total") == 1


async def test_acquire_raises_rate_limited_with_retry_after(redis_client: aioredis.Redis, key_prefix: str) -> None:
    limiter = make_limiter(redis_client, key_prefix, per_minute=1)
    assert (await limiter.acquire(None, "U1")).allowed
    with pytest.raises(RateLimited) as caught:
        await limiter.acquire(None, "U1")
    assert 55 < caught.value.retry_after <= 60


async def test_hourly_window_refuses_without_consuming_the_minute(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    limiter = make_limiter(redis_client, key_prefix, per_minute=1000, per_hour=5)

    allowed = [await limiter.check("T1", "U1") for _ in range(5)]
    sixth = await limiter.check("T1", "U1")

    assert all(d.allowed for d in allowed)
    assert not sixth.allowed
    assert 700 < sixth.retry_after <= 720
    assert sixth.remaining_hour == 0
    assert sixth.remaining_minute == 995  # a refusal consumes nothing from either bucket


async def test_tokens_refill_in_proportion_to_elapsed_time(redis_client: aioredis.Redis, key_prefix: str) -> None:
    limiter = make_limiter(redis_client, key_prefix)
    for _ in range(10):
        await limiter.check("T1", "U1")
    assert not (await limiter.check("T1", "U1")).allowed

    minute_key, _ = limiter.keys("T1", "U1")
    ts = int(await redis_client.hget(minute_key, "ts") or 0)
    await redis_client.hset(minute_key, "ts", ts - 30_000)  # 30 s of a 10/min bucket = 5 tokens

    refilled = [await limiter.check("T1", "U1") for _ in range(6)]
    assert [d.allowed for d in refilled] == [True] * 5 + [False]
    assert [d.remaining_minute for d in refilled[:5]] == [4, 3, 2, 1, 0]


async def test_concurrent_acquires_let_exactly_the_capacity_through(
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    metrics = Metrics()
    limiter = make_limiter(redis_client, key_prefix, metrics=metrics)

    results = await asyncio.gather(*(limiter.acquire("T1", "U1") for _ in range(50)), return_exceptions=True)

    assert sum(not isinstance(r, BaseException) for r in results) == 10
    assert sum(isinstance(r, RateLimited) for r in results) == 40
    assert _sample(metrics, "rate_limited_total") == 40


@pytest.mark.parametrize(
    ("other_team", "other_user"),
    [("T1", "U2"), ("T2", "U1"), (None, "U1")],
    ids=["other-user-same-team", "same-user-other-team", "same-user-no-team"],
)
async def test_users_and_teams_have_their_own_buckets(
    redis_client: aioredis.Redis, key_prefix: str, other_team: str | None, other_user: str
) -> None:
    limiter = make_limiter(redis_client, key_prefix, per_minute=2)
    await limiter.check("T1", "U1")
    await limiter.check("T1", "U1")
    assert not (await limiter.check("T1", "U1")).allowed

    other = await limiter.check(other_team, other_user)
    assert other.allowed
    assert other.remaining_minute == 1


async def test_keys_share_a_hash_slot_and_expire_when_idle(redis_client: aioredis.Redis, key_prefix: str) -> None:
    limiter = make_limiter(redis_client, key_prefix)
    minute_key, hour_key = limiter.keys("T1", "U1")
    assert minute_key == f"{key_prefix}rl:{{T1:U1}}:m"
    assert hour_key == f"{key_prefix}rl:{{T1:U1}}:h"
    assert key_slot(minute_key.encode()) == key_slot(hour_key.encode())

    await limiter.check("T1", "U1")

    # One token spent: each bucket is full again after 1/rate (6 s and 36 s), then the key vanishes.
    assert 0 < await redis_client.pttl(minute_key) <= 6_000
    assert 6_000 < await redis_client.pttl(hour_key) <= 36_000
    assert await redis_client.hgetall(minute_key) == {b"tokens": b"9", b"ts": await redis_client.hget(hour_key, "ts")}


async def test_script_is_reloaded_after_script_flush(own_redis: aioredis.Redis, key_prefix: str) -> None:
    limiter = make_limiter(own_redis, key_prefix)
    first = await limiter.check("T1", "U1")
    await own_redis.script_flush()
    assert await own_redis.script_exists(limiter._script.sha) == [False]

    second = await limiter.check("T1", "U1")

    assert (first.remaining_minute, second.remaining_minute) == (9, 8)
    assert not second.fallback
    assert await own_redis.script_exists(limiter._script.sha) == [True]


async def test_fails_open_to_local_buckets_and_returns_to_redis(
    redis_server: RedisProcess, own_redis: aioredis.Redis, key_prefix: str, log_records: list[Record]
) -> None:
    metrics, clock = Metrics(), FakeClock()
    limiter = make_limiter(own_redis, key_prefix, per_minute=3, metrics=metrics, clock=clock)
    assert not (await limiter.check("T1", "U1")).fallback

    await redis_server.stop()
    decisions = []
    for _ in range(4):  # a Redis probe every second, local decisions in between
        decisions += [await limiter.check("T1", "U1") for _ in range(3)]
        clock.advance(1.0)

    assert all(d.fallback for d in decisions)
    assert [d.allowed for d in decisions[:4]] == [True, True, True, False]  # a fresh local bucket of 3
    assert 0 < decisions[3].retry_after <= 20
    assert _sample(metrics, "ratelimit_fallback_active") == 1
    assert _sample(metrics, "ratelimit_fallback_decisions_total") == 12
    warnings = [r for r in log_records if r["level"].name == "WARNING"]
    assert len(warnings) == 1
    assert "Redis" in warnings[0]["message"]

    await redis_server.start()
    back = await limiter.check("T1", "U1")

    assert not back.fallback
    assert back.remaining_minute == 2  # the restarted server starts empty (and without the script)
    assert _sample(metrics, "ratelimit_fallback_active") == 0
    assert [r["message"] for r in log_records if r["level"].name == "INFO"] == ["rate limiter back on Redis"]


async def test_local_buckets_wait_for_the_probe_interval_and_evict_oldest_users(
    redis_server: RedisProcess, own_redis: aioredis.Redis, key_prefix: str
) -> None:
    clock = FakeClock()
    limiter = make_limiter(own_redis, key_prefix, per_minute=1, clock=clock, max_local_users=2)
    await redis_server.stop()

    assert (await limiter.check("T1", "U1")).allowed
    assert not (await limiter.check("T1", "U1")).allowed
    await limiter.check("T1", "U2")
    await limiter.check("T1", "U3")  # a third user pushes U1, the oldest, out

    await redis_server.start()
    again = await limiter.check("T1", "U1")  # still within the probe interval: no Redis call yet
    assert again.fallback
    assert again.allowed
    clock.advance(1.0)
    assert not (await limiter.check("T1", "U1")).fallback


async def test_a_frozen_redis_costs_one_timeout_then_local_decisions(
    redis_server: RedisProcess, own_redis: aioredis.Redis, key_prefix: str
) -> None:
    metrics, clock, watch = Metrics(), FakeClock(), RedisWatch(own_redis)
    limiter = make_limiter(own_redis, key_prefix, metrics=metrics, clock=clock, timeout=0.2, watch=watch)
    assert not (await limiter.check("T1", "U1")).fallback

    redis_server.pause()
    try:
        frozen = [await limiter.check("T1", "U1") for _ in range(3)]  # one waits for the timeout, two don't try
        assert not watch.up
    finally:
        redis_server.resume()

    assert all(d.fallback and d.allowed for d in frozen)
    assert _sample(metrics, "ratelimit_fallback_active") == 1
    await eventually(lambda: watch.up, "the watch's own probe seeing Redis again", 10)  # about once a second
    clock.advance(1.0)
    assert not (await limiter.check("T1", "U1")).fallback
    assert _sample(metrics, "ratelimit_fallback_active") == 0
    await watch.aclose()

"""EventDeduper against a real Redis, and its in-process memory while Redis is down."""

from __future__ import annotations

import redis.asyncio as aioredis

from services.dedupe import EventDeduper
from services.metrics import Metrics
from tests.fakes.redis_process import RedisProcess


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _unreachable(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("errors_total", {"type": "dedupe_redis_unreachable"})


async def test_an_event_is_new_once(redis_client: aioredis.Redis, key_prefix: str) -> None:
    deduper = EventDeduper(redis_client, key_prefix=key_prefix)
    assert [await deduper.first_time("Ev1") for _ in range(3)] == [True, False, False]


async def test_distinct_events_are_independent(redis_client: aioredis.Redis, key_prefix: str) -> None:
    deduper = EventDeduper(redis_client, key_prefix=key_prefix)
    events = ("Ev1", "Ev2", "Ev1", "Ev3", "Ev2")
    assert [await deduper.first_time(e) for e in events] == [True, True, False, True, False]


async def test_two_processes_share_what_they_have_seen(redis_client: aioredis.Redis, key_prefix: str) -> None:
    first, second = (EventDeduper(redis_client, key_prefix=key_prefix) for _ in range(2))
    assert await first.first_time("Ev1")
    assert not await second.first_time("Ev1")


async def test_the_marker_expires_after_the_ttl(redis_client: aioredis.Redis, key_prefix: str) -> None:
    deduper = EventDeduper(redis_client, key_prefix=key_prefix, ttl_seconds=120)
    await deduper.first_time("Ev1")
    assert 0 < await redis_client.ttl(deduper.key("Ev1")) <= 120


async def test_remembers_events_in_process_while_redis_is_down(
    redis_server: RedisProcess, own_redis: aioredis.Redis, key_prefix: str
) -> None:
    metrics, clock = Metrics(), FakeClock()
    deduper = EventDeduper(own_redis, key_prefix=key_prefix, ttl_seconds=60, metrics=metrics, clock=clock)
    assert await deduper.first_time("before")

    await redis_server.stop()
    during = [await deduper.first_time(e) for e in ("before", "during", "during")]
    assert during == [False, True, False]  # a retry delivered to this process is still recognised
    assert _unreachable(metrics) == 1  # repeats are answered from memory without asking Redis

    await redis_server.start()  # an empty server: only this process remembers "during"
    clock.advance(1.0)
    assert not await deduper.first_time("during")
    assert await deduper.first_time("after")
    assert await own_redis.exists(deduper.key("after")) == 1  # back on Redis, shared with the other processes
    assert _unreachable(metrics) == 1


async def test_in_process_memory_is_bounded_and_expires(
    redis_server: RedisProcess, own_redis: aioredis.Redis, key_prefix: str
) -> None:
    clock = FakeClock()
    deduper = EventDeduper(own_redis, key_prefix=key_prefix, ttl_seconds=60, clock=clock, max_local=2)
    await redis_server.stop()

    assert [await deduper.first_time(e) for e in ("Ev1", "Ev2", "Ev3")] == [True, True, True]
    assert await deduper.first_time("Ev1")  # the oldest was dropped to keep two
    clock.advance(61)
    assert await deduper.first_time("Ev3")  # expired after the ttl


async def test_a_retried_claim_recognises_its_own_marker(redis_client: aioredis.Redis, key_prefix: str) -> None:
    """After a slow SET NX the claim is asked again: a marker that did land is this process's, not a duplicate."""
    mine = EventDeduper(redis_client, key_prefix=key_prefix)
    other = EventDeduper(redis_client, key_prefix=key_prefix)
    assert await mine._claim("EvRetry")
    assert await mine._claim("EvRetry")  # the first SET landed: the retry finds this process's own token
    assert not await other._claim("EvRetry")  # another replica's marker is a duplicate for everyone else

"""Answer cache on real Redis: hit/miss/set counted, KB-version invalidation, normalisation, errors."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from services.cache import AnswerCache, normalise_question
from services.metrics import Metrics


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


def _count(metrics: Metrics, op: str) -> float:
    return metrics.registry.get_sample_value("cache_operations_total", {"operation": op}) or 0.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("연차는 어떻게 신청하나요?", "연차는  어떻게 신청하나요"),
        ("VPN 접속 방법!!", "vpn 접속 방법"),
        ("와이파이 비번?", "와이파이 비번 ?"),
        ("ＶＰＮ 설정", "vpn 설정"),
    ],
)
def test_equivalent_questions_normalise_alike(a: str, b: str) -> None:
    assert normalise_question(a) == normalise_question(b)


def test_different_questions_stay_different() -> None:
    assert normalise_question("연차 신청") != normalise_question("연차 취소")


async def test_miss_set_hit_and_kb_version_invalidation(
    redis_client: aioredis.Redis, key_prefix: str, metrics: Metrics
) -> None:
    cache = AnswerCache(redis_client, key_prefix=key_prefix, ttl_seconds=60, metrics=metrics)
    assert await cache.get("연차 신청?", "v1") is None
    await cache.set("연차 신청?", "v1", {"kind": "answer", "text": "e-HR에서 신청해요"})
    assert await cache.get("연차  신청", "v1") == {"kind": "answer", "text": "e-HR에서 신청해요"}
    assert await cache.get("연차 신청", "v2") is None  # a new knowledge base version misses
    assert (_count(metrics, "miss"), _count(metrics, "set"), _count(metrics, "hit")) == (2, 1, 1)
    key = cache.key("연차 신청", "v1")
    assert key.startswith(f"{key_prefix}answer:v1:") and 0 < await redis_client.ttl(key) <= 60


async def test_unreachable_redis_counts_an_error_then_skips_redis_until_the_next_probe(metrics: Metrics) -> None:
    now = [100.0]
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    cache = AnswerCache(
        dead, key_prefix="x:", ttl_seconds=60, metrics=metrics, probe_interval=1.0, clock=lambda: now[0]
    )
    assert await cache.get("연차", "v1") is None
    await cache.set("연차", "v1", {"kind": "answer"})  # within the probe interval: Redis is not asked
    assert (_count(metrics, "error"), _count(metrics, "bypass")) == (1, 1)
    now[0] += 1.5
    assert await cache.get("연차", "v1") is None  # the next probe asks Redis again
    assert (_count(metrics, "error"), _count(metrics, "bypass")) == (2, 1)
    await dead.aclose()

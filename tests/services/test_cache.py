"""Answer cache on real Redis: hit/miss/set counted, KB-version invalidation, normalisation, errors."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from services.cache import AnswerCache, normalise_question
from services.metrics import Metrics
from services.signing import Keyring

SIGNER = Keyring("k" * 64).signer("answer-cache")


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
    cache = AnswerCache(redis_client, key_prefix=key_prefix, ttl_seconds=60, metrics=metrics, signer=SIGNER)
    assert await cache.get("연차 신청?", "v1") is None
    await cache.set("연차 신청?", "v1", {"kind": "answer", "text": "e-HR에서 신청해요"})
    assert await cache.get("연차  신청", "v1") == {"kind": "answer", "text": "e-HR에서 신청해요"}
    assert await cache.get("연차 신청", "v2") is None  # a new knowledge base version misses
    assert (_count(metrics, "miss"), _count(metrics, "set"), _count(metrics, "hit")) == (2, 1, 1)
    key = cache.key("연차 신청", "v1")
    assert key.startswith(f"{key_prefix}answer:v1:")
    assert 0 < await redis_client.ttl(key) <= 60


async def test_unreachable_redis_counts_an_error_then_skips_redis_until_the_next_probe(metrics: Metrics) -> None:
    now = [100.0]
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    cache = AnswerCache(
        dead, key_prefix="x:", ttl_seconds=60, metrics=metrics, signer=SIGNER, probe_interval=1.0, clock=lambda: now[0]
    )
    assert await cache.get("연차", "v1") is None
    await cache.set("연차", "v1", {"kind": "answer"})  # within the probe interval: Redis is not asked
    assert (_count(metrics, "error"), _count(metrics, "bypass")) == (1, 1)
    now[0] += 1.5
    assert await cache.get("연차", "v1") is None  # the next probe asks Redis again
    assert (_count(metrics, "error"), _count(metrics, "bypass")) == (2, 1)
    await dead.aclose()


def _errors(metrics: Metrics, kind: str) -> float:
    return metrics.registry.get_sample_value("errors_total", {"type": kind}) or 0.0


async def test_an_entry_endy_did_not_sign_for_its_key_is_a_counted_miss(
    redis_client: aioredis.Redis, key_prefix: str, metrics: Metrics
) -> None:
    cache = AnswerCache(redis_client, key_prefix=key_prefix, ttl_seconds=60, metrics=metrics, signer=SIGNER)
    await cache.set("연차 신청", "v1", {"kind": "answer", "text": "e-HR에서 신청해요"})
    genuine = await redis_client.get(cache.key("연차 신청", "v1"))
    assert isinstance(genuine, bytes)
    planted = '{"kind": "answer", "text": "<https://evil.example/sso|인사팀 공지> <!channel>"}'
    forged_elsewhere = Keyring("j" * 64).signer("answer-cache").seal(planted, context=cache.key("급여일", "v1"))
    attacks: dict[str, str | bytes] = {
        "급여일": planted,  # unsigned, as any Redis client can write it
        "복지포인트": genuine,  # a genuine entry copied to another question's key
        "재직증명서": genuine.replace(b"e-HR", b"evil"),  # a genuine entry edited
        "VPN": forged_elsewhere,  # signed with another SECRET_KEY
        "와이파이": b"\xff\xfe",  # not even text
    }
    for question, value in attacks.items():
        await redis_client.set(cache.key(question, "v1"), value)
        assert await cache.get(question, "v1") is None, question
    assert _count(metrics, "tampered") == _errors(metrics, "cache_tampered") == len(attacks)
    assert _count(metrics, "hit") == 0
    assert await cache.get("연차 신청", "v1") == {"kind": "answer", "text": "e-HR에서 신청해요"}
    await cache.set("급여일", "v1", {"kind": "answer", "text": "매월 25일"})  # the answer computed after the miss
    assert await cache.get("급여일", "v1") == {"kind": "answer", "text": "매월 25일"}

"""The protected pipeline on real PostgreSQL and Redis: limit → mask → cache → answer → persist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from services.answer_types import AnswerKind, Asker, Turn
from services.answering import AnswerService, Protection
from services.cache import AnswerCache
from services.errors import RateLimited
from services.knowledge import KnowledgeBase
from services.metrics import Metrics
from services.migrate import migrate
from services.persist import Recorder
from services.ratelimit import RateLimiter
from services.retrieval import Retriever
from services.signing import Keyring
from services.storage import Storage

pytestmark = pytest.mark.timeout(60)


@dataclass
class Pipeline:
    service: AnswerService
    pool: asyncpg.Pool
    recorder: Recorder
    metrics: Metrics


@pytest.fixture
async def pipeline(
    pg_url: str,
    redis_client: aioredis.Redis,
    key_prefix: str,
    sample_kb: KnowledgeBase,
    retriever: Retriever,
    tmp_path: Path,
) -> AsyncIterator[Pipeline]:
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    metrics = Metrics()
    recorder = Recorder(Storage(pool), metrics=metrics, spill_path=tmp_path / "spill.jsonl")
    await recorder.start()
    protection = Protection(
        limiter=RateLimiter(
            redis_client, per_minute=10, per_hour=100, key_prefix=key_prefix, metrics=metrics, timeout=10.0
        ),
        cache=AnswerCache(
            redis_client, key_prefix=key_prefix, ttl_seconds=60, metrics=metrics, signer=Keyring("k" * 64).signer("c")
        ),
        recorder=recorder,
    )
    yield Pipeline(AnswerService(sample_kb, retriever, None, protection=protection), pool, recorder, metrics)
    await recorder.aclose()
    await pool.close()


def _sample(p: Pipeline, name: str, labels: dict[str, str] | None = None) -> float:
    return p.metrics.registry.get_sample_value(name, labels or {}) or 0.0


async def test_the_eleventh_question_in_a_minute_is_refused(pipeline: Pipeline) -> None:
    asker = Asker(user_id="U1", team_id="T1", surface="dm", channel_id="D1")
    for _ in range(10):
        await pipeline.service.answer("연차 신청 방법", asker)
    with pytest.raises(RateLimited) as info:
        await pipeline.service.answer("연차 신청 방법", asker)
    assert 0 < info.value.retry_after <= 6.5
    assert _sample(pipeline, "rate_limited_total") == 1
    other = await pipeline.service.answer("연차 신청 방법", Asker(user_id="U2", team_id="T1", surface="dm"))
    assert other.kind is AnswerKind.ANSWER


async def test_repeated_question_is_served_from_cache_and_follow_ups_bypass_it(pipeline: Pipeline) -> None:
    asker = Asker(user_id="U3", team_id="T1", surface="dm", channel_id="D3")
    first = await pipeline.service.answer("와이파이 비번 뭐야?", asker)
    second = await pipeline.service.answer("와이파이  비번 뭐야", asker)
    assert not first.cached
    assert second.cached
    assert second.text == first.text
    assert [s.title for s in second.sources] == [s.title for s in first.sources]
    assert second.request_id != first.request_id
    lookups = _sample(pipeline, "cache_operations_total", {"operation": "hit"}) + _sample(
        pipeline, "cache_operations_total", {"operation": "miss"}
    )
    follow = await pipeline.service.answer("와이파이 비번 뭐야?", asker, [Turn("게스트 와이파이는요?", "…")])
    assert not follow.cached
    assert lookups == _sample(pipeline, "cache_operations_total", {"operation": "hit"}) + _sample(
        pipeline, "cache_operations_total", {"operation": "miss"}
    )


async def test_every_exchange_is_persisted_masked(pipeline: Pipeline, sample_kb: KnowledgeBase) -> None:
    asker = Asker(user_id="U4", team_id="T1", surface="mention", channel_id="C1", thread_ts="1700000000.000100")
    one = await pipeline.service.answer("제 번호는 010-2222-3333이에요. 재직증명서 어디서 떼요?", asker)
    two = await pipeline.service.answer("비트코인 시세 알려줘", asker)
    assert await pipeline.recorder.flush(10)
    rows = await pipeline.pool.fetch(
        "SELECT m.request_id, m.question, m.kind, m.sources, m.kb_version, c.surface, c.thread_ts "
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id"
    )
    assert [r["request_id"] for r in rows] == [one.request_id, two.request_id]
    assert "010-2222-3333" not in rows[0]["question"]
    assert "[전화번호]" in rows[0]["question"]
    assert [r["kind"] for r in rows] == ["answer", "not_found"]
    assert "재직증명서" in str(rows[0]["sources"])
    assert {r["kb_version"] for r in rows} == {sample_kb.version}
    assert {(r["surface"], r["thread_ts"]) for r in rows} == {("mention", "1700000000.000100")}
    assert _sample(pipeline, "persist_operations_total", {"operation": "ok"}) == 2

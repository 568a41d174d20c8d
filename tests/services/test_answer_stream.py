"""An answer is cached and recorded whether or not its reader reads to the end (real PostgreSQL, Redis, fake LLM)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from services.answer_types import AnswerKind, Asker
from services.answering import AnswerService, Protection
from services.cache import AnswerCache
from services.knowledge import KnowledgeBase
from services.llm import LlmClient
from services.metrics import Metrics
from services.migrate import migrate
from services.persist import Recorder
from services.privacy import mask_pii
from services.retrieval import Retriever
from services.signing import Keyring
from services.storage import Storage
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.timeout(60)
ASKER = Asker(user_id="U1", team_id="T1", surface="dm", channel_id="D1")
QUESTION = "연차는 어떻게 신청하나요?"


@dataclass
class Parts:
    pool: asyncpg.Pool
    recorder: Recorder
    cache: AnswerCache


@pytest.fixture
async def parts(pg_url: str, redis_client: aioredis.Redis, key_prefix: str, tmp_path: Path) -> AsyncIterator[Parts]:
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    metrics = Metrics()
    recorder = Recorder(Storage(pool), metrics=metrics, spill_path=tmp_path / "spill.jsonl")
    await recorder.start()
    signer = Keyring("k" * 64).signer("c")
    cache = AnswerCache(redis_client, key_prefix=key_prefix, ttl_seconds=60, metrics=metrics, signer=signer)
    yield Parts(pool, recorder, cache)
    await recorder.aclose()
    await pool.close()


@pytest.fixture
async def llm(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[FakeOpenAI, LlmClient]]:
    async with FakeOpenAI() as fake:
        client = LlmClient(make_settings(openai_api_key="sk-test", openai_base_url=fake.base_url))
        yield fake, client
        await client.aclose()


def _service(kb: KnowledgeBase, retriever: Retriever, parts: Parts, llm: LlmClient | None = None) -> AnswerService:
    return AnswerService(kb, retriever, llm, protection=Protection(cache=parts.cache, recorder=parts.recorder))


async def _stored(parts: Parts) -> list[asyncpg.Record]:
    assert await parts.recorder.flush(10)
    return list(await parts.pool.fetch("SELECT request_id, question, answer, kind, used_llm FROM messages ORDER BY id"))


async def _first_chunk_only(service: AnswerService, question: str = QUESTION) -> str:
    stream = await service.stream(question, ASKER)
    async for chunk in stream:
        return chunk
    raise AssertionError("the stream yielded nothing")


async def test_a_reader_that_stops_after_the_first_chunk_still_leaves_the_answer_cached_and_recorded(
    sample_kb: KnowledgeBase, retriever: Retriever, parts: Parts
) -> None:
    service = _service(sample_kb, retriever, parts)
    first = await _first_chunk_only(service)
    assert await service.settle(10)
    namespace = sample_kb.version
    cached = await parts.cache.get(mask_pii(QUESTION), namespace)
    assert cached is not None
    assert cached["text"] == first
    (row,) = await _stored(parts)
    assert row["question"] == QUESTION
    assert row["answer"] == first
    assert row["kind"] == AnswerKind.ANSWER.value
    again = await service.answer(QUESTION, ASKER)  # the next asking is served from what the first one cached
    assert again.cached
    assert again.text == first


async def test_a_streamed_llm_answer_abandoned_mid_stream_is_completed_cached_and_recorded(
    sample_kb: KnowledgeBase, retriever: Retriever, parts: Parts, llm: tuple[FakeOpenAI, LlmClient]
) -> None:
    fake, client = llm
    fake.reply = "e-HR > 근태 > 휴가 신청에서 연차를 신청하고 팀장 결재를 받으면 돼요. [1]"
    service = _service(sample_kb, retriever, parts, client)
    first = await _first_chunk_only(service)
    assert fake.reply.startswith(first)
    assert first != fake.reply  # the reader left before the end of the generation
    assert await service.settle(10)
    cached = await parts.cache.get(mask_pii(QUESTION), sample_kb.version)
    assert cached is not None
    assert cached["text"] == fake.reply
    assert cached["used_llm"] is True
    (row,) = await _stored(parts)
    assert row["answer"] == fake.reply
    assert row["used_llm"] is True


async def test_a_reader_cancelled_while_waiting_does_not_cancel_the_answer(
    sample_kb: KnowledgeBase, retriever: Retriever, parts: Parts
) -> None:
    service = _service(sample_kb, retriever, parts)
    stream = await service.stream(QUESTION, ASKER)
    started = asyncio.Event()

    async def reader() -> None:
        started.set()
        async for _ in stream:
            pass

    task = asyncio.create_task(reader())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    answer = await stream.finished()
    assert answer.kind is AnswerKind.ANSWER
    (row,) = await _stored(parts)
    assert row["request_id"] == answer.request_id


async def test_the_stream_shows_the_links_of_the_knowledge_base_it_answers_from(
    sample_kb: KnowledgeBase, retriever: Retriever, parts: Parts
) -> None:
    service = _service(sample_kb, retriever, parts)
    stream = await service.stream(QUESTION, ASKER)
    assert stream.kb_links == service.kb_links
    assert stream.service is service
    chunks = [chunk async for chunk in stream]
    assert "".join(chunks) == stream.result.text
    with pytest.raises(RuntimeError):
        async for _ in stream:
            pass

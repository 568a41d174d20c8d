"""Self-tests for the fake OpenAI server using the real ``openai.AsyncOpenAI`` client."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from tests.fakes.openai_server import DEFAULT_REPLY, FakeOpenAI, embed_text

pytestmark = pytest.mark.asyncio

MESSAGES: list[Any] = [{"role": "user", "content": "연차는 어떻게 신청하나요?"}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    """A running fake server."""
    async with FakeOpenAI() as server:
        yield server


def make_client(fake: FakeOpenAI, *, max_retries: int = 0, timeout: float = 5.0) -> openai.AsyncOpenAI:
    """Real OpenAI client pointed at the fake."""
    return openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=max_retries, timeout=timeout)


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.mark.timeout(20)
async def test_base_url_and_models(fake: FakeOpenAI) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/v1")
    async with make_client(fake) as client:
        models = await client.models.list()
    assert fake.model in [m.id for m in models.data]
    assert fake.requests[-1].method == "GET"


@pytest.mark.timeout(20)
async def test_non_stream_completion(fake: FakeOpenAI) -> None:
    async with make_client(fake) as client:
        resp = await client.chat.completions.create(model="gpt-test", messages=MESSAGES, temperature=0.1)
    assert resp.object == "chat.completion"
    assert resp.choices[0].message.content == DEFAULT_REPLY
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "gpt-test"
    assert resp.usage is not None
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    [rec] = fake.chat_requests()
    assert rec.method == "POST"
    assert rec.path == "/v1/chat/completions"
    assert rec.body["messages"] == MESSAGES
    assert rec.body["temperature"] == 0.1
    assert rec.headers["Authorization"] == "Bearer sk-test"


@pytest.mark.timeout(20)
async def test_reply_fn(fake: FakeOpenAI) -> None:
    fake.reply_fn = lambda body: "echo: " + body["messages"][-1]["content"]
    async with make_client(fake) as client:
        resp = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "echo: " + MESSAGES[-1]["content"]


@pytest.mark.timeout(20)
async def test_stream_reassembles_reply(fake: FakeOpenAI) -> None:
    fake.reply = "스트리밍 응답은 여러 조각으로 나뉘어 전달됩니다. [1][2]"
    pieces: list[str] = []
    usage_seen = False
    finish: list[str | None] = []
    async with make_client(fake) as client:
        stream = await client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.usage is not None:
                usage_seen = True
            for choice in chunk.choices:
                finish.append(choice.finish_reason)
                if choice.delta.content:
                    pieces.append(choice.delta.content)
    assert "".join(pieces) == fake.reply
    assert len(pieces) > 2
    assert finish[-1] == "stop"
    assert usage_seen
    assert fake.chat_requests()[0].body["stream"] is True


@pytest.mark.timeout(20)
async def test_embeddings_float_and_base64(fake: FakeOpenAI) -> None:
    texts = ["연차 신청 방법", "연차 신청하는 방법", "법인카드 경비 정산"]
    async with make_client(fake) as client:
        as_float = await client.embeddings.create(model="emb", input=texts, encoding_format="float")
        as_b64 = await client.embeddings.create(model="emb", input=texts)  # client defaults to base64
        single = await client.embeddings.create(model="emb", input="hello")
    assert [r.body["encoding_format"] for r in fake.embedding_requests()] == ["float", "base64", "base64"]
    vf = [list(d.embedding) for d in as_float.data]
    vb = [list(d.embedding) for d in as_b64.data]
    assert [d.index for d in as_float.data] == [0, 1, 2]
    assert all(len(v) == 64 for v in vf + vb)
    assert len(single.data) == 1
    for a, b in zip(vf, vb, strict=True):
        assert all(math.isclose(x, y, abs_tol=1e-6) for x, y in zip(a, b, strict=True))
    assert cosine(vf[0], vf[1]) > cosine(vf[0], vf[2])
    assert math.isclose(cosine(vf[0], embed_text(texts[0])), 1.0, abs_tol=1e-6)


@pytest.mark.timeout(20)
async def test_embedding_dim_configurable() -> None:
    async with FakeOpenAI(embedding_dim=16) as fake:
        async with make_client(fake) as client:
            resp = await client.embeddings.create(model="emb", input="abc", encoding_format="float")
    assert len(resp.data[0].embedding) == 16


@pytest.mark.timeout(20)
async def test_500_raises_internal_server_error(fake: FakeOpenAI) -> None:
    fake.fail_next(1, status=500)
    async with make_client(fake) as client:
        with pytest.raises(openai.InternalServerError) as info:
            await client.chat.completions.create(model="m", messages=MESSAGES)
        assert info.value.status_code == 500
        ok = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert ok.choices[0].message.content == DEFAULT_REPLY


@pytest.mark.timeout(20)
async def test_429_retry_after_then_success(fake: FakeOpenAI) -> None:
    fake.fail_next(1, status=429, retry_after=0.1)
    async with make_client(fake, max_retries=1) as client:
        resp = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == DEFAULT_REPLY
    assert len(fake.chat_requests()) == 2


@pytest.mark.timeout(20)
async def test_429_without_retries_raises_rate_limit(fake: FakeOpenAI) -> None:
    fake.fail_next(1, status=429, path="/embeddings")
    async with make_client(fake) as client:
        await client.chat.completions.create(model="m", messages=MESSAGES)  # path filter: not consumed
        with pytest.raises(openai.RateLimitError) as info:
            await client.embeddings.create(model="emb", input="x")
    assert isinstance(info.value.body, dict)
    assert info.value.body["type"] == "rate_limit_exceeded"


@pytest.mark.timeout(20)
async def test_slow_next_times_out(fake: FakeOpenAI) -> None:
    fake.slow_next(1, delay_seconds=10)
    async with make_client(fake, timeout=0.3) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="m", messages=MESSAGES)


@pytest.mark.timeout(20)
async def test_stop_does_not_hang_with_sleeping_handler() -> None:
    async with FakeOpenAI() as fake:
        fake.slow_next(1, delay_seconds=30)
        client = make_client(fake, timeout=30)
        task = asyncio.create_task(client.chat.completions.create(model="m", messages=MESSAGES))
        for _ in range(1000):  # bounded poll: the request reaches the fake within milliseconds
            if fake.requests:
                break
            await asyncio.sleep(0.01)
        assert fake.requests
    with pytest.raises(openai.APIConnectionError):
        await task
    await client.close()


@pytest.mark.timeout(20)
async def test_stream_cut_raises_with_partial_prefix(fake: FakeOpenAI) -> None:
    fake.stream_cut_next(1, after_chunks=3)
    pieces: list[str] = []
    async with make_client(fake) as client:
        with pytest.raises(openai.APIError):  # APIConnectionError wrapping the incomplete read
            stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        pieces.append(choice.delta.content)
    partial = "".join(pieces)
    assert partial
    assert partial != DEFAULT_REPLY
    assert DEFAULT_REPLY.startswith(partial)


@pytest.mark.timeout(20)
async def test_disconnect_raises_connection_error(fake: FakeOpenAI) -> None:
    fake.disconnect_next(1)
    async with make_client(fake) as client:
        with pytest.raises(openai.APIConnectionError):
            await client.chat.completions.create(model="m", messages=MESSAGES)
        ok = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert ok.choices[0].message.content == DEFAULT_REPLY

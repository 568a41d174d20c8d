"""OpenAI(-compatible) client with an explicit deadline, bounded retries and masked input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

import openai
from loguru import logger
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from config.settings import Settings
from services.errors import LlmUnavailable
from services.metrics import Metrics
from services.privacy import mask_pii

Message = dict[str, str]


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished completion and its token usage."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(slots=True)
class StreamUsage:
    """Filled in while a stream runs: the model that answered and its token usage."""

    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LlmClient:
    """Chat and embeddings over AsyncOpenAI; every failure surfaces as LlmUnavailable."""

    def __init__(self, settings: Settings, client: AsyncOpenAI | None = None, metrics: Metrics | None = None) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        self.metrics = metrics
        self.model = settings.openai_model
        self.embedding_model = settings.openai_embedding_model
        self.deadline = settings.llm_timeout_seconds
        # Split the deadline across attempts so a retry still fits in what the user waits.
        attempt = settings.llm_timeout_seconds / (settings.llm_max_retries + 1)
        self._client = client or AsyncOpenAI(
            api_key=key, base_url=settings.openai_base_url, timeout=attempt, max_retries=settings.llm_max_retries
        )

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()

    async def complete(self, messages: list[Message]) -> Completion:
        """One non-streamed completion, bounded by LLM_TIMEOUT_SECONDS overall."""
        try:
            async with asyncio.timeout(self.deadline):
                resp = await self._client.chat.completions.create(
                    model=self.model, messages=_masked(messages), temperature=0.2
                )
        except (openai.OpenAIError, TimeoutError) as err:
            raise self._failed("complete", err) from err
        usage = resp.usage
        text = resp.choices[0].message.content or "" if resp.choices else ""
        if not text.strip():
            self._count("empty")
            raise LlmUnavailable("empty completion")
        self._count("success", usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)
        return Completion(
            text, resp.model or self.model, usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0
        )

    async def stream(self, messages: list[Message], usage: StreamUsage) -> AsyncIterator[str]:
        """Yield text deltas; the first one must arrive within LLM_TIMEOUT_SECONDS."""
        try:
            async with asyncio.timeout(self.deadline):
                stream = await self._client.chat.completions.create(
                    model=self.model,
                    messages=_masked(messages),
                    temperature=0.2,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            async for chunk in stream:
                usage.model = chunk.model or usage.model
                if chunk.usage:
                    usage.prompt_tokens = chunk.usage.prompt_tokens
                    usage.completion_tokens = chunk.usage.completion_tokens
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except (openai.OpenAIError, TimeoutError) as err:
            raise self._failed("stream", err) from err
        self._count("success", usage.prompt_tokens, usage.completion_tokens)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embeddings for masked texts, in order."""
        try:
            async with asyncio.timeout(self.deadline):
                resp = await self._client.embeddings.create(
                    model=self.embedding_model, input=[mask_pii(t) for t in texts]
                )
        except (openai.OpenAIError, TimeoutError) as err:
            raise self._failed("embed", err) from err
        return [list(d.embedding) for d in sorted(resp.data, key=lambda d: d.index)]

    def _count(self, status: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        if self.metrics is None:
            return
        self.metrics.llm_requests.labels(status).inc()
        if prompt_tokens or completion_tokens:
            self.metrics.llm_tokens.labels("prompt").inc(prompt_tokens)
            self.metrics.llm_tokens.labels("completion").inc(completion_tokens)

    def _failed(self, op: str, err: BaseException) -> LlmUnavailable:
        self._count(_status(err))
        return _unavailable(op, err)


def _status(err: BaseException) -> str:
    """The llm_requests_total status label for a failure."""
    if isinstance(err, openai.RateLimitError):
        return "rate_limited"
    if isinstance(err, openai.APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(err, openai.APIConnectionError):
        return "connection_error"
    return "error"


def _masked(messages: list[Message]) -> list[ChatCompletionMessageParam]:
    return [cast(ChatCompletionMessageParam, {"role": m["role"], "content": mask_pii(m["content"])}) for m in messages]


def _unavailable(op: str, err: BaseException) -> LlmUnavailable:
    kind = type(err).__name__
    status = getattr(err, "status_code", None)
    logger.bind(op=op, error=kind, status=status).warning("LLM call failed; falling back")
    return LlmUnavailable(f"{op}: {kind}")

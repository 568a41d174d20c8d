"""OpenAI(-compatible) client with an explicit deadline, bounded retries, a circuit breaker and masked input."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import TYPE_CHECKING, Literal, cast

from loguru import logger

from config.settings import Settings
from services.errors import LlmUnavailable
from services.metrics import Metrics
from services.privacy import mask_pii

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageParam

Message = dict[str, str]
Clock = Callable[[], float]
CircuitState = Literal["closed", "open", "half_open"]


def _openai() -> ModuleType:
    """The openai package, imported on first use: ~1 s of CPU that a run without an LLM never pays."""
    import openai  # noqa: PLC0415 - deliberately lazy

    return openai


def _request_specific(err: BaseException) -> bool:
    """A rejection of one particular request (its size or content): it says nothing about the provider's health."""
    oa = _openai()
    return isinstance(err, oa.BadRequestError | oa.UnprocessableEntityError)


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


class Admission(Enum):
    """What the circuit breaker decided for one call."""

    REFUSED = "refused"
    CALL = "call"
    PROBE = "probe"


class CircuitBreaker:
    """Opens after `failures` consecutive failed calls, refuses calls for `open_seconds`, then admits one probe."""

    def __init__(self, name: str, failures: int, open_seconds: float, clock: Clock, probe_timeout: float) -> None:
        self.name = name
        self.threshold = failures
        self.open_seconds = open_seconds
        self.probe_timeout = probe_timeout  # a probe silent this long was abandoned: admit another
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_started: float | None = None

    @property
    def state(self) -> CircuitState:
        """closed, open (refusing), or half_open (the open period is over: the next call probes)."""
        if self._opened_at is None:
            return "closed"
        return "open" if self._clock() - self._opened_at < self.open_seconds else "half_open"

    def admit(self) -> Admission:
        """Let a call through (as a probe once the open period is over) or refuse it."""
        if self._opened_at is None:
            return Admission.CALL
        now = self._clock()
        if now - self._opened_at < self.open_seconds:
            return Admission.REFUSED
        if self._probe_started is not None and now - self._probe_started < self.probe_timeout:
            return Admission.REFUSED  # one probe at a time
        self._probe_started = now
        return Admission.PROBE

    def settle(self, admission: Admission, ok: bool | None) -> None:
        """Record a call's outcome: True succeeded, False failed, None no verdict (cancelled, request-specific)."""
        if ok:
            self._close()
        elif ok is False and admission is Admission.PROBE:
            self._opened_at, self._probe_started = self._clock(), None
            logger.bind(circuit=self.name).debug("LLM circuit probe failed; open again")
        elif ok is False and self._opened_at is None:
            self._failures += 1
            if self._failures >= self.threshold:
                self._opened_at = self._clock()
                logger.bind(circuit=self.name, failures=self._failures, open_seconds=self.open_seconds).warning(
                    "LLM circuit opened; skipping the LLM until a probe succeeds"
                )
        elif admission is Admission.PROBE:
            self._probe_started = None  # no verdict: the next call probes instead

    def _close(self) -> None:
        if self._opened_at is not None:
            logger.bind(circuit=self.name, failures=self._failures).info("LLM circuit closed")
        self._failures, self._opened_at, self._probe_started = 0, None, None


class LlmClient:
    """Chat and embeddings over AsyncOpenAI; every failure surfaces as LlmUnavailable."""

    def __init__(
        self,
        settings: Settings,
        client: AsyncOpenAI | None = None,
        metrics: Metrics | None = None,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        self.metrics = metrics
        self.model = settings.openai_model
        self.embedding_model = settings.openai_embedding_model
        self.deadline = settings.llm_timeout_seconds
        # Chat and embeddings trip separately: healthy embeddings must not keep resetting a failing chat model.
        failures, open_seconds = settings.llm_circuit_failures, settings.llm_circuit_open_seconds
        probe_timeout = open_seconds + self.deadline
        self.chat_circuit = CircuitBreaker("chat", failures, open_seconds, clock, probe_timeout)
        self.embed_circuit = CircuitBreaker("embeddings", failures, open_seconds, clock, probe_timeout)
        # Split the deadline across attempts so a retry still fits in what the user waits.
        attempt = settings.llm_timeout_seconds / (settings.llm_max_retries + 1)
        self._client = client or _openai().AsyncOpenAI(
            api_key=key, base_url=settings.openai_base_url, timeout=attempt, max_retries=settings.llm_max_retries
        )

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()

    async def complete(self, messages: list[Message]) -> Completion:
        """One non-streamed completion, bounded by LLM_TIMEOUT_SECONDS overall."""
        with self._guard(self.chat_circuit, "complete"):
            async with asyncio.timeout(self.deadline):
                resp = await self._client.chat.completions.create(
                    model=self.model, messages=_masked(messages), temperature=0.2
                )
        usage = resp.usage
        text = resp.choices[0].message.content or "" if resp.choices else ""
        if not text.strip():
            self._count("empty")
            raise LlmUnavailable("empty completion")
        self._count("success", usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)
        return Completion(
            text, resp.model or self.model, usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0
        )

    async def stream(self, messages: list[Message], usage: StreamUsage) -> AsyncGenerator[str, None]:
        """Yield text deltas; all waiting on the server (first chunk and every later one) fits LLM_TIMEOUT_SECONDS."""
        with self._guard(self.chat_circuit, "stream"):
            async with aclosing(self._deltas(messages, usage)) as deltas:  # close the HTTP stream if abandoned
                async for text in deltas:
                    yield text
        self._count("success", usage.prompt_tokens, usage.completion_tokens)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embeddings for masked texts, in order."""
        with self._guard(self.embed_circuit, "embed"):
            async with asyncio.timeout(self.deadline):
                resp = await self._client.embeddings.create(
                    model=self.embedding_model, input=[mask_pii(t) for t in texts]
                )
        return [list(d.embedding) for d in sorted(resp.data, key=lambda d: d.index)]

    async def _deltas(self, messages: list[Message], usage: StreamUsage) -> AsyncGenerator[str, None]:
        budget = _WaitBudget(self.deadline)
        async with budget.bound():
            stream = await self._client.chat.completions.create(
                model=self.model,
                messages=_masked(messages),
                temperature=0.2,
                stream=True,
                stream_options={"include_usage": True},
            )
        async with stream:  # releases the connection however the stream ends
            while True:
                async with budget.bound():
                    chunk = await anext(stream, None)
                if chunk is None:
                    return
                usage.model = chunk.model or usage.model
                if chunk.usage:
                    usage.prompt_tokens = chunk.usage.prompt_tokens
                    usage.completion_tokens = chunk.usage.completion_tokens
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    @contextmanager
    def _guard(self, circuit: CircuitBreaker, op: str) -> Iterator[None]:
        """Skip the call while the circuit is open; turn failures into LlmUnavailable and tell the circuit."""
        admission = circuit.admit()
        if admission is Admission.REFUSED:
            self._count("circuit_open")
            raise LlmUnavailable(f"{op}: circuit open")
        ok: bool | None = None
        try:
            yield
            ok = True
        except (_openai().OpenAIError, TimeoutError) as err:
            ok = None if _request_specific(err) else False
            raise self._failed(op, err) from err
        finally:
            circuit.settle(admission, ok)

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


class _WaitBudget:
    """Seconds one call may still spend awaiting the server; the consumer's time between chunks is not charged."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    @asynccontextmanager
    async def bound(self) -> AsyncIterator[None]:
        """Raise TimeoutError if this wait outlasts what is left of the budget."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(max(self.left, 0.0)):
                yield
        finally:
            self.left -= loop.time() - started


def _status(err: BaseException) -> str:
    """The llm_requests_total status label for a failure."""
    oa = _openai()
    if isinstance(err, oa.RateLimitError):
        return "rate_limited"
    if isinstance(err, oa.APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(err, oa.APIConnectionError):
        return "connection_error"
    return "error"


def _masked(messages: list[Message]) -> list[ChatCompletionMessageParam]:
    return [
        cast("ChatCompletionMessageParam", {"role": m["role"], "content": mask_pii(m["content"])}) for m in messages
    ]


def _unavailable(op: str, err: BaseException) -> LlmUnavailable:
    kind = type(err).__name__
    status = getattr(err, "status_code", None)
    logger.bind(op=op, error=kind, status=status).warning("LLM call failed; falling back")
    return LlmUnavailable(f"{op}: {kind}")

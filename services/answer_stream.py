"""One answer being produced: mask → cache → retrieve → generate or extract → cache → persist, as a task of its own.

The answer is produced by a task, not by its reader: a reader that stops early (a Slack call failed, a client
went away) leaves the answer to finish, be cached and be recorded. Retrieval and composition run in the CPU pool
(services/offload.py), so the event loop keeps serving acks and probes meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from loguru import logger

from services.answer_types import Answer, AnswerKind, Asker, Turn
from services.cache import AnswerCache
from services.compose import GROUNDING_SECTIONS, Composer, is_english, is_follow_up, sources_of
from services.errors import LlmUnavailable
from services.knowledge import KnowledgeBase
from services.llm import LlmClient, StreamUsage
from services.offload import run_coroutine, run_cpu
from services.persist import Recorder, RecordExchange
from services.privacy import mask_pii
from services.prompts import NOT_IN_HANDBOOK, build_messages, build_rewrite_messages
from services.retrieval import Retrieval
from services.storage import Exchange

if TYPE_CHECKING:
    from services.answering import AnswerService

FALLBACK_SEPARATOR = "\n\n---\n"


@dataclass(frozen=True, slots=True)
class Engine:
    """What one answer is made with, fixed when its question is accepted: a reload swaps the service's engine,
    never the one of an answer in flight."""

    kb: KnowledgeBase
    composer: Composer
    llm: LlmClient | None
    kb_links: frozenset[str]
    max_question_chars: int
    cache: AnswerCache | None = None
    recorder: Recorder | None = None

    @property
    def namespace(self) -> str:
        """The answer-cache namespace: the knowledge-base version (the cache adds the engine's own version, derived
        from the code and the answer-shaping settings: services/versions.py)."""
        return self.kb.version


def exchange_of(answer: Answer, asker: Asker, kb_version: str) -> Exchange:
    """The row PostgreSQL keeps for one answered question."""
    return Exchange(
        request_id=answer.request_id,
        surface=asker.surface,
        team_id=asker.team_id or "",
        channel_id=asker.channel_id,
        thread_ts=asker.thread_ts,
        user_id=asker.user_id,
        question=answer.question,
        answer=answer.text,
        kind=answer.kind.value,
        sources=[s.to_dict() for s in answer.sources],
        confidence=answer.confidence,
        used_llm=answer.used_llm,
        llm_failed=answer.llm_failed,
        model=answer.model,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        latency_ms=round(answer.timings.get("total", 0.0) * 1000),
        category=answer.category,
        department=answer.department.key if answer.department else None,
        kb_version=kb_version,
        created_at=datetime.now(UTC),
    )


def _retrieve_and_compose(
    composer: Composer, masked: str, history: list[Turn], standalone: str | None
) -> tuple[Retrieval, Answer]:
    """In a worker: retrieval (its dense scorer, if any, fetches on the app loop) and the extractive answer."""
    suspends = composer.retriever.dense is not None
    result = run_coroutine(composer.retrieve(masked, history, standalone), may_suspend=suspends)
    return result, composer.compose(masked, result)


def _mask_turns(history: Sequence[Turn]) -> list[Turn]:
    return [Turn(mask_pii(t.question), mask_pii(t.answer)) for t in history]


class AnswerStream:
    """Async iterator of answer text chunks; the final Answer is in `.result` once the answer is complete."""

    def __init__(
        self,
        engine: Engine,
        question: str,
        asker: Asker,
        history: Sequence[Turn],
        *,
        running: set[asyncio.Task[None]],
        service: AnswerService | None = None,
    ) -> None:
        self._engine = engine
        self._question = question
        self._asker = asker
        self._history = history
        self._running = running
        self._service = service
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._result: Answer | None = None
        self._declined = False
        self._reading = False
        self._reader_left = False

    @property
    def service(self) -> AnswerService:
        """The service that accepted the question (kept for doors written against it; prefer `kb_links`)."""
        if self._service is None:
            raise RuntimeError("this AnswerStream was made without a service")
        return self._service

    @property
    def kb_links(self) -> frozenset[str]:
        """The links this answer may show: those of the knowledge base it is answered from."""
        return self._engine.kb_links

    @property
    def result(self) -> Answer:
        """The full Answer (only after the stream has been consumed, or `finished()` awaited)."""
        if self._result is None:
            raise RuntimeError("AnswerStream.result read before the stream finished")
        return self._result

    async def finished(self) -> Answer:
        """Wait until the answer is complete (cached and queued for PostgreSQL), reading it or not."""
        await asyncio.shield(self._start())
        return self.result

    def __aiter__(self) -> AsyncIterator[str]:
        return self._read()

    def _start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self._produce(), name="endy-answer")
            self._running.add(self._task)  # the loop keeps only weak references to tasks
            self._task.add_done_callback(self._finished)
        return self._task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if task.cancelled():
            return
        error = task.exception()  # retrieved here, so a reader that left never leaves it unobserved
        if error is not None and self._reader_left:
            logger.opt(exception=error).bind(surface=self._asker.surface).error("answer failed after its reader left")

    async def _read(self) -> AsyncIterator[str]:
        if self._reading:
            raise RuntimeError("an AnswerStream is read once")
        self._reading = True
        task = self._start()
        complete = False
        try:
            while (chunk := await self._queue.get()) is not None:
                yield chunk
            complete = True
        finally:
            self._reader_left = not complete
        await task  # the producer's error, if any, is the reader's

    async def _produce(self) -> None:
        try:
            await self._run(self._queue.put_nowait)
        finally:
            self._queue.put_nowait(None)

    async def _run(self, emit: Callable[[str], None]) -> None:
        engine, started = self._engine, time.perf_counter()
        masked = mask_pii(self._question)  # at most MAX_QUESTION_CHARS: well under a millisecond
        history = await run_cpu(_mask_turns, self._history) if self._history else []
        cache = engine.cache if not history and engine.cache is not None and engine.cache.enabled else None
        payload = await cache.get(masked, engine.namespace) if cache is not None else None  # not for follow-ups
        if payload is not None:
            answer = Answer.from_cache(payload, masked, engine.kb)
        else:
            standalone = await self._standalone(masked, history)
            result, answer = await run_cpu(_retrieve_and_compose, engine.composer, masked, history, standalone)
            if answer.kind is AnswerKind.ANSWER and engine.llm is not None:
                async for chunk in self._generate(answer, result, history):
                    emit(chunk)
                if self._declined:  # the LLM read the sections and found no answer: the honest reply
                    answer = engine.composer.not_found(masked, result)
        if (answer.cached or not answer.used_llm) and answer.text:  # generated text was emitted as it came
            emit(answer.text)
        answer.timings = {"total": time.perf_counter() - started}
        if cache is not None and payload is None and not answer.llm_failed:
            await cache.set(masked, engine.namespace, answer.to_cache())
        self._result = answer
        if engine.recorder is not None:
            engine.recorder.submit(RecordExchange(exchange_of(answer, self._asker, engine.kb.version)))
        logger.bind(
            kind=answer.kind.value,
            confidence=round(answer.confidence, 3),
            llm=answer.used_llm,
            cached=answer.cached,
            surface=self._asker.surface,
            ms=round(answer.timings["total"] * 1000, 1),
        ).info("answered")

    async def _standalone(self, masked: str, history: list[Turn]) -> str | None:
        """With an LLM, a follow-up or an English question is first rewritten into one Korean search question."""
        llm = self._engine.llm
        if llm is None or not ((history and is_follow_up(masked)) or is_english(masked)):
            return None
        try:
            completion = await llm.complete(build_rewrite_messages(masked, [(t.question, t.answer) for t in history]))
        except LlmUnavailable:
            return None  # retrieval then carries the previous turn's subject by itself
        rewritten = " ".join(mask_pii(completion.text).split())[: self._engine.max_question_chars]
        return rewritten or None

    async def _generate(self, answer: Answer, result: Retrieval, history: list[Turn]) -> AsyncIterator[str]:
        """Stream the LLM's grounded answer; on failure the extractive text follows (answer.llm_failed).

        Text that could still turn out to be NOT_IN_HANDBOOK is held back, so a refusal is never shown.
        """
        llm = self._engine.llm
        assert llm is not None
        sections = [h.section for h in result.hits[:GROUNDING_SECTIONS]]
        messages = build_messages(answer.question, sections, [(t.question, t.answer) for t in history])
        usage, parts, held = StreamUsage(), [], True
        try:
            async for chunk in llm.stream(messages, usage):
                parts.append(chunk)
                if held and NOT_IN_HANDBOOK.startswith("".join(parts).strip()[: len(NOT_IN_HANDBOOK)]):
                    continue
                if held:
                    held, chunk = False, "".join(parts)
                yield chunk
        except LlmUnavailable:
            answer.llm_failed = True
            if parts and not held:  # part of a generated answer is already shown: separate the handbook text
                yield FALLBACK_SEPARATOR
            return
        text = "".join(parts)
        if text.strip().startswith(NOT_IN_HANDBOOK):
            self._declined = True
            return
        if held and text:
            yield text
        answer.text, answer.used_llm, answer.model = text, True, usage.model or llm.model
        answer.hedged = False  # the model read the sections and answered from them
        answer.prompt_tokens, answer.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        answer.sources = sources_of(sections)
